//! `corral shell`'s `dump` and `load` against a real server (a subtree of a
//! few thousand nodes round-trips under another path, data and ACLs
//! included), and the zkCli commands of session and watch housekeeping
//! (`addWatch`, `printwatches`, `removewatches`, `close`, `connect`,
//! `version`), with zkCli's output where zkCli has the command.

use super::t33_shell::{shell, text};
use client::{perms, Acl, Client, CreateMode, CreateOptions};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::time::Instant;

/// Children of the root, and grandchildren under each.
const FANOUT: usize = 40;
const LEAVES: usize = 60;

/// One node as compared: data (None for null) and ACL.
type Node = (Option<Vec<u8>>, Vec<Acl>);

/// Every node under `root`, by path relative to it.
async fn read_tree(client: &Client, root: &str) -> anyhow::Result<BTreeMap<String, Node>> {
    let mut nodes = BTreeMap::new();
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let path = match relative.as_str() {
            "" => root.to_string(),
            r => format!("{root}/{r}"),
        };
        let (data, _) = client.get_data_opt(&path).await?;
        let (acl, _) = client.get_acl(&path).await?;
        for child in client.get_children(&path).await? {
            pending.push(match relative.as_str() {
                "" => child,
                r => format!("{r}/{child}"),
            });
        }
        nodes.insert(relative, (data, acl));
    }
    Ok(nodes)
}

/// /src: text, empty, null and binary data, a read-only leaf, an inner
/// node without admin rights, and FANOUT × LEAVES leaves.
async fn build_source(client: &Client) -> anyhow::Result<usize> {
    client
        .create("/src", b"root", CreateOptions::default())
        .await?;
    let mut specs: Vec<(String, Option<Vec<u8>>, Vec<Acl>)> = Vec::new();
    let open = Acl::open();
    for i in 0..FANOUT {
        let acl = match i {
            3 => vec![Acl::new(perms::ALL & !perms::ADMIN, "world", "anyone")],
            _ => open.clone(),
        };
        specs.push((
            format!("/src/d{i:02}"),
            Some(format!("dir {i}").into_bytes()),
            acl,
        ));
    }
    let mut leaves = Vec::new();
    for i in 0..FANOUT {
        for j in 0..LEAVES {
            let data = match j % 4 {
                0 => None,
                1 => Some(Vec::new()),
                2 => Some(vec![0xff, 0x00, j as u8, 0x80]),
                _ => Some(format!("leaf {i}/{j} é").into_bytes()),
            };
            let acl = match (i, j) {
                (0, 0) => Acl::read_only(),
                _ => open.clone(),
            };
            leaves.push((format!("/src/d{i:02}/n{j:03}"), data, acl));
        }
    }
    let count = 1 + specs.len() + leaves.len();
    for level in [specs, leaves] {
        futures::stream::iter(level)
            .map(|(path, data, acl)| async move {
                let options = CreateOptions {
                    acl,
                    ..CreateOptions::default()
                };
                client.create_opt(&path, data.as_deref(), options).await
            })
            .buffer_unordered(64)
            .try_collect::<Vec<_>>()
            .await?;
    }
    Ok(count)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dumped_subtree_loads_under_another_path_unchanged() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server.connect_string();
    let client = Client::connect(addr.as_str()).await?;
    let count = build_source(&client).await?;
    // An ephemeral is not dumped: its owner means nothing elsewhere.
    let options = CreateOptions::mode(CreateMode::Ephemeral);
    client.create("/src/d01/eph", b"e", options).await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("src.json");
    let file_arg = file.to_string_lossy().into_owned();

    let started = Instant::now();
    let dump = shell(&addr, &["dump", "/src", &file_arg], "").await?;
    let dump_time = started.elapsed();
    assert!(dump.status.success(), "{}", text(&dump.stderr));
    assert_eq!(
        text(&dump.stdout).trim(),
        format!("Dumped {count} nodes of /src, skipped 1 ephemeral nodes")
    );
    let started = Instant::now();
    let load = shell(&addr, &["load", &file_arg, "/copy/of/src"], "").await?;
    let load_time = started.elapsed();
    assert!(load.status.success(), "{}", text(&load.stderr));
    assert_eq!(
        text(&load.stdout).trim(),
        format!("Loaded {count} nodes: {count} created, 0 updated, 0 existing left unchanged")
    );
    eprintln!("{count} nodes: dump {dump_time:?}, load {load_time:?}");

    let mut source = read_tree(&client, "/src").await?;
    source.remove("d01/eph");
    let copy = read_tree(&client, "/copy/of/src").await?;
    assert_eq!(copy.len(), count);
    assert!(source == copy, "the copy differs from the source");
    assert_eq!(
        copy["d00/n000"],
        (None, Acl::read_only()),
        "null data, ACL r"
    );
    assert_eq!(copy["d00/n001"].0, Some(Vec::new()), "empty data");
    assert_eq!(copy["d00/n002"].0, Some(vec![0xff, 0, 2, 0x80]), "binary");

    // Again: existing nodes are left alone, or overwritten with -f.
    client
        .set_data("/copy/of/src/d05", b"changed", None)
        .await?;
    let again = shell(&addr, &["load", &file_arg, "/copy/of/src"], "").await?;
    assert_eq!(
        text(&again.stdout).trim(),
        format!("Loaded {count} nodes: 0 created, 0 updated, {count} existing left unchanged")
    );
    assert_eq!(client.get_data("/copy/of/src/d05").await?.0, b"changed");
    let forced = shell(&addr, &["load", "-f", &file_arg, "/copy/of/src"], "").await?;
    assert_eq!(
        text(&forced.stdout).trim(),
        format!(
            "Loaded {count} nodes: 0 created, 1 updated, {} existing left unchanged",
            count - 1
        ),
        "only the changed node is written: {}",
        text(&forced.stderr)
    );
    assert_eq!(client.get_data("/copy/of/src/d05").await?.0, b"dir 5");
    client.close().await?;
    Ok(())
}

#[tokio::test]
async fn load_refuses_files_above_the_limit_and_files_that_are_not_dumps() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server.connect_string();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("d.json");
    let file_arg = file.to_string_lossy().into_owned();
    let script = format!("create /a x\ncreate /a/b\ndump /a {file_arg}\n");
    let made = shell(&addr, &[], &script).await?;
    assert!(made.status.success(), "{}", text(&made.stderr));
    let size = std::fs::metadata(&file)?.len();
    let refused = shell(
        &addr,
        &["--load-max-bytes", "10", "load", &file_arg, "/b"],
        "",
    )
    .await?;
    assert!(!refused.status.success());
    assert_eq!(
        text(&refused.stderr).trim(),
        format!("{file_arg} is {size} bytes, above the limit of 10 bytes for load (corral shell --load-max-bytes)")
    );
    std::fs::write(&file, "{\"nodes\": 3}")?;
    let refused = shell(&addr, &["load", &file_arg, "/b"], "").await?;
    assert!(
        text(&refused.stderr).starts_with(&format!("{file_arg} is not a corral dump: ")),
        "{}",
        text(&refused.stderr)
    );
    let output = shell(&addr, &["ls", "/"], "").await?;
    assert_eq!(
        text(&output.stdout).trim(),
        "[a, zookeeper]",
        "nothing loaded"
    );
    Ok(())
}

#[tokio::test]
async fn session_and_watch_housekeeping_print_what_zkcli_prints() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server.connect_string();
    let script = format!(
        "\
create /n
get -w /n
set /n a
printwatches
get -w /n
removewatches /n
removewatches /n
ls -w /
removewatches / -c
addWatch /n
create /n/k
removewatches /n
printwatches off
get -w /n
set /n b
printwatches on
close
ls /
close
connect {addr}
get /n
version
"
    );
    let output = shell(&addr, &[], &script).await?;
    let stdout = text(&output.stdout);
    let blocks = |kind: &str, path: &str| {
        format!("\nWATCHER::\n\nWatchedEvent state:SyncConnected type:{kind} path:{path}\n")
    };
    let expected = [
        "Created /n\n".to_string(),
        "null\n".to_string(),
        blocks("NodeDataChanged", "/n"),
        "printwatches is on\na\n".to_string(),
        blocks("DataWatchRemoved", "/n"),
        "[n, zookeeper]\n".to_string(),
        blocks("ChildWatchRemoved", "/"),
        blocks("PersistentWatchRemoved", "/n"),
        "a\n\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n".to_string(),
        "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\nb\n".to_string(),
        format!("Corral CLI version: {}\n", env!("CARGO_PKG_VERSION")),
    ];
    let mut rest = stdout.as_str();
    for piece in &expected {
        let at = rest
            .find(piece.as_str())
            .ok_or_else(|| anyhow::anyhow!("{piece:?} missing from {rest:?}"))?;
        rest = &rest[at + piece.len()..];
    }
    assert_eq!(
        text(&output.stderr).lines().collect::<Vec<_>>(),
        [
            "KeeperErrorCode = No such watcher for /n",
            "Not connected",
            "Not connected"
        ]
    );
    assert!(
        stdout.contains(&blocks("NodeCreated", "/n/k")),
        "addWatch's event: {stdout}"
    );
    assert_eq!(
        stdout.matches("type:NodeDataChanged").count(),
        1,
        "not while printwatches is off: {stdout}"
    );
    Ok(())
}
