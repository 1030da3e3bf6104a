//! `zk_failover`: how long writes are unavailable after the leader of a
//! 3-server ensemble is killed, measured over ZooKeeper's wire protocol (the
//! `zookeeper-client` crate), so it runs unchanged against an Apache
//! ZooKeeper ensemble and against a Corral cluster.
//!
//! It owns one round: one writer session attached to each server (each with
//! the full server list as its connect string, its own server first, and
//! checked with the `cons` four-letter word to be connected to that server),
//! one `setData` each to be sure they work, SIGKILL of the leader, and the
//! time from the kill to each writer's first acknowledged `setData`. Every
//! failed or unanswered attempt is followed by a fresh one; a writer whose
//! session expired or closed opens a new one, and that time counts too.
//! Reconnecting after the leader's connections drop is the client library's
//! own (one pass over the list at once, then growing pauses), the same for
//! both systems. Finding the leader and restarting the killed server are the
//! script's (`scripts/bench-failover-vs-zookeeper.sh`).
//!
//! Usage: `zk_failover --servers ADDR,ADDR,ADDR --leader-index I --leader-pid PID [--json]`

use anyhow::{anyhow, bail, ensure, Context};
use clap::Parser;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zookeeper_client as zk;

/// The node every writer sets.
const PATH: &str = "/failover-bench";
/// Session timeout asked for (ZooKeeper with `tickTime=2000` grants 4-40 s).
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one `setData` may stay unanswered before a fresh one is sent.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a writer keeps trying after the kill before the round fails.
const GIVE_UP: Duration = Duration::from_secs(30);
/// How many sessions are opened at most to get one attached to a server.
const ATTACH_TRIES: usize = 30;

#[derive(Debug, Parser)]
struct Args {
    /// The servers' ZooKeeper-protocol client addresses, comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// Which of `--servers` is the leader, 0-based.
    #[arg(long)]
    leader_index: usize,
    /// The leader's process id; it gets SIGKILL.
    #[arg(long)]
    leader_pid: u32,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// What one writer saw from the kill to its first acknowledged write.
#[derive(Debug)]
struct Recovery {
    /// Index of the server the writer was attached to before the kill.
    server: usize,
    /// From the kill to the first acknowledged `setData`.
    elapsed: Duration,
    /// `setData` calls sent after the kill, the successful one included.
    attempts: u32,
    /// Sessions opened after the kill because the old one expired or closed.
    new_sessions: u32,
    /// How the failed attempts failed, by error.
    errors: BTreeMap<String, u32>,
}

impl Recovery {
    fn ms(&self) -> u128 {
        self.elapsed.as_millis()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "server": self.server,
            "ms": self.ms(),
            "attempts": self.attempts,
            "new_sessions": self.new_sessions,
            "errors": self.errors,
        })
    }
}

/// The connect string with `first` in front and the others in their order.
/// (The client shuffles it, so which server a session lands on is checked.)
fn connect_string(servers: &[String], first: usize) -> String {
    let mut order = vec![servers[first].as_str()];
    order.extend(
        servers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != first)
            .map(|(_, s)| s.as_str()),
    );
    order.join(",")
}

/// Opens a new session through `connect`.
async fn new_session(connect: &str) -> Result<zk::Client, zk::Error> {
    zk::Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .connect(connect)
        .await
}

/// Sends a four-letter word to `addr` and returns the whole answer.
async fn four_letter(addr: &str, word: &str) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(word.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .map_err(|_| anyhow!("no answer to {word} from {addr} within 2 s"))?
        .with_context(|| format!("{word} to {addr}"))
}

/// The session ids in a `cons` answer (`sid=0x...` on each connection line).
fn listed_sessions(cons: &str) -> Vec<i64> {
    cons.split("sid=0x")
        .skip(1)
        .filter_map(|rest| {
            let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            u64::from_str_radix(&hex, 16).ok().map(|id| id as i64)
        })
        .collect()
}

/// Opens sessions through the full list (server `index` first) until one is
/// connected to server `index`, as its `cons` answer shows.
async fn attach(servers: &[String], index: usize) -> anyhow::Result<zk::Client> {
    let connect = connect_string(servers, index);
    let mut last_cons = String::new();
    for _ in 0..ATTACH_TRIES {
        let client = new_session(&connect)
            .await
            .with_context(|| format!("connecting through {connect}"))?;
        last_cons = four_letter(&servers[index], "cons").await?;
        if listed_sessions(&last_cons).contains(&client.session_id().0) {
            return Ok(client);
        }
    }
    bail!(
        "no session landed on {} in {ATTACH_TRIES} tries (is `cons` allowed? last answer: {:?})",
        servers[index],
        last_cons.trim()
    )
}

/// Sends `setData` until one is acknowledged or [`GIVE_UP`] after the kill.
async fn write_until_acknowledged(
    server: usize,
    mut client: zk::Client,
    connect: String,
    killed: Instant,
) -> anyhow::Result<Recovery> {
    let mut recovery = Recovery {
        server,
        elapsed: Duration::ZERO,
        attempts: 0,
        new_sessions: 0,
        errors: BTreeMap::new(),
    };
    loop {
        let left = GIVE_UP.checked_sub(killed.elapsed()).ok_or_else(|| {
            anyhow!(
                "writer on server {server}: no write acknowledged within {} s ({} attempts, errors {:?})",
                GIVE_UP.as_secs(),
                recovery.attempts,
                recovery.errors
            )
        })?;
        if client.state().is_terminated() {
            // The session is gone: a new one, counted in the time.
            match tokio::time::timeout(left, new_session(&connect)).await {
                Ok(Ok(fresh)) => {
                    client = fresh;
                    recovery.new_sessions += 1;
                }
                Ok(Err(e)) => {
                    *recovery
                        .errors
                        .entry(format!("new session: {e}"))
                        .or_default() += 1;
                }
                Err(_) => {}
            }
            continue;
        }
        recovery.attempts += 1;
        let sent = Instant::now();
        let attempt = tokio::time::timeout(
            ATTEMPT_TIMEOUT.min(left),
            client.set_data(PATH, b"after", None),
        )
        .await;
        let failure = match attempt {
            Ok(Ok(_)) => {
                recovery.elapsed = killed.elapsed();
                return Ok(recovery);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer in {} ms", ATTEMPT_TIMEOUT.as_millis()),
        };
        *recovery.errors.entry(failure).or_default() += 1;
        if sent.elapsed() < Duration::from_millis(1) {
            // Refused at once: do not spin on a server that is not serving.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let servers = &args.servers;
    ensure!(servers.len() >= 2, "need at least two servers");
    ensure!(
        args.leader_index < servers.len(),
        "--leader-index {} but only {} servers",
        args.leader_index,
        servers.len()
    );

    let mut writers = Vec::new();
    for index in 0..servers.len() {
        let client = attach(servers, index)
            .await
            .with_context(|| format!("attaching a writer to {}", servers[index]))?;
        writers.push(client);
    }
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match writers[0].create(PATH, b"", &options).await {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => return Err(anyhow::Error::from(e).context(format!("creating {PATH}"))),
    }
    for (index, writer) in writers.iter().enumerate() {
        writer
            .set_data(PATH, b"before", None)
            .await
            .with_context(|| format!("first write through {}", servers[index]))?;
    }

    let killed = Instant::now();
    let pid = args.leader_pid.to_string();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .context("running kill")?;
    ensure!(status.success(), "kill -9 {pid} failed");

    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(index, client)| {
            let connect = connect_string(servers, index);
            tokio::spawn(write_until_acknowledged(index, client, connect, killed))
        })
        .collect();
    let mut survivors = Vec::new();
    let mut attached = None;
    for task in tasks {
        let recovery = task.await??;
        if recovery.server == args.leader_index {
            attached = Some(recovery);
        } else {
            survivors.push(recovery);
        }
    }
    let attached = attached.context("no writer was attached to the leader")?;
    let survivors_ms = survivors.iter().map(Recovery::ms).max().unwrap_or(0);
    let attached_ms = attached.ms();
    let max_ms = survivors_ms.max(attached_ms);

    if args.json {
        let report = serde_json::json!({
            "leader_index": args.leader_index,
            "survivors_ms": survivors_ms,
            "attached_ms": attached_ms,
            "max_ms": max_ms,
            "survivor_writers": survivors.iter().map(Recovery::to_json).collect::<Vec<_>>(),
            "attached_writer": attached.to_json(),
        });
        println!("{report}");
    } else {
        let each: Vec<String> = survivors
            .iter()
            .map(|r| format!("server {} {} ms", r.server, r.ms()))
            .collect();
        println!(
            "killed leader (server {}): first write through the survivors after {survivors_ms} ms ({}), \
             through the killed leader's session after {attached_ms} ms; max {max_ms} ms",
            args.leader_index,
            each.join(", ")
        );
    }
    Ok(())
}
