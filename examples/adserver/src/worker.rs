//! One ad-serving worker, wired together: its Corral session, its
//! membership and beats (the lease), its candidacy for coordinator, the
//! split it follows, and its HTTP front.

use crate::http::{self, Front};
use crate::model::{now_ms, Split, BUDGET, ELECTION, MEMBERS};
use crate::pacing::Pacer;
use crate::{coordinator, lease};
use client::Client;
use recipes::{ConfigWatcher, GroupMember, LeaderLatch};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The session timeout workers ask for (the server may raise it to its
/// minimum). A killed coordinator is replaced when its session expires.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(4);

/// A running worker.
pub struct Worker {
    /// Its id.
    pub id: String,
    /// Where its HTTP front listens.
    pub http: SocketAddr,
    /// The handlers' shared state (pacer, counters).
    pub front: Arc<Front>,
    client: Client,
    latch: Arc<LeaderLatch>,
    tasks: Vec<JoinHandle<()>>,
    _member: GroupMember,
}

impl Worker {
    /// Starts worker `id` against Corral at `connect`, serving HTTP on `http`.
    pub async fn start(connect: &str, id: &str, http: SocketAddr) -> anyhow::Result<Worker> {
        let client = Client::builder(connect)
            .session_timeout(SESSION_TIMEOUT)
            .build()
            .await?;
        let pacer = Arc::new(Pacer::new(id));
        let beat = format!("{{\"beat_ms\":{}}}", now_ms());
        let member = GroupMember::join(client.clone(), MEMBERS, id, beat.as_bytes()).await?;
        let mut tasks = vec![lease::start(
            client.clone(),
            format!("{MEMBERS}/{id}"),
            pacer.clone(),
        )];
        let latch = Arc::new(LeaderLatch::start(client.clone(), ELECTION, id).await?);
        tasks.push(tokio::spawn(coordinator::run(
            client.clone(),
            id.to_string(),
            latch.clone(),
        )));
        let mut watcher = ConfigWatcher::<Split>::start(client.clone(), BUDGET).await?;
        let follower = pacer.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(next) = watcher.next().await {
                match next {
                    Ok(v) => follower.offer(v.value, now_ms()),
                    Err(e) => eprintln!("split: {e}"),
                }
            }
        }));
        let front = Arc::new(Front {
            worker: id.to_string(),
            pacer,
            served: Default::default(),
        });
        let (http, server) = http::serve(http, front.clone()).await?;
        tasks.push(server);
        Ok(Worker {
            id: id.to_string(),
            http,
            front,
            client,
            latch,
            tasks,
            _member: member,
        })
    }

    /// True while this worker is the coordinator.
    pub fn is_coordinator(&self) -> bool {
        self.latch.has_leadership()
    }

    /// Stops serving and closes the session (a clean shutdown: membership
    /// and candidacy go at once).
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.client.close().await;
    }
}
