//! Guarantee: on seeded random workloads (every operation kind over a small
//! name alphabet at depth 1-3, 1-3 sessions, sequential names referred to
//! later, watches set by one session and fired by another, multi mixes, ACL
//! changes, session closes, invalid paths, sizes around the frame limit),
//! Corral with `zk_compat = "3.8"` answers exactly as Apache ZooKeeper 3.8.0
//! (issue 14). The comparison against ZooKeeper needs a reference server:
//! `scripts/zk-differential.sh` runs a short variant, `scripts/
//! zk-differential-seeds.sh [seeds]` the long one. Without ZooKeeper, the
//! generator is shown to find a planted difference between two Corral
//! servers.

use crate::seeded;
use crate::t48_zk_compat::zk_server;
use core_server::config::ZkCompat;
use std::net::SocketAddr;

const STEPS: usize = 200;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test]
#[ignore = "needs a reference ZooKeeper: run scripts/zk-differential.sh"]
async fn corral_matches_apache_zookeeper_on_seeded_workloads() -> anyhow::Result<()> {
    let reference: SocketAddr = std::env::var("CORRAL_ZK_REFERENCE")
        .map_err(|_| {
            anyhow::anyhow!("set CORRAL_ZK_REFERENCE=host:port of a ZooKeeper 3.8 server")
        })?
        .parse()?;
    let first = env_u64("CORRAL_DIFF_FIRST_SEED", 1);
    let seeds = env_u64("CORRAL_DIFF_SEEDS", 30);
    let (_server, addr) = zk_server(ZkCompat::V3_8).await?;
    let mut differences = Vec::new();
    for seed in first..first + seeds {
        if let Some(difference) = seeded::compare(seed, STEPS, reference, addr).await? {
            eprintln!("{difference}");
            differences.push(seed);
        }
    }
    println!(
        "seeded differential: {} of {seeds} seeds x {STEPS} operations identical",
        seeds as usize - differences.len()
    );
    assert!(differences.is_empty(), "seeds that differ: {differences:?}");
    Ok(())
}

#[tokio::test]
async fn the_generator_reports_a_planted_difference() -> anyhow::Result<()> {
    // The same release on both sides: identical transcripts.
    let (_a, same_a) = zk_server(ZkCompat::V3_8).await?;
    let (_b, same_b) = zk_server(ZkCompat::V3_8).await?;
    for seed in 1..=3 {
        let difference = seeded::compare(seed, STEPS, same_a, same_b).await?;
        assert_eq!(difference, None, "two identical servers differ");
    }
    // A planted difference: the other server answers as 3.9 (notification
    // zxids, exists without READ, creates in multi with their Stat).
    let (_c, planted) = zk_server(ZkCompat::V3_9).await?;
    let mut found = Vec::new();
    for seed in 1..=5 {
        if let Some(difference) = seeded::compare(seed, STEPS, same_a, planted).await? {
            found.push(difference);
        }
    }
    assert!(!found.is_empty(), "the planted difference went unnoticed");
    println!("planted difference reported:\n{}", found[0]);
    Ok(())
}
