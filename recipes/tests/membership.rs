//! Leader selector, service discovery and heartbeats against a real server.

use recipes::{HeartbeatPublisher, LeaderSelector, ServiceDiscovery};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{eventually, TestServer};

mod common;
use common::{client, WAIT};

#[tokio::test]
async fn a_selector_runs_one_term_at_a_time_and_requeues() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let running = Arc::new(AtomicUsize::new(0));
    let terms = Arc::new(AtomicUsize::new(0));
    let mut selectors = Vec::new();
    for i in 0..3 {
        let (running, terms) = (running.clone(), terms.clone());
        selectors.push(LeaderSelector::start(
            client(&server).await?,
            "/selector",
            &format!("s{i}"),
            true,
            move |_leadership| {
                let (running, terms) = (running.clone(), terms.clone());
                async move {
                    assert_eq!(
                        running.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two leaders ran at once"
                    );
                    terms.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                }
            },
        ));
    }
    eventually(WAIT, "nine terms, leadership passed around", || async {
        terms.load(Ordering::SeqCst) >= 9
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_term_is_cancelled_when_the_session_expires() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = client(&server).await?;
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let selector = LeaderSelector::start(c.clone(), "/selector2", "x", false, move |_leadership| {
        let s = s.clone();
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
    });
    eventually(WAIT, "the term to start", || async {
        started.load(Ordering::SeqCst) == 1
    })
    .await?;
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    assert!(handle.service().expire_session_now(c.session_id()).await);
    eventually(WAIT, "the term to be cancelled", || async {
        selector.is_finished()
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn discovery_lists_live_instances_and_heartbeats_find_stuck_ones() -> anyhow::Result<()> {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Endpoint {
        host: String,
        port: u16,
    }
    let server = TestServer::start().await?;
    let a = client(&server).await?;
    let b = client(&server).await?;
    let reg_a = ServiceDiscovery::new(a.clone(), "/services")
        .register(
            "ads",
            "a",
            &Endpoint {
                host: "10.0.0.1".into(),
                port: 80,
            },
        )
        .await?;
    let _reg_b = ServiceDiscovery::new(b.clone(), "/services")
        .register(
            "ads",
            "b",
            &Endpoint {
                host: "10.0.0.2".into(),
                port: 81,
            },
        )
        .await?;
    let finder = ServiceDiscovery::new(client(&server).await?, "/services");
    let found: Vec<(String, Endpoint)> = finder.instances("ads").await?;
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[1].1,
        Endpoint {
            host: "10.0.0.2".into(),
            port: 81
        }
    );
    assert!(finder.instances::<Endpoint>("nothing").await?.is_empty());

    // a beats; b is alive (session held) but stuck: it is reported stale.
    let _beats = HeartbeatPublisher::start(a.clone(), "/services/ads/a", Duration::from_millis(50));
    let observer = client(&server).await?;
    eventually(WAIT, "b to be reported stale and a not", || async {
        recipes::nodes::stale_members(&observer, "/services/ads", Duration::from_millis(400))
            .await
            .map(|s| s == vec!["b".to_string()])
            .unwrap_or(false)
    })
    .await?;
    reg_a.leave().await?;
    let found: Vec<(String, Endpoint)> = finder.instances("ads").await?;
    assert_eq!(
        found.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        vec!["b"]
    );
    Ok(())
}

#[tokio::test]
async fn the_tree_cache_converges_and_catches_up_after_a_reconnect() -> anyhow::Result<()> {
    use recipes::{Cache, CacheMode};
    let mut server = TestServer::start().await?;
    let writer = client(&server).await?;
    writer.create("/cfg", b"root", Default::default()).await?;
    writer.create("/cfg/a", b"1", Default::default()).await?;
    let cache = Cache::start(client(&server).await?, "/cfg", CacheMode::Tree).await?;
    assert_eq!(
        cache.paths(),
        vec!["/cfg".to_string(), "/cfg/a".to_string()]
    );
    writer
        .create("/cfg/a/deep", b"d", Default::default())
        .await?;
    writer.set_data("/cfg/a", b"2", None).await?;
    cache
        .wait_until(WAIT, |c| {
            c.get("/cfg/a").map(|e| e.0) == Some(b"2".to_vec()) && c.get("/cfg/a/deep").is_some()
        })
        .await?;
    server.kill().await?;
    server.restart().await?;
    // Changed while the cache's client may still be away: the rebuild sees it.
    let writer = client(&server).await?;
    writer.delete("/cfg/a/deep", None).await?;
    writer.create("/cfg/b", b"new", Default::default()).await?;
    cache
        .wait_until(WAIT, |c| {
            c.get("/cfg/a/deep").is_none() && c.get("/cfg/b").map(|e| e.0) == Some(b"new".to_vec())
        })
        .await?;
    let children = Cache::start(client(&server).await?, "/cfg", CacheMode::Children).await?;
    writer
        .create("/cfg/b/grandchild", b"", Default::default())
        .await?;
    writer.set_data("/cfg/b", b"newer", None).await?;
    children
        .wait_until(WAIT, |c| {
            c.get("/cfg/b").map(|e| e.0) == Some(b"newer".to_vec())
        })
        .await?;
    assert!(
        children.get("/cfg/b/grandchild").is_none(),
        "children mode stays one level deep"
    );
    Ok(())
}
