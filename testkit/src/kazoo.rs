//! kazoo (the Python ZooKeeper client) for tests that drive Corral with a
//! real third-party client: installed once from PyPI with pip into a folder
//! the caller names (a test's `CARGO_TARGET_TMPDIR`), then run as
//! `python3 -c SCRIPT` with that folder on `PYTHONPATH`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// The kazoo release the tests use.
pub const KAZOO_VERSION: &str = "2.11.0";

/// One install at a time in this process.
static INSTALL: Mutex<()> = Mutex::new(());

/// Installs kazoo under `cache` unless it is there; returns the folder for
/// `PYTHONPATH`.
pub fn ensure_kazoo(cache: &Path) -> anyhow::Result<PathBuf> {
    let _one = INSTALL.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let target = cache.join(format!("kazoo-{KAZOO_VERSION}"));
    if target.join("kazoo").join("client.py").exists() {
        return Ok(target);
    }
    let staging = cache.join(format!("kazoo-{KAZOO_VERSION}.partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
        ])
        .arg("--target")
        .arg(&staging)
        .arg(format!("kazoo=={KAZOO_VERSION}"))
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pip install kazoo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&staging, &target)?;
    Ok(target)
}

/// Runs `script` with kazoo importable and `args` as `sys.argv[1:]`;
/// blocking (call it from `spawn_blocking` in async tests).
pub fn run(cache: &Path, script: &str, args: &[&str]) -> anyhow::Result<Output> {
    let path = ensure_kazoo(cache)?;
    Ok(Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONPATH", path)
        .output()?)
}
