//! Guarantees on time: session expiry and TTL reaping follow the server's
//! clock, not the time the test waits. The server runs on a `ManualClock`,
//! which moves only when the test advances it, so a 20 s session expires
//! (and a 10 min TTL node is reaped) within a few real seconds, and only
//! once the clock has passed its deadline.

use client::{Client, CreateMode, CreateOptions};
use core_server::clock::ManualClock;
use std::sync::Arc;
use std::time::Duration;
use testkit::proxy::{Fault, Proxy};
use testkit::{eventually, test_config, TestServer};

/// Far shorter than any timeout below: a deadline reached in this time was
/// reached by the clock, not by waiting.
const REAL_WAIT: Duration = Duration::from_secs(8);

#[tokio::test]
async fn a_silent_session_expires_when_the_clock_passes_its_timeout() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new());
    let server = TestServer::start_with_clock(test_config(), clock.clone()).await?;
    let proxy = Proxy::start(server.addr()).await?;
    let owner = Client::builder(&proxy.addr().to_string())
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?;
    owner
        .create("/e", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    // The observer's own timeout outlasts every advance below.
    let observer = Client::builder(&server.connect_string())
        .session_timeout(Duration::from_secs(60))
        .build()
        .await?;
    // The owner goes silent: nothing of it reaches the server any more.
    proxy.set(Fault::Drop);
    clock.advance(Duration::from_secs(10));
    assert!(
        observer.exists("/e").await?.is_some(),
        "half the timeout: the session lives"
    );
    clock.advance(Duration::from_secs(11));
    eventually(
        REAL_WAIT,
        "the silent session's ephemeral to go",
        || async { matches!(observer.exists("/e").await, Ok(None)) },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_ttl_node_is_reaped_once_the_clock_passes_its_ttl() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new());
    let server = TestServer::start_with_clock(test_config(), clock.clone()).await?;
    let client = Client::connect(&server.connect_string()).await?;
    let ttl = CreateOptions {
        ttl: Some(Duration::from_secs(600)),
        ..CreateOptions::mode(CreateMode::PersistentWithTtl)
    };
    client.create("/ttl", b"", ttl).await?;
    // An emptied container is reaped on the next pass whatever the clock
    // says: once it is gone, the reaper has run and kept the TTL node.
    client
        .create("/box", b"", CreateOptions::mode(CreateMode::Container))
        .await?;
    client
        .create("/box/x", b"", CreateOptions::default())
        .await?;
    client.delete("/box/x", None).await?;
    eventually(REAL_WAIT, "the emptied container to be reaped", || async {
        matches!(client.exists("/box").await, Ok(None))
    })
    .await?;
    assert!(
        client.exists("/ttl").await?.is_some(),
        "its TTL has not passed"
    );
    clock.advance(Duration::from_secs(601));
    // The jump outlives the first client's session too: look with a new one.
    let fresh = Client::connect(&server.connect_string()).await?;
    eventually(REAL_WAIT, "the expired TTL node to be reaped", || async {
        matches!(fresh.exists("/ttl").await, Ok(None))
    })
    .await?;
    Ok(())
}
