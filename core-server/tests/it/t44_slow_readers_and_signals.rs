//! Guarantee: a client that stops reading is cut off once its outbound queue
//! passes its byte bound (watch events or replies alike), its memory is
//! freed and others are unaffected; SIGTERM stops a server gracefully.

use crate::raw_zk::{self, RawZk};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn corral() -> &'static std::path::Path {
    testkit::corral_binary()
}

#[tokio::test]
async fn twenty_readers_that_never_read_are_closed_and_memory_stays_bounded() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let server = testkit::ProcessServer::start(
        corral(),
        &dir.path().join("data"),
        "127.0.0.1:0".parse()?,
        &["--max-client-cnxns", "0"],
    )?;
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk address"))?;
    let mut writer = RawZk::connect(addr).await?;
    let big = vec![7u8; 1_000_000];
    assert_eq!(writer.call(&raw_zk::create(1, "/big", &big)).await?.err, 0);
    let baseline = server.rss_bytes()?;
    // Each asks for 200 MB of replies and reads none of them.
    let mut readers = Vec::new();
    for _ in 0..20 {
        let mut reader = RawZk::connect(addr).await?;
        let mut requests = Vec::new();
        for xid in 1..=200 {
            requests.extend(raw_zk::get_data(xid, "/big"));
        }
        reader.stream.write_all(&requests).await?;
        readers.push(reader);
    }
    let mut peak = baseline;
    let mut cut_off = 0;
    for mut reader in readers {
        peak = peak.max(server.rss_bytes()?);
        let (closed, bytes) = reader.drain_until_closed(Duration::from_secs(30)).await;
        assert!(closed, "a reader that never read was not closed");
        assert!(
            bytes < 100_000_000,
            "it was sent {bytes} bytes before the close"
        );
        cut_off += 1;
    }
    assert_eq!(cut_off, 20);
    eprintln!(
        "slow readers: baseline {} MiB, peak sampled {} MiB",
        baseline >> 20,
        peak >> 20
    );
    let bound = baseline + 300 * 1024 * 1024;
    assert!(
        peak < bound,
        "resident memory reached {} MiB (baseline {} MiB)",
        peak >> 20,
        baseline >> 20
    );
    assert_eq!(
        writer
            .call(&raw_zk::set_data(2, "/big", b"small"))
            .await?
            .err,
        0
    );
    Ok(())
}

#[tokio::test]
async fn a_connection_whose_watch_queue_overflows_is_closed_at_once() -> anyhow::Result<()> {
    let config = core_server::Config {
        connection_queue: 16,
        connection_queue_bytes: 4096,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk address"))?;
    let mut writer = RawZk::connect(addr).await?;
    assert_eq!(writer.call(&raw_zk::create(1, "/w", b"")).await?.err, 0);
    let mut watcher = RawZk::connect_with_receive_buffer(addr, 4096).await?;
    assert_eq!(
        watcher
            .call(&raw_zk::add_recursive_watch(1, "/w"))
            .await?
            .err,
        0
    );
    // The watcher never reads; the writer changes /w until its events
    // overflow the watcher's queue (kernel buffers first, then 4 KiB).
    let mut xid = 2;
    let mut closed = false;
    for _ in 0..40 {
        let mut batch = Vec::new();
        for _ in 0..1000 {
            batch.extend(raw_zk::set_data(xid, "/w", b"v"));
            xid += 1;
        }
        writer.stream.write_all(&batch).await?;
        for _ in 0..1000 {
            assert_eq!(writer.reply().await?.0.err, 0);
        }
        if watcher.is_closed_now().await {
            closed = true;
            break;
        }
    }
    if !closed {
        let (done, bytes) = watcher.drain_until_closed(Duration::from_secs(10)).await;
        assert!(
            done,
            "the overflowed watcher's connection stayed open ({bytes} bytes read)"
        );
    }
    // The writer's session is unaffected.
    assert_eq!(
        writer.call(&raw_zk::set_data(xid, "/w", b"end")).await?.err,
        0
    );
    Ok(())
}

#[tokio::test]
async fn sigterm_stops_a_server_gracefully() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = testkit::ProcessServer::start(
        corral(),
        &dir.path().join("data"),
        "127.0.0.1:0".parse()?,
        &[],
    )?;
    let status = server.terminate(Duration::from_secs(20))?;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    Ok(())
}
