//! `adserver`: runs the measured scenario (a local 3-server Corral cluster,
//! worker processes serving ads over HTTP, a load generator, two SIGKILLs),
//! or, with `--worker`, one worker process.

use adserver::{cluster, fleet, model, scenario};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "An ad-serving fleet coordinated by Corral, under load")]
struct Args {
    /// Corral native API address(es); without it a local 3-server cluster
    /// (`corral dev`, the binary next to this one) is started.
    #[arg(long)]
    server: Option<String>,
    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 36)]
    seconds: u64,
    /// Requests per second offered by the load generator.
    #[arg(long, default_value_t = 25_000)]
    rate: u64,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// SIGKILL the coordinator this many seconds into the load (0: never).
    #[arg(long, default_value_t = 8)]
    kill_coordinator_at: u64,
    /// SIGKILL a worker that is not the coordinator this many seconds in (0: never).
    #[arg(long, default_value_t = 22)]
    kill_worker_at: u64,
    /// Scale every campaign's budget to this percentage of the demo's.
    #[arg(long, default_value_t = 100)]
    budget_percent: u64,
    /// Draw the chart of ads/s into this SVG file.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Internal: run one worker with this id.
    #[arg(long, hide = true)]
    worker: Option<String>,
    /// Internal: the worker's HTTP address.
    #[arg(long, hide = true, default_value = "127.0.0.1:0")]
    http: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let (Some(id), Some(server)) = (&args.worker, &args.server) {
        return fleet::run_worker_process(server, id, args.http).await;
    }
    let exe = std::env::current_exe()?;
    let (_local, connect) = match &args.server {
        Some(s) => (None, s.clone()),
        None => {
            let local = cluster::start_local(&exe.with_file_name("corral"))?;
            println!("started a local 3-server corral cluster: {}", local.connect);
            let connect = local.connect.clone();
            (Some(local), connect)
        }
    };
    let operator = client::Client::connect(connect.as_str()).await?;
    let mut settings = model::demo_settings();
    for c in &mut settings.campaigns {
        c.budget_per_s = c.budget_per_s * args.budget_percent / 100;
    }
    cluster::prepare(&operator, &settings).await?;
    let at = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    let plan = scenario::Plan {
        connect,
        exe,
        workers: args.workers,
        settings,
        rate: args.rate,
        connections: args.connections,
        duration: Duration::from_secs(args.seconds),
        kill_coordinator_at: at(args.kill_coordinator_at),
        kill_worker_at: at(args.kill_worker_at),
        chart: args.chart,
    };
    let outcome = scenario::run(&plan).await?;
    scenario::print_summary(&plan, &outcome);
    Ok(())
}
