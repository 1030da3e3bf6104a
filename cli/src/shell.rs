//! Shell commands against a running server: `ls`, `get`, `set`, `create`,
//! `delete`, `stat`, `watch`. Output is for people, or JSON with `--json`.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use client::{AddWatchMode, Client, CreateMode, CreateOptions, Stat, TlsConfig};
use futures::StreamExt;
use std::path::PathBuf;
use std::time::Duration;

/// Options shared by every shell command.
#[derive(Debug, Args)]
pub struct ShellOptions {
    /// Server(s) to talk to: HOST:PORT[,HOST:PORT...][/chroot].
    #[arg(long, global = true, default_value = "127.0.0.1:4181")]
    server: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Connect over TLS, trusting the CA certificates of this PEM file
    /// (servers started with `--tls-cert`).
    #[arg(long, global = true, env = "CORRAL_CACERT", value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// A client certificate (PEM) to present, for servers that require one
    /// (`--tls-client-ca`); needs `--key` and `--cacert`.
    #[arg(long, global = true, env = "CORRAL_CERT", value_name = "FILE")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of `--cert`.
    #[arg(long, global = true, env = "CORRAL_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
}

impl ShellOptions {
    /// The `--server` value.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// True with `--json`.
    pub fn json(&self) -> bool {
        self.json
    }

    /// The TLS settings `--cacert`, `--cert` and `--key` describe (`None`:
    /// plain connections).
    pub fn tls(&self) -> anyhow::Result<Option<TlsConfig>> {
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
            (None, None) => None,
            _ => bail!("--cert and --key go together"),
        };
        match &self.cacert {
            Some(ca) => Ok(Some(TlsConfig::from_pem_files(ca, identity)?)),
            None if identity.is_some() => bail!("--cert needs --cacert (the CA to trust)"),
            None => Ok(None),
        }
    }
}

/// The shell commands.
#[derive(Debug, Subcommand)]
pub enum ShellCommand {
    /// List the children of a node.
    Ls {
        /// The node.
        path: String,
    },
    /// Print a node's data.
    Get {
        /// The node.
        path: String,
    },
    /// Replace a node's data.
    Set {
        /// The node.
        path: String,
        /// The new data.
        data: String,
        /// Only if the node has this version.
        #[arg(long, short = 'v')]
        version: Option<i32>,
    },
    /// Create a node.
    Create {
        /// The node (a prefix with -s).
        path: String,
        /// Its data.
        #[arg(default_value = "")]
        data: String,
        /// Ephemeral: deleted when this command's session ends (right away).
        #[arg(short = 'e')]
        ephemeral: bool,
        /// Sequential: append a %010d counter.
        #[arg(short = 's')]
        sequential: bool,
        /// Container: deleted by the server after its last child goes.
        #[arg(short = 'c')]
        container: bool,
        /// Persistent with a time to live, in ms.
        #[arg(long)]
        ttl: Option<i64>,
    },
    /// Delete a node.
    Delete {
        /// The node.
        path: String,
        /// Delete the whole subtree.
        #[arg(short = 'r')]
        recursive: bool,
        /// Only if the node has this version.
        #[arg(long, short = 'v')]
        version: Option<i32>,
    },
    /// Print a node's Stat.
    Stat {
        /// The node.
        path: String,
    },
    /// Print events for a node (or subtree with -r) until interrupted.
    Watch {
        /// The node.
        path: String,
        /// Watch the subtree.
        #[arg(short = 'r')]
        recursive: bool,
    },
}

/// Runs one shell command.
pub async fn run(options: ShellOptions, command: ShellCommand) -> anyhow::Result<()> {
    let mut builder = Client::builder(&options.server);
    if let Some(tls) = options.tls()? {
        builder = builder.tls(tls);
    }
    let client = builder
        .build()
        .await
        .with_context(|| format!("cannot connect to {}", options.server))?;
    let result = execute(&client, &options, command).await;
    let _ = client.close().await;
    result
}

fn mode_of(
    ephemeral: bool,
    sequential: bool,
    container: bool,
    ttl: bool,
) -> anyhow::Result<CreateMode> {
    Ok(match (ephemeral, sequential, container, ttl) {
        (false, false, false, false) => CreateMode::Persistent,
        (true, false, false, false) => CreateMode::Ephemeral,
        (false, true, false, false) => CreateMode::PersistentSequential,
        (true, true, false, false) => CreateMode::EphemeralSequential,
        (false, false, true, false) => CreateMode::Container,
        (false, false, false, true) => CreateMode::PersistentWithTtl,
        (false, true, false, true) => CreateMode::PersistentSequentialWithTtl,
        _ => anyhow::bail!("these create flags cannot be combined"),
    })
}

fn stat_json(stat: &Stat) -> serde_json::Value {
    serde_json::json!({
        "czxid": stat.czxid, "mzxid": stat.mzxid, "pzxid": stat.pzxid,
        "ctime": stat.ctime, "mtime": stat.mtime,
        "version": stat.version, "cversion": stat.cversion, "aversion": stat.aversion,
        "ephemeralOwner": stat.ephemeral_owner,
        "dataLength": stat.data_length, "numChildren": stat.num_children,
    })
}

fn print_stat(stat: &Stat) {
    println!("czxid = {:#x}", stat.czxid);
    println!("ctime = {}", stat.ctime);
    println!("mzxid = {:#x}", stat.mzxid);
    println!("mtime = {}", stat.mtime);
    println!("pzxid = {:#x}", stat.pzxid);
    println!("cversion = {}", stat.cversion);
    println!("dataVersion = {}", stat.version);
    println!("aclVersion = {}", stat.aversion);
    println!("ephemeralOwner = {:#x}", stat.ephemeral_owner);
    println!("dataLength = {}", stat.data_length);
    println!("numChildren = {}", stat.num_children);
}

async fn delete_tree(client: &Client, path: &str) -> anyhow::Result<()> {
    let mut stack = vec![path.to_string()];
    let mut order = Vec::new();
    while let Some(p) = stack.pop() {
        for child in client.get_children(&p).await? {
            stack.push(proto::path::join(&p, &child));
        }
        order.push(p);
    }
    for p in order.into_iter().rev() {
        client.delete(&p, None).await?;
    }
    Ok(())
}

async fn execute(
    client: &Client,
    options: &ShellOptions,
    command: ShellCommand,
) -> anyhow::Result<()> {
    let json = options.json;
    match command {
        ShellCommand::Ls { path } => {
            let children = client.get_children(&path).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "path": path, "children": children })
                );
            } else {
                println!("[{}]", children.join(", "));
            }
        }
        ShellCommand::Get { path } => {
            let (data, stat) = client.get_data(&path).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "path": path, "data": String::from_utf8_lossy(&data), "stat": stat_json(&stat) })
                );
            } else {
                println!("{}", String::from_utf8_lossy(&data));
            }
        }
        ShellCommand::Set {
            path,
            data,
            version,
        } => {
            let stat = client.set_data(&path, data.as_bytes(), version).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "path": path, "stat": stat_json(&stat) })
                );
            }
        }
        ShellCommand::Create {
            path,
            data,
            ephemeral,
            sequential,
            container,
            ttl,
        } => {
            let mode = mode_of(ephemeral, sequential, container, ttl.is_some())?;
            let options = CreateOptions {
                mode,
                ttl: ttl.map(|ms| Duration::from_millis(ms.max(0) as u64)),
                ..CreateOptions::default()
            };
            let (created, stat) = client.create(&path, data.as_bytes(), options).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "path": created, "stat": stat_json(&stat) })
                );
            } else {
                println!("Created {created}");
            }
        }
        ShellCommand::Delete {
            path,
            recursive,
            version,
        } => {
            if recursive {
                delete_tree(client, &path).await?;
            } else {
                client.delete(&path, version).await?;
            }
            if json {
                println!("{}", serde_json::json!({ "deleted": path }));
            }
        }
        ShellCommand::Stat { path } => {
            let stat = client
                .exists(&path)
                .await?
                .ok_or_else(|| anyhow::anyhow!("Node does not exist: {path}"))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "path": path, "stat": stat_json(&stat) })
                );
            } else {
                print_stat(&stat);
            }
        }
        ShellCommand::Watch { path, recursive } => {
            let mode = if recursive {
                AddWatchMode::PersistentRecursive
            } else {
                AddWatchMode::Persistent
            };
            let mut events = client.add_watch(&path, mode).await?;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    event = events.next() => {
                        let Some(event) = event else { break };
                        if json {
                            println!("{}", serde_json::json!({
                                "type": format!("{:?}", event.event_type), "path": event.path, "zxid": event.zxid,
                            }));
                        } else {
                            println!("{:?} {} (zxid {:#x})", event.event_type, event.path, event.zxid);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
