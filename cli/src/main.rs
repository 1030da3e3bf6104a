//! `corral`: run a server (`serve`), a local development setup (`dev`), or talk
//! to one from the shell (`ls`, `get`, `set`, `create`, `delete`, `stat`, `watch`,
//! and `admin` for cluster membership).

mod admin;
mod dev;
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
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Shell commands against a running server.
    #[command(flatten)]
    Shell(shell::ShellCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORRAL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
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
        match cli.command {
            Command::Serve(args) => serve::serve(*args).await,
            Command::Dev(args) => serve::dev(args).await,
            Command::Admin(command) => {
                admin::run(cli.shell.server(), cli.shell.json(), command).await
            }
            Command::Shell(command) => shell::run(cli.shell, command).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("corral: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
