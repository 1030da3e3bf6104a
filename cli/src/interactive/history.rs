//! Owns the shell's two histories: this session's numbered commands (what
//! zkCli's `history` lists and `redo N` runs again) and where the
//! persistent history file lives by default.

use super::parse::{self, Command};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;

/// Lines kept in the persistent history file (older ones are dropped).
pub const FILE_MAX_LINES: usize = 1000;

/// Commands of this session kept for `redo` (older numbers are forgotten).
const SESSION_MAX_COMMANDS: usize = 1000;

/// How many commands `history` lists, as in zkCli (the current one and the
/// ten before it).
const LISTED: usize = 11;

/// Why `redo` cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedoError {
    /// No command has that number (or it was forgotten).
    #[error("Command index out of range")]
    OutOfRange,
    /// The numbered command is itself a `redo`.
    #[error("No redoing redos")]
    RedoOfRedo,
}

/// This session's commands, numbered from 0 in the order they were typed.
#[derive(Debug, Default)]
pub struct SessionHistory {
    entries: VecDeque<String>,
    /// The number of `entries[0]`.
    first: usize,
}

impl SessionHistory {
    /// The number the next command gets (shown in the prompt).
    pub fn next_number(&self) -> usize {
        self.first + self.entries.len()
    }

    /// Records a typed line under the next number.
    pub fn record(&mut self, line: &str) {
        if self.entries.len() == SESSION_MAX_COMMANDS {
            self.entries.pop_front();
            self.first += 1;
        }
        self.entries.push_back(line.to_string());
    }

    /// The line numbered `number`.
    pub fn get(&self, number: usize) -> Option<&str> {
        let index = number.checked_sub(self.first)?;
        self.entries.get(index).map(String::as_str)
    }

    /// For `redo N`, just recorded as the last entry: the line numbered N,
    /// which then replaces the `redo` in the history (as zkCli does).
    pub fn redo(&mut self, number: usize) -> Result<String, RedoError> {
        let current = self.next_number().saturating_sub(1);
        let line = match self.get(number) {
            Some(line) if number < current => line.to_string(),
            _ => return Err(RedoError::OutOfRange),
        };
        let is_redo = parse::tokenize(&line)
            .ok()
            .and_then(|words| parse::parse(&words).ok())
            .is_some_and(|command| matches!(command, Command::Redo { .. }));
        if is_redo {
            return Err(RedoError::RedoOfRedo);
        }
        if let Some(last) = self.entries.back_mut() {
            last.clone_from(&line);
        }
        Ok(line)
    }

    /// The lines `history` prints: the last eleven (the `history` itself
    /// and the ten before), as `N - command`.
    pub fn listing(&self) -> Vec<String> {
        let skip = self.entries.len().saturating_sub(LISTED);
        self.entries
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, line)| format!("{} - {line}", self.first + i))
            .collect()
    }
}

/// The default history file: `$XDG_DATA_HOME/corral/shell_history`, else
/// `$HOME/.local/share/corral/shell_history`; `None` without either.
pub fn default_file(xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let nonempty = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    let data = nonempty(xdg_data_home)
        .or_else(|| nonempty(home).map(|home| home.join(".local").join("share")))?;
    Some(data.join("corral").join("shell_history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_lists_the_last_eleven_with_their_numbers_as_zkcli_does() {
        let mut history = SessionHistory::default();
        for i in 0..12 {
            history.record(&format!("ls /{i}"));
        }
        let listing = history.listing();
        assert_eq!(listing.len(), 11);
        assert_eq!(listing[0], "1 - ls /1");
        assert_eq!(listing[10], "11 - ls /11");
        assert_eq!(history.next_number(), 12);
    }

    #[test]
    fn redo_replaces_itself_with_the_command_it_runs() {
        let mut history = SessionHistory::default();
        history.record("create /a x");
        history.record("redo 0");
        assert_eq!(history.redo(0), Ok("create /a x".to_string()));
        assert_eq!(history.get(1), Some("create /a x"));
        history.record("redo 7");
        assert_eq!(history.redo(7), Err(RedoError::OutOfRange));
        history.record("redo 3");
        assert_eq!(history.redo(3), Err(RedoError::OutOfRange), "not itself");
        assert_eq!(history.redo(2), Err(RedoError::RedoOfRedo));
    }

    #[test]
    fn old_commands_are_forgotten_past_the_bound() {
        let mut history = SessionHistory::default();
        for i in 0..SESSION_MAX_COMMANDS + 5 {
            history.record(&format!("get /{i}"));
        }
        assert_eq!(history.get(4), None);
        assert_eq!(history.get(5), Some("get /5"));
        assert_eq!(history.next_number(), SESSION_MAX_COMMANDS + 5);
    }

    #[test]
    fn the_default_file_is_under_the_users_data_directory() {
        assert_eq!(
            default_file(Some("/d".into()), Some("/h".into())),
            Some(PathBuf::from("/d/corral/shell_history"))
        );
        assert_eq!(
            default_file(Some("".into()), Some("/h".into())),
            Some(PathBuf::from("/h/.local/share/corral/shell_history"))
        );
        assert_eq!(default_file(None, None), None);
    }
}
