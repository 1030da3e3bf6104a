//! Owns running one command line against the server: history and `redo`,
//! each command's calls and output (`connect` and `close` are in
//! `session`, `dump` and `load` in `transfer`).

use super::acl::acl_lines;
use super::catalog::CATALOG;
use super::format::{self, event_line, stat_lines};
use super::history::{RedoError, SessionHistory};
use super::notices::{Notices, WatchKind};
use super::parse::{self, Command, ParseError};
use super::session::Current;
use super::transfer;
use super::walk::{to_tree, walk};
use client::{
    AddWatchMode, Client, CreateMode, CreateOptions, Error, Stat, TlsConfig, WatcherType,
};
use futures::StreamExt;
use std::io::Write;
use std::time::Duration;
use tokio::signal::unix::Signal;

/// What the shell does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Close the session and leave.
    Quit,
}

/// Why a command failed; its `Display` is what the shell prints (zkCli's
/// words where zkCli has some).
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The line is not a valid command.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// `redo` cannot run.
    #[error(transparent)]
    Redo(#[from] RedoError),
    /// The server (or the client) refused; `path` is the command's.
    #[error("{}", format::error_message(.error, .path))]
    Client {
        /// What went wrong.
        error: Error,
        /// The path the command was about.
        path: String,
    },
    /// Ctrl-C stopped the command (a write may still have been applied).
    #[error("Interrupted")]
    Interrupted,
    /// `connect` could not open a session.
    #[error("cannot connect to {hosts}: {error}")]
    Connect {
        /// The servers asked for.
        hosts: String,
        /// Why not.
        error: Error,
    },
    /// `dump` or `load` failed.
    #[error(transparent)]
    Transfer(#[from] transfer::TransferError),
    /// A quota command refused, in zkCli's words.
    #[error("{0}")]
    Quota(String),
    /// Stdout is gone.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// What `help` says after the commands.
const HELP_NOTES: &[&str] = &[
    "Tab completes commands and paths (twice: lists them); the up arrow recalls",
    "earlier commands, kept in the history file (corral shell --history FILE).",
    "dump writes JSON: each node's path below the dumped one, its data (text, or",
    "data_base64 when not UTF-8; null for null data) and ACL; ephemerals are left",
    "out. load creates what is missing; -f also replaces differing data.",
];

/// The node `config` prints, as zkCli's `config` does.
const CONFIG_NODE: &str = "/zookeeper/config";

/// The error of a client call about `path`.
pub(super) fn at(path: &str) -> impl FnOnce(Error) -> ShellError + '_ {
    move |error| ShellError::Client {
        error,
        path: path.to_string(),
    }
}

/// One shell session: the client, this session's history, the notices.
pub struct Shell {
    /// The session commands go through (`connect` replaces it).
    pub(super) current: Current,
    /// The servers of the session, as shown in the prompt.
    pub(super) server: String,
    /// TLS for `connect`'s new sessions.
    pub(super) tls: Option<TlsConfig>,
    /// The largest file `load` reads, in bytes.
    pub(super) load_max_bytes: u64,
    history: SessionHistory,
    /// Fired watches and session transitions to print.
    pub notices: Notices,
}

fn create_mode(ephemeral: bool, sequential: bool, container: bool, ttl: bool) -> CreateMode {
    match (container, ttl, ephemeral, sequential) {
        (true, ..) => CreateMode::Container,
        (false, true, _, false) => CreateMode::PersistentWithTtl,
        (false, true, _, true) => CreateMode::PersistentSequentialWithTtl,
        (false, false, false, false) => CreateMode::Persistent,
        (false, false, true, false) => CreateMode::Ephemeral,
        (false, false, false, true) => CreateMode::PersistentSequential,
        (false, false, true, true) => CreateMode::EphemeralSequential,
    }
}

pub(super) fn write_lines<S: AsRef<str>>(
    out: &mut dyn Write,
    lines: impl IntoIterator<Item = S>,
) -> std::io::Result<()> {
    for line in lines {
        writeln!(out, "{}", line.as_ref())?;
    }
    Ok(())
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl Shell {
    /// A shell on `current`'s client, connected to `server` (shown in the
    /// prompt); `connect` opens new sessions with `tls`.
    pub fn new(current: Current, server: String, tls: Option<TlsConfig>, notices: Notices) -> Self {
        Shell {
            current,
            server,
            tls,
            load_max_bytes: transfer::LOAD_MAX_BYTES,
            history: SessionHistory::default(),
            notices,
        }
    }

    /// The client of the current session.
    pub fn client(&self) -> Client {
        self.current.get()
    }

    /// zkCli's prompt: `[corral: SERVER(CONNECTED) N] `.
    pub fn prompt(&self) -> String {
        format!(
            "[corral: {}({}) {}] ",
            self.server,
            format::state_name(self.client().state()),
            self.history.next_number()
        )
    }

    /// Runs a typed line: recorded in the history (blank lines are not),
    /// split into words, parsed, run. Ctrl-C (`interrupt`) stops it.
    pub async fn run_line(
        &mut self,
        line: &str,
        out: &mut dyn Write,
        interrupt: &mut Signal,
    ) -> Result<Flow, ShellError> {
        if line.trim().is_empty() {
            return Ok(Flow::Continue);
        }
        self.history.record(line);
        let words = parse::tokenize(line)?;
        self.run_words(&words, out, interrupt).await
    }

    /// Runs a command given as words (`redo` included).
    pub async fn run_words(
        &mut self,
        words: &[String],
        out: &mut dyn Write,
        interrupt: &mut Signal,
    ) -> Result<Flow, ShellError> {
        let mut command = parse::parse(words)?;
        if let Command::Redo { number } = command {
            let line = self.history.redo(number)?;
            command = parse::parse(&parse::tokenize(&line)?)?;
        }
        if let Command::Config { stat, watch } = command {
            command = Command::Get {
                path: CONFIG_NODE.to_string(),
                stat,
                watch,
            };
        }
        match command {
            Command::Watch { path } => self.watch(&path, out, interrupt).await,
            other => tokio::select! {
                result = self.dispatch(other, out) => result,
                _ = interrupt.recv() => Err(ShellError::Interrupted),
            },
        }
    }

    /// `watch PATH`: a persistent recursive watch whose events print, one
    /// line each, until Ctrl-C or the end of the session; then removed.
    async fn watch(
        &mut self,
        path: &str,
        out: &mut dyn Write,
        interrupt: &mut Signal,
    ) -> Result<Flow, ShellError> {
        let client = self.client();
        let mut events = client
            .add_watch(path, AddWatchMode::PersistentRecursive)
            .await
            .map_err(at(path))?;
        eprintln!("watching {path} and its subtree; Ctrl-C stops");
        let result = loop {
            let text = tokio::select! {
                event = events.next() => match event {
                    Some(event) => event_line(event.event_type, &event.path),
                    None => break Ok(()),
                },
                notice = self.notices.next() => notice,
                _ = interrupt.recv() => break Ok(()),
            };
            if let Err(error) = writeln!(out, "{text}").and_then(|()| out.flush()) {
                break Err(error);
            }
        };
        let _ = client
            .remove_watches(path, WatcherType::PersistentRecursive)
            .await;
        result?;
        Ok(Flow::Continue)
    }

    async fn dispatch(
        &mut self,
        command: Command,
        out: &mut dyn Write,
    ) -> Result<Flow, ShellError> {
        let client = self.client();
        match command {
            Command::AddWatch { path, mode } => {
                let watch = client.add_watch(&path, mode).await.map_err(at(&path))?;
                self.notices.persistent(watch, &path);
            }
            Command::AddAuth { scheme, auth } => {
                client
                    .add_auth(&scheme, auth.as_bytes())
                    .await
                    .map_err(at(""))?;
            }
            Command::Close => self.close(out).await?,
            Command::Connect { hosts } => self.connect(hosts, out).await?,
            Command::Dump { path, file } => {
                let count = transfer::dump(&client, &path, file.as_deref(), out).await?;
                if file.is_some() {
                    writeln!(out, "{}", count.dump_line(&path))?;
                }
            }
            Command::Load {
                file,
                path,
                overwrite,
            } => {
                let limit = self.load_max_bytes;
                let count =
                    transfer::load(&client, &file, path.as_deref(), overwrite, limit).await?;
                writeln!(out, "{}", count.load_line())?;
            }
            Command::PrintWatches { is_on: None } => {
                let word = if self.notices.is_printing() {
                    "on"
                } else {
                    "off"
                };
                writeln!(out, "printwatches is {word}")?;
            }
            Command::PrintWatches { is_on: Some(is_on) } => self.notices.set_printing(is_on),
            Command::RemoveWatches { path, kind } => {
                client
                    .remove_watches(&path, kind)
                    .await
                    .map_err(at(&path))?;
                let removed = self.notices.remove(&path, kind);
                if self.notices.is_printing() {
                    write_lines(out, removed)?;
                }
            }
            Command::Version => {
                writeln!(out, "Corral CLI version: {}", env!("CARGO_PKG_VERSION"))?;
            }
            Command::Create {
                path,
                data,
                acl,
                ephemeral,
                sequential,
                container,
                ttl_ms,
            } => {
                let options = CreateOptions {
                    mode: create_mode(ephemeral, sequential, container, ttl_ms.is_some()),
                    ttl: ttl_ms.map(|ms| Duration::from_millis(ms.max(0).unsigned_abs())),
                    acl,
                };
                let data = data.as_deref().map(str::as_bytes);
                let (created, _) = client
                    .create_opt(&path, data, options)
                    .await
                    .map_err(at(&path))?;
                writeln!(out, "Created {created}")?;
            }
            Command::SetQuota { path, field, value } => {
                self.setquota(&path, field, &value, out).await?
            }
            Command::ListQuota { path } => self.listquota(&path, out).await?,
            Command::DelQuota { path, field } => self.delquota(&path, field, out).await?,
            Command::Delete { path, version } => {
                client.delete(&path, version).await.map_err(at(&path))?;
            }
            Command::DeleteAll { path } => {
                let nodes = walk(&client, &path).await.map_err(at(&path))?;
                for node in nodes.iter().rev() {
                    match client.delete(&node.path, None).await {
                        Err(Error::NoNode { .. }) if node.path != path => {}
                        other => other.map_err(at(&node.path))?,
                    }
                }
            }
            Command::Du { path } => {
                let nodes = walk(&client, &path).await.map_err(at(&path))?;
                let bytes = nodes
                    .iter()
                    .map(|n| u64::try_from(n.stat.data_length).unwrap_or(0))
                    .sum();
                writeln!(out, "{}", format::du_line(&path, nodes.len() as u64, bytes))?;
            }
            Command::Get { path, stat, watch } => {
                let (data, node_stat) = if watch {
                    let (data, node_stat, fired) =
                        client.get_data_opt_watch(&path).await.map_err(at(&path))?;
                    self.notices.watch(fired, &path, WatchKind::Data);
                    (data, node_stat)
                } else {
                    client.get_data_opt(&path).await.map_err(at(&path))?
                };
                match data {
                    Some(data) => writeln!(out, "{}", String::from_utf8_lossy(&data))?,
                    None => writeln!(out, "null")?,
                }
                if stat {
                    write_lines(out, stat_lines(&node_stat))?;
                }
            }
            Command::GetAcl { path, stat } => {
                let (acl, node_stat) = client.get_acl(&path).await.map_err(at(&path))?;
                write_lines(out, acl.iter().flat_map(acl_lines))?;
                if stat {
                    write_lines(out, stat_lines(&node_stat))?;
                }
            }
            Command::GetAllChildrenNumber { path } => {
                let count = client
                    .get_all_children_number(&path)
                    .await
                    .map_err(at(&path))?;
                writeln!(out, "{count}")?;
            }
            Command::GetEphemerals { path } => {
                let paths = client.get_ephemerals(&path).await.map_err(at(&path))?;
                writeln!(out, "{}", list(&paths))?;
            }
            Command::Help => {
                writeln!(
                    out,
                    "corral shell: zkCli's commands, and Corral's own at the end"
                )?;
                write_lines(
                    out,
                    CATALOG
                        .iter()
                        .map(|s| format!("\t{:<48} {}", s.usage, s.about)),
                )?;
                write_lines(out, HELP_NOTES)?;
            }
            Command::History => write_lines(out, self.history.listing())?,
            Command::Ls {
                path,
                stat,
                watch,
                recursive,
            } => self.ls(&path, stat, watch, recursive, out).await?,
            Command::Quit => return Ok(Flow::Quit),
            // `run_words` resolves `redo` and `config`, and runs `watch` (which needs Ctrl-C).
            Command::Redo { .. } | Command::Config { .. } | Command::Watch { .. } => {}
            Command::Set {
                path,
                data,
                version,
                stat,
            } => {
                let node_stat = client
                    .set_data(&path, data.as_bytes(), version)
                    .await
                    .map_err(at(&path))?;
                if stat {
                    write_lines(out, stat_lines(&node_stat))?;
                }
            }
            Command::SetAcl {
                path,
                acl,
                version,
                stat,
                recursive,
            } => {
                let node_stat = client
                    .set_acl(&path, &acl, version)
                    .await
                    .map_err(at(&path))?;
                if recursive {
                    for node in walk(&client, &path)
                        .await
                        .map_err(at(&path))?
                        .iter()
                        .skip(1)
                    {
                        match client.set_acl(&node.path, &acl, None).await {
                            Err(Error::NoNode { .. }) => {}
                            other => other.map(|_| ()).map_err(at(&node.path))?,
                        }
                    }
                }
                if stat {
                    write_lines(out, stat_lines(&node_stat))?;
                }
            }
            Command::Stat { path, watch } => {
                let node_stat = if watch {
                    let (node_stat, fired) = client.exists_watch(&path).await.map_err(at(&path))?;
                    self.notices.watch(fired, &path, WatchKind::Data);
                    node_stat
                } else {
                    client.exists(&path).await.map_err(at(&path))?
                };
                let node_stat =
                    node_stat.ok_or_else(|| at(&path)(Error::NoNode { path: path.clone() }))?;
                write_lines(out, stat_lines(&node_stat))?;
            }
            Command::Sync { path } => {
                client.sync(&path).await.map_err(at(&path))?;
                writeln!(out, "Sync is OK")?;
            }
            Command::Tree { path } => {
                let nodes = walk(&client, &path).await.map_err(at(&path))?;
                if let Some(tree) = to_tree(&nodes) {
                    write_lines(out, format::tree_lines(&tree))?;
                }
            }
            Command::WhoAmI => {
                let ids = client.who_am_i().await.map_err(at(""))?;
                writeln!(out, "Auth scheme: User")?;
                write_lines(
                    out,
                    ids.iter().map(|(scheme, user)| format!("{scheme}: {user}")),
                )?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn ls(
        &mut self,
        path: &str,
        stat: bool,
        watch: bool,
        recursive: bool,
        out: &mut dyn Write,
    ) -> Result<(), ShellError> {
        let client = self.client();
        if recursive {
            let nodes = walk(&client, path).await.map_err(at(path))?;
            return Ok(write_lines(out, nodes.iter().map(|n| &n.path))?);
        }
        let (children, node_stat): (Vec<String>, Option<Stat>) = if watch {
            let (children, fired) = client.get_children_watch(path).await.map_err(at(path))?;
            self.notices.watch(fired, path, WatchKind::Child);
            let node_stat = match stat {
                true => client.exists(path).await.map_err(at(path))?,
                false => None,
            };
            (children, node_stat)
        } else if stat {
            let (children, node_stat) = client.get_children2(path).await.map_err(at(path))?;
            (children, Some(node_stat))
        } else {
            (client.get_children(path).await.map_err(at(path))?, None)
        };
        writeln!(out, "{}", list(&children))?;
        if let Some(node_stat) = node_stat {
            write_lines(out, stat_lines(&node_stat))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_flags_map_to_zookeepers_modes() {
        assert_eq!(
            create_mode(false, false, false, false),
            CreateMode::Persistent
        );
        assert_eq!(
            create_mode(true, true, false, false),
            CreateMode::EphemeralSequential
        );
        assert_eq!(
            create_mode(false, false, true, false),
            CreateMode::Container
        );
        assert_eq!(
            create_mode(false, true, false, true),
            CreateMode::PersistentSequentialWithTtl
        );
        assert_eq!(
            create_mode(false, false, false, true),
            CreateMode::PersistentWithTtl
        );
    }

    #[test]
    fn lists_print_in_brackets() {
        assert_eq!(list(&["a".into(), "b".into()]), "[a, b]");
        assert_eq!(list(&[]), "[]");
    }
}
