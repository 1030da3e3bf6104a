//! The znode tree and the replicated session table: the state machine.
//!
//! Owns znodes, `Stat` bookkeeping (czxid/mzxid/pzxid, version/cversion/aversion),
//! per-parent sequence counters, the ephemeral-owner index and the session table
//! (id, password, timeout). Changes return [`TreeEvent`]s. Must not touch:
//! watches, sockets, time, the log, session liveness timers.
