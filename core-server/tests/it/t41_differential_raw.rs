//! Differential test, byte level: requests no ordinary client library would
//! send (invalid paths, frames over jute.maxbuffer, odd create flags inside
//! multi), sent with bare jute frames to Apache ZooKeeper 3.8 and to Corral;
//! every step's outcome (error codes, result types, created names, closed
//! connections) must match. Like `t41_differential` it needs a reference
//! server: `scripts/zk-differential.sh` runs both (issue 14).

use crate::raw_zk::{self, Body, RawZk};
use std::net::SocketAddr;

/// Invalid (and a few valid) paths, `{r}` standing for the test's root.
const PATHS: [&str; 16] = [
    "",
    "a",
    "a/b",
    "/",
    "{r}/",
    "{r}//a",
    "{r}/./a",
    "{r}/.",
    "{r}/..",
    "{r}/a/",
    "{r}/a\0",
    "{r}/\u{1}",
    "{r}/missing/",
    "{r}/a//",
    "/zookeeper",
    "{r}/a",
];

/// One request's outcome: its error code, or that the connection closed.
async fn outcome(zk: &mut RawZk, frame: &[u8]) -> anyhow::Result<String> {
    Ok(match zk.call_or_closed(frame).await? {
        Some(header) => header.err.to_string(),
        None => "closed".to_string(),
    })
}

async fn path_steps(zk: &mut RawZk, root: &str, log: &mut Vec<String>) -> anyhow::Result<()> {
    use raw_zk::{create_body, path_body, request, watch_body};
    for template in PATHS {
        let p = template.replace("{r}", root);
        let bodies: [(&str, i32, Body); 12] = [
            ("getData", raw_zk::OP_GET_DATA, watch_body(&p, false)),
            ("exists", raw_zk::OP_EXISTS, watch_body(&p, false)),
            (
                "getChildren",
                raw_zk::OP_GET_CHILDREN,
                watch_body(&p, false),
            ),
            (
                "getChildren2",
                raw_zk::OP_GET_CHILDREN2,
                watch_body(&p, false),
            ),
            ("getACL", raw_zk::OP_GET_ACL, path_body(&p)),
            ("allChildren", raw_zk::OP_ALL_CHILDREN_NUMBER, path_body(&p)),
            (
                "setData",
                raw_zk::OP_SET_DATA,
                Body::default().string(&p).bytes(b"").i32(-1),
            ),
            ("setACL", 7, Body::default().string(&p).open_acl().i32(-1)),
            ("sync", raw_zk::OP_SYNC, path_body(&p)),
            (
                "delete",
                raw_zk::OP_DELETE,
                Body::default().string(&p).i32(99),
            ),
            ("create", raw_zk::OP_CREATE, create_body(&p, b"", 0, None)),
            ("multiCheck", raw_zk::OP_MULTI, Body::default()),
        ];
        let mut codes = Vec::new();
        for (name, opcode, body) in bodies {
            let frame = if opcode == raw_zk::OP_MULTI {
                raw_zk::multi(
                    1,
                    vec![(raw_zk::OP_CHECK, Body::default().string(&p).i32(-1))],
                )
            } else {
                request(1, opcode, body)
            };
            let (header, reply) = zk.call_frame(&frame).await?;
            let code = if opcode == raw_zk::OP_MULTI && header.err == 0 {
                format!("{:?}", multi_shape(&reply, root)?)
            } else {
                header.err.to_string()
            };
            codes.push(format!("{name} {code}"));
        }
        log.push(format!("{template:?}: {}", codes.join(", ")));
    }
    // A sequential create may end with a slash, or with a dot.
    for suffix in ["/a/", "/."] {
        let frame = request(
            2,
            raw_zk::OP_CREATE,
            create_body(&format!("{root}{suffix}"), b"", 2, None),
        );
        let (header, reply) = zk.call_frame(&frame).await?;
        let name =
            String::from_utf8_lossy(reply.get(20..).unwrap_or_default()).replace(root, "{r}");
        log.push(format!("sequential {suffix:?}: {} {name}", header.err));
    }
    // exists leaves a watch on the path as given; a NUL is refused first.
    for template in ["{r}/", "{r}/./x", "{r}/\u{1}", "{r}/x\0"] {
        let p = template.replace("{r}", root);
        let exists = outcome(zk, &request(3, raw_zk::OP_EXISTS, watch_body(&p, true))).await?;
        let check = Body::default().string(&p).i32(2);
        let watch = outcome(zk, &request(4, raw_zk::OP_CHECK_WATCHES, check)).await?;
        log.push(format!(
            "exists+watch {template:?}: {exists}, checkWatches {watch}"
        ));
    }
    Ok(())
}

/// A multi reply as (type, err, name) with the root written `{r}`.
fn multi_shape(reply: &[u8], root: &str) -> anyhow::Result<Vec<(i32, i32, String)>> {
    Ok(raw_zk::multi_results(reply)?
        .into_iter()
        .map(|(kind, err, path)| (kind, err, path.replace(root, "{r}")))
        .collect())
}

async fn multi_steps(zk: &mut RawZk, root: &str, log: &mut Vec<String>) -> anyhow::Result<()> {
    let r = |s: &str| format!("{root}{s}");
    let create =
        |p: String, flags: i32| (raw_zk::OP_CREATE, raw_zk::create_body(&p, b"", flags, None));
    let create_ttl = |p: String, flags: i32, ttl: i64| {
        (
            raw_zk::OP_CREATE_TTL,
            raw_zk::create_body(&p, b"", flags, Some(ttl)),
        )
    };
    let check = |p: String, v: i32| (raw_zk::OP_CHECK, Body::default().string(&p).i32(v));
    let set = |p: String| {
        (
            raw_zk::OP_SET_DATA,
            Body::default().string(&p).bytes(b"").i32(-1),
        )
    };
    let delete = |p: &str| (raw_zk::OP_DELETE, Body::default().string(p).i32(-1));
    let cases: Vec<(&str, Vec<(i32, Body)>)> = vec![
        ("createTTL flag0 ttl100", vec![create_ttl(r("/m1"), 0, 100)]),
        ("createTTL flag0 ttl0", vec![create_ttl(r("/m2"), 0, 0)]),
        ("createTTL flag4 ttl100", vec![create_ttl(r("/m3"), 4, 100)]),
        ("createTTL flag2 ttl5", vec![create_ttl(r("/m4-"), 2, 5)]),
        ("createTTL flag1 ttl5", vec![create_ttl(r("/m5"), 1, 5)]),
        ("createTTL flag7 ttl5", vec![create_ttl(r("/m6"), 7, 5)]),
        ("createTTL flag5 ttl-1", vec![create_ttl(r("/m7"), 5, -1)]),
        (
            "create, createTTL ttl0, create",
            vec![
                create(r("/m8a"), 0),
                create_ttl(r("/m8"), 5, 0),
                create(r("/m8b"), 0),
            ],
        ),
        (
            "bad check, createTTL ttl0",
            vec![check(r(""), 77), create_ttl(r("/m9"), 5, 0)],
        ),
        (
            "create, createTTL ttl0, setData",
            vec![
                create(r("/m10"), 0),
                create_ttl(r("/m10b"), 5, 0),
                set(r("")),
            ],
        ),
        (
            "create, create flag7, create",
            vec![
                create(r("/m11a"), 0),
                create(r("/m11"), 7),
                create(r("/m11b"), 0),
            ],
        ),
        (
            "bad check, create flag7",
            vec![check(r(""), 77), create(r("/m12"), 7)],
        ),
        ("create flag4", vec![create(r("/m13"), 4)]),
        (
            "create2 flag4",
            vec![(
                raw_zk::OP_CREATE2,
                raw_zk::create_body(&r("/m14"), b"", 4, None),
            )],
        ),
        (
            "createContainer flag0",
            vec![(
                raw_zk::OP_CREATE_CONTAINER,
                raw_zk::create_body(&r("/m15"), b"", 0, None),
            )],
        ),
        (
            "createContainer flag4",
            vec![(
                raw_zk::OP_CREATE_CONTAINER,
                raw_zk::create_body(&r("/m16"), b"", 4, None),
            )],
        ),
        ("create flag5", vec![create(r("/m17"), 5)]),
        (
            "create, setData bad path",
            vec![create(r("/m18"), 0), set(r("/"))],
        ),
        ("delete a/b", vec![delete("a/b")]),
        ("delete a", vec![delete("a")]),
        ("delete {r}/x/", vec![delete(&r("/x/"))]),
        ("sequential {r}/", vec![create(r("/"), 2)]),
    ];
    for (name, ops) in cases {
        let (header, reply) = zk.call_frame(&raw_zk::multi(5, ops)).await?;
        let shape = if header.err == 0 {
            format!("{:?}", multi_shape(&reply, root)?)
        } else {
            format!("header err {}", header.err)
        };
        log.push(format!("multi {name}: {shape}"));
    }
    // Alone, createTTL with another mode is BadArguments (3.8 crashes on a
    // negative TTL there, so that one is not sent to it); so is a TTL flag
    // through createContainer.
    for (flags, ttl) in [(0, 100), (0, 0), (4, 100), (7, 100), (5, 0), (5, 1 << 40)] {
        let body = raw_zk::create_body(&r("/alone"), b"", flags, Some(ttl));
        let code = outcome(zk, &raw_zk::request(6, raw_zk::OP_CREATE_TTL, body)).await?;
        log.push(format!("createTTL flags {flags} ttl {ttl}: {code}"));
    }
    for (opcode, flags) in [
        (raw_zk::OP_CREATE_CONTAINER, 5),
        (raw_zk::OP_CREATE_CONTAINER, 7),
        (raw_zk::OP_CREATE, 5),
        (raw_zk::OP_CREATE2, 5),
    ] {
        let body = raw_zk::create_body(&r(&format!("/c{opcode}-{flags}")), b"", flags, None);
        let code = outcome(zk, &raw_zk::request(7, opcode, body)).await?;
        log.push(format!("op {opcode} flags {flags}: {code}"));
    }
    Ok(())
}

/// A setData frame whose body is exactly `frame_len` bytes.
fn set_data_of_frame_len(path: &str, frame_len: usize) -> Vec<u8> {
    let overhead = 4 + 4 + (4 + path.len()) + 4 + 4;
    raw_zk::set_data(1, path, &vec![b'x'; frame_len.saturating_sub(overhead)])
}

async fn frame_steps(addr: SocketAddr, root: &str, log: &mut Vec<String>) -> anyhow::Result<()> {
    const JUTE_MAXBUFFER: usize = 0xfffff;
    let mut zk = RawZk::connect(addr).await?;
    let at_limit = outcome(&mut zk, &set_data_of_frame_len(root, JUTE_MAXBUFFER)).await?;
    log.push(format!("frame of jute.maxbuffer bytes: {at_limit}"));
    let watch = raw_zk::request(
        2,
        raw_zk::OP_EXISTS,
        raw_zk::watch_body(&format!("{root}/w"), true),
    );
    log.push(format!(
        "exists+watch {{r}}/w: {}",
        outcome(&mut zk, &watch).await?
    ));
    let over = outcome(&mut zk, &set_data_of_frame_len(root, JUTE_MAXBUFFER + 1)).await?;
    log.push(format!("frame one byte over: {over}"));
    let mut again = RawZk::reattach(addr, zk.session_id, &zk.password).await?;
    log.push("session reattached".to_string());
    let (header, reply) = again.call_frame(&raw_zk::get_data(3, root)).await?;
    log.push(format!("data kept: {} {} bytes", header.err, reply.len()));
    let check = Body::default().string(&format!("{root}/w")).i32(2);
    let check = raw_zk::request(4, raw_zk::OP_CHECK_WATCHES, check);
    log.push(format!(
        "old watch, checkWatches: {}",
        outcome(&mut again, &check).await?
    ));
    let mut other = RawZk::connect(addr).await?;
    let made = outcome(&mut other, &raw_zk::create(1, &format!("{root}/w"), b"")).await?;
    let sync = raw_zk::request(5, raw_zk::OP_SYNC, raw_zk::path_body(root));
    let (events, header) = again.call_with_events(&sync).await?;
    log.push(format!(
        "create {{r}}/w: {made}; notifications before sync {}: {}",
        header.err,
        events.len()
    ));
    let mib = vec![b'y'; 1 << 20];
    let mut zk = RawZk::connect(addr).await?;
    let missing = raw_zk::set_data(1, &format!("{root}/missing"), &mib);
    log.push(format!(
        "1 MiB setData on a missing node: {}",
        outcome(&mut zk, &missing).await?
    ));
    let mut zk = RawZk::connect(addr).await?;
    let big = raw_zk::create(1, &format!("{root}/big"), &mib);
    log.push(format!("1 MiB create: {}", outcome(&mut zk, &big).await?));
    Ok(())
}

/// Where 3.8.0 and 3.9 differ (Corral runs with `zk_compat = "3.8"`):
/// exists on a node without READ, and the zxid of a notification (whether
/// it is -1).
async fn compat_steps(addr: SocketAddr, root: &str, log: &mut Vec<String>) -> anyhow::Result<()> {
    let mut zk = RawZk::connect(addr).await?;
    let hidden = format!("{root}/hidden");
    let write_only = Body::default()
        .string(&hidden)
        .bytes(b"s")
        .i32(1)
        .i32(2)
        .string("world")
        .string("anyone")
        .i32(0);
    let made = outcome(&mut zk, &raw_zk::request(1, raw_zk::OP_CREATE, write_only)).await?;
    let exists = raw_zk::request(2, raw_zk::OP_EXISTS, raw_zk::watch_body(&hidden, false));
    let exists = outcome(&mut zk, &exists).await?;
    log.push(format!("create write-only: {made}; exists: {exists}"));
    let watched = format!("{root}/watched");
    zk.call(&raw_zk::create(3, &watched, b"")).await?;
    let watch = raw_zk::request(4, raw_zk::OP_GET_DATA, raw_zk::watch_body(&watched, true));
    zk.call(&watch).await?;
    let (mut events, _) = zk
        .call_with_events(&raw_zk::set_data(5, &watched, b"x"))
        .await?;
    if events.is_empty() {
        let sync = raw_zk::request(6, raw_zk::OP_SYNC, raw_zk::path_body(root));
        events = zk.call_with_events(&sync).await?.0;
    }
    let zxids: Vec<String> = events
        .iter()
        .map(|e| match raw_zk::header(e) {
            Ok(h) if h.zxid == -1 => "-1".to_string(),
            Ok(_) => "the change's".to_string(),
            Err(e) => format!("{e}"),
        })
        .collect();
    log.push(format!("notification zxids: {zxids:?}"));
    Ok(())
}

/// A notification as `type path`.
fn describe_event(frame: &[u8]) -> String {
    let int = |at: usize| {
        frame
            .get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(kind), Some(len)) = (int(16), int(24)) else {
        return format!("short event frame of {} bytes", frame.len());
    };
    let path = frame
        .get(28..28 + len.max(0) as usize)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    format!("{kind} {path}")
}

/// Watch events are filtered by READ (ZooKeeper 3.8.4+ / 3.9.2+, and the
/// CVE-2024-23944 fix Debian's 3.8.0 carries): a watcher without READ on a
/// node is not told about it, by a recursive watch or a one-shot one.
async fn acl_filter_steps(
    addr: SocketAddr,
    root: &str,
    log: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut writer = RawZk::connect(addr).await?;
    let mut watcher = RawZk::connect(addr).await?;
    let base = format!("{root}/filtered");
    let unreadable = format!("{base}/unreadable");
    let child = format!("{unreadable}/c");
    let open = format!("{base}/open");
    writer.call(&raw_zk::create(1, &base, b"")).await?;
    let all_but_read = Body::default()
        .string(&unreadable)
        .bytes(b"s")
        .i32(1)
        .i32(30)
        .string("world")
        .string("anyone")
        .i32(0);
    writer
        .call(&raw_zk::request(2, raw_zk::OP_CREATE, all_but_read))
        .await?;
    writer.call(&raw_zk::create(3, &open, b"")).await?;
    watcher.call(&raw_zk::add_recursive_watch(1, &base)).await?;
    let exists = raw_zk::request(2, raw_zk::OP_EXISTS, raw_zk::watch_body(&unreadable, true));
    watcher.call(&exists).await?;
    writer.call(&raw_zk::set_data(4, &unreadable, b"x")).await?;
    writer.call(&raw_zk::create(5, &child, b"")).await?;
    let delete = raw_zk::path_body(&child).i32(-1);
    writer
        .call(&raw_zk::request(6, raw_zk::OP_DELETE, delete))
        .await?;
    writer.call(&raw_zk::set_data(7, &open, b"y")).await?;
    let sync = raw_zk::request(3, raw_zk::OP_SYNC, raw_zk::path_body(&base));
    let mut events = watcher.call_with_events(&sync).await?.0;
    events.extend(
        watcher
            .call_with_events(&raw_zk::get_data(4, &open))
            .await?
            .0,
    );
    let seen: Vec<String> = events.iter().map(|e| describe_event(e)).collect();
    log.push(format!("events of a watcher without READ: {seen:?}"));
    Ok(())
}

async fn script(addr: SocketAddr, root: &str) -> anyhow::Result<Vec<String>> {
    let mut zk = RawZk::connect(addr).await?;
    let mut log = Vec::new();
    for p in [root.to_string(), format!("{root}/a")] {
        log.push(format!(
            "create: {}",
            outcome(&mut zk, &raw_zk::create(1, &p, b"")).await?
        ));
    }
    path_steps(&mut zk, root, &mut log).await?;
    multi_steps(&mut zk, root, &mut log).await?;
    frame_steps(addr, root, &mut log).await?;
    compat_steps(addr, root, &mut log).await?;
    acl_filter_steps(addr, root, &mut log).await?;
    Ok(log)
}

#[tokio::test]
#[ignore = "needs a reference ZooKeeper: run scripts/zk-differential.sh"]
async fn corral_matches_apache_zookeeper_byte_for_byte() -> anyhow::Result<()> {
    let reference: SocketAddr = std::env::var("CORRAL_ZK_REFERENCE")
        .map_err(|_| {
            anyhow::anyhow!("set CORRAL_ZK_REFERENCE=host:port of a ZooKeeper 3.8 server")
        })?
        .parse()?;
    let server =
        testkit::TestServer::start_with(crate::t41_differential::as_zookeeper_3_8()).await?;
    let corral = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    let root = format!("/diffraw-{}", std::process::id());
    let expected = script(reference, &root).await?;
    let actual = script(corral, &root).await?;
    let mut mismatches = Vec::new();
    for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
        println!("{i:2} zookeeper: {e}");
        if e != a {
            println!("{i:2} corral:    {a}   <-- differs");
            mismatches.push(i);
        }
    }
    assert_eq!(expected.len(), actual.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} steps differ: {mismatches:?}",
        mismatches.len(),
        expected.len()
    );
    Ok(())
}

#[tokio::test]
async fn a_watcher_without_read_is_not_told_in_either_compat_mode() -> anyhow::Result<()> {
    use core_server::config::ZkCompat;
    for compat in [ZkCompat::V3_8, ZkCompat::V3_9] {
        let (_server, addr) = crate::t48_zk_compat::zk_server(compat).await?;
        let mut log = Vec::new();
        acl_filter_steps(addr, "", &mut log).await?;
        assert_eq!(
            log,
            vec![
                "events of a watcher without READ: [\"1 /filtered/unreadable/c\", \
                 \"2 /filtered/unreadable/c\", \"3 /filtered/open\"]"
                    .to_string()
            ]
        );
    }
    Ok(())
}
