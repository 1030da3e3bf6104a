//! The real `corral` binary as a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `corral serve` child process.
#[derive(Debug)]
pub struct ProcessServer {
    child: Child,
    addr: SocketAddr,
    binary: PathBuf,
    data_dir: PathBuf,
    extra: Vec<String>,
    zk_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
    zk_secure_addr: Option<SocketAddr>,
}

impl ProcessServer {
    /// Starts `binary serve --data-dir DIR --listen LISTEN EXTRA...` and waits
    /// (up to 60 s) for its `listening: ADDR` line.
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        listen: SocketAddr,
        extra: &[&str],
    ) -> anyhow::Result<ProcessServer> {
        Self::start_logging(binary, data_dir, listen, extra, log_sink(listen)?)
    }

    /// [`ProcessServer::start`] with the server's log (its stderr) appended
    /// to `log`, for a test that reads what the server logged.
    pub fn start_with_log(
        binary: &Path,
        data_dir: &Path,
        listen: SocketAddr,
        extra: &[&str],
        log: &Path,
    ) -> anyhow::Result<ProcessServer> {
        let file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(log)?;
        Self::start_logging(binary, data_dir, listen, extra, Stdio::from(file))
    }

    fn start_logging(
        binary: &Path,
        data_dir: &Path,
        listen: SocketAddr,
        extra: &[&str],
        log: Stdio,
    ) -> anyhow::Result<ProcessServer> {
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--zk-listen")
            .arg("127.0.0.1:0")
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                for (prefix, kind) in [
                    ("listening: ", "native"),
                    ("zookeeper: ", "zookeeper"),
                    ("zookeeper-secure: ", "zookeeper-secure"),
                    ("admin: http://", "admin"),
                    ("peer: ", "peer"),
                ] {
                    if let Some(addr) = line.strip_prefix(prefix) {
                        let _ = tx.send((kind, addr.trim().to_string()));
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut zk_addr, mut admin_addr, mut peer_addr) = (None, None, None);
        let mut zk_secure_addr = None;
        // The other addresses come before the `listening:` line.
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(("native", addr)) => break addr.parse()?,
                Ok(("zookeeper", addr)) => zk_addr = addr.parse().ok(),
                Ok(("peer", addr)) => peer_addr = addr.parse().ok(),
                Ok(("zookeeper-secure", addr)) => zk_secure_addr = addr.parse().ok(),
                Ok((_, addr)) => admin_addr = addr.parse().ok(),
                Err(_) => {
                    if let Some(status) = child.try_wait()? {
                        anyhow::bail!("corral exited before listening: {status}");
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        anyhow::bail!("corral did not start listening within 60 s");
                    }
                }
            }
        };
        Ok(ProcessServer {
            child,
            addr,
            zk_addr,
            admin_addr,
            peer_addr,
            zk_secure_addr,
            binary: binary.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Sends a signal with the system's `kill` command (no `unsafe` here).
    fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{name} failed");
        Ok(())
    }

    /// Freezes the process (SIGSTOP): it holds its sockets but answers nothing.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("STOP")
    }

    /// Thaws a paused process (SIGCONT).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("CONT")
    }

    /// SIGKILL, then start again on the same data directory and the same
    /// native port.
    pub fn crash_and_restart(mut self) -> anyhow::Result<ProcessServer> {
        self.child.kill()?;
        self.child.wait()?;
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        ProcessServer::start(&self.binary, &self.data_dir, self.addr, &extra)
    }

    /// The native API address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ZooKeeper-protocol address, if the server printed one.
    pub fn zk_addr(&self) -> Option<SocketAddr> {
        self.zk_addr
    }

    /// The ZooKeeper-protocol TLS address, if the server printed one
    /// (`zookeeper-secure:`, with `--zk-secure-listen`).
    pub fn zk_secure_addr(&self) -> Option<SocketAddr> {
        self.zk_secure_addr
    }

    /// Asks the server to re-read its TLS certificates (SIGHUP).
    pub fn hangup(&self) -> anyhow::Result<()> {
        self.signal("HUP")
    }

    /// The admin HTTP address, if the server printed one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The peer address, if the server printed one (cluster members).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// The process's resident memory in bytes (from /proc).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
        Ok(kb * 1024)
    }

    /// Sends SIGTERM and waits (up to `limit`) for the process to exit;
    /// returns its exit status.
    pub fn terminate(&mut self, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
        self.signal("TERM")?;
        crate::eventually_blocking(limit, "the server to exit", || {
            match self.child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ProcessServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a server's log goes: a file per port under `$CORRAL_TEST_LOG_DIR`
/// when that is set (to debug a failing test), else nowhere.
fn log_sink(listen: SocketAddr) -> std::io::Result<Stdio> {
    match std::env::var_os("CORRAL_TEST_LOG_DIR") {
        Some(dir) => {
            let path = Path::new(&dir).join(format!("corral-{}.log", listen.port()));
            let file = std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)?;
            Ok(Stdio::from(file))
        }
        None => Ok(Stdio::null()),
    }
}

/// The `corral` binary built by cargo next to the test executable (the
/// `corral-cli` crate; `cargo test --workspace` builds it).
///
/// # Panics
/// If it is not built, with a message saying how to build it.
pub fn corral_binary() -> &'static Path {
    static BINARY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| cargo_bin("corral"))
        .as_deref()
        .unwrap_or_else(|| {
            panic!("the corral binary is not built: run `cargo build -p corral-cli` (or test with --workspace)")
        })
}

/// Path of a binary built by cargo next to the test executable (for crates
/// other than the binary's own, which should use `env!("CARGO_BIN_EXE_corral")`).
pub fn cargo_bin(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let path = dir.join(name);
    path.exists().then_some(path)
}
