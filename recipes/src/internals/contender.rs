//! The sequential-node dance, once for every recipe (Curator's
//! `LockInternals`): each contender creates an ephemeral-sequential node
//! under a base path; order is the sequence number, and the contender owns
//! that order for every recipe: who is in line ([`Contender::line`]), who is
//! ahead of whom, and when a contender's [`Turn`] has come. A waiting
//! contender watches only the node that blocks it (no herd: one release
//! wakes one waiter), except a turn among the first `n > 1`, which watches
//! the line (see [`Turn::FirstOf`]).
//!
//! Creates are *protected*: the name starts with a random prefix, so if the
//! connection drops before the answer arrives, the contender finds the node it
//! may have created (same prefix, owned by its session) and adopts it instead
//! of leaving a ghost that would block everyone until the session ends.
//!
//! Newcomers join at the back, with one exception: the holder at the front
//! of the line may let a node in beside it ([`Contender::enter_beside`]: a
//! write lock taking the read lock to downgrade). That node carries the
//! holder's sequence number, so it keeps the holder's place once the holder
//! leaves, ahead of everyone who was waiting behind it.

use super::paths::{ensure_path, sequence_of};
use super::wait::{lost, Step, Waiter, Wake};
use crate::{RecipeError, Result};
use client::{Client, CreateMode, CreateOptions, Error, ErrorCode, OneshotWatch, Op, OpResult};
use rand::RngCore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::time::Instant;

/// A place in line: the node a contender created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Full path of the node.
    pub path: String,
    /// The node's name (last segment).
    pub name: String,
    /// Its sequence number.
    pub sequence: i64,
    /// The zxid that created it: a fencing token.
    pub czxid: i64,
}

/// When a contender's turn has come, and what it watches until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn<'a> {
    /// Among the first `n` in line (at least 1). With `n == 1` (a mutex, a
    /// writer, a leader) the contender watches the node just ahead of it.
    /// With more, any of the nodes ahead may leave first, so it watches the
    /// line itself: every join or leave wakes every such waiter, which is
    /// why the semaphore lets only one waiter at a time do this.
    FirstOf(usize),
    /// No node labelled `label` ahead of it (a reader: no writer ahead). It
    /// watches the nearest such node.
    NoneAhead {
        /// The label of the nodes that block.
        label: &'a str,
    },
}

impl Turn<'_> {
    fn watches_line(self) -> bool {
        matches!(self, Turn::FirstOf(n) if n > 1)
    }
}

/// Where a contender stands in line under a [`Turn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing<'l> {
    /// Its turn has come.
    Holds,
    /// The node of this name must go first.
    Behind(&'l str),
    /// Some of the nodes ahead must go first (watch the line).
    Waiting,
}

/// Where the contender named `me` stands in `line` under `turn`; `None` if
/// it is not in line.
fn standing<'l>(line: &'l [String], me: &str, turn: Turn<'_>) -> Option<Standing<'l>> {
    let ahead = &line[..line.iter().position(|name| name == me)?];
    Some(match turn {
        Turn::FirstOf(n) if ahead.len() < n.max(1) => Standing::Holds,
        Turn::FirstOf(n) if n > 1 => Standing::Waiting,
        Turn::FirstOf(_) => ahead
            .last()
            .map_or(Standing::Holds, |n| Standing::Behind(n)),
        Turn::NoneAhead { label } => ahead
            .iter()
            .rev()
            .find(|n| has_label(n, label))
            .map_or(Standing::Holds, |n| Standing::Behind(n)),
    })
}

/// Whether a contender node's name carries `label`.
fn has_label(name: &str, label: &str) -> bool {
    name.contains(&format!("-{label}-"))
}

/// The contender nodes among `children`, in sequence order; nodes that share
/// a sequence number (a holder and the node it let in beside it) by name, so
/// every look sees the same order.
fn in_order(mut children: Vec<String>) -> Vec<String> {
    children.retain(|n| n.starts_with("_c_") && sequence_of(n).is_some());
    children.sort_by(|a, b| sequence_of(a).cmp(&sequence_of(b)).then_with(|| a.cmp(b)));
    children
}

/// A fresh random protection prefix for a contender node's name.
fn protection() -> String {
    let mut id = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut id);
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Contenders for one base path.
#[derive(Debug, Clone)]
pub struct Contender {
    client: Client,
    base: String,
    label: String,
    wakeups: Arc<AtomicU64>,
}

impl Contender {
    /// Contenders under `base`, nodes named `<protection>-<label>-<seq>`.
    pub fn new(client: Client, base: &str, label: &str) -> Contender {
        Contender {
            client,
            base: base.trim_end_matches('/').to_string(),
            label: label.to_string(),
            wakeups: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The base path.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How many times a waiting contender of this value was woken by a watch
    /// (tests use it to show there is no herd).
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Joins the line with `data`; protected against a lost create.
    pub async fn enter(&self, data: &[u8]) -> Result<Ticket> {
        let prefix = format!("_c_{}-{}-", protection(), self.label);
        loop {
            ensure_path(&self.client, &self.base, true).await?;
            let path = format!("{}/{prefix}", self.base);
            match self
                .client
                .create(
                    &path,
                    data,
                    CreateOptions::mode(CreateMode::EphemeralSequential),
                )
                .await
            {
                Ok((path, stat)) => return self.ticket(path, stat.czxid),
                // The container was reaped between ensure_path and create.
                Err(Error::NoNode { .. }) => continue,
                // The create may have happened: find it before trying again,
                // and keep looking through further connection losses (giving
                // up here would leave an orphan node ahead of everyone).
                Err(Error::ConnectionLoss) => loop {
                    match self.adopt(&prefix).await {
                        Ok(Some(ticket)) => return Ok(ticket),
                        Ok(None) => break,
                        Err(RecipeError::Client(Error::ConnectionLoss)) => continue,
                        Err(e) => return Err(e),
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Joins the line beside `holder`, a node of this base path that is
    /// first in line and holds (a write lock letting its own read lock in,
    /// to downgrade): the new node is an ephemeral named with the holder's
    /// sequence number, so it stands at the holder's place, ahead of everyone
    /// who joined after the holder, and stays there once the holder leaves.
    /// Nobody's turn moves: only the holder's own was at the front. (Not for
    /// a holder among the first `n > 1`: the node would push the last of
    /// them out of their turn.)
    ///
    /// The node is only created while the holder's node exists (one multi
    /// checks it): `NotHolder` if it is gone, `SessionLost` if the session
    /// ended. The name is fixed before the first try, so a retry after a lost
    /// answer finds the node it may have created instead of making another.
    pub async fn enter_beside(&self, holder: &Ticket, data: &[u8]) -> Result<Ticket> {
        let name = format!("_c_{}-{}-{:010}", protection(), self.label, holder.sequence);
        let path = format!("{}/{name}", self.base);
        loop {
            let ops = vec![
                Op::Check {
                    path: holder.path.clone(),
                    version: None,
                },
                Op::Create {
                    path: path.clone(),
                    data: data.to_vec(),
                    options: CreateOptions::mode(CreateMode::Ephemeral),
                },
            ];
            match self.client.multi(ops).await {
                Ok(results) => {
                    let czxid = results.iter().find_map(|r| match r {
                        OpResult::Created { stat, .. } => Some(stat.czxid),
                        _ => None,
                    });
                    let czxid = czxid.ok_or_else(|| {
                        Error::Protocol(format!("a multi creating {path} created nothing"))
                    })?;
                    return self.ticket(path, czxid);
                }
                Err(Error::Multi { results, .. })
                    if results.first() == Some(&ErrorCode::NoNode) =>
                {
                    return Err(RecipeError::NotHolder)
                }
                // An earlier try whose answer was lost created it.
                Err(Error::Multi { results, .. })
                    if results.get(1) == Some(&ErrorCode::NodeExists) =>
                {
                    match self.client.exists(&path).await {
                        Ok(Some(stat)) if stat.ephemeral_owner == self.client.session_id() => {
                            return self.ticket(path, stat.czxid)
                        }
                        Ok(Some(_)) => return Err(Error::NodeExists { path }.into()),
                        Ok(None) | Err(Error::ConnectionLoss) => continue,
                        Err(e) => return Err(lost(e.into())),
                    }
                }
                // It may have been applied: the next try tells.
                Err(Error::ConnectionLoss) => continue,
                Err(e) => return Err(lost(e.into())),
            }
        }
    }

    fn ticket(&self, path: String, czxid: i64) -> Result<Ticket> {
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let sequence = sequence_of(&name)
            .ok_or_else(|| RecipeError::Decode(format!("no sequence in {name}")))?;
        Ok(Ticket {
            path,
            name,
            sequence,
            czxid,
        })
    }

    /// Finds a node created by this session with `prefix` (a create whose
    /// answer was lost).
    async fn adopt(&self, prefix: &str) -> Result<Option<Ticket>> {
        // The lost create may still be on its way through the log (a leader
        // failover commits it later): `sync` first, so that anything that
        // will ever commit from before this point is visible here.
        self.client.sync(&self.base).await?;
        let children = match self.client.get_children(&self.base).await {
            Ok(c) => c,
            Err(Error::NoNode { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        for name in children.into_iter().filter(|n| n.starts_with(prefix)) {
            let path = format!("{}/{name}", self.base);
            if let Some(stat) = self.client.exists(&path).await? {
                if stat.ephemeral_owner == self.client.session_id() {
                    return self.ticket(path, stat.czxid).map(Some);
                }
            }
        }
        Ok(None)
    }

    /// Every contender's node name in line order (optionally only those whose
    /// label is `label`).
    pub async fn line(&self, label: Option<&str>) -> Result<Vec<String>> {
        let mut line = self.read_line(false).await?.0;
        if let Some(label) = label {
            line.retain(|n| has_label(n, label));
        }
        Ok(line)
    }

    /// The line in order, and with `watch` a watch on it (fires when anyone
    /// joins or leaves). A missing base is an empty line (and no watch).
    async fn read_line(&self, watch: bool) -> Result<(Vec<String>, Option<OneshotWatch>)> {
        let read = if watch {
            self.client
                .get_children_watch(&self.base)
                .await
                .map(|(c, w)| (c, Some(w)))
        } else {
            self.client
                .get_children(&self.base)
                .await
                .map(|c| (c, None))
        };
        match read {
            Ok((children, watch)) => Ok((in_order(children), watch)),
            Err(Error::NoNode { .. }) => Ok((Vec::new(), None)),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until it is `ticket`'s turn (see [`Turn`]); `false` if
    /// `deadline` passed first; `SessionLost` if the session ended; `Closed`
    /// if the ticket's node is gone (deleted by someone else). The waiting is
    /// the shared [`Waiter`]: every wake-up re-reads the line.
    pub async fn wait_turn(
        &self,
        ticket: &Ticket,
        turn: Turn<'_>,
        deadline: Option<Instant>,
    ) -> Result<bool> {
        let waited = Waiter::new(&self.client)
            .deadline(deadline)
            .until(|| self.look(ticket, turn))
            .await?;
        Ok(waited.is_some())
    }

    /// One look for [`Contender::wait_turn`].
    async fn look(&self, ticket: &Ticket, turn: Turn<'_>) -> Result<Step<'_, ()>> {
        let (line, line_watch) = self.read_line(turn.watches_line()).await?;
        let standing = standing(&line, &ticket.name, turn).ok_or(RecipeError::Closed)?;
        let watch = match (standing, line_watch) {
            (Standing::Holds, _) => return Ok(Step::Done(())),
            (Standing::Behind(ahead), _) => {
                let ahead = format!("{}/{ahead}", self.base);
                match self.client.exists_watch(&ahead).await? {
                    (None, _) => return Ok(Step::Again),
                    (Some(_), watch) => watch,
                }
            }
            (Standing::Waiting, Some(watch)) => watch,
            // Only a missing base leaves the line unwatched, and the ticket
            // went with it.
            (Standing::Waiting, None) => return Err(RecipeError::Closed),
        };
        let wakeups = &self.wakeups;
        Ok(Step::Wait(Wake::on(async move {
            Wake::watch(watch).await?;
            wakeups.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })))
    }

    /// Joins the line and waits to be among its first `n` (see
    /// [`Turn::FirstOf`]); gives up its place (deleting its node) on timeout
    /// (`None`) or error.
    pub async fn acquire(&self, n: usize, deadline: Option<Instant>) -> Result<Option<Ticket>> {
        let ticket = self.enter(b"").await?;
        match self.wait_turn(&ticket, Turn::FirstOf(n), deadline).await {
            Ok(true) => Ok(Some(ticket)),
            Ok(false) => {
                self.leave(&ticket).await?;
                Ok(None)
            }
            Err(e) => {
                let _ = self.leave(&ticket).await;
                Err(e)
            }
        }
    }

    /// Leaves the line: deletes the ticket's node, retrying through
    /// connection loss until it is gone or the session is (guaranteed delete).
    pub async fn leave(&self, ticket: &Ticket) -> Result<()> {
        guaranteed_delete(&self.client, &ticket.path).await
    }
}

/// Deletes `path`, retrying through connection loss; done when the node or
/// the session is gone.
pub async fn guaranteed_delete(client: &Client, path: &str) -> Result<()> {
    loop {
        match client.delete(path, None).await {
            Ok(())
            | Err(Error::NoNode { .. })
            | Err(Error::SessionExpired)
            | Err(Error::Closed) => return Ok(()),
            Err(Error::ConnectionLoss) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_line_is_in_sequence_order_and_only_contenders() {
        let children = line(&[
            "_c_b-lock-0000000012",
            "locks",
            "_c_a-lock-0000000003",
            "_c_c-lock-00000000zz",
        ]);
        assert_eq!(
            in_order(children),
            line(&["_c_a-lock-0000000003", "_c_b-lock-0000000012"])
        );
    }

    #[test]
    fn a_node_let_in_beside_the_holder_keeps_its_place_ahead_of_later_nodes() {
        let children = line(&[
            "_c_c-write-0000000006",
            "_c_f-read-0000000005",
            "_c_d-read-0000000007",
            "_c_a-write-0000000005",
        ]);
        let ordered = line(&[
            "_c_a-write-0000000005",
            "_c_f-read-0000000005",
            "_c_c-write-0000000006",
            "_c_d-read-0000000007",
        ]);
        assert_eq!(in_order(children.clone()), ordered);
        let mut reversed = children;
        reversed.reverse();
        assert_eq!(in_order(reversed), ordered, "the same order on every look");
        // Once the holder has left, the waiting writer waits for the node
        // that took its place.
        let left = line(&[
            "_c_f-read-0000000005",
            "_c_c-write-0000000006",
            "_c_d-read-0000000007",
        ]);
        assert_eq!(
            standing(&left, "_c_c-write-0000000006", Turn::FirstOf(1)),
            Some(Standing::Behind("_c_f-read-0000000005"))
        );
        let reader = Turn::NoneAhead { label: "write" };
        assert_eq!(
            standing(&left, "_c_f-read-0000000005", reader),
            Some(Standing::Holds)
        );
        assert_eq!(
            standing(&left, "_c_d-read-0000000007", reader),
            Some(Standing::Behind("_c_c-write-0000000006"))
        );
    }

    #[test]
    fn a_first_of_one_turn_waits_for_the_node_just_ahead() {
        let l = line(&["_c_a-lock-01", "_c_b-lock-02", "_c_c-lock-03"]);
        assert_eq!(
            standing(&l, "_c_a-lock-01", Turn::FirstOf(1)),
            Some(Standing::Holds)
        );
        assert_eq!(
            standing(&l, "_c_a-lock-01", Turn::FirstOf(0)),
            Some(Standing::Holds)
        );
        assert_eq!(
            standing(&l, "_c_c-lock-03", Turn::FirstOf(1)),
            Some(Standing::Behind("_c_b-lock-02"))
        );
        assert_eq!(standing(&l, "_c_d-lock-04", Turn::FirstOf(1)), None);
    }

    #[test]
    fn a_first_of_n_turn_watches_the_line() {
        let l = line(&["_c_a-lease-01", "_c_b-lease-02", "_c_c-lease-03"]);
        assert_eq!(
            standing(&l, "_c_b-lease-02", Turn::FirstOf(2)),
            Some(Standing::Holds)
        );
        assert_eq!(
            standing(&l, "_c_c-lease-03", Turn::FirstOf(2)),
            Some(Standing::Waiting)
        );
    }

    #[test]
    fn a_reader_waits_for_the_nearest_writer_ahead() {
        let l = line(&[
            "_c_a-write-01",
            "_c_b-read-02",
            "_c_c-write-03",
            "_c_d-read-04",
            "_c_e-read-05",
        ]);
        let at = |me| standing(&l, me, Turn::NoneAhead { label: "write" });
        assert_eq!(at("_c_b-read-02"), Some(Standing::Behind("_c_a-write-01")));
        assert_eq!(at("_c_e-read-05"), Some(Standing::Behind("_c_c-write-03")));
        assert_eq!(at("_c_a-write-01"), Some(Standing::Holds));
    }
}
