//! `corral dev --tls`: a throwaway CA and certificates under the dev folder,
//! mutual TLS on the native port and a ZooKeeper secure port, and the
//! printed ways to connect working as printed: `corral` with `--cacert`,
//! `--cert` and `--key` (shell and admin), and kazoo with `use_ssl`. A
//! plain client is refused.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Kills the dev process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines `corral dev` prints until it says how to stop it.
fn banner(child: &mut Child) -> anyhow::Result<Vec<String>> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        let done = line.starts_with("stop with");
        lines.push(line);
        if done {
            return Ok(lines);
        }
    }
    anyhow::bail!("corral dev printed no banner: {lines:?}")
}

fn corral(args: &[String]) -> anyhow::Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .output()?)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const KAZOO: &str = r#"
import sys
from kazoo.client import KazooClient
hosts, ca, cert, key = sys.argv[1:5]
zk = KazooClient(hosts=hosts, use_ssl=True, ca=ca, certfile=cert, keyfile=key,
                 verify_certs=True, timeout=10.0)
zk.start(timeout=20)
print("data=" + zk.get("/from-cli")[0].decode())
zk.stop()
zk.close()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_tls_makes_certificates_and_prints_working_connect_lines() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args([
            "dev",
            "--tls",
            "--servers",
            "1",
            "--port",
            "0",
            "--zk-port",
            "0",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let lines = tokio::task::spawn_blocking(move || banner(&mut child).map(|l| (l, child)));
    let (lines, child) = tokio::time::timeout(Duration::from_secs(90), lines).await???;
    let _running = Running(child);
    let field = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
            .ok_or_else(|| anyhow::anyhow!("no {prefix:?} line in {lines:?}"))
    };
    let native = field("connect: ")?;
    let secure = field("zookeeper secure: ")?;
    // The printed corral line, with `ls /` replaced by other commands.
    let printed = lines
        .iter()
        .find(|l| l.contains("--cacert"))
        .ok_or_else(|| anyhow::anyhow!("no corral TLS line in {lines:?}"))?;
    let words: Vec<String> = printed.split_whitespace().map(str::to_string).collect();
    let flags: Vec<String> = words[1..words.len() - 2].to_vec();
    let value = |flag: &str| {
        flags
            .iter()
            .position(|f| f == flag)
            .and_then(|i| flags.get(i + 1).cloned())
            .ok_or_else(|| anyhow::anyhow!("no {flag} in {printed}"))
    };
    let (ca, cert, key) = (value("--cacert")?, value("--cert")?, value("--key")?);
    assert!(ca.starts_with(&dir.path().display().to_string()), "{ca}");

    let run = |extra: &[&str]| {
        let mut args = flags.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        corral(&args)
    };
    let created = run(&["create", "/from-cli", "hello"])?;
    assert!(created.status.success(), "{}", text(&created));
    let got = run(&["get", "/from-cli"])?;
    assert!(text(&got).contains("hello"), "{}", text(&got));

    let plain = corral(&["--server".into(), native.clone(), "ls".into(), "/".into()])?;
    assert!(!plain.status.success(), "a plain client was served");

    // The client certificate is an administrator: a standalone server
    // gets past the check and says it has no cluster; without a
    // certificate's identity (trusting the CA only) there is no connection.
    let admin = run(&["admin", "remove", "9"])?;
    let said = text(&admin);
    assert!(said.contains("standalone"), "{said}");
    assert!(!said.contains("NoAuth"), "{said}");

    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let args = [secure.as_str(), ca.as_str(), cert.as_str(), key.as_str()];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        testkit::kazoo::run(&cache, KAZOO, &args)
    })
    .await??;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("data=hello"),
        "kazoo over the secure port: {}",
        text(&out)
    );
    Ok(())
}
