//! Guarantee: writes are linearizable, and reads through one server see every
//! write that completed before they started. Concurrent clients run get / set
//! / compare-and-set on a few keys through a fault-injecting proxy that cuts
//! and holds their connections; the recorded history (operations without an
//! answer recorded as unknown, never as failed) is checked by testkit's
//! WGL-style checker.

use client::{Client, Error};
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};
use testkit::linearizability::{check, Event, Outcome, RegisterOp};
use testkit::proxy::{Fault, Proxy};

const KEYS: [&str; 3] = ["/lin/a", "/lin/b", "/lin/c"];

fn value_of(data: &[u8]) -> i64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn histories_under_connection_faults_are_linearizable() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let setup = Client::connect(&server.connect_string()).await?;
    setup.create("/lin", b"", Default::default()).await?;
    for key in KEYS {
        setup.create(key, b"0", Default::default()).await?;
    }
    let proxy = Arc::new(Proxy::start(server.addr()).await?);
    let history = Arc::new(StdMutex::new(Vec::<Event>::new()));
    let base = Instant::now();
    let now = move || base.elapsed().as_nanos() as u64;
    let mut workers = Vec::new();
    for id in 0..4u64 {
        let c = Client::builder(&proxy.addr().to_string())
            .session_timeout(Duration::from_secs(30))
            .build()
            .await?;
        let history = history.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(id);
            let mut known_version = [0i32; 3];
            for n in 0..150i64 {
                let k = rng.gen_range(0..KEYS.len());
                let key = KEYS[k];
                let call = now();
                let (op, outcome) = match rng.gen_range(0..3) {
                    0 => match c.get_data(key).await {
                        Ok((data, stat)) => {
                            known_version[k] = stat.version;
                            (
                                RegisterOp::Read,
                                Outcome::Read((value_of(&data), stat.version)),
                            )
                        }
                        Err(Error::ConnectionLoss) => (RegisterOp::Read, Outcome::Unknown),
                        Err(e) => return Err(anyhow::anyhow!("read failed: {e}")),
                    },
                    1 => {
                        let v = id as i64 * 1000 + n;
                        match c.set_data(key, v.to_string().as_bytes(), None).await {
                            Ok(_) => (RegisterOp::Write(v), Outcome::Ok),
                            Err(Error::ConnectionLoss) => (RegisterOp::Write(v), Outcome::Unknown),
                            Err(e) => return Err(anyhow::anyhow!("write failed: {e}")),
                        }
                    }
                    _ => {
                        let v = id as i64 * 1000 + n;
                        let op = RegisterOp::Cas {
                            expected_version: known_version[k],
                            value: v,
                        };
                        match c
                            .set_data(key, v.to_string().as_bytes(), Some(known_version[k]))
                            .await
                        {
                            Ok(stat) => {
                                known_version[k] = stat.version;
                                (op, Outcome::Ok)
                            }
                            Err(Error::BadVersion { .. }) => (op, Outcome::CasFailed),
                            Err(Error::ConnectionLoss) => (op, Outcome::Unknown),
                            Err(e) => return Err(anyhow::anyhow!("cas failed: {e}")),
                        }
                    }
                };
                let ret = (outcome != Outcome::Unknown).then(now);
                if let Ok(mut h) = history.lock() {
                    h.push(Event {
                        key: key.to_string(),
                        call,
                        ret,
                        op,
                        outcome,
                    });
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    // Faults while the clients run: cut, restore, hold, restore, on a timer.
    let faults = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(60));
            for fault in [
                Fault::Pass,
                Fault::Drop,
                Fault::Pass,
                Fault::Hold,
                Fault::Pass,
            ]
            .iter()
            .cycle()
            .take(25)
            {
                tick.tick().await;
                proxy.set(*fault);
            }
            proxy.set(Fault::Pass);
        })
    };
    for w in workers {
        w.await??;
    }
    faults.abort();
    let history = history
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let unknown = history
        .iter()
        .filter(|e| e.outcome == Outcome::Unknown)
        .count();
    println!(
        "{} operations, {unknown} with unknown outcome",
        history.len()
    );
    assert_eq!(history.len(), 600);
    check(&history, (0, 0)).map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}
