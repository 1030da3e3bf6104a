//! `loadgen`: closed-loop load against a Corral server over the native API.
//!
//! Each of `--clients` sessions keeps `--depth` requests outstanding (1 = one
//! at a time) for `--seconds`, writing (`setData`) or reading (`getData`)
//! `--value-bytes` values on `--keys` nodes. Prints ops/s and latency
//! percentiles, as text or `--json`. With `--tls-ca` the native sessions run
//! over TLS (and mutual TLS with `--tls-cert`/`--tls-key`).

use anyhow::Context;
use clap::{Parser, ValueEnum};
use proto::v1::corral_client::CorralClient;
use proto::v1::{client_frame::Frame, request::Op, server_frame, ClientFrame, Request};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

mod zk_load;

/// Which protocol to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    /// Corral's native gRPC session stream.
    Native,
    /// ZooKeeper's wire protocol (Apache ZooKeeper, or Corral's ZooKeeper port).
    Zk,
}

/// What to run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Workload {
    /// setData on existing nodes.
    Write,
    /// getData on existing nodes.
    Read,
    /// create then delete fresh nodes (two writes per op pair).
    Create,
}

/// The command line.
#[derive(Debug, Parser)]
#[command(about = "Closed-loop load generator for Corral's native API")]
pub(crate) struct Args {
    /// Server address (HOST:PORT); several comma-separated spread the clients.
    #[arg(long, default_value = "127.0.0.1:4181")]
    server: String,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Outstanding requests per session.
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// Measured duration.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Value size.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Distinct nodes.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    /// What to run.
    #[arg(long, value_enum, default_value_t = Workload::Write)]
    workload: Workload,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Reads are linearizable (native protocol only): each first catches up
    /// with the leader's read index.
    #[arg(long)]
    linearizable: bool,
    /// Protocol to use.
    #[arg(long, value_enum, default_value_t = Protocol::Native)]
    protocol: Protocol,
    /// PEM CA bundle to trust: native sessions then run over TLS, verifying
    /// the server's certificate against the host dialed (an IP or DNS name).
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// PEM client certificate to present (mutual TLS; with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key", requires = "tls_ca")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl Args {
    /// The TLS settings of the native sessions, if any (`--tls-ca`, and
    /// `--tls-cert`/`--tls-key` for mutual TLS).
    fn tls(&self) -> anyhow::Result<Option<client::TlsConfig>> {
        let Some(ca) = &self.tls_ca else {
            return Ok(None);
        };
        anyhow::ensure!(
            self.protocol == Protocol::Native,
            "--tls-ca/--tls-cert/--tls-key apply to the native protocol only \
             (TLS over the ZooKeeper protocol is not supported by this load generator)"
        );
        let identity = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        let tls = client::TlsConfig::from_pem_files(ca, identity)
            .with_context(|| format!("reading the TLS files (CA {})", ca.display()))?;
        Ok(Some(tls))
    }

    /// How the native sessions are carried: `plain`, `tls` or `mtls`.
    fn transport(&self) -> &'static str {
        match (&self.tls_ca, &self.tls_cert) {
            (None, _) => "plain",
            (Some(_), None) => "tls",
            (Some(_), Some(_)) => "mtls",
        }
    }
}

/// One native session: the request stream and the server's frames.
struct Session {
    tx: mpsc::Sender<ClientFrame>,
    rx: tonic::Streaming<proto::v1::ServerFrame>,
}

/// Opens a session to `addr` (`HOST:PORT`), over TLS when `tls` is set.
async fn open(addr: &str, tls: Option<&client::TlsConfig>) -> anyhow::Result<Session> {
    let mut client = match tls {
        None => CorralClient::connect(format!("http://{addr}"))
            .await
            .with_context(|| format!("connecting to {addr}"))?,
        Some(tls) => CorralClient::new(
            tls.channel(addr)
                .await
                .with_context(|| format!("connecting to {addr} over TLS"))?,
        ),
    };
    let (tx, rx) = mpsc::channel(1024);
    tx.send(ClientFrame {
        frame: Some(Frame::Connect(proto::v1::Connect {
            session_id: 0,
            password: vec![],
            timeout_ms: 30_000,
            last_zxid_seen: 0,
        })),
    })
    .await?;
    let mut rx = client.session(ReceiverStream::new(rx)).await?.into_inner();
    match rx.message().await?.and_then(|f| f.frame) {
        Some(server_frame::Frame::Connected(_)) => Ok(Session { tx, rx }),
        other => anyhow::bail!("connect refused: {other:?}"),
    }
}

impl Session {
    /// Sends request `xid`.
    async fn send(&self, xid: i32, op: Op) -> anyhow::Result<()> {
        self.tx
            .send(ClientFrame {
                frame: Some(Frame::Request(Request { xid, op: Some(op) })),
            })
            .await?;
        Ok(())
    }

    /// The next response, skipping other frames (watch events, pings).
    async fn response(&mut self) -> anyhow::Result<proto::v1::Response> {
        loop {
            match self.rx.message().await?.and_then(|f| f.frame) {
                Some(server_frame::Frame::Response(r)) => return Ok(r),
                Some(_) => continue,
                None => anyhow::bail!("stream ended"),
            }
        }
    }
}

/// The path of key `i`.
pub(crate) fn key(i: usize) -> String {
    format!("/bench/k{i:06}")
}

/// Creates `/bench` and the keys (existing ones are kept).
async fn prepare(addr: &str, args: &Args, tls: Option<&client::TlsConfig>) -> anyhow::Result<()> {
    let mut s = open(addr, tls).await?;
    let value = vec![b'x'; args.value_bytes];
    s.send(
        0,
        Op::Create(proto::v1::CreateOp {
            path: "/bench".into(),
            data: None,
            mode: 0,
            ttl_ms: 0,
            ..Default::default()
        }),
    )
    .await?;
    s.response().await?;
    for i in 0..args.keys {
        s.send(
            i as i32,
            Op::Create(proto::v1::CreateOp {
                path: key(i),
                data: Some(value.clone()),
                mode: 0,
                ttl_ms: 0,
                ..Default::default()
            }),
        )
        .await?;
    }
    for _ in 0..args.keys {
        let r = s.response().await?;
        anyhow::ensure!(r.err == 0 || r.err == -110, "prepare failed with {}", r.err);
    }
    Ok(())
}

/// The `n`th request of session `client`.
fn op_for(args: &Args, client: usize, n: usize, value: &[u8]) -> Op {
    let k = (client * 7919 + n) % args.keys;
    match args.workload {
        Workload::Write => Op::SetData(proto::v1::SetDataOp {
            path: key(k),
            data: Some(value.to_vec()),
            version: -1,
        }),
        Workload::Read => Op::GetData(proto::v1::GetDataOp {
            path: key(k),
            watch: false,
            linearizable: args.linearizable,
        }),
        Workload::Create => {
            let path = format!("/bench/c{client}-{n}");
            if n.is_multiple_of(2) {
                Op::Create(proto::v1::CreateOp {
                    path,
                    data: Some(value.to_vec()),
                    mode: 0,
                    ttl_ms: 0,
                    ..Default::default()
                })
            } else {
                Op::Delete(proto::v1::DeleteOp {
                    path: format!("/bench/c{client}-{}", n - 1),
                    version: -1,
                })
            }
        }
    }
}

/// One session, `depth` requests outstanding; latencies in the window, in µs.
async fn run_client(
    addr: String,
    args: std::sync::Arc<Args>,
    tls: Option<client::TlsConfig>,
    client: usize,
    start: Instant,
    end: Instant,
) -> anyhow::Result<Vec<u32>> {
    let mut s = open(&addr, tls.as_ref()).await?;
    let value = vec![b'v'; args.value_bytes];
    let mut latencies_us = Vec::new();
    let mut sent_at = std::collections::VecDeque::new();
    let mut n = 0usize;
    for _ in 0..args.depth {
        s.send(n as i32, op_for(&args, client, n, &value)).await?;
        sent_at.push_back(Instant::now());
        n += 1;
    }
    while let Some(t0) = sent_at.pop_front() {
        let r = s.response().await?;
        anyhow::ensure!(r.err == 0, "request failed with {}", r.err);
        let now = Instant::now();
        if now >= start && now < end {
            latencies_us.push((now - t0).as_micros().min(u32::MAX as u128) as u32);
        }
        if now < end {
            s.send(n as i32, op_for(&args, client, n, &value)).await?;
            sent_at.push_back(Instant::now());
            n += 1;
        }
    }
    Ok(latencies_us)
}

/// The `p` quantile of `sorted` (µs), in ms.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = std::sync::Arc::new(Args::parse());
    let tls = args.tls()?;
    let servers: Vec<String> = args.server.split(',').map(str::to_string).collect();
    match args.protocol {
        Protocol::Native => prepare(&servers[0], &args, tls.as_ref()).await?,
        Protocol::Zk => zk_load::prepare(&servers[0], &args).await?,
    }
    let warmup = Duration::from_secs(1);
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let addr = servers[c % servers.len()].clone();
        tasks.push(match args.protocol {
            Protocol::Native => {
                tokio::spawn(run_client(addr, args.clone(), tls.clone(), c, start, end))
            }
            Protocol::Zk => tokio::spawn(zk_load::run_client(addr, args.clone(), c, start, end)),
        });
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_unstable();
    let ops_per_s = all.len() as f64 / args.seconds as f64;
    let (p50, p99, p999) = (
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&all, 0.999),
    );
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "workload": format!("{:?}", args.workload).to_lowercase(),
                "clients": args.clients, "depth": args.depth, "value_bytes": args.value_bytes,
                "seconds": args.seconds, "transport": args.transport(),
                "ops": all.len(), "ops_per_s": ops_per_s,
                "p50_ms": p50, "p99_ms": p99, "p999_ms": p999,
            })
        );
    } else {
        let over = match args.transport() {
            "plain" => String::new(),
            t => format!(" {t}"),
        };
        println!(
            "{:?} clients={} depth={} value={}B{over}: {:.0} ops/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms",
            args.workload, args.clients, args.depth, args.value_bytes, ops_per_s, p50, p99, p999
        );
    }
    Ok(())
}
