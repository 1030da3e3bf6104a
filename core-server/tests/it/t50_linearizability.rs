//! Guarantee: writes are linearizable, and reads through one server see every
//! write that completed before they started. Concurrent clients run get / set
//! / compare-and-set on a few keys through a fault-injecting proxy that cuts
//! and holds their connections; the recorded history (operations without an
//! answer recorded as unknown, never as failed) is checked by testkit's
//! WGL-style checker.

use client::Client;
use std::sync::Arc;
use std::time::Duration;
use testkit::linearizability::workload::{Reads, RegisterWorkload};
use testkit::linearizability::{check, Outcome};
use testkit::proxy::{Fault, Proxy};

#[tokio::test]
async fn histories_under_connection_faults_are_linearizable() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let workload = RegisterWorkload {
        reads: Reads::Plain,
        min_ops_per_worker: 150,
        pace: None,
    };
    workload
        .prepare(&Client::connect(&server.connect_string()).await?)
        .await?;
    let proxy = Arc::new(Proxy::start(server.addr()).await?);
    let mut clients = Vec::new();
    for _ in 0..4 {
        let client = Client::builder(&proxy.addr().to_string())
            .session_timeout(Duration::from_secs(30))
            .build()
            .await?;
        clients.push(client);
    }
    let running = workload.start(clients);
    // Each worker runs its 150 operations and no more.
    running.stop();
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
    let history = running.finish().await;
    faults.abort();
    let history = history?;
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
