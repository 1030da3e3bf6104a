//! `corral shell`: an interactive shell with zkCli's commands and habits
//! (its output formats, error sentences, `history`/`redo`, `WATCHER::`
//! blocks, `connect`/`close`, `printwatches`), plus Corral's `tree`, `du`,
//! `watch`, `dump`/`load` and tab completion of commands and paths.
//!
//! On a terminal, lines are edited with rustyline and kept in a history
//! file. When stdin is not a terminal, commands are read from it line by
//! line without a prompt, as zkCli does with a here-doc, so the shell can
//! be scripted; `-c 'CMD'` or trailing words run one command and exit.
//!
//! Modules: `catalog` (the commands and their usage), `parse` (words,
//! typed commands), `exec` (running them), `session` (the current client,
//! `connect`, `close`), `notices` (watches and session transitions to
//! print), `transfer` (`dump`, `load`), `format` (what is printed), `acl`,
//! `walk` (subtree traversal), `complete` (completion and the live
//! prompt), `history`, `input` (the line-reading thread).

mod acl;
mod catalog;
mod complete;
mod exec;
mod format;
mod history;
mod input;
mod notices;
mod parse;
mod quota;
mod session;
mod transfer;
mod walk;

use crate::shell::ShellOptions;
use anyhow::Context;
use client::{Client, SessionEvent};
use exec::{Flow, Shell, ShellError};
use input::{Input, Line, Printer};
use notices::Notices;
use session::Current;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// `corral shell`'s own arguments.
#[derive(Debug, clap::Args)]
pub struct ShellArgs {
    /// The history file [default: $XDG_DATA_HOME/corral/shell_history, else
    /// ~/.local/share/corral/shell_history]. Commands read from a
    /// non-terminal stdin are kept only when this is given.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Run this command line, then exit.
    #[arg(short = 'c', value_name = "COMMAND", conflicts_with = "words")]
    command: Option<String>,
    /// A command and its arguments to run, then exit (`corral shell ls -R /`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    words: Vec<String>,
    /// The largest file `load` reads, in bytes (larger ones are refused).
    #[arg(long, value_name = "BYTES", default_value_t = transfer::LOAD_MAX_BYTES)]
    load_max_bytes: u64,
}

/// Runs the shell; the exit code is the last command's (0 when it
/// succeeded), 130 when Ctrl-C ends a script.
pub async fn run(options: &ShellOptions, args: ShellArgs) -> anyhow::Result<ExitCode> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle Ctrl-C")?;
    let mut builder = Client::builder(options.server());
    if let Some(tls) = options.tls()? {
        builder = builder.tls(tls);
    }
    let client = tokio::select! {
        client = builder.build() => client.with_context(|| format!("cannot connect to {}", options.server()))?,
        _ = interrupt.recv() => anyhow::bail!("interrupted while connecting"),
    };
    let one_shot = match (args.command, args.words) {
        (Some(line), _) => Some(parse::tokenize(&line)?),
        (None, words) if !words.is_empty() => Some(words),
        _ => None,
    };
    let notices = Notices::new(&client, one_shot.is_none());
    let current = Current::new(client.clone());
    let mut shell = Shell::new(
        current.clone(),
        options.server().to_string(),
        options.tls()?,
        notices,
    );
    shell.load_max_bytes = args.load_max_bytes;
    let code = match one_shot {
        Some(words) => {
            let result = shell
                .run_words(&words, &mut std::io::stdout(), &mut interrupt)
                .await;
            report(result).1
        }
        None => {
            let is_terminal = std::io::stdin().is_terminal();
            let input = if is_terminal {
                let file = args.history.or_else(|| {
                    history::default_file(
                        std::env::var_os("XDG_DATA_HOME"),
                        std::env::var_os("HOME"),
                    )
                });
                let helper = complete::ShellHelper::new(current, tokio::runtime::Handle::current());
                Input::terminal(helper, file)?
            } else {
                Input::stdin(args.history)?
            };
            interact(&mut shell, input, &mut interrupt).await
        }
    };
    let _ = shell.client().close().await;
    Ok(code)
}

/// Prints a command's error, zkCli style, on stderr; says whether the
/// shell goes on and the exit code so far.
fn report(result: Result<Flow, ShellError>) -> (Option<Flow>, ExitCode) {
    match result {
        Ok(flow) => (Some(flow), ExitCode::SUCCESS),
        Err(error @ ShellError::Output(_)) => {
            eprintln!("{error}");
            (None, ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("{error}");
            (Some(Flow::Continue), ExitCode::FAILURE)
        }
    }
}

/// Prints a notice: above the prompt on a terminal, else on stdout.
fn show(printer: &Option<Printer>, text: &str) {
    let is_queued = printer
        .as_ref()
        .is_some_and(|p| p.print(format!("{text}\n")));
    if !is_queued {
        println!("{text}");
    }
}

/// The read-run loop until `quit`, the end of input, or Ctrl-C while a
/// script waits for input (exit code 130).
async fn interact(shell: &mut Shell, mut input: Input, interrupt: &mut Signal) -> ExitCode {
    let printer = input.take_printer();
    if shell.notices.is_printing() {
        show(
            &printer,
            &format::watcher_block(&format::session_line(SessionEvent::Connected)),
        );
    }
    let mut code = ExitCode::SUCCESS;
    loop {
        for notice in shell.notices.ready() {
            show(&printer, &notice);
        }
        input.ask(shell.prompt());
        let line = loop {
            tokio::select! {
                biased;
                line = input.next() => break line,
                notice = shell.notices.next() => show(&printer, &notice),
                _ = interrupt.recv() => return ExitCode::from(130),
            }
        };
        let text = match line {
            Line::Text(text) => text,
            Line::Interrupted => continue,
            Line::Eof => break,
        };
        let result = shell
            .run_line(&text, &mut std::io::stdout(), interrupt)
            .await;
        let (flow, last) = report(result);
        code = last;
        if flow != Some(Flow::Continue) {
            break;
        }
    }
    for notice in shell.notices.ready() {
        show(&printer, &notice);
    }
    let client = shell.client();
    if !client.state().is_terminal() {
        let _ = client.close().await;
        if shell.notices.is_printing() {
            show(
                &printer,
                &format::watcher_block(&format::session_line(SessionEvent::Closed)),
            );
        }
    }
    code
}
