//! Owns tab completion: command names for the first word, znode paths for
//! a word starting with `/` (the children of the typed parent, read from
//! the server when Tab is pressed). The rustyline [`Helper`] lives here.

use super::catalog;
use super::format::state_name;
use super::session::Current;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::time::Duration;

/// How long completion waits for the server before offering nothing.
const CHILDREN_TIMEOUT: Duration = Duration::from_secs(2);

/// What the word under the cursor asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A command name starting with `prefix`.
    Command {
        /// The typed part.
        prefix: String,
    },
    /// A child of `parent` whose name starts with `prefix`.
    Path {
        /// The parent node.
        parent: String,
        /// The typed part of the child's name.
        prefix: String,
    },
}

/// The word before the cursor (from its start to `pos`) and what it asks
/// for; `None` for words that are neither a command nor a path.
pub fn request(line: &str, pos: usize) -> Option<(usize, Request)> {
    let before = line.get(..pos)?;
    let start = before.rfind(char::is_whitespace).map_or(0, |i| {
        i + before[i..].chars().next().map_or(1, char::len_utf8)
    });
    let word = &before[start..];
    if before[..start].trim().is_empty() {
        return Some((
            start,
            Request::Command {
                prefix: word.to_string(),
            },
        ));
    }
    let slash = word.rfind('/').filter(|_| word.starts_with('/'))?;
    let parent = if slash == 0 { "/" } else { &word[..slash] };
    Some((
        start,
        Request::Path {
            parent: parent.to_string(),
            prefix: word[slash + 1..].to_string(),
        },
    ))
}

/// Command names starting with `prefix`, each followed by a space.
pub fn command_candidates(prefix: &str) -> Vec<Pair> {
    let mut names: Vec<&str> = catalog::command_names()
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| Pair {
            display: name.to_string(),
            replacement: format!("{name} "),
        })
        .collect()
}

/// Full paths of the `children` of `parent` starting with `prefix`
/// (shown by name, inserted as the whole path).
pub fn path_candidates(parent: &str, prefix: &str, children: &[String]) -> Vec<Pair> {
    children
        .iter()
        .filter(|child| child.starts_with(prefix))
        .map(|child| Pair {
            display: child.clone(),
            replacement: proto::path::join(parent, child),
        })
        .collect()
}

/// `prompt` with the word in its last parentheses (the session state)
/// replaced by `state`, kept as wide as `prompt` (the editor places the
/// cursor by the width of the prompt it was given): padded with spaces, or
/// shortened by trailing spaces; `None` when it cannot keep the width.
pub fn live_prompt(prompt: &str, state: &str) -> Option<String> {
    let close = prompt.rfind(')')?;
    let open = prompt[..close].rfind('(')?;
    let mut live = format!("{}{state}{}", &prompt[..=open], &prompt[close..]);
    let width = prompt.chars().count();
    while live.chars().count() > width && live.ends_with(' ') {
        live.pop();
    }
    let live_width = live.chars().count();
    if live_width > width {
        return None;
    }
    live.extend(std::iter::repeat_n(' ', width - live_width));
    Some(live)
}

/// The shell's rustyline helper: completion from the command catalog and
/// the server's tree, and a prompt that shows the session state as of each
/// redraw (a session change while the user types is printed above the
/// line, which redraws it); no hints or multi-line validation.
pub struct ShellHelper {
    current: Current,
    runtime: tokio::runtime::Handle,
}

impl ShellHelper {
    /// A helper reading children through `current`'s client on `runtime`
    /// (completion runs on the line-reading thread, outside the runtime).
    pub fn new(current: Current, runtime: tokio::runtime::Handle) -> Self {
        ShellHelper { current, runtime }
    }

    fn children(&self, parent: &str) -> Vec<String> {
        let client = self.current.get();
        // The timer must be made inside the runtime, so inside the block.
        let read =
            async { tokio::time::timeout(CHILDREN_TIMEOUT, client.get_children(parent)).await };
        match self.runtime.block_on(read) {
            Ok(Ok(children)) => children,
            _ => Vec::new(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(match request(line, pos) {
            Some((start, Request::Command { prefix })) => (start, command_candidates(&prefix)),
            Some((start, Request::Path { parent, prefix })) => {
                let children = self.children(&parent);
                (start, path_candidates(&parent, &prefix, &children))
            }
            None => (pos, Vec::new()),
        })
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        let state = state_name(self.current.get().state());
        match live_prompt(prompt, state).filter(|_| default) {
            Some(live) => Cow::Owned(live),
            None => Cow::Borrowed(prompt),
        }
    }
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parent: &str, prefix: &str) -> Request {
        Request::Path {
            parent: parent.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn the_first_word_completes_to_commands() {
        assert_eq!(
            request("ge", 2),
            Some((
                0,
                Request::Command {
                    prefix: "ge".into()
                }
            ))
        );
        assert_eq!(
            request("  ", 2),
            Some((2, Request::Command { prefix: "".into() }))
        );
        let names: Vec<String> = command_candidates("get")
            .into_iter()
            .map(|p| p.replacement)
            .collect();
        assert_eq!(
            names,
            ["get ", "getAcl ", "getAllChildrenNumber ", "getEphemerals "]
        );
        assert_eq!(command_candidates("ex")[0].replacement, "exit ");
    }

    #[test]
    fn a_path_word_asks_for_the_children_of_its_parent() {
        assert_eq!(request("ls /", 4), Some((3, path("/", ""))));
        assert_eq!(request("ls /ap", 6), Some((3, path("/", "ap"))));
        assert_eq!(request("get -s /app/wo", 14), Some((7, path("/app", "wo"))));
        assert_eq!(request("ls /app/", 8), Some((3, path("/app", ""))));
        assert_eq!(request("ls -R", 5), None, "an option");
        assert_eq!(request("set /a da", 9), None, "data");
        assert_eq!(request("ls /é", 5), None, "not a char boundary");
    }

    #[test]
    fn the_live_prompt_shows_the_state_now_in_the_same_width() {
        let prompt = "[corral: h:1(CONNECTED) 3] ";
        assert_eq!(
            live_prompt(prompt, "CONNECTING").as_deref(),
            Some("[corral: h:1(CONNECTING) 3]")
        );
        assert_eq!(
            live_prompt(prompt, "CLOSED").as_deref(),
            Some("[corral: h:1(CLOSED) 3]    ")
        );
        assert_eq!(live_prompt(prompt, "CONNECTED").as_deref(), Some(prompt));
        assert_eq!(live_prompt("[corral: h(EXPIRED) 3] ", "CONNECTING"), None);
        assert_eq!(live_prompt("> ", "CONNECTED"), None);
    }

    #[test]
    fn path_candidates_are_full_paths_of_matching_children() {
        let children = ["alpha".to_string(), "beta".into(), "also".into()];
        let found = path_candidates("/app", "al", &children);
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p.display.as_str(), p.replacement.as_str()))
            .collect();
        assert_eq!(got, [("alpha", "/app/alpha"), ("also", "/app/also")]);
        assert_eq!(path_candidates("/", "b", &children)[0].replacement, "/beta");
    }
}
