//! Leader selector (Curator's `LeaderSelector`): runs a task while this
//! participant leads and cancels it the moment leadership is lost or in doubt
//! (connection suspended: another participant may lead soon). With `requeue`,
//! the participant rejoins the line after each term.
//!
//! Expired: the term's task is cancelled; with `requeue` the selector stops,
//! since this client's session is gone.
//!
//! Each term's work gets the term's [`Leadership`]: its fencing token and
//! guarded writes that only apply while the term's node leads, so work that
//! runs on after the term ended (a paused process, a copy of the value sent
//! elsewhere) cannot write over the next leader's.

use super::{LeaderLatch, Leadership};
use client::Client;
use std::future::Future;
use tokio::task::JoinHandle;

/// A participant that runs a task while it leads.
#[derive(Debug)]
pub struct LeaderSelector {
    task: JoinHandle<()>,
}

impl LeaderSelector {
    /// Joins the election at `path` as `id`; every time this participant
    /// leads, `work(leadership)` runs until it finishes (the term ends) or
    /// leadership is lost (the future is dropped).
    pub fn start<F, Fut>(
        client: Client,
        path: &str,
        id: &str,
        requeue: bool,
        work: F,
    ) -> LeaderSelector
    where
        F: Fn(Leadership) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (path, id) = (path.to_string(), id.to_string());
        let task = tokio::spawn(async move {
            loop {
                let Ok(latch) = LeaderLatch::start(client.clone(), &path, &id).await else {
                    return;
                };
                if !matches!(latch.wait_leading(None).await, Ok(true)) {
                    return;
                }
                let mut leader = latch.subscribe();
                tokio::select! {
                    _ = work(latch.leadership()) => {}
                    _ = leader.wait_for(|l| !*l) => {}
                }
                let _ = latch.close().await;
                if !requeue || client.state().is_terminal() {
                    return;
                }
            }
        });
        LeaderSelector { task }
    }

    /// True once the selector has stopped (not requeued, or session gone).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops taking part (cancels a running term).
    pub fn close(self) {
        self.task.abort();
    }
}

impl Drop for LeaderSelector {
    fn drop(&mut self) {
        self.task.abort();
    }
}
