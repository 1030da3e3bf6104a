//! A participant's leadership as a value: its node, its fencing token and
//! what it knows of its hold, for guarded writes. [`LeaderLatch::leadership`]
//! hands one out, and every [`LeaderSelector`] term gets one.
//!
//! [`LeaderLatch::leadership`]: super::LeaderLatch::leadership
//! [`LeaderSelector`]: super::LeaderSelector

use crate::internals::fencing::{holder_multi, set_data_op};
use crate::internals::{FencingToken, Hold};
use crate::{RecipeError, Result};
use client::{Client, Op, OpResult};
use tokio::sync::watch;

/// One participant's leadership. A participant leads from the moment its
/// node is first in line for as long as the node exists (nothing can get
/// ahead of it again), so a guarded write checks that node.
#[derive(Debug, Clone)]
pub struct Leadership {
    client: Client,
    path: String,
    token: FencingToken,
    hold: watch::Receiver<Option<Hold>>,
}

impl Leadership {
    /// The leadership of the participant whose node is `path`; `hold` is
    /// `None` until it first leads.
    pub(super) fn new(
        client: Client,
        path: &str,
        token: FencingToken,
        hold: watch::Receiver<Option<Hold>>,
    ) -> Leadership {
        Leadership {
            client,
            path: path.to_string(),
            token,
            hold,
        }
    }

    /// The fencing token: larger for every later leader.
    pub fn fencing_token(&self) -> FencingToken {
        self.token
    }

    /// The participant's node.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `None` while the participant has not led yet; then the hold of its
    /// leadership (in doubt while suspended, lost once the session is).
    pub fn hold(&self) -> Option<Hold> {
        *self.hold.borrow()
    }

    /// Writes only while this participant leads (a multi that checks its
    /// node first); `NotHolder` if it has not led yet or no longer leads.
    pub async fn guarded_multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        let Some(hold) = self.hold() else {
            return Err(RecipeError::NotHolder);
        };
        holder_multi(&self.client, &self.path, hold, ops).await
    }

    /// `set_data` guarded by this leadership.
    pub async fn guarded_set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<()> {
        let op = set_data_op(path, data, version);
        self.guarded_multi(vec![op]).await.map(|_| ())
    }
}
