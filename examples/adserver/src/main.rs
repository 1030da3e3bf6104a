//! `adserver`: an ad-serving fleet coordinated by Corral.
//!
//! Workers (tasks in this process) join a group and beat, elect a budget
//! coordinator with a leader latch, follow campaign settings through a config
//! watcher, serve ads within the share the coordinator gives them, and line up
//! on a double barrier every few seconds. The program prints ads/s, members,
//! the coordinator, the settings version and the budget split every second,
//! changes the settings half-way, and kills the coordinator to show failover,
//! measuring how long the fleet takes to agree on a new coordinator and a new
//! split.

mod fleet;
mod model;
mod worker;

use anyhow::Context;
use clap::Parser;
use fleet::Member;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use worker::Worker;

#[derive(Debug, Parser)]
#[command(about = "An ad-serving fleet coordinated by Corral")]
struct Args {
    /// Corral native API address(es); without it a local 3-server cluster
    /// (`corral dev`) is started.
    #[arg(long)]
    server: Option<String>,
    /// Number of workers.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 16)]
    seconds: u64,
    /// Kill the coordinator after this many seconds (0: never).
    #[arg(long, default_value_t = 8)]
    kill_leader_at: u64,
    /// Run each worker as a separate process (the kill is then a SIGKILL: a
    /// crash, noticed when the worker's session expires).
    #[arg(long)]
    processes: bool,
    /// Internal: run a single worker with this id (used by --processes).
    #[arg(long, hide = true)]
    worker: Option<String>,
}

/// A local 3-server cluster (`corral dev`) started for the demo; stopped on drop.
struct LocalServer {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_local_server() -> anyhow::Result<(LocalServer, String)> {
    let exe = std::env::current_exe()?;
    let corral = exe.with_file_name("corral");
    anyhow::ensure!(
        corral.exists(),
        "no corral binary next to adserver; build it (`cargo build --release --bin corral`) or pass --server"
    );
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(corral)
        .args(["dev", "--port", "0", "--zk-port", "0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(a) = line.strip_prefix("connect: ") {
            addr = Some(a.trim().to_string());
            break;
        }
    }
    let addr = addr.context("corral did not report its address")?;
    Ok((LocalServer { child, _dir: dir }, addr))
}

fn leader_of(workers: &[Member]) -> Option<usize> {
    workers.iter().position(Member::is_coordinator)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let (Some(id), Some(server)) = (&args.worker, &args.server) {
        return fleet::run_worker_process(server, id).await;
    }
    let (_local, connect) = match &args.server {
        Some(s) => (None, s.clone()),
        None => {
            let (server, addr) = start_local_server()?;
            println!("started a local 3-server corral cluster: {addr}");
            (Some(server), addr)
        }
    };
    let operator = client::Client::connect(&connect).await?;
    for path in ["/adserver", worker::MEMBERS, worker::RECONCILE] {
        match operator.create(path, b"", Default::default()).await {
            Ok(_) | Err(client::Error::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    recipes::config::publish(&operator, worker::SETTINGS, &model::demo_settings()).await?;
    let mut workers = Vec::new();
    for i in 0..args.workers {
        let id = format!("worker-{i}");
        workers.push(if args.processes {
            Member::spawn(&connect, &id)?
        } else {
            Member::Task(Worker::start(&connect, &id).await?)
        });
    }
    let started = Instant::now();
    let mut last_total = 0u64;
    let mut gone_served = 0u64;
    let mut samples = Vec::new();
    let mut killed_at: Option<(Instant, String)> = None;
    let mut failover: Option<(Duration, Duration)> = None;
    let mut new_leader_seen: Option<Duration> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_report = Instant::now() + Duration::from_secs(1);
    let mut changed_settings = false;
    while started.elapsed() < Duration::from_secs(args.seconds) {
        tick.tick().await;
        let elapsed = started.elapsed();
        if !changed_settings && elapsed >= Duration::from_secs(args.seconds / 4) {
            let mut s = model::demo_settings();
            s.campaigns[0].budget_per_s += 2_000;
            recipes::config::publish(&operator, worker::SETTINGS, &s).await?;
            println!("-- operator raised the budget of {}", s.campaigns[0].name);
            changed_settings = true;
        }
        if killed_at.is_none()
            && args.kill_leader_at > 0
            && elapsed >= Duration::from_secs(args.kill_leader_at)
        {
            if let Some(i) = leader_of(&workers) {
                let victim = workers.remove(i);
                let id = victim.id().to_string();
                println!("-- killing the coordinator {id}");
                let at = Instant::now();
                gone_served += victim.served();
                victim.kill().await;
                killed_at = Some((at, id));
            }
        }
        if let (Some((at, victim)), None) = (&killed_at, failover) {
            if new_leader_seen.is_none() && leader_of(&workers).is_some() {
                new_leader_seen = Some(at.elapsed());
            }
            let agreed = workers.iter().all(|w| {
                let b = w.budget();
                b.coordinator != *victim && !b.shares.values().any(|by| by.contains_key(victim))
            });
            if let (Some(leader_time), true) = (new_leader_seen, agreed) {
                failover = Some((leader_time, at.elapsed()));
                println!(
                    "-- failover: new coordinator after {} ms, every worker on the new split after {} ms",
                    leader_time.as_millis(),
                    at.elapsed().as_millis()
                );
            }
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            let total: u64 = gone_served + workers.iter().map(Member::served).sum::<u64>();
            let rate = total.saturating_sub(last_total);
            last_total = total;
            samples.push(rate);
            let leader =
                leader_of(&workers).map_or("-".to_string(), |i| workers[i].id().to_string());
            let budget = workers.first().map(Member::budget).unwrap_or_default();
            let per_worker: Vec<String> = workers
                .iter()
                .map(|w| {
                    let share: u64 = budget.shares.values().filter_map(|by| by.get(w.id())).sum();
                    format!("{}={share}", w.id())
                })
                .collect();
            let rounds: u64 = workers.iter().map(Member::reconciled).sum();
            println!(
                "t={:>2}s ads/s={rate:>6} members={} coordinator={leader} settings=v{} split=[{}] reconciled={rounds}",
                elapsed.as_secs(),
                workers.len(),
                budget.settings_version,
                per_worker.join(" ")
            );
        }
    }
    for w in workers {
        w.kill().await;
    }
    let steady: Vec<u64> = samples.iter().copied().skip(2).collect();
    let average = steady.iter().sum::<u64>() as f64 / steady.len().max(1) as f64;
    println!(
        "summary: average {average:.0} ads/s after warm-up over {} s",
        steady.len()
    );
    if let Some((leader, split)) = failover {
        println!(
            "summary: failover {} ms to a new coordinator, {} ms to a new split everywhere",
            leader.as_millis(),
            split.as_millis()
        );
    }
    Ok(())
}
