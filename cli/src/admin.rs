//! `corral admin`: cluster status and membership changes of a running cluster.

use anyhow::Context;
use clap::Subcommand;
use client::admin::{AdminClient, ClusterStatus};
use core_server::config::Member;

/// `corral admin`: the credentials, then the command.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// An administrator's `USER:PASSWORD` (the super user, or a digest user
    /// in the servers' `admin_identities`): needed by every command but
    /// `status` and `snapshot status`.
    #[arg(long, global = true, env = "CORRAL_ADMIN_AUTH", hide_env_values = true)]
    auth: Option<String>,
    /// The command.
    #[command(subcommand)]
    command: AdminCommand,
}

/// Operator commands, sent to the server given by `--server` (any member:
/// membership changes are forwarded to the leader).
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show the cluster as the server sees it: role, leader, term, members.
    Status,
    /// Bootstrap a new cluster from pristine servers: `ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]` each.
    Init {
        /// The voters.
        #[arg(required = true)]
        members: Vec<Member>,
    },
    /// Add a server: `ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]`. It catches up as a learner,
    /// then becomes a voter (unless `--observer`).
    Add {
        /// The server to add.
        member: Member,
        /// Keep it a non-voting observer that serves reads and forwards writes.
        #[arg(long)]
        observer: bool,
    },
    /// Remove a server (voter or observer) by id.
    Remove {
        /// Its id.
        id: u64,
    },
    /// Backups: `save` one from a live server's admin listener, or check a
    /// file's `status`.
    #[command(subcommand)]
    Snapshot(crate::backup::SnapshotCommand),
}

/// Runs one admin command against `server` (`HOST:PORT`), over TLS with
/// `tls`.
pub async fn run(
    server: &str,
    tls: Option<client::TlsConfig>,
    json: bool,
    args: AdminArgs,
) -> anyhow::Result<()> {
    let server = server.split([',', '/']).next().unwrap_or(server);
    let mut admin = AdminClient::new(server);
    if let Some(tls) = tls {
        admin = admin.with_tls(tls);
    }
    if let Some(auth) = &args.auth {
        admin = admin.with_digest(auth.clone());
    }
    let status = match args.command {
        AdminCommand::Snapshot(command) => {
            return crate::backup::run(command, args.auth.as_deref(), json).await
        }
        AdminCommand::Status => admin.status().await,
        AdminCommand::Init { members } => {
            admin
                .initialize(members.iter().map(|m| (m.id, m.peer_node())).collect())
                .await
        }
        AdminCommand::Add { member, observer } if observer => {
            admin.add_learner(member.id, member.peer_node()).await
        }
        AdminCommand::Add { member, .. } => admin.add_voter(member.id, member.peer_node()).await,
        AdminCommand::Remove { id } => admin.remove(id).await,
    }
    .with_context(|| format!("admin call to {server}"))?;
    print_status(&status, json)
}

fn print_status(status: &ClusterStatus, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(status)?);
        return Ok(());
    }
    println!(
        "server {}: {} (term {}, leader {}, last log {}, applied {})",
        status.id,
        status.role,
        status.term,
        status
            .leader
            .map_or_else(|| "none".to_string(), |l| l.to_string()),
        status.last_log_index,
        status.last_applied
    );
    for m in &status.members {
        let kind = if m.voter { "voter" } else { "observer" };
        println!("  {} {} {}", m.id, kind, m.node);
    }
    println!("connect: {}", status.connect_string());
    let zk = status.zk_connect_string();
    if !zk.is_empty() {
        println!("zookeeper connect: {zk}");
    }
    Ok(())
}
