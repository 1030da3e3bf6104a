//! Guarantee: heavy and hostile ZooKeeper-protocol clients (frames split
//! anywhere, deep pipelines, slowloris handshakes, readers that never read,
//! too many connections from one address) are served exactly or cut off
//! alone; they never corrupt requests, exhaust memory or keep others out.

use crate::raw_zk::{self, RawZk};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn zk_addr(server: &testkit::TestServer) -> anyhow::Result<std::net::SocketAddr> {
    server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))
}

#[tokio::test]
async fn a_frame_split_at_every_byte_while_pipelined_writes_complete_is_read_whole(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = RawZk::connect(zk_addr(&server)?).await?;
    assert_eq!(zk.call(&raw_zk::create(1, "/split", b"")).await?.err, 0);
    // The data of each real create is itself a whole create frame: if bytes
    // of a half-read frame were dropped, this hidden create would run.
    let hidden = raw_zk::create(77, "/split/hidden", b"");
    let length = raw_zk::create(2, "/split/real-0000", &hidden).len();
    let mut xid = 2;
    for offset in 1..length {
        let real = raw_zk::create(xid, &format!("/split/real-{offset:04}"), &hidden);
        assert_eq!(real.len(), length);
        let mut pipelined = Vec::new();
        for i in 0..4 {
            pipelined.extend(raw_zk::set_data(xid + 1 + i, "/split", b"x"));
        }
        zk.stream.write_all(&pipelined).await?;
        zk.stream.write_all(&real[..offset]).await?;
        // Those writes complete while the real create is half received.
        for i in 0..4 {
            let (reply, _) = zk.reply().await?;
            assert_eq!((reply.xid, reply.err), (xid + 1 + i, 0), "offset {offset}");
        }
        zk.stream.write_all(&real[offset..]).await?;
        let (reply, _) = zk.reply().await?;
        assert_eq!((reply.xid, reply.err), (xid, 0), "offset {offset}");
        xid += 5;
    }
    let native = client::Client::connect(&server.connect_string()).await?;
    assert!(
        native.exists("/split/hidden").await?.is_none(),
        "no hidden create ran"
    );
    let children = native.get_children("/split").await?;
    assert_eq!(children.len(), length - 1, "every real create happened");
    Ok(())
}

#[tokio::test]
async fn one_session_pipelines_a_million_creates() -> anyhow::Result<()> {
    const WINDOW: usize = 1000;
    let total: usize = std::env::var("CORRAL_PIPELINE_CREATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let server = testkit::TestServer::start().await?;
    let mut zk = RawZk::connect(zk_addr(&server)?).await?;
    assert_eq!(zk.call(&raw_zk::create(0, "/many", b"")).await?.err, 0);
    let (mut read, mut write) = zk.stream.into_split();
    let window = Arc::new(tokio::sync::Semaphore::new(WINDOW));
    let writer = {
        let window = window.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            for i in 1..=total {
                window.acquire().await?.forget();
                batch.extend(raw_zk::create(
                    i as i32,
                    &format!("/many/{i}"),
                    b"0123456789",
                ));
                if batch.len() > 32 * 1024 || i == total {
                    write.write_all(&batch).await?;
                    batch.clear();
                }
            }
            anyhow::Ok(write)
        })
    };
    let mut buf = [0u8; 4];
    for i in 1..=total {
        read.read_exact(&mut buf[..4]).await?;
        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        let mut frame = vec![0u8; len];
        read.read_exact(&mut frame).await?;
        let header = raw_zk::header(&frame)?;
        assert_eq!(
            (header.xid, header.err),
            (i as i32, 0),
            "reply {i} of {total}"
        );
        window.add_permits(1);
    }
    let _write = writer.await??;
    let native = client::Client::connect(&server.connect_string()).await?;
    assert_eq!(
        native.exists("/many").await?.map(|s| s.num_children),
        Some(total as i32)
    );
    Ok(())
}

#[tokio::test]
async fn new_clients_are_served_while_500_slowloris_connections_are_held() -> anyhow::Result<()> {
    let config = core_server::Config {
        max_connections_per_ip: 0,
        handshake_timeout_ms: 3_000,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let addr = zk_addr(&server)?;
    let mut held = Vec::new();
    for i in 0..500 {
        let mut s = TcpStream::connect(addr).await?;
        // A length prefix, and for some a part of a 1 MB handshake.
        s.write_all(&(1_000_000i32).to_be_bytes()).await?;
        if i % 2 == 0 {
            s.write_all(&vec![0u8; 1024]).await?;
        }
        held.push(s);
    }
    let started = tokio::time::Instant::now();
    let mut fresh = RawZk::connect(addr).await?;
    assert_eq!(
        fresh.call(&raw_zk::create(1, "/served", b"yes")).await?.err,
        0
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a new client waited {:?}",
        started.elapsed()
    );
    // Every held connection is cut off once its handshake deadline passes.
    for (i, mut s) in held.into_iter().enumerate() {
        let mut sink = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(20), s.read(&mut sink)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "slowloris connection {i} was not closed: {read:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn partial_frames_beyond_the_shared_budget_are_closed() -> anyhow::Result<()> {
    let config = core_server::Config {
        max_connections_per_ip: 0,
        partial_frame_bytes: 8 << 20,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let addr = zk_addr(&server)?;
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(&(1_000_000i32).to_be_bytes()).await?;
        let _ = s.write_all(&vec![1u8; 512 * 1024]).await;
        held.push(s);
    }
    // 8 MiB hold at most 16 half-megabyte partial handshakes: the rest are
    // closed long before the handshake deadline (10 s here).
    let mut closed = 0;
    for mut s in held {
        let mut sink = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_secs(3), s.read(&mut sink)).await
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 24,
        "only {closed} of 40 over-budget connections were closed"
    );
    let mut fresh = RawZk::connect(addr).await?;
    assert_eq!(fresh.call(&raw_zk::create(1, "/after", b"")).await?.err, 0);
    Ok(())
}

#[tokio::test]
async fn one_address_gets_at_most_max_client_cnxns_connections() -> anyhow::Result<()> {
    let config = core_server::Config {
        max_connections_per_ip: 5,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let addr = zk_addr(&server)?;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(RawZk::connect(addr).await?);
    }
    assert!(RawZk::connect(addr).await.is_err(), "the sixth is refused");
    drop(sessions.pop());
    testkit::eventually(Duration::from_secs(10), "a slot is free again", || async {
        RawZk::connect(addr).await.is_ok()
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_multi_under_the_frame_limit_is_served_and_one_over_it_closes_the_connection(
) -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let mut zk = RawZk::connect(zk_addr(&server)?).await?;
    let frame = raw_zk::multi_checks(1, "/", 50_000);
    assert!(frame.len() < 1_000_000);
    assert_eq!(
        zk.call(&frame).await?.err,
        0,
        "50,000 checks are one valid multi"
    );
    let over = raw_zk::multi_checks(2, "/", 80_000);
    assert!(over.len() > server.config().jute_maxbuffer_bytes);
    let _ = zk.stream.write_all(&over).await;
    assert!(
        zk.closed_within(Duration::from_secs(10)).await,
        "closed without a reply"
    );
    Ok(())
}
