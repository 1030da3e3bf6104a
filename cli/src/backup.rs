//! `corral admin snapshot save|status` and `corral restore`: taking a backup
//! of a live server over its admin listener, describing a backup file, and
//! building a new server's data directory from one (`core_server::backup`).

use anyhow::Context;
use clap::{Args, Subcommand};
use core_server::backup::{self, Backup, Header, Target};
use core_server::config::Member;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod fetch;

/// Backups of a running server.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Stream a consistent snapshot of a live server (any cluster member, or
    /// a standalone server) into FILE, checked before it is kept.
    Save {
        /// Where to write the backup (replaced only once complete and checked).
        file: PathBuf,
        /// The server's admin listener, `http://HOST:PORT` (what `corral
        /// serve` prints as `admin:`).
        #[arg(long, default_value = "http://127.0.0.1:8181")]
        admin: String,
    },
    /// Check a backup file and describe it; fails on a damaged one.
    Status {
        /// The backup file.
        file: PathBuf,
    },
}

/// Flags of `corral restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (`corral admin snapshot save`).
    file: PathBuf,
    /// The data directory to build (must not exist, or be empty).
    #[arg(long)]
    data_dir: PathBuf,
    /// Restore one member of a new cluster: this server's id (with the full
    /// `--member` list; run once per member, same file and list).
    #[arg(long)]
    id: Option<u64>,
    /// A voter of the new cluster, `ID=PEERHOST:PORT[,client=HOST:PORT][,zk=HOST:PORT]`
    /// (repeat for each; the same list on every member).
    #[arg(long = "member")]
    members: Vec<Member>,
}

/// Runs one `corral admin snapshot` command.
/// `auth` is `USER:PASSWORD` of an administrator (a snapshot holds every
/// node, whatever its ACL).
pub async fn run(command: SnapshotCommand, auth: Option<&str>, json: bool) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Save { file, admin } => {
            let backup = fetch::save(&admin, auth, &file).await?;
            report("saved", &file, &backup, json)
        }
        SnapshotCommand::Status { file } => {
            let shown = file.clone();
            let backup = tokio::task::spawn_blocking(move || check(&file))
                .await
                .context("checking the backup")??;
            report("ok", &shown, &backup, json)
        }
    }
}

/// What a checked backup holds.
pub struct Checked {
    header: Header,
    crc: u32,
    sessions: usize,
}

/// Reads `file` and checks it whole: header, checksum, and the decoded tree
/// against its header.
pub fn check(file: &Path) -> anyhow::Result<Checked> {
    let backup = Backup::read_file(file).with_context(|| format!("{}", file.display()))?;
    let tree = backup
        .decode_tree()
        .with_context(|| format!("{}", file.display()))?;
    Ok(Checked {
        header: *backup.header(),
        crc: backup.crc(),
        sessions: tree.session_count(),
    })
}

fn report(verb: &str, file: &Path, backup: &Checked, json: bool) -> anyhow::Result<()> {
    let h = &backup.header;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "file": file.display().to_string(),
                "format_version": backup::VERSION,
                "zxid": h.zxid,
                "zxid_hex": format!("{:#x}", h.zxid),
                "nodes": h.nodes,
                "sessions": backup.sessions,
                "bytes": h.file_len(),
                "digest": format!("{:#018x}", h.digest),
                "crc32": format!("{:#010x}", backup.crc),
                "checksum_ok": true,
            })
        );
    } else if verb == "saved" {
        println!(
            "saved {}: zxid {:#x}, {} nodes, {} bytes",
            file.display(),
            h.zxid,
            h.nodes,
            h.file_len()
        );
    } else {
        println!(
            "{}: format {}, zxid {:#x}, {} nodes, {} sessions, {} bytes, digest {:#018x}, crc32 {:#010x}: checksum OK",
            file.display(),
            backup::VERSION,
            h.zxid,
            h.nodes,
            backup.sessions,
            h.file_len(),
            h.digest,
            backup.crc
        );
    }
    Ok(())
}

/// `corral restore`.
pub async fn restore(args: RestoreArgs, json: bool) -> anyhow::Result<()> {
    let target = target(&args)?;
    let (file, dir) = (args.file.clone(), args.data_dir.clone());
    let restore_target = target.clone();
    let header = tokio::task::spawn_blocking(move || backup::restore(&file, &dir, &restore_target))
        .await
        .context("restoring")?
        .with_context(|| {
            format!(
                "restore {} into {}",
                args.file.display(),
                args.data_dir.display()
            )
        })?;
    let serve = match &target {
        Target::Standalone => format!("corral serve --data-dir {}", args.data_dir.display()),
        Target::Member { id, .. } => format!(
            "corral serve --id {id} --data-dir {} (with this member's --listen)",
            args.data_dir.display()
        ),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "file": args.file.display().to_string(),
                "data_dir": args.data_dir.display().to_string(),
                "zxid": header.zxid,
                "zxid_hex": format!("{:#x}", header.zxid),
                "nodes": header.nodes,
                "member": args.id,
            })
        );
    } else {
        println!(
            "restored {} into {}: zxid {:#x}, {} nodes",
            args.file.display(),
            args.data_dir.display(),
            header.zxid,
            header.nodes
        );
        println!("start it: {serve}");
    }
    Ok(())
}

/// What the flags ask to restore.
fn target(args: &RestoreArgs) -> anyhow::Result<Target> {
    let Some(id) = args.id else {
        anyhow::ensure!(
            args.members.is_empty(),
            "--member needs --id: a cluster member's restore names the member"
        );
        return Ok(Target::Standalone);
    };
    anyhow::ensure!(
        !args.members.is_empty(),
        "--id {id} needs the new cluster's full --member list (the same on every member)"
    );
    let mut members = BTreeMap::new();
    for m in &args.members {
        anyhow::ensure!(
            members.insert(m.id, m.peer_node()).is_none(),
            "member {} is given twice",
            m.id
        );
    }
    Ok(Target::Member { id, members })
}
