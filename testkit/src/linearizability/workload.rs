//! The register workload both linearizability tests run: concurrent clients
//! doing get / set / compare-and-set on a few znodes, each operation recorded
//! as an [`Event`] with its call and return times (an operation without an
//! answer is recorded as unknown, never as failed).

use super::{Event, Outcome, RegisterOp};
use client::{Client, CreateMode, CreateOptions, Error};
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The registers: one znode each, starting at value 0.
pub const KEYS: [&str; 3] = ["/lin/a", "/lin/b", "/lin/c"];

/// How the workload reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// A plain getData (linearizable for one session on one server).
    Plain,
    /// Linearizable reads: half ZooKeeper's idiom (sync, then getData),
    /// half the native per-request linearizable read.
    Linearizable,
}

/// The workload's shape.
#[derive(Debug, Clone, Copy)]
pub struct RegisterWorkload {
    /// How reads are made.
    pub reads: Reads,
    /// Each worker runs at least this many operations, and goes on until
    /// [`Running::stop`].
    pub min_ops_per_worker: u64,
    /// The pause between one worker's operations (so operations overlap
    /// every fault), or none.
    pub pace: Option<Duration>,
}

impl RegisterWorkload {
    /// Creates the registers (and their parent) through `client`.
    pub async fn prepare(&self, client: &Client) -> anyhow::Result<()> {
        let persistent = || CreateOptions::mode(CreateMode::Persistent);
        client.create("/lin", b"", persistent()).await?;
        for key in KEYS {
            client.create(key, b"0", persistent()).await?;
        }
        Ok(())
    }

    /// Starts one worker per client; worker `i` draws its operations from a
    /// generator seeded with `i`.
    pub fn start(&self, clients: Vec<Client>) -> Running {
        let history = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let base = Instant::now();
        let workers = clients
            .into_iter()
            .enumerate()
            .map(|(id, client)| {
                let worker = Worker {
                    id: id as u64,
                    client,
                    shape: *self,
                    history: history.clone(),
                    stop: stop.clone(),
                    base,
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Running {
            history,
            stop,
            workers,
        }
    }
}

/// A workload under way.
#[derive(Debug)]
pub struct Running {
    history: Arc<Mutex<Vec<Event>>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Asks every worker to stop once it has run its minimum.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// [`Running::stop`], then waits for the workers; returns the history
    /// (or the first worker's error: an answer the workload did not expect).
    pub async fn finish(self) -> anyhow::Result<Vec<Event>> {
        self.stop();
        for worker in self.workers {
            worker.await??;
        }
        let history = self
            .history
            .lock()
            .map_err(|_| anyhow::anyhow!("a worker panicked holding the history"))?;
        Ok(history.clone())
    }
}

/// One client's loop.
struct Worker {
    id: u64,
    client: Client,
    shape: RegisterWorkload,
    history: Arc<Mutex<Vec<Event>>>,
    stop: Arc<AtomicBool>,
    base: Instant,
}

impl Worker {
    async fn run(self) -> anyhow::Result<()> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.id);
        let mut known_version = [0i32; KEYS.len()];
        let mut pace = self.shape.pace.map(tokio::time::interval);
        let mut n = 0;
        while n < self.shape.min_ops_per_worker || !self.stop.load(Ordering::Relaxed) {
            if let Some(pace) = pace.as_mut() {
                pace.tick().await;
            }
            n += 1;
            let value = i64::try_from(self.id * 1_000_000 + n)?;
            let call = self.now();
            let k = rng.gen_range(0..KEYS.len());
            let (op, outcome) = self
                .one_op(&mut rng, k, &mut known_version[k], value)
                .await?;
            let ret = (outcome != Outcome::Unknown).then(|| self.now());
            let event = Event {
                key: KEYS[k].to_string(),
                call,
                ret,
                op,
                outcome,
            };
            if let Ok(mut history) = self.history.lock() {
                history.push(event);
            }
        }
        Ok(())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    async fn one_op(
        &self,
        rng: &mut rand::rngs::StdRng,
        k: usize,
        known_version: &mut i32,
        value: i64,
    ) -> anyhow::Result<(RegisterOp, Outcome)> {
        let (c, key) = (&self.client, KEYS[k]);
        let unknown = |e: &Error| matches!(e, Error::ConnectionLoss);
        Ok(match rng.gen_range(0..3) {
            0 => {
                let read = match self.shape.reads {
                    Reads::Plain => c.get_data(key).await,
                    Reads::Linearizable if rng.gen_bool(0.5) => c.get_data_linearizable(key).await,
                    Reads::Linearizable => match c.sync(key).await {
                        Ok(()) => c.get_data(key).await,
                        Err(e) => Err(e),
                    },
                };
                match read {
                    Ok((data, stat)) => {
                        *known_version = stat.version;
                        let read = (value_of(&data), stat.version);
                        (RegisterOp::Read, Outcome::Read(read))
                    }
                    Err(e) if unknown(&e) => (RegisterOp::Read, Outcome::Unknown),
                    Err(e) => anyhow::bail!("read of {key} failed: {e}"),
                }
            }
            1 => match c.set_data(key, value.to_string().as_bytes(), None).await {
                Ok(_) => (RegisterOp::Write(value), Outcome::Ok),
                Err(e) if unknown(&e) => (RegisterOp::Write(value), Outcome::Unknown),
                Err(e) => anyhow::bail!("write of {key} failed: {e}"),
            },
            _ => {
                let expected_version = *known_version;
                let op = RegisterOp::Cas {
                    expected_version,
                    value,
                };
                let data = value.to_string();
                match c
                    .set_data(key, data.as_bytes(), Some(expected_version))
                    .await
                {
                    Ok(stat) => {
                        *known_version = stat.version;
                        (op, Outcome::Ok)
                    }
                    Err(Error::BadVersion { .. }) => (op, Outcome::CasFailed),
                    Err(e) if unknown(&e) => (op, Outcome::Unknown),
                    Err(e) => anyhow::bail!("compare-and-set of {key} failed: {e}"),
                }
            }
        })
    }
}

/// A register's value from a znode's data (0 when it is not a number).
fn value_of(data: &[u8]) -> i64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
