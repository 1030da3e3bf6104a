//! The same closed-loop load over ZooKeeper's wire protocol, through the
//! `zookeeper-client` crate: runs unchanged against Apache ZooKeeper and
//! against Corral's ZooKeeper port, so both are measured by one client.

use crate::{key, Args, Workload};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zookeeper_client as zk;

async fn connect(addr: &str) -> anyhow::Result<zk::Client> {
    Ok(zk::Client::connector()
        .with_session_timeout(Duration::from_secs(30))
        .connect(addr)
        .await?)
}

fn open() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Creates `/bench` and the keys, up to 256 creates in flight on one
/// session (so a million keys take a minute, not a quarter of an hour).
pub async fn prepare(addr: &str, args: &Args) -> anyhow::Result<()> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let c = connect(addr).await?;
    let value = vec![b'x'; args.value_bytes];
    match c.create("/bench", b"", &open()).await {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => return Err(e.into()),
    }
    let (c, value) = (&c, &value);
    futures::stream::iter(0..args.keys)
        .map(|i| async move {
            match c.create(&key(i), value, &open()).await {
                Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
                Err(e) => Err(anyhow::Error::from(e)),
            }
        })
        .buffer_unordered(256)
        .try_collect::<()>()
        .await
}

/// One session, `depth` requests outstanding; latencies in the window, in µs.
pub async fn run_client(
    addr: String,
    args: Arc<Args>,
    client: usize,
    start: Instant,
    end: Instant,
) -> anyhow::Result<Vec<u32>> {
    let c = Arc::new(connect(&addr).await?);
    let value = Arc::new(vec![b'v'; args.value_bytes]);
    let mut lanes = Vec::new();
    for lane in 0..args.depth {
        let (c, args, value) = (c.clone(), args.clone(), value.clone());
        lanes.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = lane;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let k = (client * 7919 + n) % args.keys;
                match args.workload {
                    Workload::Write => {
                        c.set_data(&key(k), &value, None).await?;
                    }
                    Workload::Read => {
                        c.get_data(&key(k)).await?;
                    }
                    Workload::Create => {
                        let path = format!("/bench/z{client}-{n}");
                        c.create(&path, &value, &open()).await?;
                        c.delete(&path, None).await?;
                    }
                }
                let now = Instant::now();
                if now >= start && now < end {
                    latencies.push((now - t0).as_micros().min(u32::MAX as u128) as u32);
                }
                n += args.depth;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for lane in lanes {
        all.extend(lane.await??);
    }
    Ok(all)
}
