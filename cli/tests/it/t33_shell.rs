//! `corral shell` against a real server: scripts piped to stdin (as zkCli is
//! driven with a here-doc), one-shot commands, and a shell kept open while
//! the tree changes underneath it. Waits are on output lines with
//! deadlines, never fixed sleeps.

use client::{Client, CreateOptions};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any expected line may take to show up.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `corral --server ADDR shell ARGS` with `script` on stdin.
pub(crate) async fn shell(addr: &str, args: &[&str], script: &str) -> anyhow::Result<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["--server", addr, "shell"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow::anyhow!("stdin"))?;
    let script = script.to_string();
    let output = tokio::task::spawn_blocking(move || -> std::io::Result<Output> {
        stdin.write_all(script.as_bytes())?;
        drop(stdin);
        child.wait_with_output()
    });
    Ok(tokio::time::timeout(DEADLINE, output).await???)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// stdout's lines without zkCli's session blocks (`WATCHER::`, blank
/// lines, `type:None` events), which every script prints first and last.
pub(crate) fn output_lines(output: &Output) -> Vec<String> {
    text(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty() && *l != "WATCHER::" && !l.contains("type:None"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_script_creates_reads_changes_lists_and_deletes_nodes() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let script = "\
create /app hello
create /app/a \"two words\"
create /app/a/b
create -s /app/job- x
get /app/a
get /app/a/b
set /app world
get -s /app
ls /app
ls -R /app
tree /app
du /app
delete /app/job-0000000001
deleteall /app
ls /
";
    let output = shell(&server.connect_string(), &[], script).await?;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "", "no errors");
    let lines = output_lines(&output);
    let expected_start = [
        "Created /app",
        "Created /app/a",
        "Created /app/a/b",
        "Created /app/job-0000000001",
        "two words",
        "null",
        "world",
    ];
    assert_eq!(lines[..7], expected_start, "{lines:#?}");
    // get -s: zkCli's Stat lines after the data.
    assert!(lines[7].starts_with("cZxid = 0x"), "{lines:#?}");
    assert!(lines[8].starts_with("ctime = ") && lines[8].contains(" UTC "));
    assert_eq!(lines[13], "dataVersion = 1");
    assert_eq!(lines[17], "numChildren = 2");
    let expected_rest = [
        "[a, job-0000000001]",
        "/app",
        "/app/a",
        "/app/job-0000000001",
        "/app/a/b",
        "/app",
        "├── a",
        "│   └── b",
        "└── job-0000000001",
        "/app: 4 nodes, 15 bytes of data",
        "[zookeeper]",
    ];
    assert_eq!(lines[18..], expected_rest, "{lines:#?}");
    Ok(())
}

#[tokio::test]
async fn an_error_is_printed_like_zkcli_and_the_shell_goes_on() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let script = "\
get /missing
create /x 1
create /x 2
set -v 7 /x 3
bogus
create /x/y
delete /x
stat /x
";
    let output = shell(&server.connect_string(), &[], script).await?;
    let errors: Vec<String> = text(&output.stderr).lines().map(str::to_string).collect();
    assert_eq!(
        errors,
        [
            "Node does not exist: /missing",
            "Node already exists: /x",
            "version No is not valid : /x",
            "Command not found: bogus",
            "Node not empty: /x",
        ]
    );
    let lines = output_lines(&output);
    assert_eq!(lines[..2], ["Created /x", "Created /x/y"], "{lines:#?}");
    assert!(lines.contains(&"numChildren = 1".to_string()), "{lines:#?}");
    assert!(output.status.success(), "the last command succeeded");
    let output = shell(&server.connect_string(), &[], "ls /nope\n").await?;
    assert!(!output.status.success(), "the last command failed");
    Ok(())
}

#[tokio::test]
async fn acls_and_digest_auth_read_and_refuse_as_in_zkcli() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let script = "\
create /open o
getAcl /open
setAcl /open world:anyone:r
getAcl /open
set /open changed
addauth digest bob:secret
create /secure s auth::cdrwa
getAcl /secure
whoami
setAcl /open bogus
";
    let output = shell(&server.connect_string(), &[], script).await?;
    let lines = output_lines(&output);
    let expected = [
        "Created /open",
        "'world,'anyone",
        ": cdrwa",
        "'world,'anyone",
        ": r",
        "Created /secure",
        "'digest,'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=",
        ": cdrwa",
        "Auth scheme: User",
    ];
    assert_eq!(lines[..9], expected, "{lines:#?}");
    assert!(lines.contains(&"digest: bob".to_string()), "{lines:#?}");
    assert_eq!(
        text(&output.stderr).lines().collect::<Vec<_>>(),
        [
            "Insufficient permission : /open",
            "bogus does not have the form scheme:id:perm",
        ]
    );
    // A new session without the digest cannot read /secure.
    let output = shell(&server.connect_string(), &[], "get /secure\n").await?;
    assert_eq!(
        text(&output.stderr).trim(),
        "Insufficient permission : /secure"
    );
    Ok(())
}

#[tokio::test]
async fn history_lists_numbered_commands_and_redo_runs_one_again() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("sub").join("history");
    let file_arg = file.to_string_lossy().into_owned();
    let script = "\
create -s /n- x
ls /
history
redo 0
redo 9
ls /
";
    let output = shell(&server.connect_string(), &["--history", &file_arg], script).await?;
    let lines = output_lines(&output);
    let expected = [
        "Created /n-0000000000",
        "[n-0000000000, zookeeper]",
        "0 - create -s /n- x",
        "1 - ls /",
        "2 - history",
        "Created /n-0000000001",
        "[n-0000000000, n-0000000001, zookeeper]",
    ];
    assert_eq!(lines, expected);
    assert_eq!(text(&output.stderr).trim(), "Command index out of range");
    let saved = std::fs::read_to_string(&file)?;
    assert!(
        saved.contains("create -s /n- x") && saved.contains("redo 9"),
        "{saved}"
    );
    Ok(())
}

#[tokio::test]
async fn one_command_runs_from_dash_c_or_trailing_words() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server.connect_string();
    let output = shell(&addr, &["-c", "create /x \"a b\""], "").await?;
    assert_eq!(text(&output.stdout), "Created /x\n", "no session blocks");
    let output = shell(&addr, &["get", "-s", "/x"], "").await?;
    let out = text(&output.stdout);
    assert!(out.starts_with("a b\ncZxid = 0x"), "{out}");
    let output = shell(&addr, &["get", "/nope"], "").await?;
    assert!(!output.status.success());
    assert_eq!(text(&output.stderr).trim(), "Node does not exist: /nope");
    Ok(())
}

/// A shell kept open: lines written to its stdin one at a time, its
/// stdout and stderr read as they come.
struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Session {
    fn start(addr: &str) -> anyhow::Result<Session> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(["--server", addr, "shell"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow::anyhow!("stdin"))?;
        let (tx, lines) = mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow::anyhow!("stderr"))?;
        let forward = |stream: Box<dyn std::io::Read + Send>, tx: mpsc::Sender<String>| {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        };
        forward(Box::new(stdout), tx.clone());
        forward(Box::new(stderr), tx);
        Ok(Session {
            child,
            stdin,
            lines,
        })
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}")?;
        Ok(self.stdin.flush()?)
    }

    /// Waits for a line equal to `expected`; returns the lines before it.
    async fn expect(&mut self, expected: &str) -> anyhow::Result<Vec<String>> {
        let until = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let next = tokio::task::block_in_place(|| self.lines.recv_timeout(left));
            match next {
                Ok(line) if line == expected => return Ok(seen),
                Ok(line) => seen.push(line),
                Err(_) => anyhow::bail!("no line {expected:?} within {DEADLINE:?}; saw {seen:#?}"),
            }
        }
    }

    fn interrupt(&self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -INT failed");
        Ok(())
    }

    async fn quit(mut self) -> anyhow::Result<()> {
        self.send("quit")?;
        self.expect("WatchedEvent state:Closed type:None path:null")
            .await?;
        let status = tokio::task::block_in_place(|| self.child.wait())?;
        anyhow::ensure!(status.success(), "shell exited with {status}");
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fired_watch_prints_a_watcher_block_between_commands() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let client = Client::connect(&server.connect_string()).await?;
    client
        .create("/w", b"one", CreateOptions::default())
        .await?;
    let mut shell = Session::start(&server.connect_string())?;
    shell
        .expect("WatchedEvent state:SyncConnected type:None path:null")
        .await?;
    shell.send("get -w /w")?;
    shell.expect("one").await?;
    client.set_data("/w", b"two", None).await?;
    let before = shell
        .expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/w")
        .await?;
    assert_eq!(before, ["", "WATCHER::", ""], "zkCli's block");
    shell.send("get /w")?;
    shell.expect("two").await?;
    shell.quit().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_subtree_events_until_ctrl_c_and_the_shell_goes_on() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let client = Client::connect(&server.connect_string()).await?;
    client.create("/w", b"", CreateOptions::default()).await?;
    let mut shell = Session::start(&server.connect_string())?;
    shell.send("watch /w")?;
    shell
        .expect("watching /w and its subtree; Ctrl-C stops")
        .await?;
    client.create("/w/x", b"", CreateOptions::default()).await?;
    client.set_data("/w/x", b"1", None).await?;
    shell
        .expect("WatchedEvent state:SyncConnected type:NodeCreated path:/w/x")
        .await?;
    shell
        .expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/w/x")
        .await?;
    shell.interrupt()?;
    shell.send("ls /w")?;
    shell.expect("[x]").await?;
    shell.quit().await
}

#[test]
fn the_history_option_is_documented_in_help() -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["shell", "--help"])
        .output()?;
    let help = text(&output.stdout);
    assert!(
        help.contains("--history <FILE>") && help.contains("-c <COMMAND>"),
        "{help}"
    );
    Ok(())
}
