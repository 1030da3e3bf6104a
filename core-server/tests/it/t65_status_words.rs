//! Guarantee: ZooKeeper's status words tell the truth on every member of a
//! cluster: `srvr` and `mntr` name each server's mode (leader or follower),
//! `conf` its id, and the request counters and latencies are real.

use client::{Client, CreateMode, CreateOptions};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions};
use testkit::eventually_ok;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(30);

/// Sends a four-letter word and reads the answer to its end.
pub async fn word(addr: SocketAddr, command: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(command.as_bytes()).await?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await??;
    Ok(answer)
}

/// `key\tvalue` (mntr), `Key: value` (srvr) or `key=value` (conf) lines as
/// a map.
fn fields(answer: &str) -> BTreeMap<String, String> {
    answer
        .lines()
        .filter_map(|l| {
            l.split_once('\t')
                .or_else(|| l.split_once(": "))
                .or_else(|| l.split_once('='))
        })
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

testkit::on_every_cluster!(
    status_words_name_each_members_mode_and_count_real_requests,
    ClusterOptions::default()
);

async fn status_words_name_each_members_mode_and_count_real_requests<C: Cluster>(
    c: C,
) -> anyhow::Result<()> {
    let leader = c.leader(LIMIT).await?;
    for id in c.ids() {
        let zk = c
            .zk_addr(id)
            .ok_or_else(|| anyhow::anyhow!("server {id} has no ZooKeeper port"))?;
        let want = if id == leader { "leader" } else { "follower" };
        let what = format!("server {id}'s srvr to say Mode: {want}");
        eventually_ok(LIMIT, &what, || async {
            let answer = word(zk, "srvr").await.map_err(|e| e.to_string())?;
            match fields(&answer).get("Mode") {
                Some(mode) if mode == want => Ok(()),
                _ => Err(answer),
            }
        })
        .await?;
        let conf = fields(&word(zk, "conf").await?);
        assert_eq!(conf.get("serverId"), Some(&id.to_string()), "{conf:?}");
    }
    // Requests through one server show in its counters and latencies.
    let zk = c
        .zk_addr(leader)
        .ok_or_else(|| anyhow::anyhow!("no ZooKeeper port"))?;
    let before = fields(&word(zk, "mntr").await?);
    let client = Client::connect(&c.addr(leader).to_string()).await?;
    for n in 0..20 {
        client
            .create(
                &format!("/s{n}"),
                b"x",
                CreateOptions::mode(CreateMode::Persistent),
            )
            .await?;
    }
    let after = fields(&word(zk, "mntr").await?);
    assert_eq!(
        after.get("zk_server_state").map(String::as_str),
        Some("leader")
    );
    let number = |m: &BTreeMap<String, String>, k: &str| -> anyhow::Result<f64> {
        m.get(k)
            .ok_or_else(|| anyhow::anyhow!("mntr has no {k}: {m:?}"))?
            .parse::<f64>()
            .map_err(|e| anyhow::anyhow!("{k}: {e}"))
    };
    assert!(
        number(&after, "zk_packets_received")? >= number(&before, "zk_packets_received")? + 20.0
    );
    assert!(number(&after, "zk_packets_sent")? >= number(&before, "zk_packets_sent")? + 20.0);
    assert!(number(&after, "zk_avg_latency")? > 0.0, "{after:?}");
    assert!(number(&after, "zk_max_latency")? >= number(&after, "zk_min_latency")?);
    assert!(number(&after, "zk_open_file_descriptor_count")? > 0.0);
    assert!(number(&after, "zk_znode_count")? >= 20.0);
    Ok(())
}
