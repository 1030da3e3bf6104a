//! Workers as separate processes: the `--worker` mode a process runs, the
//! JSON lines it reports on its stdout, and the driver's handle on it
//! (what it last reported, what it served per second, SIGKILL).

use crate::model::now_ms;
use crate::worker::Worker;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often a worker process reports its status.
pub const REPORT_EVERY: Duration = Duration::from_millis(100);
/// Split changes a handle remembers.
const KEPT_CHANGES: usize = 64;

/// One line a worker process prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// The worker is up; its HTTP front listens at `http`.
    Ready {
        /// The HTTP address.
        http: SocketAddr,
    },
    /// The worker's state, every [`REPORT_EVERY`].
    Status(Status),
    /// What the worker served in one completed second.
    Second {
        /// The wall-clock second.
        second: u64,
        /// Ads per campaign.
        counts: BTreeMap<String, u64>,
    },
}

/// A worker's state as it reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Whether it is the coordinator.
    pub coordinator: bool,
    /// The epoch of the split in force.
    pub in_force: u64,
    /// That split's members.
    pub members: Vec<String>,
    /// Wall-clock ms since which it is in force.
    pub since_ms: u64,
    /// Whether its lease allows serving.
    pub serving: bool,
    /// Ads served since start.
    pub served: u64,
}

/// The `--worker` mode: runs one worker and reports until killed.
pub async fn run_worker_process(connect: &str, id: &str, http: SocketAddr) -> anyhow::Result<()> {
    let worker = Worker::start(connect, id, http).await?;
    emit(&Line::Ready { http: worker.http })?;
    let mut tick = tokio::time::interval(REPORT_EVERY);
    loop {
        tick.tick().await;
        let now = now_ms();
        for done in worker.front.pacer.drain_seconds(now) {
            emit(&Line::Second {
                second: done.second,
                counts: done.counts,
            })?;
        }
        let s = worker.front.pacer.status(now);
        emit(&Line::Status(Status {
            coordinator: worker.is_coordinator(),
            in_force: s.in_force,
            members: s.members,
            since_ms: s.since_ms,
            serving: s.serving,
            served: worker.front.served.load(Ordering::Relaxed),
        }))?;
    }
}

fn emit(line: &Line) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(line)?)?;
    out.flush()?;
    Ok(())
}

/// What the driver has heard from one worker process.
#[derive(Debug, Default)]
pub struct Heard {
    /// The latest status.
    pub status: Status,
    /// Each split that came into force: (epoch, members, since ms).
    pub changes: Vec<(u64, Vec<String>, u64)>,
    /// Ads per second and campaign, as the worker counted them.
    pub seconds: BTreeMap<u64, BTreeMap<String, u64>>,
}

/// The driver's handle on a worker process.
pub struct Member {
    /// Its id.
    pub id: String,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// What it reported.
    pub heard: Arc<parking_lot::Mutex<Heard>>,
    child: Child,
}

impl Member {
    /// Starts `exe --worker ID --server CONNECT` and waits for its HTTP address.
    pub fn spawn(exe: &Path, connect: &str, id: &str) -> anyhow::Result<Member> {
        let mut child = Command::new(exe)
            .args(["--worker", id, "--server", connect])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let http = loop {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                anyhow::bail!("worker {id} ended before it was ready");
            };
            if let Ok(Line::Ready { http }) = serde_json::from_str(&line?) {
                break http;
            }
        };
        let heard = Arc::new(parking_lot::Mutex::new(Heard::default()));
        let sink = heard.clone();
        std::thread::spawn(move || {
            for line in lines {
                let Ok(line) = line else { return };
                let Ok(line) = serde_json::from_str::<Line>(&line) else {
                    continue;
                };
                let mut h = sink.lock();
                match line {
                    Line::Status(s) => {
                        if h.changes.last().map(|c| c.0) != Some(s.in_force)
                            && h.changes.len() < KEPT_CHANGES
                        {
                            h.changes.push((s.in_force, s.members.clone(), s.since_ms));
                        }
                        h.status = s;
                    }
                    Line::Second { second, counts } => {
                        h.seconds.insert(second, counts);
                    }
                    Line::Ready { .. } => {}
                }
            }
        });
        Ok(Member {
            id: id.to_string(),
            http,
            heard,
            child,
        })
    }

    /// The latest status.
    pub fn status(&self) -> Status {
        self.heard.lock().status.clone()
    }

    /// The wall-clock ms since which this worker follows a split without
    /// `victim` that came into force at or after `after_ms`, if it does.
    pub fn without_since(&self, victim: &str, after_ms: u64) -> Option<u64> {
        let h = self.heard.lock();
        h.changes
            .iter()
            .find(|(epoch, members, since)| {
                *epoch > 0 && *since >= after_ms && !members.iter().any(|m| m == victim)
            })
            .map(|c| c.2)
    }

    /// Kills the process with SIGKILL (a crash: nothing tells Corral).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}
