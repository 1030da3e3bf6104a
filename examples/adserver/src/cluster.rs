//! Getting a Corral to coordinate through: a local 3-server cluster
//! (`corral dev` on free ports) when none is given, and the nodes the fleet
//! needs before its workers start.

use crate::model::{Settings, MEMBERS, ROOT, SETTINGS};
use anyhow::Context;
use client::Client;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A local cluster started for the run; stopped on drop.
pub struct LocalCluster {
    child: Child,
    _dir: tempfile::TempDir,
    /// Its connect string.
    pub connect: String,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `corral dev` (the binary at `corral`) on free ports in a
/// temporary directory and waits for its connect string.
pub fn start_local(corral: &Path) -> anyhow::Result<LocalCluster> {
    anyhow::ensure!(
        corral.exists(),
        "no corral binary at {}; build it (`cargo build --release -p corral-cli --bin corral`) or pass --server",
        corral.display()
    );
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(corral)
        .args(["dev", "--port", "0", "--zk-port", "0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut connect = None;
    for line in BufReader::new(stdout).lines() {
        if let Some(a) = line?.strip_prefix("connect: ") {
            connect = Some(a.trim().to_string());
            break;
        }
    }
    let Some(connect) = connect else {
        let _ = child.kill();
        anyhow::bail!("corral dev did not report its address");
    };
    Ok(LocalCluster {
        child,
        _dir: dir,
        connect,
    })
}

/// Creates the fleet's nodes and publishes `settings`.
pub async fn prepare(operator: &Client, settings: &Settings) -> anyhow::Result<()> {
    for path in [ROOT, MEMBERS] {
        match operator.create(path, b"", Default::default()).await {
            Ok(_) | Err(client::Error::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    recipes::config::publish(operator, SETTINGS, settings).await?;
    Ok(())
}
