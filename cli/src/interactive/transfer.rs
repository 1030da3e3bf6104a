//! Owns `dump` and `load`: a subtree written as one JSON document (data as
//! UTF-8 text when it is, else base64 under `data_base64`; `data: null` for
//! null data; each node's ACL) and read back under any path.
//!
//! `dump` streams: it walks breadth first a few reads at a time and writes
//! each node as it comes, so memory stays bounded by the width of the tree,
//! not its data. Ephemeral nodes are skipped (their owner session means
//! nothing elsewhere) and counted, and `/zookeeper` is left out. `load`
//! refuses a file above a size limit, creates what is missing, parents
//! first, and changes the data of existing nodes only when asked (`-f`).
//! Both show a progress bar on stderr when it is a terminal.

use super::acl::{parse_perms, perms_string};
use super::format::error_message;
use base64::Engine;
use client::{Acl, Client, CreateMode, CreateOptions, Error};
use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{IsTerminal, Read, Write};

/// The largest file `load` reads unless `--load-max-bytes` says otherwise.
pub const LOAD_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The `format` field of a dump.
const FORMAT: &str = "corral-dump";

/// The dump format's version.
const VERSION: u32 = 1;

/// Reads (or creates) in flight at once.
const CONCURRENCY: usize = 32;

/// The system subtree, never dumped.
const SYSTEM: &str = "/zookeeper";

/// Why `dump` or `load` failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The file cannot be read or written.
    #[error("{file}: {source}")]
    File {
        /// The file.
        file: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `load`'s file is above the limit.
    #[error("{file} is {size} bytes, above the limit of {limit} bytes for load (corral shell --load-max-bytes)")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not a dump.
    #[error("{file} is not a corral dump: {reason}")]
    NotADump {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A node's relative path or base64 data is malformed.
    #[error("{file}: bad node {path:?}: {reason}")]
    BadNode {
        /// The file.
        file: String,
        /// The node's relative path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server refused.
    #[error("{}", error_message(.error, .path))]
    Client {
        /// What went wrong.
        error: Error,
        /// The node it was about.
        path: String,
    },
}

fn client_error(path: &str) -> impl FnOnce(Error) -> TransferError + '_ {
    move |error| TransferError::Client {
        error,
        path: path.to_string(),
    }
}

/// One ACL entry of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DumpAcl {
    /// zkCli's letters (`cdrwa`).
    perms: String,
    scheme: String,
    id: String,
}

/// One node of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DumpNode {
    /// The path below the dump's root ("" for the root itself).
    path: String,
    /// The data when it is UTF-8 text; `null` for null data.
    #[serde(default)]
    data: Option<String>,
    /// The data in base64 when it is not UTF-8 (then `data` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_base64: Option<String>,
    acl: Vec<DumpAcl>,
}

/// A whole dump, as `load` reads it.
#[derive(Debug, Deserialize)]
struct DumpFile {
    format: String,
    version: u32,
    root: String,
    nodes: Vec<DumpNode>,
}

/// What `dump` or `load` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Nodes written (dump) or read (load).
    pub nodes: u64,
    /// Ephemeral nodes left out (dump).
    pub ephemerals_skipped: u64,
    /// Nodes created (load).
    pub created: u64,
    /// Existing nodes whose data was replaced (load with -f).
    pub updated: u64,
    /// Existing nodes left as they were (load without -f).
    pub unchanged: u64,
}

impl Counts {
    /// `dump`'s closing line (when it writes a file).
    pub fn dump_line(&self, path: &str) -> String {
        format!(
            "Dumped {} nodes of {path}, skipped {} ephemeral nodes",
            self.nodes, self.ephemerals_skipped
        )
    }

    /// `load`'s closing line.
    pub fn load_line(&self) -> String {
        format!(
            "Loaded {} nodes: {} created, {} updated, {} existing left unchanged",
            self.nodes, self.created, self.updated, self.unchanged
        )
    }
}

fn progress(length: Option<u64>, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match length {
        Some(n) => (ProgressBar::new(n), "{msg} {wide_bar} {pos}/{len} nodes"),
        None => (ProgressBar::new_spinner(), "{spinner} {msg} {pos} nodes"),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

fn encode_data(data: Option<Vec<u8>>) -> (Option<String>, Option<String>) {
    match data.map(String::from_utf8) {
        None => (None, None),
        Some(Ok(text)) => (Some(text), None),
        Some(Err(bytes)) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(bytes.into_bytes())),
        ),
    }
}

fn full_path(root: &str, relative: &str) -> String {
    if relative.is_empty() {
        root.to_string()
    } else {
        proto::path::join(root, relative)
    }
}

/// What the walk found at a path.
enum Found {
    Gone,
    Ephemeral,
    Node(DumpNode, Vec<String>),
}

async fn read_node(client: &Client, root: &str, relative: String) -> Result<Found, TransferError> {
    let path = full_path(root, &relative);
    if path == SYSTEM {
        return Ok(Found::Gone);
    }
    let (data, stat) = match client.get_data_opt(&path).await {
        Ok(found) => found,
        Err(Error::NoNode { .. }) if !relative.is_empty() => return Ok(Found::Gone),
        Err(error) => return Err(client_error(&path)(error)),
    };
    if stat.ephemeral_owner != 0 {
        return Ok(Found::Ephemeral);
    }
    let acl = match client.get_acl(&path).await {
        Ok((acl, _)) => acl,
        Err(Error::NoNode { .. }) => return Ok(Found::Gone),
        Err(error) => return Err(client_error(&path)(error)),
    };
    let mut children = match stat.num_children {
        0 => Vec::new(),
        _ => match client.get_children(&path).await {
            Ok(children) => children,
            Err(Error::NoNode { .. }) => Vec::new(),
            Err(error) => return Err(client_error(&path)(error)),
        },
    };
    children.sort_unstable();
    let children = children
        .into_iter()
        .map(|child| match relative.as_str() {
            "" => child,
            parent => format!("{parent}/{child}"),
        })
        .collect();
    let (data, data_base64) = encode_data(data);
    let acl = acl
        .into_iter()
        .map(|a| DumpAcl {
            perms: perms_string(a.perms),
            scheme: a.scheme,
            id: a.id,
        })
        .collect();
    let node = DumpNode {
        path: relative,
        data,
        data_base64,
        acl,
    };
    Ok(Found::Node(node, children))
}

/// `dump PATH [FILE]`: writes the subtree at `root` to `file` (`None`:
/// to `out`). Not atomic: a subtree changing meanwhile is seen partly
/// before, partly after. A file is written next to its name and renamed
/// into place only when complete.
pub async fn dump(
    client: &Client,
    root: &str,
    file: Option<&str>,
    out: &mut dyn Write,
) -> Result<Counts, TransferError> {
    let Some(name) = file else {
        // A bar between JSON lines on the same terminal would garble both.
        let is_bar_shown = !std::io::stdout().is_terminal();
        return dump_to(client, root, out, is_bar_shown).await;
    };
    let file_error = |source| TransferError::File {
        file: name.to_string(),
        source,
    };
    let partial = Partial(format!("{name}.partial"));
    let handle = std::fs::File::create(&partial.0).map_err(file_error)?;
    let mut writer = std::io::BufWriter::new(handle);
    let counts = dump_to(client, root, &mut writer, true).await?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&partial.0, name))
        .map_err(file_error)?;
    Ok(counts)
}

/// A dump being written; removed if dropped before it is renamed into
/// place (an error, or Ctrl-C dropping the command).
struct Partial(String);

impl Drop for Partial {
    fn drop(&mut self) {
        // Gone already after the rename.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes the dump to `out`, with a progress bar on a terminal's stderr
/// when `is_bar_shown`.
async fn dump_to(
    client: &Client,
    root: &str,
    out: &mut dyn Write,
    is_bar_shown: bool,
) -> Result<Counts, TransferError> {
    let io = |source| TransferError::File {
        file: "output".to_string(),
        source,
    };
    let bar = match is_bar_shown {
        true => progress(None, "dumping"),
        false => ProgressBar::hidden(),
    };
    let mut counts = Counts::default();
    let header = serde_json::json!({ "format": FORMAT, "version": VERSION, "root": root });
    let header = header.to_string();
    let header = header.trim_end_matches('}');
    write!(out, "{header},\"nodes\":[").map_err(io)?;
    let mut pending = VecDeque::from([String::new()]);
    while !pending.is_empty() {
        let batch: Vec<String> = pending
            .drain(..pending.len().min(CONCURRENCY * 4))
            .collect();
        let read: Vec<Found> = futures::stream::iter(batch)
            .map(|relative| read_node(client, root, relative))
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        for found in read {
            match found {
                Found::Gone => {}
                Found::Ephemeral => counts.ephemerals_skipped += 1,
                Found::Node(node, children) => {
                    let line = serde_json::to_string(&node).map_err(|e| io(e.into()))?;
                    let comma = if counts.nodes == 0 { "" } else { "," };
                    write!(out, "{comma}\n{line}").map_err(io)?;
                    counts.nodes += 1;
                    bar.inc(1);
                    pending.extend(children);
                }
            }
        }
    }
    writeln!(out, "\n]}}").map_err(io)?;
    out.flush().map_err(io)?;
    bar.finish_and_clear();
    Ok(counts)
}

fn read_dump(file: &str, limit: u64) -> Result<DumpFile, TransferError> {
    let file_error = |source| TransferError::File {
        file: file.to_string(),
        source,
    };
    let handle = std::fs::File::open(file).map_err(file_error)?;
    let size = handle.metadata().map_err(file_error)?.len();
    if size > limit {
        return Err(TransferError::TooLarge {
            file: file.to_string(),
            size,
            limit,
        });
    }
    let mut text = Vec::new();
    // The file may grow after the check; read no more than the limit allows.
    handle
        .take(limit.saturating_add(1))
        .read_to_end(&mut text)
        .map_err(file_error)?;
    if text.len() as u64 > limit {
        return Err(TransferError::TooLarge {
            file: file.to_string(),
            size: text.len() as u64,
            limit,
        });
    }
    let not_a_dump = |reason: String| TransferError::NotADump {
        file: file.to_string(),
        reason,
    };
    let dump: DumpFile = serde_json::from_slice(&text).map_err(|e| not_a_dump(e.to_string()))?;
    if dump.format != FORMAT || dump.version != VERSION {
        return Err(not_a_dump(format!(
            "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
            dump.format, dump.version
        )));
    }
    Ok(dump)
}

/// A node ready to create: full path, data, ACL.
struct Planned {
    path: String,
    depth: usize,
    data: Option<Vec<u8>>,
    acl: Vec<Acl>,
}

fn plan(file: &str, target: &str, node: DumpNode) -> Result<Planned, TransferError> {
    let bad = |reason: &str| TransferError::BadNode {
        file: file.to_string(),
        path: node.path.clone(),
        reason: reason.to_string(),
    };
    if node.path.starts_with('/')
        || node
            .path
            .split('/')
            .any(|p| p.is_empty() && !node.path.is_empty())
    {
        return Err(bad("not a relative path"));
    }
    let data = match (&node.data_base64, &node.data) {
        (Some(encoded), _) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| bad("data_base64 is not base64"))?,
        ),
        (None, Some(text)) => Some(text.clone().into_bytes()),
        (None, None) => None,
    };
    let acl = node
        .acl
        .iter()
        .map(|a| {
            parse_perms(&a.perms)
                .map(|perms| Acl::new(perms, &a.scheme, &a.id))
                .map_err(|_| bad("bad ACL permissions"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let depth = match node.path.as_str() {
        "" => 0,
        path => path.split('/').count(),
    };
    Ok(Planned {
        path: full_path(target, &node.path),
        depth,
        data,
        acl,
    })
}

/// What happened to one node.
enum Loaded {
    Created,
    Updated,
    Unchanged,
}

async fn load_node(
    client: &Client,
    node: &Planned,
    overwrite: bool,
) -> Result<Loaded, TransferError> {
    let options = CreateOptions {
        mode: CreateMode::Persistent,
        acl: node.acl.clone(),
        ..CreateOptions::default()
    };
    match client
        .create_opt(&node.path, node.data.as_deref(), options)
        .await
    {
        Ok(_) => Ok(Loaded::Created),
        Err(Error::NodeExists { .. }) if overwrite => {
            let (current, _) = client
                .get_data_opt(&node.path)
                .await
                .map_err(client_error(&node.path))?;
            if current.as_deref().unwrap_or_default() == node.data.as_deref().unwrap_or_default() {
                return Ok(Loaded::Unchanged);
            }
            let data = node.data.as_deref().unwrap_or_default();
            client
                .set_data(&node.path, data, None)
                .await
                .map_err(client_error(&node.path))?;
            Ok(Loaded::Updated)
        }
        Err(Error::NodeExists { .. }) => Ok(Loaded::Unchanged),
        Err(error) => Err(client_error(&node.path)(error)),
    }
}

/// Creates the missing ancestors of `path`, empty and open.
async fn ensure_parents(client: &Client, path: &str) -> Result<(), TransferError> {
    let mut at = String::new();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        at = format!("{at}/{part}");
        match client.create(&at, b"", CreateOptions::default()).await {
            Ok(_) | Err(Error::NodeExists { .. }) => {}
            Err(error) => return Err(client_error(&at)(error)),
        }
    }
    Ok(())
}

/// `load [-f] FILE [PATH]`: creates the dump's nodes under `target` (the
/// dump's root without), parents first, a level at a time with a few
/// creates in flight. Existing nodes keep their data unless `overwrite`,
/// which writes the dump's data where it differs (their ACL is never
/// changed). Files above `limit` bytes are refused.
pub async fn load(
    client: &Client,
    file: &str,
    target: Option<&str>,
    overwrite: bool,
    limit: u64,
) -> Result<Counts, TransferError> {
    let dump = read_dump(file, limit)?;
    let target = target.unwrap_or(&dump.root).to_string();
    let mut planned = dump
        .nodes
        .into_iter()
        .map(|node| plan(file, &target, node))
        .collect::<Result<Vec<_>, _>>()?;
    planned.sort_by_key(|node| node.depth);
    ensure_parents(client, &target).await?;
    let bar = progress(Some(planned.len() as u64), "loading");
    let mut counts = Counts {
        nodes: planned.len() as u64,
        ..Counts::default()
    };
    for level in planned.chunk_by(|a, b| a.depth == b.depth) {
        let results: Vec<Loaded> = futures::stream::iter(level)
            .map(|node| async {
                let loaded = load_node(client, node, overwrite).await;
                bar.inc(1);
                loaded
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        for loaded in results {
            match loaded {
                Loaded::Created => counts.created += 1,
                Loaded::Updated => counts.updated += 1,
                Loaded::Unchanged => counts.unchanged += 1,
            }
        }
    }
    bar.finish_and_clear();
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_text_when_it_can_be_and_base64_otherwise() {
        assert_eq!(encode_data(None), (None, None));
        assert_eq!(encode_data(Some(b"hi".to_vec())), (Some("hi".into()), None));
        assert_eq!(
            encode_data(Some(vec![0xff, 0, 1])),
            (None, Some("/wAB".into()))
        );
    }

    #[test]
    fn planned_nodes_land_under_the_target_with_their_depth() -> Result<(), TransferError> {
        let node = |path: &str| DumpNode {
            path: path.into(),
            data: None,
            data_base64: Some("/wAB".into()),
            acl: vec![DumpAcl {
                perms: "cdrwa".into(),
                scheme: "world".into(),
                id: "anyone".into(),
            }],
        };
        let root = plan("f", "/copy", node(""))?;
        assert_eq!((root.path.as_str(), root.depth), ("/copy", 0));
        assert_eq!(root.data, Some(vec![0xff, 0, 1]));
        let deep = plan("f", "/copy", node("a/b"))?;
        assert_eq!((deep.path.as_str(), deep.depth), ("/copy/a/b", 2));
        assert!(plan("f", "/copy", node("/abs")).is_err());
        assert!(plan("f", "/copy", node("a//b")).is_err());
        Ok(())
    }
}
