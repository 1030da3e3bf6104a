//! Guarantee: `corral admin snapshot save` takes a consistent backup of a
//! live server at one zxid while writes go on (from a cluster follower, one
//! that includes every write acknowledged before the request), `corral
//! restore` builds new servers that start from exactly that tree (standalone,
//! or a new 3-server cluster with no `admin init`), zxids go on from the
//! backup's, sessions in the backup expire on the new servers, and a damaged
//! backup is refused by `snapshot status` and by `restore`, which then
//! leaves no directory behind.

use client::{Client, CreateMode, CreateOptions, Error};
use core_server::backup::Backup;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions, ProcessCluster};
use testkit::{corral_binary, eventually, eventually_ok, ProcessServer, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(30);

/// Runs `corral ARGS...` and returns its output.
async fn corral(args: Vec<String>) -> anyhow::Result<Output> {
    let binary = corral_binary().to_path_buf();
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new(binary).args(args).output())
            .await??;
    Ok(output)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// `corral --json admin snapshot save FILE --admin http://ADMIN`; returns
/// its JSON line.
async fn save(admin: SocketAddr, file: &Path) -> anyhow::Result<serde_json::Value> {
    let url = format!("http://{admin}");
    let out = corral(args(&[
        "--json",
        "admin",
        "snapshot",
        "save",
        &path_arg(file),
        "--admin",
        &url,
        "--auth",
        testkit::cluster::ADMIN_AUTH,
    ]))
    .await?;
    anyhow::ensure!(
        out.status.success(),
        "snapshot save failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn json_i64(v: &serde_json::Value, key: &str) -> anyhow::Result<i64> {
    v[key]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no {key} in {v}"))
}

/// The tree a backup file holds (checked whole).
fn tree_of(file: &Path) -> anyhow::Result<core_server::tree::StateMachine> {
    Ok(Backup::read_file(file)?.decode_tree()?)
}

/// A truncated and a bit-flipped copy of `file` are refused by `snapshot
/// status` and by `restore`, which leaves neither its target nor a hidden
/// work directory behind.
async fn damaged_copies_are_refused(file: &Path, dir: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)?;
    let truncated = dir.join("truncated.crbk");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2])?;
    let flipped = dir.join("flipped.crbk");
    let mut bad = bytes.clone();
    let middle = bad.len() / 2 + 10;
    bad[middle] ^= 0x04;
    std::fs::write(&flipped, &bad)?;
    let restore_into = dir.join("refused");
    std::fs::create_dir_all(&restore_into)?;
    for (copy, why) in [(&truncated, "truncated"), (&flipped, "checksum mismatch")] {
        let status = corral(args(&["admin", "snapshot", "status", &path_arg(copy)])).await?;
        let stderr = String::from_utf8_lossy(&status.stderr);
        anyhow::ensure!(
            !status.status.success() && stderr.contains(why),
            "snapshot status of a {why} copy: {:?}, stderr {stderr}",
            status.status
        );
        let target = restore_into.join("data");
        let restore = corral(args(&[
            "restore",
            &path_arg(copy),
            "--data-dir",
            &path_arg(&target),
        ]))
        .await?;
        let stderr = String::from_utf8_lossy(&restore.stderr);
        anyhow::ensure!(
            !restore.status.success() && stderr.contains(why),
            "restore of a {why} copy: {:?}, stderr {stderr}",
            restore.status
        );
        let left: Vec<_> = std::fs::read_dir(&restore_into)?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        anyhow::ensure!(left.is_empty(), "a refused restore left {left:?}");
    }
    let good = corral(args(&["admin", "snapshot", "status", &path_arg(file)])).await?;
    anyhow::ensure!(
        good.status.success() && String::from_utf8_lossy(&good.stdout).contains("checksum OK"),
        "snapshot status of the intact file: {good:?}"
    );
    Ok(())
}

/// Writers creating distinct nodes under `/load` until `stop`, recording
/// each acknowledged create's path and zxid in `acked`.
fn start_writers(
    connect: String,
    writers: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<StdMutex<Vec<(String, i64)>>>,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<()>>> {
    (0..writers)
        .map(|w| {
            let (connect, stop, acked) = (connect.clone(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let c = Client::builder(connect.as_str())
                    .session_timeout(Duration::from_secs(30))
                    .build()
                    .await?;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("/load/w{w}-{n}");
                    n += 1;
                    match c.create(&path, b"x", CreateOptions::default()).await {
                        Ok((_, stat)) => acked.lock().expect("lock").push((path, stat.czxid)),
                        Err(Error::ConnectionLoss) => {}
                        Err(e) => anyhow::bail!("create {path}: {e}"),
                    }
                }
                Ok(())
            })
        })
        .collect()
}

fn acked_count(acked: &StdMutex<Vec<(String, i64)>>) -> usize {
    acked.lock().expect("lock").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_backup_under_load_restores_into_a_new_cluster() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let source = ProcessCluster::start(ClusterOptions::default()).await?;
    let leader = source.leader(LIMIT).await?;
    let follower = source.ids().into_iter().find(|id| *id != leader);
    let follower = follower.ok_or_else(|| anyhow::anyhow!("no follower"))?;
    let all = source.connect_string(&source.ids());
    let setup = Client::connect(&all).await?;
    setup.create("/load", b"", CreateOptions::default()).await?;
    // A session that never reaches the new cluster: its ephemeral must go
    // there once the session's timeout passes (it stays on the source). The
    // timeout is long enough that the restored cluster's zxid and digest are
    // checked before the expiry changes them, even on a loaded machine.
    let owner = Client::builder(source.addr(leader).to_string().as_str())
        .session_timeout(Duration::from_secs(15))
        .build()
        .await?;
    owner
        .create("/owned", b"e", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(StdMutex::new(Vec::new()));
    let writers = start_writers(all.clone(), 4, stop.clone(), acked.clone());
    eventually(LIMIT, "200 writes before the backup", || {
        let n = acked_count(&acked);
        async move { n >= 200 }
    })
    .await?;
    let before_request: Vec<(String, i64)> = acked.lock().expect("lock").clone();
    let file = work.path().join("cluster.crbk");
    let admin = source
        .admin_addr(follower)
        .ok_or_else(|| anyhow::anyhow!("no admin address"))?;
    let saved = save(admin, &file).await?;
    let zxid = json_i64(&saved, "zxid")?;
    let after_backup = acked_count(&acked) + 100;
    eventually(LIMIT, "writes going on after the backup", || {
        let n = acked_count(&acked);
        async move { n >= after_backup }
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await??;
    }
    let acked: Vec<(String, i64)> = acked.lock().expect("lock").clone();

    // The follower's backup holds every write acknowledged before it was asked.
    let late: Vec<_> = before_request.iter().filter(|(_, z)| *z > zxid).collect();
    anyhow::ensure!(
        late.is_empty(),
        "acknowledged before the request but after the backup's zxid {zxid:#x}: {late:?}"
    );
    anyhow::ensure!(
        acked.iter().any(|(_, z)| *z > zxid),
        "no write after the backup: it was not taken under load"
    );
    let tree = tree_of(&file)?;
    anyhow::ensure!(
        tree.last_zxid() == zxid && tree.node_count() as i64 == json_i64(&saved, "nodes")?
    );
    anyhow::ensure!(
        tree.session(owner.session_id()).is_some(),
        "the owner's session is not in the backup"
    );
    damaged_copies_are_refused(&file, work.path()).await?;

    let restored = ProcessCluster::start_prepared(ClusterOptions::default(), |servers| {
        let mut list = Vec::new();
        for s in servers {
            list.push(format!(
                "--member={}={},client={}",
                s.id, s.peer_addr, s.addr
            ));
        }
        for s in servers {
            let mut command = std::process::Command::new(corral_binary());
            command.args([
                "restore",
                &path_arg(&file),
                "--data-dir",
                &path_arg(&s.data_dir),
            ]);
            command.args(["--id", &s.id.to_string()]).args(&list);
            let out = command.output()?;
            anyhow::ensure!(out.status.success(), "restore of server {}: {out:?}", s.id);
        }
        Ok(())
    })
    .await?;
    let ids = restored.ids();
    let digest = restored.converged(&ids, LIMIT).await?;
    let status = restored.status(ids[0]).await?;
    anyhow::ensure!(
        status.zxid == zxid && digest == tree.digest(),
        "restored cluster at zxid {:#x} digest {digest:#x}, backup at {zxid:#x} digest {:#x}",
        status.zxid,
        tree.digest()
    );
    let new_leader = restored.leader(LIMIT).await?;
    // A new leader is ready for a snapshot once a quorum acknowledged it.
    let ready_at = restored
        .admin_addr(new_leader)
        .ok_or_else(|| anyhow::anyhow!("no admin address"))?;
    eventually_ok(LIMIT, "the new leader's /readyz to answer 200", || async {
        match testkit::http::get(ready_at, "/readyz").await {
            Ok(answer) if answer.status == 200 => Ok(()),
            Ok(answer) => Err(answer.body),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let again = work.path().join("again.crbk");
    let admin = restored
        .admin_addr(new_leader)
        .ok_or_else(|| anyhow::anyhow!("no admin address"))?;
    save(admin, &again).await?;
    anyhow::ensure!(
        tree_of(&again)? == tree,
        "a backup of the restored cluster differs from the original"
    );

    let reader = Client::connect(&restored.connect_string(&ids)).await?;
    let present: BTreeSet<String> = reader
        .get_children("/load")
        .await?
        .into_iter()
        .map(|name| format!("/load/{name}"))
        .collect();
    for (path, z) in &acked {
        anyhow::ensure!(
            (*z <= zxid) == present.contains(path),
            "{path} (zxid {z:#x}) present: {}, backup zxid {zxid:#x}",
            present.contains(path)
        );
    }
    let (_, stat) = reader
        .create("/after", b"", CreateOptions::default())
        .await?;
    anyhow::ensure!(
        stat.czxid > zxid,
        "zxids went back: {:#x} after {zxid:#x}",
        stat.czxid
    );
    eventually(
        LIMIT,
        "the backup's ephemeral to expire on the new cluster",
        || {
            let reader = reader.clone();
            async move { matches!(reader.exists("/owned").await, Ok(None)) }
        },
    )
    .await?;
    anyhow::ensure!(
        setup.exists("/owned").await?.is_some(),
        "the owner's session died on the source"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standalone_backup_restores_into_a_new_server() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let source = TestServer::start().await?;
    let c = Client::connect(&source.connect_string()).await?;
    c.create("/app", b"config", CreateOptions::default())
        .await?;
    for _ in 0..3 {
        c.create(
            "/app/seq-",
            b"",
            CreateOptions::mode(CreateMode::PersistentSequential),
        )
        .await?;
    }
    c.set_data("/app", b"config v2", None).await?;
    let owner = Client::builder(source.connect_string().as_str())
        .session_timeout(Duration::from_secs(3))
        .build()
        .await?;
    owner
        .create(
            "/app/owned",
            b"",
            CreateOptions::mode(CreateMode::Ephemeral),
        )
        .await?;
    let file = work.path().join("standalone.crbk");
    let admin = source
        .admin_addr()
        .ok_or_else(|| anyhow::anyhow!("no admin address"))?;
    let saved = save(admin, &file).await?;
    let tree = tree_of(&file)?;
    anyhow::ensure!(json_i64(&saved, "zxid")? == tree.last_zxid());
    anyhow::ensure!(
        tree.node("/app/owned").is_some(),
        "the ephemeral is not in the backup"
    );
    damaged_copies_are_refused(&file, work.path()).await?;

    let data = work.path().join("restored");
    let out = corral(args(&[
        "restore",
        &path_arg(&file),
        "--data-dir",
        &path_arg(&data),
    ]))
    .await?;
    anyhow::ensure!(out.status.success(), "restore: {out:?}");
    let again = corral(args(&[
        "restore",
        &path_arg(&file),
        "--data-dir",
        &path_arg(&data),
    ]))
    .await?;
    anyhow::ensure!(
        !again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "a restore over a restored directory: {again:?}"
    );
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let digest = testkit::cluster::admin_digest();
    let server =
        ProcessServer::start(corral_binary(), &data, listen, &["--super-digest", &digest])?;
    let admin = server
        .admin_addr()
        .ok_or_else(|| anyhow::anyhow!("no admin address"))?;
    let copy = work.path().join("copy.crbk");
    save(admin, &copy).await?;
    anyhow::ensure!(
        tree_of(&copy)? == tree,
        "the restored server's tree differs from the backup"
    );

    let r = Client::connect(&server.addr().to_string()).await?;
    let (data_read, _) = r.get_data("/app").await?;
    anyhow::ensure!(data_read == b"config v2");
    let (_, stat) = r
        .create(
            "/app/seq-",
            b"",
            CreateOptions::mode(CreateMode::PersistentSequential),
        )
        .await?;
    anyhow::ensure!(stat.czxid > tree.last_zxid(), "zxids went back");
    eventually(
        LIMIT,
        "the backup's ephemeral to expire on the new server",
        || {
            let r = r.clone();
            async move { matches!(r.exists("/app/owned").await, Ok(None)) }
        },
    )
    .await?;
    anyhow::ensure!(
        c.exists("/app/owned").await?.is_some(),
        "the owner's session died on the source"
    );
    Ok(())
}

/// Sends `GET /snapshot` on a new connection and reads up to the end of
/// the response headers; returns the status code and the connection.
async fn request_snapshot(admin: SocketAddr) -> anyhow::Result<(u16, tokio::net::TcpStream)> {
    let mut conn = tokio::net::TcpStream::connect(admin).await?;
    let request = format!(
        "GET /snapshot HTTP/1.1\r\nHost: corral\r\nAuthorization: digest {}\r\n\r\n",
        testkit::cluster::ADMIN_AUTH
    );
    conn.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        anyhow::ensure!(
            conn.read(&mut byte).await? == 1,
            "connection closed in the headers"
        );
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line: {line}"))?;
    Ok((code, conn))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_snapshot_while_one_streams_is_refused() -> anyhow::Result<()> {
    let source = TestServer::start().await?;
    let c = Client::connect(&source.connect_string()).await?;
    // Far more than the socket buffers hold, so an unread body keeps the
    // first snapshot streaming.
    let big = vec![7u8; 900_000];
    for i in 0..40 {
        c.create(&format!("/big{i}"), &big, CreateOptions::default())
            .await?;
    }
    let admin = source
        .admin_addr()
        .ok_or_else(|| anyhow::anyhow!("no admin address"))?;
    let (first, stalled) = request_snapshot(admin).await?;
    anyhow::ensure!(first == 200, "first snapshot: {first}");
    let (second, _) = request_snapshot(admin).await?;
    anyhow::ensure!(
        second == 429,
        "a second snapshot during the first: {second}"
    );
    drop(stalled);
    eventually_ok(LIMIT, "a snapshot once the first is gone", || async move {
        match request_snapshot(admin).await {
            Ok((200, _)) => Ok(()),
            Ok((code, _)) => Err(format!("status {code}")),
            Err(e) => Err(e.to_string()),
        }
    })
    .await?;
    Ok(())
}
