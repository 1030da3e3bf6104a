//! Owns reading command lines: from a terminal through rustyline (line
//! editing, completion, the history file) or, when stdin is not a
//! terminal, plain lines from stdin. Either way the reading happens on a
//! thread of its own, one line per request, so the prompt always shows the
//! state left by the previous command and the async side never blocks.

use super::complete::ShellHelper;
use super::history::FILE_MAX_LINES;
use rustyline::error::ReadlineError;
use rustyline::history::{FileHistory, History};
use rustyline::{CompletionType, Config, Editor, ExternalPrinter};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// What the reader got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line, without its line end.
    Text(String),
    /// Ctrl-C at the prompt: the line was dropped.
    Interrupted,
    /// End of input (Ctrl-D, the end of a script, or a read error).
    Eof,
}

/// Why input cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// rustyline could not take the terminal.
    #[error("cannot set up the terminal: {0}")]
    Terminal(#[from] ReadlineError),
    /// The reading thread did not start.
    #[error("cannot start the input thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Something that reads one line after showing a prompt.
trait LineSource: Send + 'static {
    fn read(&mut self, prompt: &str) -> Line;
}

/// Notices waiting for the printer thread; past this many, they go
/// straight to stdout.
const PRINTER_QUEUE: usize = 256;

/// Prints text that arrives while the user types above the prompt, through
/// rustyline's external printer on a thread of its own: that printer can
/// block until the editor takes the text, and the editor only reads again
/// once the async side has asked for the next line, so the async side must
/// never wait for it. The thread ends when this is dropped.
pub struct Printer {
    queue: std::sync::mpsc::SyncSender<String>,
}

impl Printer {
    fn spawn(mut printer: impl ExternalPrinter + Send + 'static) -> std::io::Result<Printer> {
        let (queue, texts) = std::sync::mpsc::sync_channel::<String>(PRINTER_QUEUE);
        std::thread::Builder::new()
            .name("corral-shell-printer".into())
            .spawn(move || {
                while let Ok(text) = texts.recv() {
                    if printer.print(text.clone()).is_err() {
                        print!("{text}");
                    }
                }
            })?;
        Ok(Printer { queue })
    }

    /// Queues `text` (ending with a line end); false when it could not be
    /// queued (print it some other way).
    pub fn print(&self, text: String) -> bool {
        self.queue.try_send(text).is_ok()
    }
}

/// The handle of the reading thread. The thread ends when this is dropped
/// (at its next request; one blocked in a read ends with the process).
pub struct Input {
    prompts: std::sync::mpsc::SyncSender<String>,
    lines: tokio::sync::mpsc::Receiver<Line>,
    printer: Option<Printer>,
    is_asked: bool,
}

impl Input {
    /// Lines from the terminal, edited with rustyline: completion through
    /// `helper`, history loaded from and appended to `history_file`.
    pub fn terminal(
        helper: ShellHelper,
        history_file: Option<PathBuf>,
    ) -> Result<Input, InputError> {
        let config = Config::builder()
            .max_history_size(FILE_MAX_LINES)?
            .history_ignore_space(true)
            .auto_add_history(false)
            .completion_type(CompletionType::List)
            .build();
        let mut editor = Editor::<ShellHelper, FileHistory>::with_config(config)?;
        editor.set_helper(Some(helper));
        if let Some(file) = &history_file {
            // A missing file is the usual first run; anything else shows later, on save.
            let _ = editor.load_history(file);
        }
        let printer = match editor.create_external_printer() {
            Ok(printer) => Some(Printer::spawn(printer)?),
            Err(_) => None,
        };
        let source = Terminal {
            editor,
            history: HistoryFile::new(history_file),
        };
        Self::spawn(source, printer)
    }

    /// Lines from stdin as they come (a script, a here-doc, a pipe); with a
    /// `history_file`, each is appended to it.
    pub fn stdin(history_file: Option<PathBuf>) -> Result<Input, InputError> {
        let config = Config::builder().max_history_size(FILE_MAX_LINES)?.build();
        let mut lines = FileHistory::with_config(&config);
        if let Some(file) = &history_file {
            let _ = lines.load(file);
        }
        let source = Piped {
            lines,
            history: HistoryFile::new(history_file),
        };
        Self::spawn(source, None)
    }

    fn spawn(mut source: impl LineSource, printer: Option<Printer>) -> Result<Input, InputError> {
        let (prompts, prompt_rx) = std::sync::mpsc::sync_channel::<String>(1);
        let (line_tx, lines) = tokio::sync::mpsc::channel(1);
        std::thread::Builder::new()
            .name("corral-shell-input".into())
            .spawn(move || {
                while let Ok(prompt) = prompt_rx.recv() {
                    let line = source.read(&prompt);
                    let is_end = line == Line::Eof;
                    if line_tx.blocking_send(line).is_err() || is_end {
                        break;
                    }
                }
            })?;
        Ok(Input {
            prompts,
            lines,
            printer,
            is_asked: false,
        })
    }

    /// Asks for the next line, showing `prompt` on a terminal; does nothing
    /// while a request is still unanswered.
    pub fn ask(&mut self, prompt: String) {
        if !self.is_asked {
            self.is_asked = self.prompts.try_send(prompt).is_ok();
        }
    }

    /// The line asked for. Cancellation-safe: a line not yet taken stays
    /// for the next call.
    pub async fn next(&mut self) -> Line {
        let line = self.lines.recv().await.unwrap_or(Line::Eof);
        self.is_asked = false;
        line
    }

    /// The printer for text that arrives while the user types (terminals
    /// only; `None` means print to stdout).
    pub fn take_printer(&mut self) -> Option<Printer> {
        self.printer.take()
    }
}

/// The persistent history file, if any; a failure to write it is reported
/// once and the shell goes on.
struct HistoryFile {
    path: Option<PathBuf>,
    is_reported: bool,
}

impl HistoryFile {
    fn new(path: Option<PathBuf>) -> Self {
        HistoryFile {
            path,
            is_reported: false,
        }
    }

    /// Appends the entries added to `history` since the last save (rustyline
    /// rewrites the file instead when it would pass its bound).
    fn save(&mut self, history: &mut FileHistory) {
        let Some(path) = &self.path else { return };
        let saved = ensure_parent(path)
            .map_err(ReadlineError::from)
            .and_then(|()| history.append(path));
        if let Err(error) = saved {
            if !self.is_reported {
                eprintln!("cannot save the history in {}: {error}", path.display());
                self.is_reported = true;
            }
        }
    }
}

fn ensure_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

struct Terminal {
    editor: Editor<ShellHelper, FileHistory>,
    history: HistoryFile,
}

impl LineSource for Terminal {
    fn read(&mut self, prompt: &str) -> Line {
        match self.editor.readline(prompt) {
            Ok(line) => {
                if matches!(self.editor.add_history_entry(line.as_str()), Ok(true)) {
                    self.history.save(self.editor.history_mut());
                }
                Line::Text(line)
            }
            Err(ReadlineError::Interrupted) => Line::Interrupted,
            Err(ReadlineError::Eof) => Line::Eof,
            Err(error) => {
                eprintln!("cannot read the terminal: {error}");
                Line::Eof
            }
        }
    }
}

struct Piped {
    lines: FileHistory,
    history: HistoryFile,
}

impl LineSource for Piped {
    fn read(&mut self, _prompt: &str) -> Line {
        let mut text = String::new();
        match std::io::stdin().lock().read_line(&mut text) {
            Ok(0) => Line::Eof,
            Ok(_) => {
                let line = text.trim_end_matches(['\n', '\r']).to_string();
                if matches!(self.lines.add(&line), Ok(true)) {
                    self.history.save(&mut self.lines);
                }
                Line::Text(line)
            }
            Err(error) => {
                eprintln!("cannot read stdin: {error}");
                Line::Eof
            }
        }
    }
}
