//! Guarantee: an independent ZooKeeper client library (`zookeeper-client`)
//! works against Corral's ZooKeeper-protocol port unchanged: every opcode it
//! sends, every create mode, every watch type, multi, ACLs and digest auth,
//! session reattach and expiry.

use std::time::Duration;
use testkit::TestServer;
use zookeeper_client as zk;

const WAIT: Duration = Duration::from_secs(10);

async fn zk_client(server: &TestServer) -> anyhow::Result<zk::Client> {
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    Ok(zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&addr.to_string())
        .await?)
}

fn open(mode: zk::CreateMode) -> zk::CreateOptions<'static> {
    mode.with_acls(zk::Acls::anyone_all())
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(WAIT, f)
        .await
        .map_err(|_| anyhow::anyhow!("timed out waiting for {what}"))
}

#[tokio::test]
async fn basic_operations_and_errors() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = zk_client(&server).await?;
    let (stat, _) = c
        .create("/a", b"one", &open(zk::CreateMode::Persistent))
        .await?;
    assert_eq!(
        (stat.version, stat.num_children, stat.data_length),
        (0, 0, 3)
    );
    assert!(matches!(
        c.create("/a", b"", &open(zk::CreateMode::Persistent)).await,
        Err(zk::Error::NodeExists)
    ));
    let (data, _) = c.get_data("/a").await?;
    assert_eq!(data, b"one");
    assert!(matches!(
        c.set_data("/a", b"x", Some(5)).await,
        Err(zk::Error::BadVersion)
    ));
    assert_eq!(c.set_data("/a", b"two", Some(0)).await?.version, 1);
    assert_eq!(c.check_stat("/nope").await?, None);
    assert!(matches!(c.get_data("/nope").await, Err(zk::Error::NoNode)));
    c.create("/a/b", b"", &open(zk::CreateMode::Persistent))
        .await?;
    assert!(matches!(
        c.delete("/a", None).await,
        Err(zk::Error::NotEmpty)
    ));
    assert_eq!(c.list_children("/a").await?, vec!["b".to_string()]);
    let (children, parent) = c.get_children("/a").await?;
    assert_eq!(
        (children.len(), parent.num_children, parent.cversion),
        (1, 1, 1)
    );
    assert_eq!(c.count_descendants_number("/a").await?, 1);
    c.sync("/a").await?;
    c.delete("/a/b", Some(0)).await?;
    c.delete("/a", None).await?;
    assert!(matches!(
        c.delete("/zookeeper", None).await,
        Err(zk::Error::BadArguments(_))
    ));
    Ok(())
}

#[tokio::test]
async fn every_create_mode() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = zk_client(&server).await?;
    c.create("/m", b"", &open(zk::CreateMode::Persistent))
        .await?;
    let (_, seq) = c
        .create("/m/s-", b"", &open(zk::CreateMode::PersistentSequential))
        .await?;
    assert_eq!(seq.into_i64(), 0);
    let (_, seq) = c
        .create("/m/e-", b"", &open(zk::CreateMode::EphemeralSequential))
        .await?;
    assert_eq!(seq.into_i64(), 1);
    let (stat, _) = c
        .create("/m/e", b"", &open(zk::CreateMode::Ephemeral))
        .await?;
    assert_eq!(stat.ephemeral_owner, c.session_id().0);
    assert!(matches!(
        c.create("/m/e/kid", b"", &open(zk::CreateMode::Persistent))
            .await,
        Err(zk::Error::NoChildrenForEphemerals)
    ));
    let mut ephemerals = c.list_ephemerals("/m").await?;
    ephemerals.sort();
    assert_eq!(
        ephemerals,
        vec!["/m/e".to_string(), "/m/e-0000000001".to_string()]
    );
    let (stat, _) = c
        .create("/m/box", b"", &open(zk::CreateMode::Container))
        .await?;
    assert_eq!(stat.ephemeral_owner, 0);
    let ttl = open(zk::CreateMode::Persistent).with_ttl(Duration::from_millis(60_000));
    let (stat, _) = c.create("/m/ttl", b"", &ttl).await?;
    assert_eq!(stat.ephemeral_owner, 0, "TTL nodes show no owner");
    let ttl_seq =
        open(zk::CreateMode::PersistentSequential).with_ttl(Duration::from_millis(60_000));
    let (_, seq) = c.create("/m/ts-", b"", &ttl_seq).await?;
    assert_eq!(seq.into_i64(), 5);
    // The container is reaped after its first child goes.
    c.create("/m/box/item", b"", &open(zk::CreateMode::Persistent))
        .await?;
    let (_, watcher) = c.check_and_watch_stat("/m/box").await?;
    c.delete("/m/box/item", None).await?;
    let event = within("container reaped", watcher.changed()).await?;
    assert_eq!(event.event_type, zk::EventType::NodeDeleted);
    Ok(())
}

#[tokio::test]
async fn one_shot_and_persistent_watches() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = zk_client(&server).await?;
    let w = zk_client(&server).await?;
    let (_, exists) = c.check_and_watch_stat("/w").await?;
    w.create("/w", b"0", &open(zk::CreateMode::Persistent))
        .await?;
    assert_eq!(
        within("created", exists.changed()).await?.event_type,
        zk::EventType::NodeCreated
    );
    let (_, _, data) = c.get_and_watch_data("/w").await?;
    let (_, children) = c.list_and_watch_children("/w").await?;
    let mut exact = c.watch("/w", zk::AddWatchMode::Persistent).await?;
    let mut tree = c.watch("/w", zk::AddWatchMode::PersistentRecursive).await?;
    w.set_data("/w", b"1", None).await?;
    w.create("/w/k", b"", &open(zk::CreateMode::Persistent))
        .await?;
    assert_eq!(
        within("data", data.changed()).await?.event_type,
        zk::EventType::NodeDataChanged
    );
    assert_eq!(
        within("child", children.changed()).await?.event_type,
        zk::EventType::NodeChildrenChanged
    );
    assert_eq!(
        within("exact 1", exact.changed()).await?.event_type,
        zk::EventType::NodeDataChanged
    );
    assert_eq!(
        within("exact 2", exact.changed()).await?.event_type,
        zk::EventType::NodeChildrenChanged
    );
    assert_eq!(
        within("tree 1", tree.changed()).await?.event_type,
        zk::EventType::NodeDataChanged
    );
    let created = within("tree 2", tree.changed()).await?;
    assert_eq!(
        (created.event_type, created.path.as_str()),
        (zk::EventType::NodeCreated, "/w/k")
    );
    drop(exact);
    Ok(())
}

#[tokio::test]
async fn multi_and_multi_read_results() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = zk_client(&server).await?;
    let mut writer = c.new_multi_writer();
    writer.add_create("/t", b"x", &open(zk::CreateMode::Persistent))?;
    writer.add_set_data("/t", b"y", Some(0))?;
    writer.add_check_version("/t", 1)?;
    let results = writer.commit().await?;
    assert_eq!(results.len(), 3);
    assert!(matches!(results[0], zk::MultiWriteResult::Create { ref path, .. } if path == "/t"));
    assert!(matches!(results[1], zk::MultiWriteResult::SetData { ref stat } if stat.version == 1));
    let mut failing = c.new_multi_writer();
    failing.add_delete("/t", None)?;
    failing.add_check_version("/t", 7)?;
    match failing.commit().await {
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            assert_eq!(
                index, 1,
                "the delete passed, then the check of the deleted node failed"
            );
            assert!(matches!(source, zk::Error::NoNode), "{source:?}");
        }
        other => anyhow::bail!("expected a failed multi, got {other:?}"),
    }
    assert!(c.check_stat("/t").await?.is_some(), "nothing applied");
    let mut reader = c.new_multi_reader();
    reader.add_get_data("/t")?;
    reader.add_get_children("/")?;
    reader.add_get_data("/missing")?;
    let results = reader.commit().await?;
    assert!(matches!(results[0], zk::MultiReadResult::Data { ref data, .. } if data == b"y"));
    assert!(
        matches!(results[1], zk::MultiReadResult::Children { ref children } if children.contains(&"t".to_string()))
    );
    assert!(matches!(
        results[2],
        zk::MultiReadResult::Error {
            err: zk::Error::NoNode
        }
    ));
    Ok(())
}

#[tokio::test]
async fn acls_digest_auth_and_who_am_i() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let bob = zk_client(&server).await?;
    bob.auth("digest", b"bob:secret").await?;
    bob.create(
        "/secret",
        b"s",
        &zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all()),
    )
    .await?;
    let (acl, _) = bob.get_acl("/secret").await?;
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].scheme(), "digest");
    let users = bob.list_auth_users().await?;
    assert!(
        users
            .iter()
            .any(|u| u.scheme() == "digest" && u.user() == "bob"),
        "{users:?}"
    );
    assert!(users.iter().any(|u| u.scheme() == "ip"));
    let eve = zk_client(&server).await?;
    assert!(matches!(
        eve.get_data("/secret").await,
        Err(zk::Error::NoAuth)
    ));
    assert!(matches!(
        eve.create(
            "/x",
            b"",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all())
        )
        .await,
        Err(zk::Error::InvalidAcl)
    ));
    assert!(matches!(
        eve.set_acl("/secret", &zk::Acls::anyone_all(), None).await,
        Err(zk::Error::NoAuth)
    ));
    bob.set_acl("/secret", &zk::Acls::anyone_read(), Some(0))
        .await?;
    assert_eq!(eve.get_data("/secret").await?.0, b"s");
    assert!(matches!(
        eve.set_data("/secret", b"", None).await,
        Err(zk::Error::NoAuth)
    ));
    Ok(())
}

#[tokio::test]
async fn native_and_zookeeper_clients_share_one_tree() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let z = zk_client(&server).await?;
    let native = client::Client::connect(&server.connect_string()).await?;
    let (_, watcher) = z.check_and_watch_stat("/shared").await?;
    native
        .create(
            "/shared",
            b"n",
            client::CreateOptions::mode(client::CreateMode::Ephemeral),
        )
        .await?;
    assert_eq!(
        within("zk sees native create", watcher.changed())
            .await?
            .event_type,
        zk::EventType::NodeCreated
    );
    assert_eq!(z.get_data("/shared").await?.0, b"n");
    let (_, _, native_watch) = native.get_data_watch("/shared").await?;
    z.set_data("/shared", b"z", None).await?;
    let event = within("native sees zk write", native_watch).await??;
    assert_eq!(event.event_type, client::EventType::NodeDataChanged);
    native.close().await?;
    assert_eq!(
        z.check_stat("/shared").await?,
        None,
        "the native session's ephemeral went with it"
    );
    Ok(())
}

#[tokio::test]
async fn session_reattach_and_expiry() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = zk_client(&server).await?;
    c.create("/eph", b"", &open(zk::CreateMode::Ephemeral))
        .await?;
    let mut state = c.state_watcher();
    server.restart().await?;
    // The client library reconnects on its own and keeps its session.
    let observer = zk_client(&server).await?;
    testkit::eventually(WAIT, "the ephemeral to be served again", || async {
        c.check_stat("/eph").await.ok().flatten().is_some()
    })
    .await?;
    let session = c.session_id();
    if let Some(handle) = server.handle() {
        assert!(handle.service().expire_session_now(session.0).await);
    }
    loop {
        let s = within("expired state", state.changed()).await?;
        if s == zk::SessionState::Expired {
            break;
        }
    }
    assert_eq!(observer.check_stat("/eph").await?, None);
    Ok(())
}

#[tokio::test]
async fn get_acl_hides_digests_from_non_admins_and_super_digest_bypasses() -> anyhow::Result<()> {
    let config = core_server::Config {
        super_digest: Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=".into()),
        ..testkit::test_config()
    };
    let server = TestServer::start_with(config).await?;
    let bob = zk_client(&server).await?;
    bob.auth("digest", b"bob:secret").await?;
    let acl = [
        zk::Acl::new(
            zk::Permission::ALL,
            zk::AuthId::new("digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="),
        ),
        zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()),
    ];
    bob.create(
        "/mixed",
        b"m",
        &zk::CreateMode::Persistent.with_acls(zk::Acls::from(&acl[..])),
    )
    .await?;
    let eve = zk_client(&server).await?;
    let (seen, _) = eve.get_acl("/mixed").await?;
    assert_eq!(
        seen[0].id(),
        "bob:x",
        "a reader without ADMIN sees no digest"
    );
    let (seen, _) = bob.get_acl("/mixed").await?;
    assert_eq!(seen[0].id(), "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=");
    assert!(matches!(
        eve.set_data("/mixed", b"", None).await,
        Err(zk::Error::NoAuth)
    ));
    let root = zk_client(&server).await?;
    root.auth("digest", b"super:test").await?;
    root.set_data("/mixed", b"by super", None).await?;
    assert_eq!(eve.get_data("/mixed").await?.0, b"by super");
    Ok(())
}

#[tokio::test]
async fn watches_survive_a_reconnect_through_set_watches() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = zk_client(&server).await?;
    c.create("/rw", b"0", &open(zk::CreateMode::Persistent))
        .await?;
    let (_, _, data) = c.get_and_watch_data("/rw").await?;
    let (_, children) = c.list_and_watch_children("/rw").await?;
    server.restart().await?;
    let w = zk_client(&server).await?;
    // Whether the change lands before or after `c` is back, setWatches
    // delivers it (catch-up on mzxid / pzxid, or the re-registered watch fires).
    w.set_data("/rw", b"1", None).await?;
    w.create("/rw/kid", b"", &open(zk::CreateMode::Persistent))
        .await?;
    assert_eq!(
        within("re-registered data watch", data.changed())
            .await?
            .event_type,
        zk::EventType::NodeDataChanged
    );
    assert_eq!(
        within("re-registered child watch", children.changed())
            .await?
            .event_type,
        zk::EventType::NodeChildrenChanged
    );
    Ok(())
}

/// setWatches2 carries persistent and recursive lists. (The `zookeeper-client`
/// crate 0.11.2 never sends them: its `resend_watches` keeps the list index at
/// 0, so this builds the frames by hand.)
#[tokio::test]
async fn set_watches2_re_registers_persistent_and_recursive_watches() -> anyhow::Result<()> {
    use core_server::api::zk_wire::jute::{Reader, Writer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await?;
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut hello = Writer::frame();
    hello
        .i32(0)
        .i64(0)
        .i32(30_000)
        .i64(0)
        .buffer(Some(&[0u8; 16]))
        .bool(false);
    s.write_all(&hello.finish()).await?;
    let mut set = Writer::frame();
    set.i32(-8).i32(105).i64(0);
    let lists: [&[&str]; 5] = [&[], &[], &[], &["/p"], &["/r"]];
    for list in lists {
        set.strings(&list.iter().map(|p| p.to_string()).collect::<Vec<_>>());
    }
    s.write_all(&set.finish()).await?;
    async fn frame(s: &mut tokio::net::TcpStream) -> anyhow::Result<Vec<u8>> {
        let len = within("a frame", s.read_i32()).await??;
        let mut body = vec![0u8; len as usize];
        s.read_exact(&mut body).await?;
        Ok(body)
    }
    let _connect_response = frame(&mut s).await?;
    let reply = frame(&mut s).await?;
    let mut r = Reader::new(&reply);
    assert_eq!(
        (r.i32()?, r.i64().map(|_| ())?, r.i32()?),
        (-8, (), 0),
        "setWatches2 accepted"
    );
    let other = zk_client(&server).await?;
    other
        .create("/r", b"", &open(zk::CreateMode::Persistent))
        .await?;
    other
        .create("/r/deep", b"", &open(zk::CreateMode::Persistent))
        .await?;
    other
        .create("/p", b"", &open(zk::CreateMode::Persistent))
        .await?;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = frame(&mut s).await?;
        let mut r = Reader::new(&event);
        let (xid, _zxid, _err) = (r.i32()?, r.i64()?, r.i32()?);
        assert_eq!(xid, -1, "a notification");
        let (kind, _state, path) = (r.i32()?, r.i32()?, r.string()?);
        seen.push((kind, path));
    }
    assert_eq!(
        seen,
        vec![
            (1, "/r".to_string()),
            (1, "/r/deep".to_string()),
            (1, "/p".to_string())
        ]
    );
    Ok(())
}
