//! `corral`: run a server (`serve`), a local development setup (`dev`), or talk
//! to one from the shell (`ls`, `get`, `set`, `create`, `delete`, `stat`, `watch`,
//! `admin` for cluster membership and backups, `restore` to build a data
//! directory from a backup), or open an interactive shell (`shell`).

mod admin;
mod backup;
mod dev;
mod dev_tls;
mod interactive;
mod serve;
mod shell;
mod signals;

use clap::{Parser, Subcommand};

/// Corral: a coordination service with ZooKeeper's data model.
#[derive(Debug, Parser)]
#[command(name = "corral", version, about)]
struct Cli {
    #[command(flatten)]
    shell: shell::ShellOptions,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "CORRAL_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one server.
    Serve(Box<serve::ServeArgs>),
    /// Run Corral locally with embedded storage in one folder and print how to connect.
    Dev(serve::DevArgs),
    /// Cluster status and membership changes.
    Admin(admin::AdminArgs),
    /// Build a new server's data directory from a backup (`admin snapshot save`).
    Restore(backup::RestoreArgs),
    /// An interactive shell with zkCli's commands (a script when stdin is not a terminal).
    #[command(name = "shell")]
    Interactive(interactive::ShellArgs),
    /// Shell commands against a running server.
    #[command(flatten)]
    Shell(shell::ShellCommand),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// What is logged unless `RUST_LOG` (or `CORRAL_LOG`) says otherwise: one
/// line per meaningful event of Corral's own, dependencies only at warn.
const DEFAULT_LOG_FILTER: &str = "warn,openraft=error,core_server=info,corral=info";

/// `corral dev`'s: its terminal shows the connect lines, and warnings.
const DEV_LOG_FILTER: &str = "warn,openraft=error";

fn init_logs(format: LogFormat, default_filter: &str) {
    let filter = ["RUST_LOG", "CORRAL_LOG"]
        .iter()
        .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default_filter));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Command::Dev(_) => DEV_LOG_FILTER,
        _ => DEFAULT_LOG_FILTER,
    };
    init_logs(cli.log_format, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("corral: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let done = match cli.command {
            Command::Serve(args) => serve::serve(*args).await,
            Command::Dev(args) => serve::dev(args).await,
            Command::Admin(command) => {
                let tls = cli.shell.tls()?;
                admin::run(cli.shell.server(), tls, cli.shell.json(), command).await
            }
            Command::Restore(args) => backup::restore(args, cli.shell.json()).await,
            Command::Interactive(args) => return interactive::run(&cli.shell, args).await,
            Command::Shell(command) => shell::run(cli.shell, command).await,
        };
        done.map(|()| std::process::ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("corral: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
