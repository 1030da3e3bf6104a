//! A node a recipe holds (a lock, a lease): its ticket, its hold state,
//! guarded writes, and a guaranteed delete on release or drop. Every guard
//! type wraps one.

use super::contender::guaranteed_delete;
use super::fencing::{holder_multi, set_data_op};
use super::{FencingToken, Hold, HoldWatch, Ticket};
use crate::Result;
use client::{Client, Op, OpResult};

/// A held node; released explicitly or, when dropped, in the background.
#[derive(Debug)]
pub struct HeldNode {
    client: Client,
    ticket: Ticket,
    hold: HoldWatch,
    released: bool,
}

impl HeldNode {
    /// Starts holding `ticket`'s node (tracking its hold state).
    pub fn new(client: Client, ticket: Ticket) -> HeldNode {
        let hold = HoldWatch::track(&client, &ticket.path);
        HeldNode {
            client,
            ticket,
            hold,
            released: false,
        }
    }

    /// The client that holds it.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The node's ticket.
    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    /// The fencing token (the creating zxid).
    pub fn fencing_token(&self) -> FencingToken {
        FencingToken(self.ticket.czxid)
    }

    /// Whether it is still held.
    pub fn hold(&self) -> Hold {
        self.hold.get()
    }

    /// Completes when the hold is lost.
    pub async fn lost(&self) {
        self.hold.lost().await
    }

    /// Applies `ops` only while this node is held, `NotHolder` otherwise
    /// (see [`holder_multi`]).
    pub async fn guarded_multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        holder_multi(&self.client, &self.ticket.path, self.hold(), ops).await
    }

    /// `set_data` guarded by this hold.
    pub async fn guarded_set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<()> {
        let op = set_data_op(path, data, version);
        self.guarded_multi(vec![op]).await.map(|_| ())
    }

    /// Deletes the node (through connection loss).
    pub async fn release(mut self) -> Result<()> {
        self.released = true;
        self.hold.end();
        guaranteed_delete(&self.client, &self.ticket.path).await
    }
}

impl Drop for HeldNode {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let client = self.client.clone();
        let path = self.ticket.path.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = guaranteed_delete(&client, &path).await;
            });
        }
    }
}
