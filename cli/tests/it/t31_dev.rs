//! `corral dev`: one command runs a local 3-server cluster, prints its
//! connect strings, serves both protocols, and stops cleanly on Ctrl-C.

use client::{Client, CreateMode, CreateOptions};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_runs_a_three_server_cluster_and_stops_on_ctrl_c() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["dev", "--port", "0", "--zk-port", "0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("stdout"))?;
    // Keep draining stdout until it closes, even after the lines we wait
    // for have been seen.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let lines = tokio::task::spawn_blocking(move || {
        let mut found = (None, None);
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            if let Some(rest) = line.strip_prefix("connect: ") {
                found.0 = Some(rest.trim().to_string());
            }
            if let Some(rest) = line.strip_prefix("zookeeper connect: ") {
                found.1 = rest.split_whitespace().next().map(str::to_string);
            }
            if found.0.is_some() && found.1.is_some() {
                break;
            }
        }
        found
    });
    let (native, zk) = tokio::time::timeout(Duration::from_secs(60), lines).await??;
    let native = native.ok_or_else(|| anyhow::anyhow!("no connect line"))?;
    let zk = zk.ok_or_else(|| anyhow::anyhow!("no zookeeper connect line"))?;
    assert_eq!(native.split(',').count(), 3, "{native}");
    assert_eq!(zk.split(',').count(), 3, "{zk}");

    // Each server answers; a write through one is read through another.
    let servers: Vec<&str> = native.split(',').collect();
    let first = Client::connect(servers[0]).await?;
    first
        .create(
            "/dev",
            b"hello",
            CreateOptions::mode(CreateMode::Persistent),
        )
        .await?;
    let last = Client::connect(servers[2]).await?;
    last.sync("/dev").await?;
    assert_eq!(last.get_data("/dev").await?.0, b"hello");
    let zk_client = zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&zk)
        .await?;
    let (data, _) = zk_client.get_data("/dev").await?;
    assert_eq!(data, b"hello");

    // Ctrl-C stops every server and the process exits successfully.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -INT failed");
    let exited = tokio::task::spawn_blocking(move || child.wait());
    let status = tokio::time::timeout(Duration::from_secs(30), exited).await???;
    assert!(status.success(), "corral dev exited with {status}");
    Ok(())
}
