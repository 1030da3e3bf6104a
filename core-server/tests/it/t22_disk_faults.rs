//! A disk that fails under a standalone server (injected with
//! `storage::faults` into the real log files): writes are refused with
//! NotReadOnly and nothing of them is applied or logged, reads and sessions
//! go on, and once the disk works again writes resume, with nothing lost
//! across a restart.

use client::{Client, CreateOptions, ErrorCode};
use core_server::storage::faults::{self, Fault, FaultPoint};
use std::time::Duration;
use testkit::eventually_ok;

async fn start(dir: &std::path::Path) -> anyhow::Result<core_server::ServerHandle> {
    let config = core_server::Config {
        data_dir: dir.join("data"),
        ..testkit::test_config()
    };
    Ok(core_server::start(config).await?)
}

fn refused<T, E: std::borrow::Borrow<client::Error>>(result: Result<T, E>) -> bool {
    matches!(&result, Err(e) if e.borrow().code() == ErrorCode::NotReadOnly)
}

async fn ride_out(point: FaultPoint, fault: Fault) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let disk = faults::register(dir.path());
    let server = start(dir.path()).await?;
    let zk = Client::connect(server.addr()).await?;
    zk.create("/a", b"1", CreateOptions::default()).await?;

    disk.fail(point, fault);
    let write = zk.set_data("/a", b"2", None).await;
    assert!(refused(write.as_ref()), "{point:?} {fault:?}: {write:?}");
    let create = zk.create("/lost", b"", CreateOptions::default()).await;
    assert!(refused(create.as_ref()), "{create:?}");
    assert_eq!(zk.get_data("/a").await?.0, b"1", "reads go on");
    // A new session needs the log too: refused (or, on the native API,
    // retried until the connect timeout).
    let other = Client::builder(server.addr())
        .connect_timeout(Duration::from_secs(1))
        .build()
        .await;
    assert!(other.is_err() || refused(other?.create("/x", b"", CreateOptions::default()).await));

    disk.clear();
    eventually_ok(Duration::from_secs(10), "writes resume", || async {
        zk.create("/after", b"", CreateOptions::default()).await
    })
    .await?;
    zk.set_data("/a", b"3", None).await?;
    drop(zk);
    server.shutdown().await?;

    let server = start(dir.path()).await?;
    let zk = Client::connect(server.addr()).await?;
    assert_eq!(zk.get_data("/a").await?.0, b"3");
    assert!(zk.exists("/after").await?.is_some());
    assert!(
        zk.exists("/lost").await?.is_none(),
        "a refused write never lands"
    );
    assert!(zk.exists("/x").await?.is_none());
    drop(zk);
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers() -> anyhow::Result<()> {
    ride_out(FaultPoint::Sync, Fault::NoSpace).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_io_error_on_write_refuses_writes_keeps_reads_and_recovers() -> anyhow::Result<()> {
    ride_out(FaultPoint::Write, Fault::Io).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_file_system_refuses_writes_keeps_reads_and_recovers() -> anyhow::Result<()> {
    ride_out(FaultPoint::Write, Fault::ReadOnly).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_disk_slows_writes_but_loses_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let disk = faults::register(dir.path());
    let server = start(dir.path()).await?;
    let zk = Client::connect(server.addr()).await?;
    disk.slow(Duration::from_millis(20));
    for i in 0..5 {
        zk.create(&format!("/slow{i}"), b"", CreateOptions::default())
            .await?;
    }
    disk.clear();
    drop(zk);
    server.shutdown().await?;
    let server = start(dir.path()).await?;
    let zk = Client::connect(server.addr()).await?;
    assert_eq!(
        zk.get_children("/").await?.len(),
        6,
        "five nodes and /zookeeper"
    );
    drop(zk);
    server.shutdown().await?;
    Ok(())
}
