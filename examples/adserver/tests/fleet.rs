//! The adserver against a real Corral server: worker processes serve ads
//! over HTTP to the load generator, no second of any campaign goes over its
//! budget, when a worker is killed with SIGKILL its share moves to the
//! survivors, and a worker that joins gets a share of its own.

use adserver::fleet::Member;
use adserver::loadgen::Targets;
use adserver::model::{now_ms, Campaign, Settings};
use adserver::report::overspend;
use adserver::{cluster, loadgen, scenario};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use testkit::{eventually, TestServer};

fn settings() -> Settings {
    let campaign = |name: &str, budget_per_s| Campaign {
        name: name.into(),
        budget_per_s,
    };
    Settings {
        campaigns: vec![campaign("shoes", 1_200), campaign("books", 600)],
    }
}

/// Ads of `campaign` per second as `member` counted them.
fn counts_of(member: &Member, campaign: &str) -> BTreeMap<u64, u64> {
    member
        .heard
        .lock()
        .seconds
        .iter()
        .map(|(s, by)| (*s, by.get(campaign).copied().unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ads_are_served_within_budget_and_a_killed_workers_share_moves_to_the_survivors(
) -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let connect = server.connect_string();
    let operator = client::Client::connect(connect.as_str()).await?;
    let settings = settings();
    cluster::prepare(&operator, &settings).await?;
    let exe = Path::new(env!("CARGO_BIN_EXE_adserver"));
    let mut fleet = scenario::start_fleet(exe, &connect, 3, Duration::from_secs(15)).await?;

    // 3,000 requests/s for a budget of 1,800 ads/s: the shares run out
    // every second, so any overlap of old and new shares would show.
    let targets = Targets::new(fleet.iter().map(|m| m.http).collect());
    let load = loadgen::Load {
        targets: targets.clone(),
        rate: 3_000,
        connections: 12,
        duration: Duration::from_secs(10),
    };
    let generator = tokio::spawn(loadgen::run(load));
    eventually(Duration::from_secs(5), "every worker serving ads", || {
        let all = fleet.iter().all(|m| m.status().served > 0);
        async move { all }
    })
    .await?;
    let i = fleet
        .iter()
        .position(|m| !m.status().coordinator)
        .ok_or_else(|| anyhow::anyhow!("no worker besides the coordinator"))?;
    let mut victim = fleet.remove(i);
    let killed_ms = now_ms();
    victim.kill();
    targets.set(fleet.iter().map(|m| m.http).collect());
    eventually(
        Duration::from_secs(6),
        "every survivor on a split without the killed worker",
        || {
            let all = fleet.iter().all(|m| {
                m.without_since(&victim.id, killed_ms)
                    .is_some_and(|t| t <= now_ms())
            });
            async move { all }
        },
    )
    .await?;
    let in_force_ms = fleet
        .iter()
        .filter_map(|m| m.without_since(&victim.id, killed_ms))
        .max()
        .unwrap_or(u64::MAX);

    // The killed worker's share moved: in a full second after the new split
    // came into force, a survivor served more than its old third of shoes
    // (400/s), up to its new half (600/s).
    let after = in_force_ms.div_ceil(1000);
    eventually(
        Duration::from_secs(4),
        "a survivor serving more than its old share",
        || {
            let moved = fleet.iter().any(|m| {
                counts_of(m, "shoes")
                    .range(after..)
                    .any(|(_, n)| *n > 400 && *n <= 600)
            });
            async move { moved }
        },
    )
    .await?;

    // A new worker joins while the load runs: the others give up part of
    // their shares (at once), it gets its own (from the split's second).
    let joiner = Member::spawn(exe, &connect, "worker-9")?;
    fleet.push(joiner);
    targets.set(fleet.iter().map(|m| m.http).collect());
    eventually(
        Duration::from_secs(6),
        "the joined worker serving ads",
        || {
            let all = fleet.iter().all(|m| m.status().members.len() == 3);
            let served = fleet.last().is_some_and(|j| j.status().served > 0);
            async move { all && served }
        },
    )
    .await?;
    let tally = generator.await??;

    // Served over HTTP, by every worker.
    assert!(
        tally.total_ads() > 5_000,
        "ads received: {}",
        tally.total_ads()
    );
    assert_eq!(tally.by_worker.len(), 4, "{:?}", tally.by_worker);
    // No second of any campaign over its budget, by the load generator's
    // count and by the workers' own.
    for (second, by) in &tally.ads {
        for (campaign, n) in by {
            assert!(
                *n <= settings.budget_of(campaign),
                "second {second}: {n} ads of {campaign} received"
            );
        }
    }
    let mut by_workers: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    for m in fleet.iter().chain([&victim]) {
        for (s, by) in &m.heard.lock().seconds {
            for (c, n) in by {
                *by_workers
                    .entry(*s)
                    .or_default()
                    .entry(c.clone())
                    .or_default() += n;
            }
        }
    }
    let (first, last) = match (by_workers.keys().next(), by_workers.keys().last()) {
        (Some(f), Some(l)) => (*f, *l + 1),
        _ => anyhow::bail!("the workers reported no second"),
    };
    let o = overspend(&by_workers, &settings, first, last);
    assert_eq!(o.over, 0, "{o:?}: {by_workers:?}");
    Ok(())
}
