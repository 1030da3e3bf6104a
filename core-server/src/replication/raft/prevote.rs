//! Elections, decided here in front of openraft 0.9, which has no pre-vote
//! (Raft thesis §9.6).
//!
//! Without a pre-vote a follower that was paused or cut off past its election
//! timeout comes back, votes for itself in a higher term, and the leader
//! steps down as soon as it hears that term, although a quorum still follows
//! it. So openraft's own election timer is off, and this module starts
//! elections: a voter that has lost its leader first asks the other voters
//! whether they would vote (the `PreVote` peer RPC), and only with a
//! majority of yeses triggers openraft's election. The real vote still
//! decides who leads; the pre-vote only withholds elections that could not
//! help.
//!
//! A voter has lost its leader when it heard nothing from it for an election
//! timeout, or, much sooner, when the connection the leader replicated over
//! closed (a killed leader's sockets are closed by its kernel) and one vote
//! lease has passed since its last message. The vote lease is openraft's: a
//! voter refuses a real vote that soon after hearing from its leader, so a
//! pre-vote is granted only when the real vote would be.

use super::network::peer_client;
use super::types::LogId;
use super::RaftNode;
use crate::clock::{Clock, SystemClock};
use parking_lot::Mutex;
use proto::peer::Blob;
use rand::Rng;
use std::net::SocketAddr;
use std::sync::Weak;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// openraft's vote lease for a heartbeat interval: three heartbeats, so one
/// or two lost heartbeats never open an election.
pub fn lease(heartbeat: Duration) -> Duration {
    heartbeat.max(Duration::from_millis(1)) * 3
}

#[derive(Debug)]
struct Contact {
    /// When a leader's message last arrived.
    last: Instant,
    /// The connection it arrived on.
    via: Option<SocketAddr>,
    /// That connection closed and no message came since.
    closed: bool,
    /// Leader messages being handled right now (a large append can take
    /// longer than an election timeout to write; the leader is not lost
    /// meanwhile).
    in_progress: usize,
}

/// What this server knows of its contact with a leader.
#[derive(Debug)]
pub struct LeaderContact {
    contact: Mutex<Contact>,
}

impl Default for LeaderContact {
    fn default() -> Self {
        Self {
            contact: Mutex::new(Contact {
                last: SystemClock.now(),
                via: None,
                closed: false,
                in_progress: 0,
            }),
        }
    }
}

impl LeaderContact {
    /// Notes a message from the current leader, received on `via`.
    pub fn touch(&self, via: Option<SocketAddr>) {
        let mut c = self.contact.lock();
        c.last = SystemClock.now();
        c.via = via;
        c.closed = false;
    }

    /// Notes that a leader's message arrived on `via` and is being handled;
    /// [`Self::end`] follows when it is done.
    pub fn begin(&self, via: Option<SocketAddr>) {
        self.touch(via);
        self.contact.lock().in_progress += 1;
    }

    /// Notes the end of a message [`Self::begin`] noted; `accepted` if it
    /// came from the current leader (it was not refused for a higher vote).
    pub fn end(&self, via: Option<SocketAddr>, accepted: bool) {
        {
            let mut c = self.contact.lock();
            c.in_progress = c.in_progress.saturating_sub(1);
        }
        if accepted {
            self.touch(via);
        }
    }

    /// Notes that the accepted connection from `peer` closed.
    pub fn connection_closed(&self, peer: SocketAddr) {
        let mut c = self.contact.lock();
        if c.via == Some(peer) {
            c.closed = true;
        }
    }

    /// Time since the last message (zero while one is being handled).
    pub fn since(&self) -> Duration {
        self.state().0
    }

    /// Time since the last message (none while one is being handled), and
    /// whether its connection closed since.
    fn state(&self) -> (Duration, bool) {
        let c = self.contact.lock();
        if c.in_progress > 0 {
            return (Duration::ZERO, false);
        }
        (
            SystemClock.now().saturating_duration_since(c.last),
            c.closed,
        )
    }
}

/// A leader's message being handled: contact while it lasts (if it is from
/// a current leader), counted as contact at its end if it was accepted.
#[derive(Debug)]
pub struct Handling<'a> {
    contact: &'a LeaderContact,
    via: Option<SocketAddr>,
    current: bool,
}

impl<'a> Handling<'a> {
    /// Starts handling a message on `via`; `current` if its vote is not
    /// older than this server's.
    pub fn new(contact: &'a LeaderContact, via: Option<SocketAddr>, current: bool) -> Self {
        if current {
            contact.begin(via);
        }
        Handling {
            contact,
            via,
            current,
        }
    }

    /// Ends it; `accepted` if openraft did not refuse it for a higher vote.
    pub fn end(mut self, accepted: bool) {
        if self.current {
            self.contact.end(self.via, accepted);
            // Ended: the drop below has nothing left to do.
            self.current = false;
        } else if accepted {
            self.contact.touch(self.via);
        }
    }
}

impl Drop for Handling<'_> {
    /// A handler cancelled midway (the leader's call dropped) ends without
    /// counting as contact.
    fn drop(&mut self) {
        if self.current {
            self.contact.end(self.via, false);
        }
    }
}

/// The timings elections follow on one server.
#[derive(Debug, Clone, Copy)]
struct Timing {
    election_timeout: Duration,
    heartbeat: Duration,
}

impl Timing {
    fn of(node: &RaftNode) -> Self {
        Timing {
            election_timeout: node.election_timeout,
            heartbeat: node.heartbeat,
        }
    }

    /// openraft's vote lease for these timings.
    fn lease(&self) -> Duration {
        lease(self.heartbeat)
    }

    /// Whether a follower with this contact has lost its leader.
    fn lost(&self, (elapsed, closed): (Duration, bool)) -> bool {
        elapsed >= self.election_timeout || (closed && elapsed >= self.lease())
    }

    /// How long to wait (after the last contact or attempt) before asking:
    /// randomised so that two voters seldom ask at once.
    fn wait(&self, closed: bool) -> Duration {
        let mut rng = rand::thread_rng();
        if closed {
            self.lease() + rng.gen_range(Duration::ZERO..self.heartbeat * 2)
        } else {
            self.election_timeout + rng.gen_range(Duration::ZERO..self.election_timeout)
        }
    }
}

/// Whether this server would vote now for a candidate whose log ends at
/// `candidate_last`: it lost its leader, and the candidate's log is at least
/// as up to date as its own (Raft's vote rule, so a member that fell behind
/// cannot keep raising the term with elections it cannot win).
pub(super) fn would_vote(node: &RaftNode, candidate_last: Option<LogId>) -> bool {
    if candidate_last < node.log.last_log_id() {
        return false;
    }
    let timing = Timing::of(node);
    let metrics = node.raft().metrics();
    let m = metrics.borrow();
    if m.state == openraft::ServerState::Leader {
        return m
            .millis_since_quorum_ack
            .is_none_or(|ms| u128::from(ms) >= timing.election_timeout.as_millis());
    }
    timing.lost(node.contact.state())
}

/// Asks one voter; an unreachable voter says no.
async fn ask(node: &RaftNode, addr: &str, last: Option<LogId>) -> bool {
    let Some(channel) = node.channels.get(addr) else {
        return false;
    };
    let Ok(payload) = postcard::to_allocvec(&last) else {
        return false;
    };
    let mut client = peer_client(channel);
    let reply =
        tokio::time::timeout(node.election_timeout, client.pre_vote(Blob::new(payload))).await;
    match reply {
        Ok(Ok(reply)) => reply
            .get_ref()
            .payload()
            .ok()
            .and_then(|p| postcard::from_bytes::<bool>(p).ok())
            .unwrap_or(false),
        _ => false,
    }
}

/// One round: true if a majority of voters (this one included) would vote.
async fn poll(node: &RaftNode) -> bool {
    let (voters, me_voter) = {
        let metrics = node.raft().metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        let voters: Vec<String> = membership
            .voter_ids()
            .filter(|id| *id != node.id)
            .filter_map(|id| {
                let peer = membership.get_node(&id)?;
                Some(node.dial_addr(id, peer))
            })
            .collect();
        let me_voter = membership.voter_ids().any(|id| id == node.id);
        (voters, me_voter)
    };
    if !me_voter {
        return false;
    }
    // A majority of all voters, this one included.
    let total = voters.len() + 1;
    let needed = total / 2 + 1;
    let last = node.log.last_log_id();
    let answers = futures::future::join_all(voters.iter().map(|addr| ask(node, addr, last))).await;
    1 + answers.into_iter().filter(|yes| *yes).count() >= needed
}

/// Runs the election timer until `stop` or until the node is gone.
pub(super) async fn run(node: Weak<RaftNode>, stop: CancellationToken) {
    let Some(first) = node.upgrade() else { return };
    let timing = Timing::of(&first);
    let tick = (timing.heartbeat / 4).max(Duration::from_millis(2));
    drop(first);
    // This server's own attempts must not count as leader contact (that
    // would make it refuse the others' pre-votes), so they are timed apart.
    let mut last_attempt: Option<Instant> = None;
    let mut wait = timing.wait(false);
    let mut waiting_closed = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let Some(node) = node.upgrade() else { return };
        if node.is_leader() {
            continue;
        }
        let (elapsed, closed) = node.contact.state();
        if closed != waiting_closed {
            // The leader's connection just closed (or a leader came back):
            // wait the span that fits.
            waiting_closed = closed;
            wait = timing.wait(closed);
        }
        let since_attempt = last_attempt.map_or(Duration::MAX, |at| {
            SystemClock.now().saturating_duration_since(at)
        });
        if elapsed.min(since_attempt) < wait || !timing.lost((elapsed, closed)) {
            continue;
        }
        last_attempt = Some(SystemClock.now());
        wait = timing.wait(closed);
        let vote_before = node.raft().metrics().borrow().vote;
        if poll(&node).await {
            // Another candidate got this server's vote (or a leader was
            // elected) while it asked: standing now would raise the term over
            // that election and depose its winner.
            if node.raft().metrics().borrow().vote != vote_before {
                continue;
            }
            tracing::debug!(node = node.id, closed, "pre-vote won; starting an election");
            if node.raft().trigger().elect().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing {
            election_timeout: Duration::from_millis(500),
            heartbeat: Duration::from_millis(100),
        }
    }

    #[test]
    fn a_follower_hearing_its_leader_has_not_lost_it() {
        let t = timing();
        assert!(!t.lost((Duration::from_millis(100), false)));
        assert!(!t.lost((Duration::from_millis(499), false)));
        assert!(t.lost((Duration::from_millis(500), false)));
    }

    #[test]
    fn a_closed_leader_connection_is_a_loss_after_one_lease() {
        let t = timing();
        assert!(!t.lost((Duration::from_millis(100), true)));
        assert!(t.lost((Duration::from_millis(300), true)));
    }

    #[test]
    fn waits_stay_within_their_spans() {
        let t = timing();
        for _ in 0..100 {
            let fast = t.wait(true);
            assert!(fast >= t.lease() && fast < t.lease() + t.heartbeat * 2);
            let slow = t.wait(false);
            assert!(slow >= t.election_timeout && slow < t.election_timeout * 2);
        }
    }

    #[test]
    fn a_close_of_another_connection_is_ignored() {
        let contact = LeaderContact::default();
        let leader: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        let other: SocketAddr = "127.0.0.1:4001".parse().expect("addr");
        contact.touch(Some(leader));
        contact.connection_closed(other);
        assert!(!contact.state().1);
        contact.connection_closed(leader);
        assert!(contact.state().1);
        contact.touch(Some(other));
        assert!(!contact.state().1, "a new message clears the close");
    }

    #[test]
    fn a_message_being_handled_is_contact() {
        let contact = LeaderContact::default();
        let leader: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        contact.begin(Some(leader));
        contact.connection_closed(leader);
        assert_eq!(contact.state(), (Duration::ZERO, false));
        contact.end(Some(leader), false);
        assert!(contact.state().1, "the close counts once it is handled");
    }
}
