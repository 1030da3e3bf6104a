//! Guarantee: every acknowledged write survives `kill -9`, with or without a
//! snapshot and log truncation in between; so does the session table.

use crate::raw::{self, RawSession};
use proto::v1::server_frame;
use std::net::SocketAddr;
use std::path::Path;
use testkit::ProcessServer;

fn start(dir: &Path, extra: &[&str]) -> anyhow::Result<ProcessServer> {
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    ProcessServer::start(testkit::corral_binary(), dir, any_port, extra)
}

async fn write_then_kill_then_read(extra: &[&str], writes: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), extra)?;
    let mut s = RawSession::connect(server.addr()).await?;
    // Pipeline the writes so many share one fsync, then check each answer.
    for i in 0..writes {
        s.send(
            i as i32,
            Some(raw::create(&format!("/n{i}"), format!("v{i}").as_bytes())),
        )
        .await?;
    }
    for i in 0..writes {
        let r = s.response().await?;
        assert_eq!((r.xid, r.err), (i as i32, 0), "write {i} acknowledged");
    }
    let (session_id, password) = (s.session_id, s.password.clone());
    server.kill9()?;

    let server = start(dir.path(), extra)?;
    let mut check = RawSession::connect(server.addr()).await?;
    for i in 0..writes {
        let r = check.call(i as i32, raw::get(&format!("/n{i}"))).await?;
        assert_eq!(
            raw::data_of(&r),
            Some(format!("v{i}").into_bytes()),
            "node /n{i} after kill -9"
        );
    }
    let (_tx, mut rx) = raw::open(
        server.addr(),
        raw::connect_frame(session_id, password, 30_000),
    )
    .await?;
    assert!(
        matches!(raw::next(&mut rx).await?, server_frame::Frame::Connected(c) if c.reattached),
        "the session table survives a crash"
    );
    Ok(())
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() -> anyhow::Result<()> {
    write_then_kill_then_read(&[], 200).await
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_after_snapshot_and_truncation() -> anyhow::Result<()> {
    write_then_kill_then_read(&["--snapshot-every", "25"], 300).await
}

#[tokio::test]
async fn a_paused_server_keeps_its_state_and_a_crash_restart_keeps_the_port() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), &[])?;
    let mut s = RawSession::connect(server.addr()).await?;
    s.ok(raw::create("/p", b"1")).await?;
    server.pause()?;
    // While paused the request waits (no answer), then completes on resume.
    s.send(77, Some(raw::get("/p"))).await?;
    server.resume()?;
    let r = s.response().await?;
    assert_eq!((r.xid, raw::data_of(&r)), (77, Some(b"1".to_vec())));
    let addr = server.addr();
    let server = server.crash_and_restart()?;
    assert_eq!(server.addr(), addr, "same port after restart");
    let mut again = RawSession::connect(server.addr()).await?;
    assert_eq!(
        raw::data_of(&again.ok(raw::get("/p")).await?),
        Some(b"1".to_vec())
    );
    Ok(())
}

#[tokio::test]
async fn large_writes_snapshot_by_log_bytes_and_survive_kill_9() -> anyhow::Result<()> {
    // 40 writes of 200 KiB: far fewer entries than --snapshot-every, but
    // eight times half the 2 MiB log budget, so snapshots come from bytes.
    let dir = tempfile::tempdir()?;
    let extra = [
        "--snapshot-every",
        "1000000",
        "--log-retained-bytes",
        "2097152",
    ];
    let server = start(dir.path(), &extra)?;
    let mut s = RawSession::connect(server.addr()).await?;
    let value = |i: usize| vec![b'a' + (i % 26) as u8; 200 << 10];
    for i in 0..40 {
        let r = s
            .call(i as i32, raw::create(&format!("/big{i}"), &value(i)))
            .await?;
        assert_eq!(r.err, 0, "write {i}");
    }
    let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
        .collect();
    assert!(!snapshots.is_empty(), "no snapshot after 8 MB of writes");
    server.kill9()?;
    let server = start(dir.path(), &extra)?;
    let mut check = RawSession::connect(server.addr()).await?;
    for i in 0..40 {
        let r = check.call(i as i32, raw::get(&format!("/big{i}"))).await?;
        assert_eq!(raw::data_of(&r), Some(value(i)), "/big{i} after kill -9");
    }
    Ok(())
}
