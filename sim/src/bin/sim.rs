//! Runs many seeds: `sim [seeds] [first]`; `SIM_SEED=<seed>` runs one and
//! prints its trace; `SIM_BUG=1` plants the ack-before-fsync bug.

use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let options = sim::Options {
        ack_before_sync: std::env::var("SIM_BUG").is_ok_and(|v| v == "1"),
        ..sim::Options::default()
    };
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        let outcome = sim::run_seed(seed, &options);
        for line in &outcome.trace {
            println!("{line}");
        }
        println!(
            "seed {seed}: {}",
            outcome.violation.as_deref().unwrap_or("ok")
        );
        std::process::exit(i32::from(outcome.violation.is_some()));
    }
    let seeds = args.first().copied().unwrap_or(1000);
    let first = args.get(1).copied().unwrap_or(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let started = Instant::now();
    let results: Vec<sim::Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let options = options.clone();
                scope.spawn(move || {
                    (first..first + seeds)
                        .filter(|s| s % workers == w)
                        .map(|s| sim::run_seed(s, &options))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let failed: Vec<&sim::Outcome> = results.iter().filter(|o| o.violation.is_some()).collect();
    let ops: usize = results.iter().map(|o| o.operations).sum();
    for f in &failed {
        println!(
            "seed {} FAILED: {}",
            f.seed,
            f.violation.as_deref().unwrap_or("")
        );
        println!("  reproduce: SIM_SEED={} scripts/sim.sh", f.seed);
    }
    println!(
        "{} seeds ({}..{}), {} operations, {} violations, {:.1}s",
        results.len(),
        first,
        first + seeds,
        ops,
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(!failed.is_empty()));
}
