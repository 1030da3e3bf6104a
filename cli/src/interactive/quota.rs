//! Owns `setquota`, `listquota` and `delquota`: zkCli 3.8's client-side
//! sequences of reads, creates and setData under `/zookeeper/quota` (its
//! `SetQuotaCommand`, `ListQuotaCommand` and `DelQuotaCommand`), with its
//! words, and the parsing of their options as commons-cli does it. The
//! server keeps the stats nodes; nothing here computes usage.

use super::exec::{at, Shell, ShellError};
use super::parse::{Command, ParseError};
use client::{Client, CreateOptions, Error};
use proto::quota::{self, StatsTrack};
use std::io::Write;

/// One of a quota's four limits, by its zkCli flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaField {
    /// `-n`: the soft limit on the node count.
    Count,
    /// `-b`: the soft limit on the data bytes.
    Bytes,
    /// `-N`: the hard limit on the node count.
    CountHard,
    /// `-B`: the hard limit on the data bytes.
    BytesHard,
}

impl QuotaField {
    const ALL: [QuotaField; 4] = [
        QuotaField::Count,
        QuotaField::Bytes,
        QuotaField::CountHard,
        QuotaField::BytesHard,
    ];

    fn flag(self) -> char {
        match self {
            QuotaField::Count => 'n',
            QuotaField::Bytes => 'b',
            QuotaField::CountHard => 'N',
            QuotaField::BytesHard => 'B',
        }
    }

    fn of_flag(flag: char) -> Option<QuotaField> {
        Self::ALL.into_iter().find(|f| f.flag() == flag)
    }

    fn key(self) -> &'static str {
        match self {
            QuotaField::Count => quota::COUNT,
            QuotaField::Bytes => quota::BYTES,
            QuotaField::CountHard => quota::COUNT_HARD_LIMIT,
            QuotaField::BytesHard => quota::BYTE_HARD_LIMIT,
        }
    }

    fn is_count(self) -> bool {
        matches!(self, QuotaField::Count | QuotaField::CountHard)
    }
}

/// The option given (with its value, empty for a switch) and the
/// positional words.
type Split = (Option<(QuotaField, String)>, Vec<String>);

/// The options of a quota command: `valued` (setquota's `-n VAL`) or
/// switches (delquota's `-n`), at most one of the group, as commons-cli's
/// `DefaultParser` reads them; `Err` is its exception's text.
fn split(words: &[String], valued: bool) -> Result<Split, ParseError> {
    let cli = |text: String| ParseError::Cli(format!("org.apache.commons.cli.{text}"));
    let is_option = |w: &str| {
        w.strip_prefix('-')
            .and_then(|f| f.chars().next())
            .is_some_and(|c| QuotaField::of_flag(c).is_some())
    };
    let is_negative_number = |w: &str| w.starts_with('-') && w[1..].parse::<f64>().is_ok();
    let mut chosen: Option<(QuotaField, String)> = None;
    let mut args = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            args.extend(words.by_ref().cloned());
            break;
        }
        let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) else {
            args.push(word.clone());
            continue;
        };
        let mut picked = Vec::new();
        if valued {
            let mut chars = flags.chars();
            let Some(field) = chars.next().and_then(QuotaField::of_flag) else {
                return Err(cli(format!(
                    "UnrecognizedOptionException: Unrecognized option: {word}"
                )));
            };
            let inline = chars.as_str();
            let value = if !inline.is_empty() {
                inline.to_string()
            } else {
                match words.as_slice().first() {
                    Some(next) if !is_option(next) || is_negative_number(next) => {
                        words.next();
                        next.clone()
                    }
                    _ => {
                        return Err(cli(format!(
                            "MissingArgumentException: Missing argument for option: {}",
                            field.flag()
                        )))
                    }
                }
            };
            picked.push((field, value));
        } else {
            for c in flags.chars() {
                let Some(field) = QuotaField::of_flag(c) else {
                    return Err(cli(format!(
                        "UnrecognizedOptionException: Unrecognized option: {word}"
                    )));
                };
                picked.push((field, String::new()));
            }
        }
        for (field, value) in picked {
            match &chosen {
                Some((already, _)) if *already != field => {
                    return Err(cli(format!(
                        "AlreadySelectedException: The option '{}' was specified but an \
                         option from this group has already been selected: '{}'",
                        field.flag(),
                        already.flag()
                    )));
                }
                Some(_) => {}
                None => chosen = Some((field, value)),
            }
        }
    }
    Ok((chosen, args))
}

/// `setquota -n|-b|-N|-B val path` (words after the name).
pub fn parse_setquota(words: &[String], usage: &'static str) -> Result<Command, ParseError> {
    let (chosen, args) = split(words, true)?;
    let Some((field, value)) = chosen else {
        return Err(ParseError::Cli(
            "org.apache.commons.cli.MissingOptionException: Missing required option: \
             [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"
                .to_string(),
        ));
    };
    let path = args.into_iter().next().ok_or(ParseError::Usage(usage))?;
    Ok(Command::SetQuota { path, field, value })
}

/// `delquota [-n|-b|-N|-B] path` (words after the name).
pub fn parse_delquota(words: &[String], usage: &'static str) -> Result<Command, ParseError> {
    let (chosen, args) = split(words, false)?;
    let path = args.into_iter().next().ok_or(ParseError::Usage(usage))?;
    Ok(Command::DelQuota {
        path,
        field: chosen.map(|(field, _)| field),
    })
}

/// `listquota path` (words after the name): no options.
pub fn parse_listquota(words: &[String], usage: &'static str) -> Result<Command, ParseError> {
    if let Some(word) = words.iter().find(|w| w.len() > 1 && w.starts_with('-')) {
        return Err(ParseError::Cli(format!(
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {word}"
        )));
    }
    let path = words.first().cloned().ok_or(ParseError::Usage(usage))?;
    Ok(Command::ListQuota { path })
}

/// A quota command's own refusal, in zkCli's words.
fn refused(text: impl Into<String>) -> ShellError {
    ShellError::Quota(text.into())
}

/// The text of a limits or stats node, parsed.
fn stats_of(data: &[u8], path: &str) -> Result<StatsTrack, ShellError> {
    StatsTrack::parse(data).map_err(|e| refused(format!("{path}: {e}")))
}

/// zkCli's message for a path its client refuses before sending, or the
/// server's error.
fn path_error(error: Error, path: &str) -> ShellError {
    at(path)(error)
}

impl Shell {
    /// `setquota`: as zkCli's `SetQuotaCommand.createQuota`.
    pub(super) async fn setquota(
        &mut self,
        path: &str,
        field: QuotaField,
        value: &str,
        out: &mut dyn Write,
    ) -> Result<(), ShellError> {
        if path.starts_with(quota::QUOTA_ROOT) {
            return Err(refused(format!(
                "cannot set a quota under the path: {}",
                quota::QUOTA_ROOT
            )));
        }
        let mut limits = StatsTrack::new();
        for f in QuotaField::ALL {
            limits.set(f.key(), -1);
        }
        let number = if field.is_count() {
            value.parse::<i32>().map(i64::from)
        } else {
            value.parse::<i64>()
        }
        .map_err(|_| refused("NumberFormatException happens when parsing the option value"))?;
        match field {
            _ if field.is_count() && number <= 0 => {
                return Err(refused("the num quota must be greater than zero"))
            }
            _ if !field.is_count() && number < 0 => {
                return Err(refused(
                    "the bytes quota must be greater than or equal to zero",
                ))
            }
            _ => limits.set(field.key(), number),
        }
        let client = self.client();
        if client.exists(path).await.map_err(at(path))?.is_none() {
            return Err(refused(format!("{path} does not exist.")));
        }
        check_no_child_quota(&client, path).await?;
        check_no_parent_quota(&client, path).await?;
        let mut dir = String::from(quota::QUOTA_ROOT);
        for part in path.split('/').skip(1) {
            dir.push('/');
            dir.push_str(part);
            if client.exists(&dir).await.map_err(at(&dir))?.is_none() {
                match client
                    .create_opt(&dir, None, CreateOptions::default())
                    .await
                {
                    Ok(_) | Err(Error::NodeExists { .. }) => {}
                    Err(error) => return Err(path_error(error, &dir)),
                }
            }
        }
        let limit_path = format!("{dir}/{}", quota::LIMIT_NODE);
        let stat_path = format!("{dir}/{}", quota::STAT_NODE);
        if client
            .exists(&limit_path)
            .await
            .map_err(at(&limit_path))?
            .is_none()
        {
            let options = CreateOptions::default();
            client
                .create(&limit_path, &limits.to_bytes(), options.clone())
                .await
                .map_err(at(&limit_path))?;
            client
                .create(&stat_path, b"count=0,bytes=0", options)
                .await
                .map_err(at(&stat_path))?;
            let (data, _) = client
                .get_data(&limit_path)
                .await
                .map_err(at(&limit_path))?;
            let limits = stats_of(&data, &limit_path)?;
            let (data, _) = client.get_data(&stat_path).await.map_err(at(&stat_path))?;
            warn_if_below(&limits, &stats_of(&data, &stat_path)?, out)?;
        } else {
            let (data, _) = client
                .get_data(&limit_path)
                .await
                .map_err(at(&limit_path))?;
            let mut current = stats_of(&data, &limit_path)?;
            for f in QuotaField::ALL {
                if limits.get(f.key()) > -1 {
                    current.set(f.key(), limits.get(f.key()));
                }
            }
            let (data, _) = client.get_data(&stat_path).await.map_err(at(&stat_path))?;
            warn_if_below(&current, &stats_of(&data, &stat_path)?, out)?;
            client
                .set_data(&limit_path, &current.to_bytes(), None)
                .await
                .map_err(at(&limit_path))?;
        }
        Ok(())
    }

    /// `listquota`: as zkCli's `ListQuotaCommand`.
    pub(super) async fn listquota(
        &mut self,
        path: &str,
        out: &mut dyn Write,
    ) -> Result<(), ShellError> {
        let limit_path = quota::limit_path(path);
        let stat_path = quota::stat_path(path);
        eprintln!("absolute path is {limit_path}");
        let client = self.client();
        let read = |result: Result<(Vec<u8>, client::Stat), Error>, node: &str| match result {
            Ok((data, _)) => stats_of(&data, node),
            Err(Error::NoNode { .. }) => Err(refused(format!("quota for {path} does not exist."))),
            Err(error) => Err(path_error(error, node)),
        };
        let limits = read(client.get_data(&limit_path).await, &limit_path)?;
        let stats = read(client.get_data(&stat_path).await, &stat_path)?;
        writeln!(out, "Output quota for {path} {limits}")?;
        writeln!(out, "Output stat for {path} {stats}")?;
        Ok(())
    }

    /// `delquota`: as zkCli's `DelQuotaCommand.delQuota` (no option: the
    /// quota's nodes go, and its directories up to the first that has
    /// other children).
    pub(super) async fn delquota(
        &mut self,
        path: &str,
        field: Option<QuotaField>,
        out: &mut dyn Write,
    ) -> Result<(), ShellError> {
        let dir = quota::quota_path(path);
        let limit_path = quota::limit_path(path);
        let client = self.client();
        if client
            .exists(&limit_path)
            .await
            .map_err(at(&limit_path))?
            .is_none()
        {
            writeln!(out, "Quota does not exist for {path}")?;
            return Ok(());
        }
        let (data, _) = match client.get_data(&limit_path).await {
            Err(Error::NoNode { .. }) => {
                return Err(refused(format!("quota for {path} does not exist.")))
            }
            other => other.map_err(at(&limit_path))?,
        };
        let mut limits = stats_of(&data, &limit_path)?;
        let Some(field) = field else {
            for child in client.get_children(&dir).await.map_err(at(&dir))? {
                let child = format!("{dir}/{child}");
                client.delete(&child, None).await.map_err(at(&child))?;
            }
            let mut at_dir = dir;
            while at_dir != quota::QUOTA_ROOT {
                if !client
                    .get_children(&at_dir)
                    .await
                    .map_err(at(&at_dir))?
                    .is_empty()
                {
                    break;
                }
                client.delete(&at_dir, None).await.map_err(at(&at_dir))?;
                let parent = at_dir.rfind('/').map_or(0, |i| i);
                at_dir.truncate(parent);
            }
            return Ok(());
        };
        limits.set(field.key(), -1);
        client
            .set_data(&limit_path, &limits.to_bytes(), None)
            .await
            .map_err(at(&limit_path))?;
        Ok(())
    }
}

/// zkCli's warnings when a new limit is already below the usage.
fn warn_if_below(
    limits: &StatsTrack,
    stats: &StatsTrack,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let below = |limit: i64, usage: i64| limit > -1 && limit < usage;
    if below(limits.count(), stats.count()) || below(limits.count_hard_limit(), stats.count()) {
        writeln!(
            out,
            "[Warning]: the count quota you create is less than the existing count:{}",
            stats.count()
        )?;
    }
    if below(limits.bytes(), stats.bytes()) || below(limits.byte_hard_limit(), stats.bytes()) {
        writeln!(
            out,
            "[Warning]: the bytes quota you create is less than the existing bytes:{}",
            stats.bytes()
        )?;
    }
    Ok(())
}

/// zkCli's `checkIfChildQuota`: no node below `path`'s quota directory may
/// hold a limits node (depth first, children in the server's order).
async fn check_no_child_quota(client: &Client, path: &str) -> Result<(), ShellError> {
    let root = quota::quota_path(path);
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let children = match client.get_children(&dir).await {
            Ok(children) => children,
            Err(Error::NoNode { .. }) => continue,
            Err(error) => return Err(path_error(error, &dir)),
        };
        if dir != root && children.iter().any(|c| c == quota::LIMIT_NODE) {
            let child = &dir[quota::QUOTA_ROOT.len()..];
            return Err(refused(format!(
                "{path} has a child {child} which has a quota"
            )));
        }
        for child in children.iter().rev() {
            stack.push(format!("{dir}/{child}"));
        }
    }
    Ok(())
}

/// zkCli's `checkIfParentQuota`: no proper ancestor of `path` may have a
/// limits node (it stops at the first quota directory that is missing or
/// has no children).
async fn check_no_parent_quota(client: &Client, path: &str) -> Result<(), ShellError> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut dir = String::from(quota::QUOTA_ROOT);
    for part in parts.iter().take(parts.len().saturating_sub(1)).skip(1) {
        dir.push('/');
        dir.push_str(part);
        let children = match client.get_children(&dir).await {
            Ok(children) => children,
            Err(Error::NoNode { .. }) => return Ok(()),
            Err(error) => return Err(path_error(error, &dir)),
        };
        if children.is_empty() {
            return Ok(());
        }
        if children.iter().any(|c| c == quota::LIMIT_NODE) {
            let parent = &dir[quota::QUOTA_ROOT.len()..];
            return Err(refused(format!(
                "{path} has a parent {parent} which has a quota"
            )));
        }
    }
    Ok(())
}
