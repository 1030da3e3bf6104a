//! `failover`: how long a 3-server cluster is unable to write after its
//! leader is killed.
//!
//! Finds the leader with `corral admin status`, keeps one client writing
//! through the other servers, sends the leader SIGKILL and reports the time
//! from the kill to the first write acknowledged afterwards (and to the first
//! server reporting a new leader). Repeats `--rounds` times; the script
//! restarts the killed server between rounds.
//!
//! Usage: `failover --servers ID=HOST:PORT,... --pids ID=PID,...`

use anyhow::Context;
use clap::Parser;
use client::admin::AdminClient;
use client::{Client, CreateMode, CreateOptions};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// The servers, `ID=HOST:PORT` comma separated.
    #[arg(long, value_delimiter = ',')]
    servers: Vec<String>,
    /// Their process ids, `ID=PID` comma separated.
    #[arg(long, value_delimiter = ',')]
    pids: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn pairs(items: &[String]) -> anyhow::Result<BTreeMap<u64, String>> {
    items
        .iter()
        .map(|item| {
            let (id, value) = item.split_once('=').context("expected ID=VALUE")?;
            Ok((id.parse()?, value.to_string()))
        })
        .collect()
}

async fn leader_of(servers: &BTreeMap<u64, String>, skip: Option<u64>) -> Option<u64> {
    for (id, addr) in servers {
        if Some(*id) == skip {
            continue;
        }
        if let Ok(status) = AdminClient::new(addr.as_str()).status().await {
            if let Some(leader) = status.leader.filter(|l| Some(*l) != skip) {
                return Some(leader);
            }
        }
    }
    None
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let servers = pairs(&args.servers)?;
    let pids = pairs(&args.pids)?;
    let leader = leader_of(&servers, None).await.context("no leader")?;
    let others: Vec<&str> = servers
        .iter()
        .filter(|(id, _)| **id != leader)
        .map(|(_, a)| a.as_str())
        .collect();
    let writer = Client::builder(&others.join(","))
        .session_timeout(Duration::from_secs(30))
        .build()
        .await?;
    let _ = writer
        .create(
            "/failover",
            b"",
            CreateOptions::mode(CreateMode::Persistent),
        )
        .await;
    writer.set_data("/failover", b"before", None).await?;
    let pid = pids.get(&leader).context("no pid for the leader")?;
    let killed = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-9", pid])
        .status()?;
    anyhow::ensure!(status.success(), "kill -9 {pid} failed");
    let mut elected = None;
    let written = loop {
        if elected.is_none() && leader_of(&servers, Some(leader)).await.is_some() {
            elected = Some(killed.elapsed());
        }
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            writer.set_data("/failover", b"after", None),
        )
        .await;
        if let Ok(Ok(_)) = attempt {
            break killed.elapsed();
        }
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(60),
            "no write within 60 s"
        );
    };
    let elected = elected.unwrap_or(written);
    if args.json {
        println!(
            "{{\"killed_leader\":{leader},\"new_leader_ms\":{},\"first_write_ms\":{}}}",
            elected.as_millis(),
            written.as_millis()
        );
    } else {
        println!(
            "killed leader {leader}: new leader seen after {} ms, first write after {} ms",
            elected.as_millis(),
            written.as_millis()
        );
    }
    Ok(())
}
