//! Owns running one command line against the server: history and `redo`,
//! each command's calls and output, the pending one-shot watches and the
//! session transitions waiting to be printed ([`Notices`]).

use super::acl::acl_lines;
use super::format::{self, event_line, session_line, stat_lines, watcher_block};
use super::history::{RedoError, SessionHistory};
use super::parse::{self, Command, ParseError, CATALOG};
use super::walk::{to_tree, walk};
use client::{
    AddWatchMode, Client, CreateMode, CreateOptions, Error, OneshotWatch, SessionEvent,
    SessionState, Stat, WatcherType,
};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use std::io::Write;
use std::time::Duration;
use tokio::signal::unix::Signal;
use tokio::sync::broadcast;

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
    /// Stdout is gone.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// The error of a client call about `path`.
fn at(path: &str) -> impl FnOnce(Error) -> ShellError + '_ {
    move |error| ShellError::Client {
        error,
        path: path.to_string(),
    }
}

/// Text waiting to be printed between commands: fired one-shot watches
/// (`get -w`, `ls -w`, `stat -w`) and session transitions, both as zkCli's
/// `WATCHER::` blocks. Watches are bounded by the session: each resolves
/// at the latest when it ends.
pub struct Notices {
    watches: FuturesUnordered<BoxFuture<'static, Option<String>>>,
    session: broadcast::Receiver<SessionEvent>,
    is_session_open: bool,
    is_session_shown: bool,
}

impl Notices {
    /// Notices of `client`'s session; transitions are printed only when
    /// `is_session_shown`.
    pub fn new(client: &Client, is_session_shown: bool) -> Self {
        Notices {
            watches: FuturesUnordered::new(),
            session: client.events(),
            is_session_open: true,
            is_session_shown,
        }
    }

    /// Prints `watch`'s event when it fires (nothing if the session ends first).
    pub fn watch(&mut self, watch: OneshotWatch) {
        self.watches.push(
            async move {
                let event = watch.await.ok()?;
                Some(watcher_block(&event_line(event.event_type, &event.path)))
            }
            .boxed(),
        );
    }

    /// The next notice; pending while there is none. Cancellation-safe.
    pub async fn next(&mut self) -> String {
        loop {
            tokio::select! {
                Some(text) = self.watches.next(), if !self.watches.is_empty() => {
                    if let Some(text) = text {
                        return text;
                    }
                }
                event = self.session.recv(), if self.is_session_open => match event {
                    // Closed is printed by whoever closes.
                    Ok(SessionEvent::Closed) => {}
                    Ok(event) if self.is_session_shown => return watcher_block(&session_line(event)),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => self.is_session_open = false,
                },
                else => std::future::pending::<()>().await,
            }
        }
    }

    /// Every notice already there, without waiting.
    pub fn ready(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.next().now_or_never()).collect()
    }
}

/// One shell session: the client, this session's history, the notices.
pub struct Shell {
    client: Client,
    server: String,
    history: SessionHistory,
    /// Fired watches and session transitions to print.
    pub notices: Notices,
}

fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connecting | SessionState::Suspended => "CONNECTING",
        SessionState::Connected => "CONNECTED",
        SessionState::Expired => "EXPIRED",
        SessionState::Closed => "CLOSED",
    }
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

fn write_lines<S: AsRef<str>>(
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
    /// A shell on `client`, connected to `server` (shown in the prompt).
    pub fn new(client: Client, server: String, notices: Notices) -> Self {
        Shell {
            client,
            server,
            history: SessionHistory::default(),
            notices,
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// zkCli's prompt: `[corral: SERVER(CONNECTED) N] `.
    pub fn prompt(&self) -> String {
        format!(
            "[corral: {}({}) {}] ",
            self.server,
            state_name(self.client.state()),
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
        let mut events = self
            .client
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
        let _ = self
            .client
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
        let client = self.client.clone();
        match command {
            Command::AddAuth { scheme, auth } => {
                client
                    .add_auth(&scheme, auth.as_bytes())
                    .await
                    .map_err(at(""))?;
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
                        client.get_data_watch(&path).await.map_err(at(&path))?;
                    self.notices.watch(fired);
                    (Some(data), node_stat)
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
            }
            Command::History => write_lines(out, self.history.listing())?,
            Command::Ls {
                path,
                stat,
                watch,
                recursive,
            } => self.ls(&path, stat, watch, recursive, out).await?,
            Command::Quit => return Ok(Flow::Quit),
            // `run_words` resolves `redo` and runs `watch` (which needs Ctrl-C).
            Command::Redo { .. } | Command::Watch { .. } => {}
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
                    self.notices.watch(fired);
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
        let client = self.client.clone();
        if recursive {
            let nodes = walk(&client, path).await.map_err(at(path))?;
            return Ok(write_lines(out, nodes.iter().map(|n| &n.path))?);
        }
        let (children, node_stat): (Vec<String>, Option<Stat>) = if watch {
            let (children, fired) = client.get_children_watch(path).await.map_err(at(path))?;
            self.notices.watch(fired);
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
