//! Operations: round trips, every error the API can produce, multi, chroot.

use client::{
    Client, ClientBuilder, CreateMode, CreateOptions, Error, ErrorCode, Op, OpResult, ReadOp,
    ReadResult, SessionState, WatcherType,
};
use std::time::Duration;
use testkit::{test_config, TestServer};

#[tokio::test]
async fn create_get_set_delete_round_trip() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    assert_eq!(c.state(), SessionState::Connected);
    let (path, stat) = c.create("/a", b"one", CreateOptions::default()).await?;
    assert_eq!((path.as_str(), stat.version), ("/a", 0));
    let (data, stat) = c.get_data("/a").await?;
    assert_eq!((data.as_slice(), stat.data_length), (&b"one"[..], 3));
    assert_eq!(c.set_data("/a", b"two", Some(0)).await?.version, 1);
    assert_eq!(c.exists("/a").await?.map(|s| s.version), Some(1));
    c.create_opt("/a/null", None, CreateOptions::default())
        .await?;
    assert_eq!(c.get_data_opt("/a/null").await?.0, None);
    assert_eq!(c.get_data("/a/null").await?.0, Vec::<u8>::new());
    let (children, parent) = c.get_children2("/a").await?;
    assert_eq!(
        (children, parent.num_children),
        (vec!["null".to_string()], 1)
    );
    assert_eq!(c.get_all_children_number("/a").await?, 1);
    c.delete("/a/null", Some(0)).await?;
    c.delete("/a", None).await?;
    assert_eq!(c.exists("/a").await?, None);
    c.sync("/").await?;
    let (seq, _) = c
        .create(
            "/s-",
            b"",
            CreateOptions::mode(CreateMode::EphemeralSequential),
        )
        .await?;
    assert!(
        seq.len() == "/s-".len() + 10 && seq.starts_with("/s-"),
        "{seq}"
    );
    assert_eq!(c.get_ephemerals("/").await?, vec![seq.clone()]);
    assert!(c.last_zxid() > 0);
    c.close().await?;
    assert_eq!(c.state(), SessionState::Closed);
    assert!(matches!(c.get_data("/").await, Err(Error::Closed)));
    let other = Client::connect(server.addr()).await?;
    assert_eq!(other.exists(&seq).await?, None, "close removed ephemerals");
    Ok(())
}

#[tokio::test]
async fn every_server_error_maps_to_its_variant() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let none = CreateOptions::default;
    c.create("/p", b"", none()).await?;
    c.create("/p/k", b"", none()).await?;
    c.create("/e", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    let cases: Vec<(Result<(), Error>, ErrorCode)> = vec![
        (c.get_data("/nope").await.map(drop), ErrorCode::NoNode),
        (
            c.create("/p", b"", none()).await.map(drop),
            ErrorCode::NodeExists,
        ),
        (
            c.set_data("/p", b"", Some(9)).await.map(drop),
            ErrorCode::BadVersion,
        ),
        (c.delete("/p", Some(9)).await, ErrorCode::BadVersion),
        (c.delete("/p", None).await, ErrorCode::NotEmpty),
        (
            c.create("/e/k", b"", none()).await.map(drop),
            ErrorCode::NoChildrenForEphemerals,
        ),
        (c.delete("/", None).await, ErrorCode::BadArguments),
        (
            c.create(
                "/t",
                b"",
                CreateOptions::mode(CreateMode::PersistentWithTtl),
            )
            .await
            .map(drop),
            ErrorCode::BadArguments,
        ),
        (
            c.remove_watches("/p", WatcherType::Any).await,
            ErrorCode::NoWatcher,
        ),
        (
            c.check_watches("/p", WatcherType::Data).await,
            ErrorCode::NoWatcher,
        ),
    ];
    for (i, (result, code)) in cases.into_iter().enumerate() {
        match result {
            Err(e) => assert_eq!(e.code(), code, "case {i}: {e}"),
            Ok(()) => anyhow::bail!("case {i}: expected {code}"),
        }
    }
    // Typed variants carry the path of the request.
    assert_eq!(
        c.get_data("/nope").await,
        Err(Error::NoNode {
            path: "/nope".into()
        })
    );
    // Invalid paths are refused before anything is sent.
    for bad in ["", "rel", "/a/", "/a//b", "/a/./b"] {
        assert!(
            matches!(c.exists(bad).await, Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn limits_map_to_too_large_and_too_many_sessions() -> anyhow::Result<()> {
    let config = core_server::Config {
        max_data_bytes: 64,
        max_sessions: 1,
        ..test_config()
    };
    let server = TestServer::start_with(config).await?;
    let c = Client::connect(&server.connect_string()).await?;
    assert_eq!(
        c.create("/big", &[0; 65], CreateOptions::default()).await,
        Err(Error::TooLarge)
    );
    let second = ClientBuilder::new(&server.connect_string())
        .connect_timeout(Duration::from_millis(300))
        .build()
        .await;
    assert!(matches!(second, Err(Error::TooManySessions)), "{second:?}");
    Ok(())
}

#[tokio::test]
async fn multi_reports_results_or_the_failing_code() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = Client::connect(&server.connect_string()).await?;
    let results = c
        .multi(vec![
            Op::Create {
                path: "/m".into(),
                data: b"x".to_vec(),
                options: CreateOptions::default(),
            },
            Op::SetData {
                path: "/m".into(),
                data: b"y".to_vec(),
                version: Some(0),
            },
            Op::Check {
                path: "/m".into(),
                version: Some(1),
            },
            Op::Create {
                path: "/m/k".into(),
                data: Vec::new(),
                options: CreateOptions::default(),
            },
            Op::Delete {
                path: "/m/k".into(),
                version: None,
            },
        ])
        .await?;
    assert!(matches!(&results[0], OpResult::Created { path, .. } if path == "/m"));
    assert!(matches!(results[1], OpResult::DataSet(ref s) if s.version == 1));
    assert_eq!(results[2], OpResult::Checked);
    assert_eq!(results[4], OpResult::Deleted);
    let failed = c
        .multi(vec![
            Op::SetData {
                path: "/m".into(),
                data: b"z".to_vec(),
                version: None,
            },
            Op::Check {
                path: "/m".into(),
                version: Some(0),
            },
            Op::Delete {
                path: "/m".into(),
                version: None,
            },
        ])
        .await;
    assert_eq!(
        failed,
        Err(Error::Multi {
            code: ErrorCode::BadVersion,
            results: vec![
                ErrorCode::Ok,
                ErrorCode::BadVersion,
                ErrorCode::RuntimeInconsistency
            ],
        })
    );
    assert_eq!(c.get_data("/m").await?.0, b"y", "nothing of it applied");
    let reads = c
        .multi_read(vec![
            ReadOp::GetData("/m".into()),
            ReadOp::GetChildren("/".into()),
            ReadOp::GetData("/nope".into()),
        ])
        .await?;
    assert!(matches!(&reads[0], Ok(ReadResult::Data(d, _)) if d == b"y"));
    assert!(matches!(&reads[1], Ok(ReadResult::Children(c, _)) if c.contains(&"m".to_string())));
    assert!(matches!(&reads[2], Err(Error::NoNode { .. })));
    Ok(())
}

#[tokio::test]
async fn chroot_prefixes_requests_and_strips_answers() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let root = Client::connect(&server.connect_string()).await?;
    root.create("/app", b"", CreateOptions::default()).await?;
    root.create("/app2", b"", CreateOptions::default()).await?;
    let c = Client::connect(&format!("{}/app", server.connect_string())).await?;
    let listed = ClientBuilder::new([server.connect_string().as_str()])
        .chroot("/app")
        .build()
        .await?;
    let (path, _) = c
        .create(
            "/s-",
            b"x",
            CreateOptions::mode(CreateMode::EphemeralSequential),
        )
        .await?;
    assert_eq!(path, "/s-0000000000");
    assert_eq!(
        root.get_children("/app").await?,
        vec!["s-0000000000".to_string()]
    );
    assert_eq!(listed.get_data(&path).await?.0, b"x");
    assert_eq!(c.get_ephemerals("").await?, vec![path.clone()]);
    assert_eq!(c.get_ephemerals("/s").await?, vec![path.clone()]);
    let results = c
        .multi(vec![Op::Create {
            path: "/m".into(),
            data: Vec::new(),
            options: CreateOptions::default(),
        }])
        .await?;
    assert!(matches!(&results[0], OpResult::Created { path, .. } if path == "/m"));
    assert!(root.exists("/app/m").await?.is_some());
    assert!(root.exists("/m").await?.is_none());
    assert_eq!(c.get_children("/").await?.len(), 2);
    assert_eq!(c.exists("/").await?.map(|s| s.num_children), Some(2));
    Ok(())
}

#[tokio::test]
async fn acls_and_digest_auth_protect_nodes() -> anyhow::Result<()> {
    use client::{perms, Acl};
    let server = TestServer::start().await?;
    let bob = Client::connect(&server.connect_string()).await?;
    bob.add_auth("digest", b"bob:secret").await?;
    let options = CreateOptions {
        acl: Acl::creator_all(),
        ..CreateOptions::default()
    };
    bob.create("/bob", b"mine", options).await?;
    let (acl, _) = bob.get_acl("/bob").await?;
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].scheme, "digest");
    assert!(
        acl[0].id.starts_with("bob:") && !acl[0].id.ends_with(":x"),
        "the owner sees the digest"
    );
    let who = bob.who_am_i().await?;
    assert!(
        who.contains(&("digest".to_string(), "bob".to_string())),
        "{who:?}"
    );
    assert!(who.iter().any(|(scheme, _)| scheme == "ip"));

    let eve = Client::connect(&server.connect_string()).await?;
    assert!(matches!(
        eve.get_data("/bob").await,
        Err(Error::NoAuth { .. })
    ));
    assert!(matches!(
        eve.set_data("/bob", b"x", None).await,
        Err(Error::NoAuth { .. })
    ));
    assert!(matches!(
        eve.get_acl("/bob").await,
        Err(Error::NoAuth { .. })
    ));
    assert!(matches!(
        eve.add_auth("nope", b"x").await,
        Err(Error::AuthFailed)
    ));
    let denied = eve
        .create(
            "/e",
            b"",
            CreateOptions {
                acl: Acl::creator_all(),
                ..CreateOptions::default()
            },
        )
        .await;
    assert!(
        matches!(denied, Err(Error::InvalidAcl)),
        "auth ACL without an authenticated id"
    );
    eve.add_auth("digest", b"bob:secret").await?;
    assert_eq!(eve.get_data("/bob").await?.0, b"mine");

    let read_only = vec![Acl::new(perms::READ | perms::ADMIN, "world", "anyone")];
    bob.set_acl("/bob", &read_only, Some(0)).await?;
    let public = Client::connect(&server.connect_string()).await?;
    assert_eq!(public.get_data("/bob").await?.0, b"mine");
    assert!(matches!(
        bob.set_acl("/bob", &read_only, Some(0)).await,
        Err(Error::BadVersion { .. })
    ));
    Ok(())
}
