//! Client integration tests: against a real server on a loopback port
//! (`testkit`), through a fault-injecting proxy, and against a scripted fake
//! server for protocol corners. No fixed sleeps: every wait has a deadline.

mod fake;
mod t10_ops;
mod t20_watches;
mod t30_streams;
mod t40_sessions;
mod t50_protocol;

use client::{Client, SessionEvent, SessionEvents};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;

/// Longest wait for anything in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `f`, failing with `what` after [`WAIT`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(WAIT, f)
        .await
        .map_err(|_| anyhow::anyhow!("timed out waiting for {what}"))
}

/// The next session transition.
pub async fn next_event(events: &mut SessionEvents) -> anyhow::Result<SessionEvent> {
    within("a session event", events.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("session event stream ended"))
}

/// Skips transitions until `want` (failing on a terminal one that is not it).
pub async fn wait_event(events: &mut SessionEvents, want: SessionEvent) -> anyhow::Result<()> {
    loop {
        let event = next_event(events).await?;
        if event == want {
            return Ok(());
        }
        if matches!(event, SessionEvent::Expired | SessionEvent::Closed) {
            anyhow::bail!("got {event:?} while waiting for {want:?}");
        }
    }
}

/// A client with a session timeout long enough to ride out a restart.
pub async fn patient_client(hosts: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(hosts)
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?)
}
