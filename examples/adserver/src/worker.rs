//! One ad-serving worker: joins the fleet, beats, takes part in the
//! coordinator election, follows the settings and its budget share, serves
//! ads within that share, and joins the periodic reconciliation barrier.

use crate::model::{split, BudgetSplit, Settings};
use client::Client;
use futures::StreamExt;
use recipes::nodes::members;
use recipes::{ConfigWatcher, DoubleBarrier, GroupMember, HeartbeatPublisher, LeaderLatch};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Paths the fleet uses.
pub const MEMBERS: &str = "/adserver/members";
/// The coordinator election.
pub const ELECTION: &str = "/adserver/coordinator";
/// Campaign settings (JSON).
pub const SETTINGS: &str = "/adserver/settings";
/// The budget split (JSON, written by the coordinator).
pub const BUDGET: &str = "/adserver/budget";
/// Reconciliation barriers.
pub const RECONCILE: &str = "/adserver/reconcile";

/// A running worker.
pub struct Worker {
    /// Its id.
    pub id: String,
    /// Its client (one session).
    pub client: Client,
    /// Ads served so far.
    pub served: Arc<AtomicU64>,
    /// Reconciliation rounds completed.
    pub reconciled: Arc<AtomicU64>,
    latch: Arc<LeaderLatch>,
    share: Arc<RwLock<BudgetSplit>>,
    tasks: Vec<JoinHandle<()>>,
    _member: GroupMember,
    _beats: HeartbeatPublisher,
}

impl Worker {
    /// Starts worker `id` against `connect`.
    pub async fn start(connect: &str, id: &str) -> anyhow::Result<Worker> {
        let client = Client::builder(connect)
            .session_timeout(Duration::from_secs(4))
            .build()
            .await?;
        let member = GroupMember::join(client.clone(), MEMBERS, id, b"{}").await?;
        let beats = HeartbeatPublisher::start(
            client.clone(),
            &format!("{MEMBERS}/{id}"),
            Duration::from_millis(500),
        );
        let latch = Arc::new(LeaderLatch::start(client.clone(), ELECTION, id).await?);
        let share = Arc::new(RwLock::new(BudgetSplit::default()));
        let served = Arc::new(AtomicU64::new(0));
        let reconciled = Arc::new(AtomicU64::new(0));
        let tasks = vec![
            tokio::spawn(coordinate(client.clone(), id.to_string(), latch.clone())),
            tokio::spawn(follow_budget(client.clone(), share.clone())),
            tokio::spawn(serve(id.to_string(), share.clone(), served.clone())),
            tokio::spawn(reconcile(
                client.clone(),
                id.to_string(),
                reconciled.clone(),
            )),
        ];
        Ok(Worker {
            id: id.to_string(),
            client,
            served,
            reconciled,
            latch,
            share,
            tasks,
            _member: member,
            _beats: beats,
        })
    }

    /// True while this worker is the coordinator.
    pub fn is_coordinator(&self) -> bool {
        self.latch.has_leadership()
    }

    /// The split this worker follows.
    pub fn budget(&self) -> BudgetSplit {
        self.share.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops the worker like a process shutdown: its session is closed, so
    /// its membership and candidacy go at once.
    pub async fn kill(self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.client.close().await;
    }
}

/// While leading: recompute and publish the split whenever membership or
/// settings change. Writes are guarded by the leadership node, so a deposed
/// coordinator cannot overwrite its successor.
async fn coordinate(client: Client, id: String, latch: Arc<LeaderLatch>) {
    let mut leading = latch.subscribe();
    loop {
        if leading.wait_for(|l| *l).await.is_err() {
            return;
        }
        let Ok(watch) = client
            .add_watch("/adserver", client::AddWatchMode::PersistentRecursive)
            .await
        else {
            return;
        };
        let mut changes = Box::pin(watch.filter(|e| {
            let membership =
                e.path.starts_with(MEMBERS) && e.event_type != client::EventType::NodeDataChanged;
            let relevant = membership || e.path == SETTINGS;
            async move { relevant }
        }));
        loop {
            if let Err(e) = publish_split(&client, &id, &latch).await {
                eprintln!("coordinator {id}: {e}");
            }
            tokio::select! {
                change = changes.next() => if change.is_none() { return },
                _ = leading.wait_for(|l| !*l) => break,
            }
        }
    }
}

async fn publish_split(client: &Client, id: &str, latch: &LeaderLatch) -> anyhow::Result<()> {
    let (data, stat) = client.get_data(SETTINGS).await?;
    let settings: Settings = serde_json::from_slice(&data)?;
    let workers: Vec<String> = members(client, MEMBERS).await?.into_keys().collect();
    let budget = split(&settings, stat.version, id, &workers);
    let bytes = serde_json::to_vec(&budget)?;
    if client.exists(BUDGET).await?.is_none() {
        match client.create(BUDGET, b"{}", Default::default()).await {
            Ok(_) | Err(client::Error::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let op = client::Op::SetData {
        path: BUDGET.into(),
        data: bytes,
        version: None,
    };
    recipes::internals::fencing::guarded_multi(client, latch.path(), vec![op]).await?;
    Ok(())
}

async fn follow_budget(client: Client, share: Arc<RwLock<BudgetSplit>>) {
    let Ok(mut watcher) = ConfigWatcher::<BudgetSplit>::start(client, BUDGET).await else {
        return;
    };
    while let Some(next) = watcher.next().await {
        if let Ok(v) = next {
            if let Ok(mut s) = share.write() {
                *s = v.value;
            }
        }
    }
}

/// Serves ads within this worker's share: every 10 ms, a hundredth of the
/// per-second share of each campaign.
async fn serve(id: String, share: Arc<RwLock<BudgetSplit>>, served: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut carry: BTreeMap<String, u64> = BTreeMap::new();
    let mut checksum = 0u64;
    loop {
        tick.tick().await;
        let quotas: Vec<(String, u64)> = match share.read() {
            Ok(s) => s
                .shares
                .iter()
                .map(|(c, by)| (c.clone(), by.get(&id).copied().unwrap_or(0)))
                .collect(),
            Err(_) => return,
        };
        for (campaign, per_s) in quotas {
            let owed = carry.entry(campaign.clone()).or_default();
            *owed += per_s;
            let now = *owed / 100;
            *owed %= 100;
            for n in 0..now {
                // "Serving" an ad: pick a creative and render its id.
                checksum = checksum
                    .wrapping_mul(31)
                    .wrapping_add(campaign.len() as u64 + n);
            }
            served.fetch_add(now, Ordering::Relaxed);
        }
        std::hint::black_box(checksum);
    }
}

/// Every 3 s, the live members line up on a double barrier.
async fn reconcile(client: Client, id: String, rounds: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3));
    tick.tick().await;
    loop {
        tick.tick().await;
        let Ok(live) = members(&client, MEMBERS).await else {
            continue;
        };
        let round = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 3);
        let barrier = DoubleBarrier::new(
            client.clone(),
            &format!("{RECONCILE}/r{round}"),
            &id,
            live.len(),
        );
        if let (Ok(true), Ok(true)) = (
            barrier.enter(Duration::from_secs(2)).await,
            barrier.leave(Duration::from_secs(2)).await,
        ) {
            rounds.fetch_add(1, Ordering::Relaxed);
        }
    }
}
