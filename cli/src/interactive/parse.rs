//! Owns the shell's command language: splitting a line into words as zkCli
//! does and parsing words into a typed [`Command`] (the names and usage
//! lines are in `catalog`). Nothing here talks to a server.

use super::acl::{self, AclError};
use super::catalog::{usage, ALIASES, CATALOG};
use super::quota::{self, QuotaField};
use client::{Acl, AddWatchMode, WatcherType};
use std::collections::HashMap;

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A quote that is never closed.
    #[error("unterminated quote")]
    UnterminatedQuote,
    /// The first word names no command.
    #[error("Command not found: {0}")]
    UnknownCommand(String),
    /// The words do not fit the command; shows its usage, as zkCli does.
    #[error("{0}")]
    Usage(&'static str),
    /// `create` flags that exclude each other.
    #[error("{0}")]
    CreateFlags(&'static str),
    /// The ACL argument.
    #[error(transparent)]
    Acl(#[from] AclError),
    /// Options zkCli's commons-cli parser refuses, in its words (the quota
    /// commands).
    #[error("{0}")]
    Cli(String),
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `addWatch [-m mode] path`.
    AddWatch { path: String, mode: AddWatchMode },
    /// `addauth scheme auth`.
    AddAuth { scheme: String, auth: String },
    /// `close`.
    Close,
    /// `config`: the data of `/zookeeper/config`.
    Config { stat: bool, watch: bool },
    /// `connect [hosts]`; `None` reconnects to the same servers.
    Connect { hosts: Option<String> },
    /// `create`; `data: None` creates a node with null data.
    Create {
        path: String,
        data: Option<String>,
        acl: Vec<Acl>,
        ephemeral: bool,
        sequential: bool,
        container: bool,
        ttl_ms: Option<i64>,
    },
    /// `delete`.
    Delete { path: String, version: Option<i32> },
    /// `deleteall`.
    DeleteAll { path: String },
    /// `delquota [-n|-b|-N|-B] path`; no field: the whole quota.
    DelQuota {
        path: String,
        field: Option<QuotaField>,
    },
    /// `du`.
    Du { path: String },
    /// `dump PATH [FILE]`; no file: stdout.
    Dump { path: String, file: Option<String> },
    /// `get`.
    Get {
        path: String,
        stat: bool,
        watch: bool,
    },
    /// `getAcl`.
    GetAcl { path: String, stat: bool },
    /// `getAllChildrenNumber`.
    GetAllChildrenNumber { path: String },
    /// `getEphemerals`.
    GetEphemerals { path: String },
    /// `help`.
    Help,
    /// `history`.
    History,
    /// `listquota path`.
    ListQuota { path: String },
    /// `load [-f] FILE [PATH]`; no path: the dump's own root.
    Load {
        file: String,
        path: Option<String>,
        overwrite: bool,
    },
    /// `ls`.
    Ls {
        path: String,
        stat: bool,
        watch: bool,
        recursive: bool,
    },
    /// `printwatches on|off`; `None` prints the setting.
    PrintWatches { is_on: Option<bool> },
    /// `quit` or `exit`.
    Quit,
    /// `redo N`.
    Redo { number: usize },
    /// `removewatches PATH [-c|-d|-a]`.
    RemoveWatches { path: String, kind: WatcherType },
    /// `set`.
    Set {
        path: String,
        data: String,
        version: Option<i32>,
        stat: bool,
    },
    /// `setAcl`.
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: Option<i32>,
        stat: bool,
        recursive: bool,
    },
    /// `setquota -n|-b|-N|-B val path` (the value checked when run, as zkCli).
    SetQuota {
        path: String,
        field: QuotaField,
        value: String,
    },
    /// `stat`.
    Stat { path: String, watch: bool },
    /// `sync`.
    Sync { path: String },
    /// `tree`.
    Tree { path: String },
    /// `version`.
    Version,
    /// `watch`.
    Watch { path: String },
    /// `whoami`.
    WhoAmI,
}

/// Splits a line into words the way zkCli does: a word starting with `"`
/// or `'` runs to the matching quote (taken verbatim, so `""` is an empty
/// word); any other word is a run of non-blanks, quotes inside it kept
/// (`{"a":1}` stays one word, quotes included).
pub fn tokenize(line: &str) -> Result<Vec<String>, ParseError> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while let Some(first) = rest.chars().next() {
        let (word, after) = if first == '"' || first == '\'' {
            let body = &rest[1..];
            let end = body.find(first).ok_or(ParseError::UnterminatedQuote)?;
            (&body[..end], &body[end + 1..])
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        words.push(word.to_string());
        rest = after.trim_start();
    }
    Ok(words)
}

/// Words split into options and positional arguments.
#[derive(Debug, Default)]
struct Options {
    switches: Vec<char>,
    values: HashMap<char, String>,
    args: Vec<String>,
}

impl Options {
    /// Splits `words`: `-x` switches from `switches`, `-v VALUE` options
    /// from `valued` (also `-vVALUE`), bundles like `-es`, anything else
    /// positional; `--` ends the options. An unknown option is `Err`.
    fn split(words: &[String], switches: &str, valued: &str) -> Result<Options, ()> {
        let mut options = Options::default();
        let mut words = words.iter();
        while let Some(word) = words.next() {
            if word == "--" {
                options.args.extend(words.by_ref().cloned());
                break;
            }
            let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) else {
                options.args.push(word.clone());
                continue;
            };
            for (at, flag) in flags.char_indices() {
                if switches.contains(flag) {
                    options.switches.push(flag);
                } else if valued.contains(flag) {
                    let inline = &flags[at + flag.len_utf8()..];
                    let value = if inline.is_empty() {
                        words.next().cloned().ok_or(())?
                    } else {
                        inline.to_string()
                    };
                    options.values.insert(flag, value);
                    break;
                } else {
                    return Err(());
                }
            }
        }
        Ok(options)
    }

    fn has(&self, flag: char) -> bool {
        self.switches.contains(&flag)
    }

    fn number<T: std::str::FromStr>(&self, flag: char) -> Result<Option<T>, ()> {
        self.values
            .get(&flag)
            .map(|v| v.parse().map_err(|_| ()))
            .transpose()
    }
}

/// Parses a line's words into a command.
pub fn parse(words: &[String]) -> Result<Command, ParseError> {
    let Some((first, rest)) = words.split_first() else {
        return Err(ParseError::Usage(usage("help")));
    };
    let name = ALIASES
        .iter()
        .find(|(alias, _)| alias == first)
        .map_or(first.as_str(), |(_, name)| *name);
    if !CATALOG.iter().any(|spec| spec.name == name) {
        return Err(ParseError::UnknownCommand(first.clone()));
    }
    let bad = || ParseError::Usage(usage(name));
    match name {
        "setquota" => return quota::parse_setquota(rest, usage(name)),
        "listquota" => return quota::parse_listquota(rest, usage(name)),
        "delquota" => return quota::parse_delquota(rest, usage(name)),
        _ => {}
    }
    let (switches, valued) = match name {
        "addWatch" => ("", "m"),
        "config" => ("sw", ""),
        "create" => ("sec", "t"),
        "delete" => ("", "v"),
        "get" => ("sw", ""),
        "getAcl" => ("s", ""),
        "load" => ("f", ""),
        "ls" => ("swR", ""),
        "removewatches" => ("cdal", ""),
        "set" => ("s", "v"),
        "setAcl" => ("sR", "v"),
        "stat" => ("w", ""),
        _ => ("", ""),
    };
    let o = Options::split(rest, switches, valued).map_err(|_| bad())?;
    let args: Vec<&str> = o.args.iter().map(String::as_str).collect();
    let path = |args: &[&str]| match args {
        [path] => Ok(path.to_string()),
        _ => Err(bad()),
    };
    Ok(match name {
        "addauth" => match args[..] {
            [scheme, auth] => Command::AddAuth {
                scheme: scheme.into(),
                auth: auth.into(),
            },
            _ => return Err(bad()),
        },
        "addWatch" => Command::AddWatch {
            path: path(&args)?,
            mode: match o.values.get(&'m').map(String::as_str) {
                None | Some("PERSISTENT_RECURSIVE") => AddWatchMode::PersistentRecursive,
                Some("PERSISTENT") => AddWatchMode::Persistent,
                Some(_) => return Err(bad()),
            },
        },
        "close" => Command::Close,
        "config" => Command::Config {
            stat: o.has('s'),
            watch: o.has('w'),
        },
        "connect" => match args[..] {
            [] => Command::Connect { hosts: None },
            [hosts] => Command::Connect {
                hosts: Some(hosts.into()),
            },
            _ => return Err(bad()),
        },
        "create" => parse_create(&o, &args).map_err(|e| e.unwrap_or_else(bad))?,
        "delete" => Command::Delete {
            path: path(&args)?,
            version: o.number('v').map_err(|_| bad())?,
        },
        "deleteall" => Command::DeleteAll { path: path(&args)? },
        "du" => Command::Du { path: path(&args)? },
        "dump" => match args[..] {
            [path] | [path, "-"] => Command::Dump {
                path: path.into(),
                file: None,
            },
            [path, file] => Command::Dump {
                path: path.into(),
                file: Some(file.into()),
            },
            _ => return Err(bad()),
        },
        "load" => match args[..] {
            [file] => Command::Load {
                file: file.into(),
                path: None,
                overwrite: o.has('f'),
            },
            [file, path] => Command::Load {
                file: file.into(),
                path: Some(path.into()),
                overwrite: o.has('f'),
            },
            _ => return Err(bad()),
        },
        "get" => Command::Get {
            path: path(&args)?,
            stat: o.has('s'),
            watch: o.has('w'),
        },
        "getAcl" => Command::GetAcl {
            path: path(&args)?,
            stat: o.has('s'),
        },
        "getAllChildrenNumber" => Command::GetAllChildrenNumber { path: path(&args)? },
        "getEphemerals" => Command::GetEphemerals {
            path: args.first().map_or("/", |p| p).to_string(),
        },
        "ls" => Command::Ls {
            path: path(&args)?,
            stat: o.has('s'),
            watch: o.has('w'),
            recursive: o.has('R'),
        },
        "printwatches" => match args[..] {
            [] => Command::PrintWatches { is_on: None },
            // As zkCli: any word but "on" turns it off.
            [word] => Command::PrintWatches {
                is_on: Some(word == "on"),
            },
            _ => return Err(bad()),
        },
        "removewatches" => Command::RemoveWatches {
            path: path(&args)?,
            kind: match (o.has('c'), o.has('d')) {
                (true, false) => WatcherType::Children,
                (false, true) => WatcherType::Data,
                (true, true) => return Err(bad()),
                (false, false) => WatcherType::Any,
            },
        },
        "redo" => match args[..] {
            [number] => Command::Redo {
                number: number.parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        },
        "set" => match args[..] {
            [path, data] => Command::Set {
                path: path.into(),
                data: data.into(),
                version: o.number('v').map_err(|_| bad())?,
                stat: o.has('s'),
            },
            _ => return Err(bad()),
        },
        "setAcl" => match args[..] {
            [path, acl] => Command::SetAcl {
                path: path.into(),
                acl: acl::parse_acl(acl)?,
                version: o.number('v').map_err(|_| bad())?,
                stat: o.has('s'),
                recursive: o.has('R'),
            },
            _ => return Err(bad()),
        },
        "stat" => Command::Stat {
            path: path(&args)?,
            watch: o.has('w'),
        },
        "sync" => Command::Sync { path: path(&args)? },
        "tree" => Command::Tree {
            path: args.first().map_or("/", |p| p).to_string(),
        },
        "watch" => Command::Watch { path: path(&args)? },
        "help" => Command::Help,
        "history" => Command::History,
        "quit" => Command::Quit,
        "version" => Command::Version,
        _ => Command::WhoAmI,
    })
}

/// `create`'s flags and arguments; `Err(None)` means "show the usage".
fn parse_create(o: &Options, args: &[&str]) -> Result<Command, Option<ParseError>> {
    let (ephemeral, sequential, container) = (o.has('e'), o.has('s'), o.has('c'));
    let ttl_ms = o.number::<i64>('t').map_err(|_| None)?;
    if container && (ephemeral || sequential) {
        return Err(Some(ParseError::CreateFlags(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
        )));
    }
    if ttl_ms.is_some() && (ephemeral || container) {
        return Err(Some(ParseError::CreateFlags(
            "-t cannot be combined with -e or -c. TTLs are for persistent nodes.",
        )));
    }
    let (path, data, acl) = match args {
        [path] => (path, None, Vec::new()),
        [path, data] => (path, Some(data.to_string()), Vec::new()),
        [path, data, acl] => (
            path,
            Some(data.to_string()),
            acl::parse_acl(acl).map_err(|e| Some(e.into()))?,
        ),
        _ => return Err(None),
    };
    Ok(Command::Create {
        path: path.to_string(),
        data,
        acl,
        ephemeral,
        sequential,
        container,
        ttl_ms,
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
