//! Resumable watch streams (`watch_from`) against a real server: replay of
//! history, slow consumers, compaction.

use crate::within;
use client::{Client, CreateOptions, Error, EventType, WatchStream, WATCH_BUFFER};
use futures::StreamExt;
use testkit::{test_config, TestServer};

/// The next `n` events of a stream, failing on an error or the end.
pub async fn take(stream: &mut WatchStream, n: usize) -> anyhow::Result<Vec<(EventType, i64)>> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match within("a stream event", stream.next()).await? {
            Some(Ok(e)) => out.push((e.event_type, e.zxid)),
            other => anyhow::bail!("after {} events: {other:?}", out.len()),
        }
    }
    Ok(out)
}

// Guarantee: a resumable stream delivers every change after its start, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_replays_history_then_follows_live_changes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let (_, stat) = c.create("/h", b"", CreateOptions::default()).await?;
    for i in 0..50u8 {
        c.set_data("/h", &[i], None).await?;
    }
    let mut stream = c.watch_from("/h", false, stat.czxid).await?;
    let replayed = take(&mut stream, 50).await?;
    assert!(replayed
        .iter()
        .all(|(t, _)| *t == EventType::NodeDataChanged));
    assert!(replayed.windows(2).all(|w| w[0].1 < w[1].1), "zxid order");
    let live = c.set_data("/h", b"live", None).await?;
    assert_eq!(
        take(&mut stream, 1).await?,
        [(EventType::NodeDataChanged, live.mzxid)]
    );
    Ok(())
}

#[tokio::test]
async fn a_recursive_stream_sees_every_event_of_a_multi() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    c.create("/r", b"", CreateOptions::default()).await?;
    let mut stream = c.watch_from("/r", true, c.last_zxid()).await?;
    let create = |p: &str| client::Op::Create {
        path: p.into(),
        data: Vec::new(),
        options: CreateOptions::default(),
    };
    c.multi(vec![create("/r/a"), create("/r/b"), create("/r/a/x")])
        .await?;
    let events = take(&mut stream, 3).await?;
    assert!(events
        .iter()
        .all(|e| *e == (EventType::NodeCreated, events[0].1)));
    Ok(())
}

#[tokio::test]
async fn a_consumer_far_behind_loses_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let (_, stat) = c.create("/slow", b"", CreateOptions::default()).await?;
    let total = WATCH_BUFFER + WATCH_BUFFER / 2;
    let mut stream = c.watch_from("/slow", false, stat.czxid).await?;
    // Nobody reads while the writes happen: the buffer fills and the stream
    // pauses; it resumes as the consumer catches up.
    for i in 0..total {
        c.set_data("/slow", &(i as u32).to_be_bytes(), None).await?;
    }
    let events = take(&mut stream, total).await?;
    let zxids: Vec<i64> = events.iter().map(|e| e.1).collect();
    let mut unique = zxids.clone();
    unique.dedup();
    assert_eq!(unique.len(), total, "no duplicates");
    assert!(zxids.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(
        c.exists("/slow").await?.map(|s| s.mzxid),
        zxids.last().copied()
    );
    Ok(())
}

#[tokio::test]
async fn a_stream_from_before_the_kept_history_is_compacted() -> anyhow::Result<()> {
    let config = core_server::Config {
        history_entries: 4,
        ..test_config()
    };
    let server = TestServer::start_with(config).await?;
    let c = Client::connect(&server.connect_string()).await?;
    let (_, stat) = c.create("/c", b"", CreateOptions::default()).await?;
    for _ in 0..10 {
        c.set_data("/c", b"", None).await?;
    }
    let result = c.watch_from("/c", false, stat.czxid).await;
    assert!(matches!(result, Err(Error::Compacted)), "{result:?}");
    Ok(())
}
