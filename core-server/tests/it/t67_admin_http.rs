//! Guarantee: the admin listener tells an operator and a probe the truth.
//! `/metrics` parses as Prometheus text on every member and its values move
//! with writes and failover; `/readyz` turns 503 on a member cut off from
//! the majority and 200 after healing; `/status` and `/commands/NAME` name
//! each member's part.

use client::{Client, CreateMode, CreateOptions};
use prometheus_parse::{Scrape, Value};
use std::net::SocketAddr;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions, ProcessCluster};
use testkit::{eventually_ok, http};

const LIMIT: Duration = Duration::from_secs(30);

fn admin<C: Cluster>(c: &C, id: u64) -> anyhow::Result<SocketAddr> {
    c.admin_addr(id)
        .ok_or_else(|| anyhow::anyhow!("server {id} has no admin listener"))
}

/// Scrapes `/metrics` and parses it with a Prometheus parser.
async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let answer = http::get(addr, "/metrics").await?;
    anyhow::ensure!(answer.status == 200, "/metrics answered {}", answer.status);
    let lines = answer.body.lines().map(|l| Ok(l.to_string()));
    Ok(Scrape::parse(lines)?)
}

/// The value of an unlabelled counter or gauge.
fn value(scrape: &Scrape, name: &str) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name)
        .and_then(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
}

/// The sum of a histogram's counts over its label sets.
fn histogram_count(scrape: &Scrape, name: &str) -> Option<f64> {
    let counts: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter_map(|s| match &s.value {
            Value::Histogram(buckets) => buckets.last().map(|b| b.count),
            _ => None,
        })
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

async fn write_some(client: &Client, prefix: &str, n: usize) -> anyhow::Result<()> {
    for i in 0..n {
        client
            .create(
                &format!("/{prefix}{i}"),
                b"x",
                CreateOptions::mode(CreateMode::Persistent),
            )
            .await?;
    }
    Ok(())
}

/// Every series an operator's dashboard needs.
const REQUIRED: [&str; 22] = [
    "corral_has_leader",
    "corral_is_leader",
    "corral_raft_term",
    "corral_raft_commit_index",
    "corral_raft_applied_index",
    "corral_server_leader_changes_total",
    "corral_proposals_pending",
    "corral_requests_in_flight",
    "corral_connections",
    "corral_sessions",
    "corral_znodes",
    "corral_watches",
    "corral_ephemerals",
    "corral_approximate_data_bytes",
    "corral_proposals_applied_total",
    "corral_log_fsync_duration_seconds",
    "corral_received_bytes_total",
    "corral_sent_bytes_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_cpu_seconds_total",
    "corral_ready",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_parse_on_every_member_and_move_with_writes_and_failover() -> anyhow::Result<()> {
    let mut c = ProcessCluster::start(ClusterOptions::default()).await?;
    let leader = c.leader(LIMIT).await?;
    let client = Client::connect(&c.addr(leader).to_string()).await?;
    // Scrape every member while writes go on.
    let load = {
        let client = client.clone();
        tokio::spawn(async move { write_some(&client, "load", 300).await })
    };
    let before = scrape(admin(&c, leader)?).await?;
    // Every member's scrape parses while the writes go on.
    for _ in 0..3 {
        for id in c.ids() {
            scrape(admin(&c, id)?).await?;
        }
    }
    load.await??;
    // Once a member has applied writes, it has every series.
    for id in c.ids() {
        let addr = admin(&c, id)?;
        eventually_ok(LIMIT, &format!("every series on server {id}"), || async {
            let scrape = scrape(addr).await.map_err(|e| e.to_string())?;
            match REQUIRED
                .iter()
                .find(|name| !scrape.samples.iter().any(|s| s.metric == **name))
            {
                None => Ok(()),
                Some(missing) => Err(format!("no {missing}")),
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let after = scrape(admin(&c, leader)?).await?;
    let committed = |s: &Scrape| value(s, "corral_proposals_committed_total").unwrap_or(0.0);
    assert!(
        committed(&after) >= committed(&before) + 300.0 - 1.0,
        "committed proposals went from {} to {}",
        committed(&before),
        committed(&after)
    );
    assert_eq!(value(&after, "corral_is_leader"), Some(1.0));
    assert!(histogram_count(&after, "corral_log_fsync_duration_seconds").unwrap_or(0.0) > 0.0);
    // The leader sends the Raft messages: it times the round trips.
    assert!(histogram_count(&after, "corral_peer_round_trip_seconds").unwrap_or(0.0) > 0.0);
    // Each server times the requests it answers (here: the leader's).
    assert!(histogram_count(&after, "corral_request_duration_seconds").unwrap_or(0.0) >= 300.0);
    assert!(
        after
            .samples
            .iter()
            .any(|s| s.metric == "corral_request_duration_seconds"
                && s.labels.get("op") == Some("create")
                && s.labels.get("protocol") == Some("native")),
        "per-operation latency"
    );
    for id in c.ids().into_iter().filter(|id| *id != leader) {
        let s = scrape(admin(&c, id)?).await?;
        assert_eq!(value(&s, "corral_is_leader"), Some(0.0), "server {id}");
        assert_eq!(value(&s, "corral_has_leader"), Some(1.0), "server {id}");
    }
    // Killing the leader: each survivor counts a leader change and has a
    // leader again, one of them.
    let survivors: Vec<u64> = c.ids().into_iter().filter(|id| *id != leader).collect();
    let mut changes = Vec::new();
    for id in &survivors {
        let s = scrape(admin(&c, *id)?).await?;
        changes.push(value(&s, "corral_server_leader_changes_total").unwrap_or(0.0));
    }
    c.crash(leader).await?;
    eventually_ok(LIMIT, "a new leader on the survivors' metrics", || async {
        let mut leaders = 0.0;
        for (id, before) in survivors.iter().zip(&changes) {
            let addr = admin(&c, *id).map_err(|e| e.to_string())?;
            let s = scrape(addr).await.map_err(|e| e.to_string())?;
            let has = value(&s, "corral_has_leader").unwrap_or(0.0);
            let now = value(&s, "corral_server_leader_changes_total").unwrap_or(0.0);
            if has != 1.0 || now <= *before {
                return Err(format!(
                    "server {id}: has_leader {has}, changes {before} -> {now}"
                ));
            }
            leaders += value(&s, "corral_is_leader").unwrap_or(0.0);
        }
        if leaders == 1.0 {
            Ok(())
        } else {
            Err(format!("{leaders} leaders among the survivors"))
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

testkit::on_every_cluster!(
    readyz_is_503_on_a_cut_off_member_and_200_after_healing,
    ClusterOptions::default()
);

async fn ready_status<C: Cluster>(c: &C, id: u64) -> Result<(u16, String), String> {
    let addr = admin(c, id).map_err(|e| e.to_string())?;
    let answer = http::get(addr, "/readyz")
        .await
        .map_err(|e| e.to_string())?;
    Ok((answer.status, answer.body))
}

async fn wait_ready<C: Cluster>(c: &C, id: u64, want: u16) -> anyhow::Result<()> {
    let what = format!("server {id}'s /readyz to answer {want}");
    eventually_ok(LIMIT, &what, || async {
        match ready_status(c, id).await? {
            (status, _) if status == want => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn readyz_is_503_on_a_cut_off_member_and_200_after_healing<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let leader = c.leader(LIMIT).await?;
    for id in c.ids() {
        wait_ready(&c, id, 200).await?;
    }
    let follower = c
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .ok_or_else(|| anyhow::anyhow!("no follower"))?;
    c.isolate(follower);
    wait_ready(&c, follower, 503).await?;
    let body = ready_status(&c, follower)
        .await
        .map_err(|e| anyhow::anyhow!(e))?
        .1;
    assert!(body.starts_with("not ready: "), "a one-line reason: {body}");
    let s = scrape(admin(&c, follower)?).await?;
    assert_eq!(
        value(&s, "corral_has_leader"),
        Some(0.0),
        "a cut-off member has no leader"
    );
    wait_ready(&c, leader, 200).await?;
    c.heal();
    wait_ready(&c, follower, 200).await?;
    let s = scrape(admin(&c, follower)?).await?;
    assert_eq!(value(&s, "corral_has_leader"), Some(1.0));
    // A leader cut off from both followers is not ready either.
    let leader = c.leader(LIMIT).await?;
    c.isolate(leader);
    wait_ready(&c, leader, 503).await?;
    c.heal();
    let leader = c.leader(LIMIT).await?;
    wait_ready(&c, leader, 200).await?;
    Ok(())
}

testkit::on_every_cluster!(
    status_and_commands_name_each_members_part,
    ClusterOptions::default()
);

async fn status_and_commands_name_each_members_part<C: Cluster>(c: C) -> anyhow::Result<()> {
    let leader = c.leader(LIMIT).await?;
    for id in c.ids() {
        let want = if id == leader { "leader" } else { "follower" };
        let addr = admin(&c, id)?;
        let what = format!("server {id}'s /status to say {want}");
        eventually_ok(LIMIT, &what, || async {
            let answer = http::get(addr, "/status")
                .await
                .map_err(|e| e.to_string())?;
            let status: serde_json::Value =
                serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
            if status["role"] == want && status["id"] == id && status["leader"] == leader {
                Ok(status)
            } else {
                Err(answer.body)
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mntr = http::get(addr, "/commands/mntr").await?;
        let mntr: serde_json::Value = serde_json::from_str(&mntr.body)?;
        assert_eq!(mntr["command"], "monitor");
        assert_eq!(mntr["error"], serde_json::Value::Null);
        assert_eq!(mntr["server_state"], want, "{mntr}");
        assert!(
            mntr["znode_count"].as_u64().is_some_and(|n| n >= 4),
            "{mntr}"
        );
        if id == leader {
            assert_eq!(mntr["synced_followers"], 2, "{mntr}");
        }
        let lead = http::get(addr, "/commands/leader").await?;
        let lead: serde_json::Value = serde_json::from_str(&lead.body)?;
        assert_eq!(lead["leader_id"], leader);
        assert_eq!(lead["is_leader"], id == leader);
        let unknown = http::get(addr, "/commands/no_such").await?;
        assert_eq!(unknown.status, 404);
    }
    Ok(())
}

#[tokio::test]
async fn a_standalone_server_is_ready_and_reports_itself() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server
        .admin_addr()
        .ok_or_else(|| anyhow::anyhow!("no admin listener"))?;
    assert_eq!(http::get(addr, "/livez").await?.status, 200);
    assert_eq!(http::get(addr, "/readyz").await?.status, 200);
    let status: serde_json::Value = serde_json::from_str(&http::get(addr, "/status").await?.body)?;
    assert_eq!(status["role"], "standalone");
    assert_eq!(status["ready"], true);
    let srvr: serde_json::Value =
        serde_json::from_str(&http::get(addr, "/commands/srvr").await?.body)?;
    assert_eq!(srvr["command"], "server_stats");
    assert_eq!(srvr["server_stats"]["server_state"], "standalone");
    Ok(())
}
