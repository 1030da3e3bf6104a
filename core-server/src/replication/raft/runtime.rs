//! openraft's async runtime for Corral: tokio, with longer RPC timeouts.
//!
//! openraft 0.9 gives every AppendEntries (and every vote and read-index
//! heartbeat) one heartbeat interval to be answered, and the same setting
//! paces the heartbeats. A follower writing and fsyncing a large batch on a
//! busy disk takes longer than that, so under load every append timed out,
//! was sent again, and the leader, seeing no acknowledgements, believed it
//! had lost its quorum and dropped its clients. The heartbeat pace must stay
//! short for fast failover, so the timeouts are stretched here instead: this
//! runtime is tokio's except that every timeout openraft sets is
//! [`RPC_TIMEOUT_FACTOR`] times longer. openraft uses these timeouts only
//! for peer RPCs and its own waits, never for safety; an unreachable peer
//! still fails at once (its connection is refused or reset).

use crate::clock::{Clock, SystemClock};
use openraft::async_runtime::TokioOneShotSender;
use openraft::{AsyncRuntime, OptionalSend, TokioInstant, TokioRuntime};
use std::future::Future;
use std::time::Duration;

/// How much longer than openraft asks an RPC may take.
pub const RPC_TIMEOUT_FACTOR: u32 = 20;

/// Tokio, with openraft's timeouts stretched by [`RPC_TIMEOUT_FACTOR`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CorralRuntime;

impl AsyncRuntime for CorralRuntime {
    type JoinError = <TokioRuntime as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <TokioRuntime as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <TokioRuntime as AsyncRuntime>::Sleep;
    type Instant = TokioInstant;
    type TimeoutError = <TokioRuntime as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = tokio::time::Timeout<T>;
    type ThreadLocalRng = <TokioRuntime as AsyncRuntime>::ThreadLocalRng;
    type OneshotSender<T: OptionalSend> = TokioOneShotSender<T>;
    type OneshotReceiver<T: OptionalSend> = tokio::sync::oneshot::Receiver<T>;
    type OneshotReceiverError = <TokioRuntime as AsyncRuntime>::OneshotReceiverError;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        TokioRuntime::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        TokioRuntime::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        TokioRuntime::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        tokio::time::timeout(stretch(duration), future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        let now = TokioInstant::from_std(SystemClock.now());
        let stretched = now + stretch(deadline.saturating_duration_since(now));
        tokio::time::timeout_at(stretched, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        TokioRuntime::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        TokioRuntime::thread_rng()
    }

    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        TokioRuntime::oneshot()
    }
}

/// `duration`, [`RPC_TIMEOUT_FACTOR`] times longer (saturating).
fn stretch(duration: Duration) -> Duration {
    duration.saturating_mul(RPC_TIMEOUT_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_timeout_lasts_the_stretched_span() {
        let asked = Duration::from_millis(50);
        let slow = tokio::time::sleep(asked * 2);
        assert!(CorralRuntime::timeout(asked, slow).await.is_ok());
        let too_slow = tokio::time::sleep(asked * RPC_TIMEOUT_FACTOR + asked);
        assert!(CorralRuntime::timeout(asked, too_slow).await.is_err());
    }
}
