//! `corral shell` on a pseudo-terminal, as a person types at it: tab
//! completion of commands and paths, history (the up arrow, and across two
//! runs with the same history file), Ctrl-C on a line, errors that do not
//! end the shell, `quit`, a prompt that follows the session, and the
//! progress bar of `dump` and `load`. Every wait is for expected output,
//! with a deadline (rexpect's timeout).

use client::{Client, CreateOptions};
use rexpect::session::PtySession;
use std::path::Path;
use std::process::Command;

/// How long any expected output may take to show up.
const DEADLINE_MS: u64 = 30_000;

const UP: &str = "\x1b[A";

/// `corral --server ADDR shell --history FILE` on a fresh pseudo-terminal.
fn spawn_shell(addr: &str, history: &Path) -> anyhow::Result<PtySession> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corral"));
    command
        .args(["--server", addr, "shell", "--history"])
        .arg(history)
        // A plain terminal type: rustyline then edits in place and redraws.
        .env("TERM", "vt100");
    let mut session = rexpect::session::spawn_command(command, Some(DEADLINE_MS))?;
    session.exp_string("(CONNECTED) 0]")?;
    Ok(session)
}

/// Sends `keys` (no line end) and waits for `expected` to be echoed back.
fn type_keys(session: &mut PtySession, keys: &str, expected: &str) -> anyhow::Result<()> {
    session.send(keys)?;
    session.flush()?;
    session.exp_string(expected)?;
    Ok(())
}

/// Runs `quit` and waits for the process to end with status 0.
fn quit(mut session: PtySession) -> anyhow::Result<()> {
    session.send_line("quit")?;
    session.exp_eof()?;
    let status = session.process().wait()?;
    anyhow::ensure!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "quit ends the shell with status 0, not {status:?}"
    );
    Ok(())
}

async fn seeded_server() -> anyhow::Result<testkit::TestServer> {
    let server = testkit::TestServer::start().await?;
    let client = Client::connect(server.connect_string().as_str()).await?;
    for (path, data) in [
        ("/app", "hello"),
        ("/app/worker1", "w1"),
        ("/app/worker2", "w2"),
    ] {
        client
            .create(path, data.as_bytes(), CreateOptions::default())
            .await?;
    }
    client.close().await?;
    Ok(server)
}

#[tokio::test(flavor = "multi_thread")]
async fn tab_completes_history_recalls_and_ctrl_c_and_errors_do_not_end_the_shell(
) -> anyhow::Result<()> {
    let server = seeded_server().await?;
    let addr = server.connect_string();
    let dir = tempfile::tempdir()?;
    let history = dir.path().join("history");
    let (addr_in, history_in) = (addr.clone(), history.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut shell = spawn_shell(&addr_in, &history_in)?;
        // A command name, then a path: `sta` + Tab is `stat `, `/ap` + Tab is `/app`.
        type_keys(&mut shell, "sta\t", "stat ")?;
        type_keys(&mut shell, "/ap\t", "/app")?;
        shell.send_line("")?;
        shell.exp_string("numChildren = 2")?;
        // Tab completes the common part; a second Tab lists the candidates.
        type_keys(&mut shell, "get /app/w\t", "/app/worker")?;
        type_keys(&mut shell, "\t", "worker1")?;
        shell.exp_string("worker2")?;
        type_keys(&mut shell, "1", "1")?;
        shell.send_line("")?;
        shell.exp_string("w1")?;
        shell.exp_string("2]")?;
        // The up arrow recalls the previous command.
        type_keys(&mut shell, UP, "get /app/worker1")?;
        shell.send_line("")?;
        shell.exp_string("w1")?;
        shell.exp_string("3]")?;
        // An error is printed and the shell goes on.
        shell.send_line("get /missing")?;
        shell.exp_string("Node does not exist: /missing")?;
        shell.exp_string("4]")?;
        shell.send_line("bogus")?;
        shell.exp_string("Command not found: bogus")?;
        shell.exp_string("5]")?;
        // Ctrl-C drops the line being typed; the shell goes on.
        type_keys(&mut shell, "delete /app", "delete /app")?;
        shell.send_control('c')?;
        shell.exp_string("5]")?;
        shell.send_line("ls /")?;
        shell.exp_string("[app, zookeeper]")?;
        quit(shell)?;

        // A second run with the same history file recalls the first run's
        // commands: `quit`, then `ls /`.
        let mut shell = spawn_shell(&addr_in, &history_in)?;
        type_keys(&mut shell, UP, "quit")?;
        type_keys(&mut shell, UP, "ls /")?;
        shell.send_line("")?;
        shell.exp_string("[app, zookeeper]")?;
        quit(shell)
    })
    .await??;
    let saved = std::fs::read_to_string(&history)?;
    assert!(saved.contains("get /app/worker1"), "{saved}");
    assert!(
        !saved.contains("delete /app"),
        "an interrupted line: {saved}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prompt_follows_the_session_while_waiting_and_after_connect() -> anyhow::Result<()> {
    let mut server = seeded_server().await?;
    let other = testkit::TestServer::start().await?;
    let (addr, other_addr) = (server.connect_string(), other.connect_string());
    let dir = tempfile::tempdir()?;
    let history = dir.path().join("history");
    let mut shell = tokio::task::spawn_blocking({
        let (addr, history) = (addr.clone(), history.clone());
        move || spawn_shell(&addr, &history)
    })
    .await??;
    // The server goes away while the shell waits at its prompt: the
    // prompt is redrawn with the new state, without a key pressed.
    server.kill().await?;
    let mut shell = tokio::task::spawn_blocking(move || -> anyhow::Result<PtySession> {
        shell.exp_string("state:Disconnected")?;
        // Disconnected, then expired if the session times out meanwhile.
        shell.exp_regex(r"\((CONNECTING|EXPIRED)\) 0\]")?;
        Ok(shell)
    })
    .await??;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        shell.send_line(&format!("connect {other_addr}"))?;
        shell.exp_string("state:SyncConnected type:None")?;
        shell.exp_string(&format!("[corral: {other_addr}(CONNECTED) 1]"))?;
        shell.send_line("close")?;
        shell.exp_string("state:Closed")?;
        shell.exp_string(&format!("[corral: {other_addr}(CLOSED) 2]"))?;
        shell.send_line("ls /")?;
        shell.exp_string("Not connected")?;
        shell.send_line("connect")?;
        shell.exp_string(&format!("[corral: {other_addr}(CONNECTED) 4]"))?;
        shell.send_line("ls /")?;
        shell.exp_string("[zookeeper]")?;
        quit(shell)
    })
    .await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn dump_and_load_show_a_progress_bar_on_a_terminal() -> anyhow::Result<()> {
    let server = seeded_server().await?;
    let addr = server.connect_string();
    let dir = tempfile::tempdir()?;
    let history = dir.path().join("history");
    let file = dir.path().join("app.json");
    let file = file.to_string_lossy().into_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut shell = spawn_shell(&addr, &history)?;
        shell.send_line(&format!("dump /app {file}"))?;
        shell.exp_string("dumping")?;
        shell.exp_string("Dumped 3 nodes of /app, skipped 0 ephemeral nodes")?;
        shell.send_line(&format!("load {file} /copy"))?;
        shell.exp_string("loading")?;
        shell.exp_string("/3 nodes")?;
        shell.exp_string("Loaded 3 nodes: 3 created, 0 updated, 0 existing left unchanged")?;
        quit(shell)
    })
    .await??;
    Ok(())
}
