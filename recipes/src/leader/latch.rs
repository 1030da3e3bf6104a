//! Leader latch (Curator's `LeaderLatch`): every participant joins the line
//! under the latch path; the first in line is the leader. A participant waits
//! only for the node just ahead of it, so a leader's departure wakes one
//! participant.
//!
//! Suspended: `has_leadership()` turns false (leadership is in doubt) and the
//! state stream says so; if the session comes back with the node still first,
//! leadership returns. Expired: leadership is lost for good (this client's
//! session is gone); the latch reports it and ends. Every leadership has a
//! fencing token (the creating zxid), larger for each later leader, and
//! guarded writes that only apply while this participant leads.

use super::Leadership;
use crate::internals::contender::guaranteed_delete;
use crate::internals::{
    Contender, FencingToken, Hold, HoldWatch, Step, Ticket, Turn, Waiter, Wake,
};
use crate::{RecipeError, Result};
use client::{Op, OpResult};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One participant in a leader election.
#[derive(Debug)]
pub struct LeaderLatch {
    contender: Contender,
    ticket: Ticket,
    leader: watch::Receiver<bool>,
    hold: watch::Receiver<Option<Hold>>,
    task: JoinHandle<()>,
}

impl LeaderLatch {
    /// Joins the election at `path` with `id` as the node's data.
    pub async fn start(client: client::Client, path: &str, id: &str) -> Result<LeaderLatch> {
        let contender = Contender::new(client, path, "latch");
        let ticket = contender.enter(id.as_bytes()).await?;
        let (tx, leader) = watch::channel(false);
        let (hold_tx, hold) = watch::channel(None);
        let task = tokio::spawn(run(contender.clone(), ticket.clone(), tx, hold_tx));
        Ok(LeaderLatch {
            contender,
            ticket,
            leader,
            hold,
            task,
        })
    }

    /// True while this participant is the leader and connected.
    pub fn has_leadership(&self) -> bool {
        *self.leader.borrow()
    }

    /// Waits until this participant leads (or `timeout`); false on timeout.
    pub async fn await_leadership(&self, timeout: Duration) -> Result<bool> {
        self.wait_leading(Some(Instant::now() + timeout)).await
    }

    /// Waits until this participant leads; false if `deadline` passed
    /// first, `SessionLost` if it never will.
    pub(super) async fn wait_leading(&self, deadline: Option<Instant>) -> Result<bool> {
        let leader = &self.leader;
        let led = Waiter::new(self.contender.client())
            .deadline(deadline)
            .until(|| async move {
                let mut rx = leader.clone();
                if *rx.borrow_and_update() {
                    return Ok(Step::Done(()));
                }
                Ok(Step::Wait(Wake::on(async move {
                    // Closed: the latch stopped without (or after) leading.
                    rx.changed().await.map_err(|_| RecipeError::SessionLost)
                })))
            })
            .await?;
        Ok(led.is_some())
    }

    /// Leadership changes as a watch channel (true = leader).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// The fencing token of this participant's leadership.
    pub fn fencing_token(&self) -> FencingToken {
        FencingToken(self.ticket.czxid)
    }

    /// The participant's node.
    pub fn path(&self) -> &str {
        &self.ticket.path
    }

    /// This participant's leadership as a value (for guarded writes after
    /// the latch is gone, or from another task).
    pub fn leadership(&self) -> Leadership {
        Leadership::new(
            self.contender.client().clone(),
            &self.ticket.path,
            self.fencing_token(),
            self.hold.clone(),
        )
    }

    /// Writes only while this participant leads (a multi that checks its
    /// node first); `NotHolder` if it has not led yet or no longer leads.
    pub async fn guarded_multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        self.leadership().guarded_multi(ops).await
    }

    /// `set_data` guarded by this participant's leadership.
    pub async fn guarded_set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<()> {
        self.leadership()
            .guarded_set_data(path, data, version)
            .await
    }

    /// The current leader's id (data of the first node in line).
    pub async fn leader_id(&self) -> Result<Option<String>> {
        let line = self.contender.line(None).await?;
        let Some(first) = line.first() else {
            return Ok(None);
        };
        match self
            .contender
            .client()
            .get_data(&format!("{}/{first}", self.contender.base()))
            .await
        {
            Ok((data, _)) => Ok(Some(String::from_utf8_lossy(&data).into_owned())),
            Err(client::Error::NoNode { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Leaves the election (gives up leadership if held).
    pub async fn close(self) -> Result<()> {
        self.task.abort();
        guaranteed_delete(self.contender.client(), &self.ticket.path).await
    }
}

impl Drop for LeaderLatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits for the turn, then follows the hold: `hold` says whether (and how
/// surely) this participant leads, `leader` whether it leads for certain.
async fn run(
    contender: Contender,
    ticket: Ticket,
    leader: watch::Sender<bool>,
    held: watch::Sender<Option<Hold>>,
) {
    match contender.wait_turn(&ticket, Turn::FirstOf(1), None).await {
        Ok(true) => {}
        _ => {
            leader.send_replace(false);
            return;
        }
    }
    let hold = HoldWatch::track(contender.client(), &ticket.path);
    let mut state = hold.subscribe();
    loop {
        let now = *state.borrow_and_update();
        held.send_replace(Some(now));
        leader.send_replace(now == Hold::Held);
        if now == Hold::Lost || state.changed().await.is_err() {
            held.send_replace(Some(Hold::Lost));
            leader.send_replace(false);
            return;
        }
    }
}
