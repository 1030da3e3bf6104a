//! The guarantees both replication backends give, checked with one test body
//! against each: a standalone server (its own committer) and a one-voter
//! Raft cluster (the cluster code with a single member). Per-session FIFO,
//! durable before answered, an unknown outcome is ConnectionLoss, and a
//! restart after `kill -9` recovers every acknowledged write. Why there are
//! still two backends: decision 0009.

use crate::raw::{self, RawSession};
use client::admin::{AdminClient, PeerNode};
use client::{Client, CreateOptions, Error};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{eventually, ProcessServer};

const LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Backend {
    Standalone,
    OneVoterRaft,
}

/// Starts a server of `backend` on `dir` (a new cluster is bootstrapped).
/// The data directory is `dir/data`; a cluster member's secret is kept
/// beside it.
async fn serve(backend: Backend, dir: &Path) -> anyhow::Result<ProcessServer> {
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let secret = testkit::cluster::write_secret(dir)?.display().to_string();
    let digest = testkit::cluster::admin_digest();
    let extra: Vec<&str> = match backend {
        Backend::Standalone => Vec::new(),
        Backend::OneVoterRaft => vec![
            "--id",
            "1",
            "--peer-listen",
            "127.0.0.1:0",
            "--cluster-secret-file",
            &secret,
            "--super-digest",
            &digest,
        ],
    };
    let data = dir.join("data");
    let server = ProcessServer::start(testkit::corral_binary(), &data, any_port, &extra)?;
    if let Backend::OneVoterRaft = backend {
        let admin = testkit::cluster::admin_client(server.addr());
        let me = PeerNode {
            addr: server
                .peer_addr()
                .ok_or_else(|| anyhow::anyhow!("no peer address printed"))?
                .to_string(),
            zk_addr: None,
            client_addr: Some(server.addr().to_string()),
        };
        admin.initialize(BTreeMap::from([(1, me)])).await?;
        led(&server).await?;
    }
    Ok(server)
}

/// Waits until a one-voter cluster has elected itself.
async fn led(server: &ProcessServer) -> anyhow::Result<()> {
    let admin = AdminClient::new(server.addr().to_string());
    eventually(LIMIT, "the single voter to lead", || async {
        admin.status().await.is_ok_and(|s| s.leader == Some(1))
    })
    .await
}

/// Creates `/n0`, `/n1`, ... with 32 in flight until `stop`; returns the
/// acknowledged paths and how many ended as ConnectionLoss.
async fn keep_writing(
    client: Client,
    acked: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(Vec<String>, usize)> {
    use futures::StreamExt;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let (mut next, mut acknowledged, mut lost) = (0, Vec::new(), 0);
    loop {
        while !stop.load(Ordering::SeqCst) && in_flight.len() < 32 {
            let (client, path) = (client.clone(), format!("/n{next}"));
            next += 1;
            in_flight.push(async move {
                let outcome = client.create(&path, b"x", CreateOptions::default()).await;
                (path, outcome)
            });
        }
        let Some((path, outcome)) = in_flight.next().await else {
            return Ok((acknowledged, lost));
        };
        match outcome {
            Ok(_) => {
                acknowledged.push(path);
                acked.fetch_add(1, Ordering::SeqCst);
            }
            Err(Error::ConnectionLoss) => lost += 1,
            Err(e) => anyhow::bail!("{path}: {e} (an unknown outcome must be ConnectionLoss)"),
        }
    }
}

async fn conformance(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = serve(backend, dir.path()).await?;
    let client = Client::builder(&server.addr().to_string())
        .session_timeout(Duration::from_secs(30))
        .build()
        .await?;

    // Per-session FIFO: writes one session pipelines (all sent before any
    // answer is read) apply in the order they were sent.
    client
        .create("/fifo", b"", CreateOptions::default())
        .await?;
    let mut raw = RawSession::connect(server.addr()).await?;
    for i in 0..200 {
        raw.send(i, Some(raw::set("/fifo", i.to_string().as_bytes(), -1)))
            .await?;
    }
    let mut versions = Vec::new();
    for _ in 0..200 {
        let r = raw.response().await?;
        anyhow::ensure!(r.err == 0, "{backend:?}: set {} failed: {}", r.xid, r.err);
        versions.push((r.xid, raw::stat_of(&r).map_or(-1, |s| s.version)));
    }
    let expected: Vec<(i32, i32)> = (0..200).map(|i| (i, i + 1)).collect();
    assert_eq!(
        versions, expected,
        "{backend:?}: answers and versions in order"
    );

    // Durable before answered, and an unknown outcome is ConnectionLoss: a
    // writer keeps 32 creates in flight while the server is killed -9 and
    // restarted; every answered create is there afterwards, and those cut
    // off failed with ConnectionLoss (never another error).
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(keep_writing(client.clone(), acked.clone(), stop.clone()));
    eventually(LIMIT, "writes to be acknowledged", || async {
        acked.load(Ordering::SeqCst) >= 200
    })
    .await?;
    // Paused first, so the writes sent meanwhile are certainly unanswered
    // when it dies (SIGKILL ends a stopped process too).
    server.pause()?;
    let server = server.crash_and_restart()?;
    if let Backend::OneVoterRaft = backend {
        led(&server).await?;
    }
    eventually(LIMIT, "writes to go on after the restart", || async {
        acked.load(Ordering::SeqCst) >= 400
    })
    .await?;
    stop.store(true, Ordering::SeqCst);
    let (acknowledged, lost) = writer.await??;
    // How many were cut off depends on what the client had sent when the
    // server died (a request not yet sent waits for the reconnect and
    // succeeds); each one cut off ended as ConnectionLoss, or `keep_writing`
    // failed the test.
    eprintln!(
        "{backend:?}: {} acknowledged, {lost} ended as ConnectionLoss",
        acknowledged.len()
    );
    let check = Client::connect(&server.addr().to_string()).await?;
    for path in &acknowledged {
        assert!(
            check.exists(path).await?.is_some(),
            "{backend:?}: acknowledged {path} survives kill -9"
        );
    }
    let (data, _) = check.get_data("/fifo").await?;
    assert_eq!(data, b"199", "{backend:?}: the last pipelined write won");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_server_keeps_the_replication_guarantees() -> anyhow::Result<()> {
    conformance(Backend::Standalone).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_voter_raft_cluster_keeps_the_replication_guarantees() -> anyhow::Result<()> {
    conformance(Backend::OneVoterRaft).await
}
