//! The measured run: a fleet of worker processes under load, the
//! coordinator killed with SIGKILL part-way, then another worker; what the
//! load generator received per second, the overspend, the latency, the
//! time until each new split was in force on every survivor, and the chart.

use crate::chart::{self, Mark};
use crate::fleet::Member;
use crate::loadgen::{self, Load, Targets};
use crate::model::{now_ms, Settings};
use crate::report::{overspend, Tally};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// How the run goes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Corral's connect string.
    pub connect: String,
    /// The worker binary (this program).
    pub exe: PathBuf,
    /// Number of worker processes.
    pub workers: usize,
    /// The campaigns.
    pub settings: Settings,
    /// Load: requests per second.
    pub rate: u64,
    /// Load: connections.
    pub connections: usize,
    /// How long the load runs.
    pub duration: Duration,
    /// SIGKILL the coordinator this far into the load (none if `None`).
    pub kill_coordinator_at: Option<Duration>,
    /// SIGKILL a worker that is not the coordinator this far in.
    pub kill_worker_at: Option<Duration>,
    /// Where to draw the chart (none if `None`).
    pub chart: Option<PathBuf>,
}

/// One SIGKILL and what followed.
#[derive(Debug, Clone)]
pub struct Kill {
    /// Who was killed.
    pub victim: String,
    /// Whether it was the coordinator.
    pub was_coordinator: bool,
    /// Wall-clock ms of the kill.
    pub at_ms: u64,
    /// Until a survivor reported being coordinator (coordinator kills).
    pub new_coordinator_after: Option<Duration>,
    /// Until every survivor had a split without the victim in force.
    pub split_in_force_after: Option<Duration>,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The load generator's counts.
    pub tally: Tally,
    /// Ads per second and campaign as the workers counted them.
    pub worker_counts: BTreeMap<u64, BTreeMap<String, u64>>,
    /// The full seconds measured: `first..last`.
    pub seconds: (u64, u64),
    /// The kills.
    pub kills: Vec<Kill>,
}

/// Starts the workers and waits until all of them follow a split that has
/// every one of them.
pub async fn start_fleet(
    exe: &Path,
    connect: &str,
    workers: usize,
    deadline: Duration,
) -> anyhow::Result<Vec<Member>> {
    let mut fleet = Vec::new();
    for i in 0..workers {
        fleet.push(Member::spawn(exe, connect, &format!("worker-{i}"))?);
    }
    let until = Instant::now() + deadline;
    loop {
        let all = fleet.iter().all(|m| {
            let s = m.status();
            s.serving && s.members.len() == workers
        });
        if all {
            return Ok(fleet);
        }
        anyhow::ensure!(
            Instant::now() < until,
            "the fleet did not agree on a split of all {workers} workers within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `plan` against a prepared Corral (see `cluster::prepare`).
pub async fn run(plan: &Plan) -> anyhow::Result<Outcome> {
    let mut fleet = start_fleet(
        &plan.exe,
        &plan.connect,
        plan.workers,
        Duration::from_secs(30),
    )
    .await?;
    let targets = Targets::new(fleet.iter().map(|m| m.http).collect());
    let load = Load {
        targets: targets.clone(),
        rate: plan.rate,
        connections: plan.connections,
        duration: plan.duration,
    };
    let started_ms = now_ms();
    let started = Instant::now();
    let generator = tokio::spawn(loadgen::run(load));
    let mut kills: Vec<Kill> = Vec::new();
    let mut gone: Vec<Member> = Vec::new();
    let mut pending = [
        (plan.kill_coordinator_at, true),
        (plan.kill_worker_at, false),
    ];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while !generator.is_finished() {
        tick.tick().await;
        let elapsed = started.elapsed();
        for (at, coordinator) in pending.iter_mut() {
            if at.is_some_and(|at| elapsed >= at) {
                *at = None;
                let pick = fleet
                    .iter()
                    .position(|m| m.status().coordinator == *coordinator);
                if let Some(i) = pick {
                    let mut victim = fleet.remove(i);
                    victim.kill();
                    // The load balancer notices at once (its health check
                    // is not what is measured here).
                    targets.set(fleet.iter().map(|m| m.http).collect());
                    println!(
                        "-- t={:.1}s SIGKILL {} ({})",
                        elapsed.as_secs_f64(),
                        victim.id,
                        if *coordinator {
                            "coordinator"
                        } else {
                            "worker"
                        }
                    );
                    kills.push(Kill {
                        victim: victim.id.clone(),
                        was_coordinator: *coordinator,
                        at_ms: now_ms(),
                        new_coordinator_after: None,
                        split_in_force_after: None,
                    });
                    gone.push(victim);
                }
            }
        }
        for kill in kills.iter_mut() {
            let since = Duration::from_millis(now_ms().saturating_sub(kill.at_ms));
            if kill.was_coordinator
                && kill.new_coordinator_after.is_none()
                && fleet.iter().any(|m| m.status().coordinator)
            {
                kill.new_coordinator_after = Some(since);
            }
            if kill.split_in_force_after.is_none() {
                let all: Option<Vec<u64>> = fleet
                    .iter()
                    .map(|m| m.without_since(&kill.victim, kill.at_ms))
                    .collect();
                if let Some(latest) = all.and_then(|v| v.into_iter().max()) {
                    if latest <= now_ms() {
                        kill.split_in_force_after =
                            Some(Duration::from_millis(latest - kill.at_ms));
                    }
                }
            }
        }
    }
    let tally = generator.await??;
    // The workers report each second once it is over; wait for the last.
    let last = (started_ms + plan.duration.as_millis() as u64) / 1000;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until
        && !fleet
            .iter()
            .all(|m| m.heard.lock().seconds.keys().any(|&s| s >= last))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut worker_counts: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    for m in fleet.iter().chain(gone.iter()) {
        for (second, by) in &m.heard.lock().seconds {
            let mine = worker_counts.entry(*second).or_default();
            for (c, n) in by {
                *mine.entry(c.clone()).or_default() += n;
            }
        }
    }
    let first = started_ms / 1000 + 1;
    let outcome = Outcome {
        tally,
        worker_counts,
        seconds: (first, last),
        kills,
    };
    if let Some(path) = &plan.chart {
        draw(path, plan, &outcome, started_ms)?;
    }
    drop(fleet);
    Ok(outcome)
}

fn draw(path: &Path, plan: &Plan, o: &Outcome, started_ms: u64) -> anyhow::Result<()> {
    let base = started_ms / 1000;
    let points: Vec<(u64, u64)> = (o.seconds.0..o.seconds.1)
        .map(|s| (s - base, o.tally.ads_in(s)))
        .collect();
    let marks: Vec<Mark> = o
        .kills
        .iter()
        .map(|k| Mark {
            at_s: (k.at_ms as f64 - (base * 1000) as f64) / 1000.0,
            label: format!(
                "SIGKILL {}{}",
                k.victim,
                if k.was_coordinator {
                    " (coordinator)"
                } else {
                    ""
                }
            ),
        })
        .collect();
    let title = format!(
        "adserver: {} workers, {} req/s offered over {} connections",
        plan.workers, plan.rate, plan.connections
    );
    chart::draw(path, &title, &points, plan.settings.total_budget(), &marks)
}

/// Prints the figures of `o` for `plan`.
pub fn print_summary(plan: &Plan, o: &Outcome) {
    let (first, last) = o.seconds;
    println!("second  ads/s  (by the load generator; workers' own count)");
    for s in first..last {
        let mine: u64 = o.worker_counts.get(&s).map_or(0, |by| by.values().sum());
        println!("{:>6} {:>6}  ({mine})", s - first + 1, o.tally.ads_in(s));
    }
    let n = (last - first).max(1);
    let ads: u64 = (first..last).map(|s| o.tally.ads_in(s)).sum();
    let counted: u64 = (first..last)
        .map(|s| {
            o.worker_counts
                .get(&s)
                .map_or(0, |by| by.values().sum::<u64>())
        })
        .sum();
    let by_lg = overspend(&o.tally.ads, &plan.settings, first, last);
    let by_w = overspend(&o.worker_counts, &plan.settings, first, last);
    println!(
        "summary: {:.0} ads/s received on average over {n} s ({ads} ads; the workers counted {counted})",
        ads as f64 / n as f64
    );
    println!(
        "summary: overspend {} ads = {:.3}% of the budget {} ({} campaign-seconds over); by the workers' counts {} ads = {:.3}%",
        by_lg.over,
        by_lg.percent(),
        by_lg.budget,
        by_lg.seconds_over,
        by_w.over,
        by_w.percent()
    );
    let per_campaign: Vec<String> = plan
        .settings
        .campaigns
        .iter()
        .map(|c| {
            let got: u64 = (first..last)
                .filter_map(|s| o.tally.ads.get(&s)?.get(&c.name))
                .sum();
            format!(
                "{} {:.0}/s of {}/s",
                c.name,
                got as f64 / n as f64,
                c.budget_per_s
            )
        })
        .collect();
    println!("summary: by campaign: {}", per_campaign.join(", "));
    let t = &o.tally;
    println!(
        "summary: requests {} sent, {} no ad, {} errors, {} skipped; latency p50 {:?} p99 {:?} p99.9 {:?} max {:?}",
        t.sent.values().sum::<u64>(),
        t.no_ad,
        t.errors,
        t.missed,
        t.latency.quantile(0.5),
        t.latency.quantile(0.99),
        t.latency.quantile(0.999),
        t.latency.quantile(1.0)
    );
    for k in &o.kills {
        println!(
            "summary: SIGKILL {}{}: new coordinator after {}, split without it in force on every survivor after {}",
            k.victim,
            if k.was_coordinator { " (coordinator)" } else { "" },
            k.new_coordinator_after
                .map_or("-".into(), |d| format!("{} ms", d.as_millis())),
            k.split_in_force_after
                .map_or("never".into(), |d| format!("{} ms", d.as_millis()))
        );
    }
}
