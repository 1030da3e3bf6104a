//! Guarantee: the web console at `/ui` shows the tree as clients left it,
//! pages 100,000 children without rendering them all, hides data a node's
//! ACL denies, changes the tree only for a logged-in browser that carries
//! its CSRF token (with the version checked), pushes changes to an open
//! node page by server-sent events through a bounded queue, and removes
//! the page's watch when the page goes.

use client::{perms, Acl, Client, CreateMode, CreateOptions, Op};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use testkit::http::{self, Answer};
use testkit::{eventually, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(30);

fn persistent() -> CreateOptions {
    CreateOptions::mode(CreateMode::Persistent)
}

async fn start() -> anyhow::Result<(TestServer, Client, SocketAddr)> {
    start_with(testkit::test_config()).await
}

async fn start_with(
    config: core_server::Config,
) -> anyhow::Result<(TestServer, Client, SocketAddr)> {
    let server = TestServer::start_with(config).await?;
    let client = Client::connect(server.connect_string().as_str()).await?;
    let admin = server
        .admin_addr()
        .ok_or_else(|| anyhow::anyhow!("no admin listener"))?;
    Ok((server, client, admin))
}

async fn get(admin: SocketAddr, path: &str, cookie: Option<&str>) -> anyhow::Result<Answer> {
    let headers: Vec<String> = cookie.map(|c| format!("Cookie: {c}")).into_iter().collect();
    http::get_with(admin, path, &headers).await
}

/// Logs in; returns the cookie and the CSRF token of the forms.
async fn login(admin: SocketAddr, user: &str, password: &str) -> anyhow::Result<(String, String)> {
    let answer = http::post_form(
        admin,
        "/ui/login",
        &[],
        &format!("user={user}&password={password}"),
    )
    .await?;
    anyhow::ensure!(answer.status == 303, "login answered {}", answer.status);
    let cookie = answer
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no cookie in {}", answer.head))?
        .to_string();
    let page = get(admin, "/ui", Some(&cookie)).await?;
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("no CSRF token on the page"))?
        .to_string();
    Ok((cookie, csrf))
}

async fn post(admin: SocketAddr, path: &str, cookie: &str, form: &str) -> anyhow::Result<Answer> {
    http::post_form(admin, path, &[format!("Cookie: {cookie}")], form).await
}

#[tokio::test]
async fn node_pages_show_what_clients_wrote_and_hide_what_acls_deny() -> anyhow::Result<()> {
    let (_server, client, admin) = start().await?;
    client
        .create("/app", br#"{"a":1,"b":[true]}"#, persistent())
        .await?;
    client
        .create("/app/child-x", b"\x00\x01hi", persistent())
        .await?;
    let owner = core_server::tree::acl::digest_id("alice:pw").unwrap_or_default();
    let secret = CreateOptions {
        acl: vec![Acl::new(perms::ALL, "digest", &owner)],
        ..persistent()
    };
    client
        .create("/secret", b"the-secret-value", secret)
        .await?;

    let page = get(admin, "/ui/node?path=/app", None).await?;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("cache-control"),
        Some("no-store"),
        "live state is not cached"
    );
    assert!(page.body.contains("child-x"), "{}", page.body);
    assert!(page.body.contains("numChildren"));
    assert!(page.body.contains("world"), "the ACL is shown");
    let json = get(admin, "/ui/node?path=/app&format=json", None).await?;
    assert!(json.body.contains("&#34;a&#34;: 1"), "{}", json.body);
    let hex = get(admin, "/ui/node?path=/app/child-x&format=hex", None).await?;
    assert!(hex.body.contains("00 01 68 69"), "{}", hex.body);
    let root = get(admin, "/ui", None).await?;
    assert!(root.body.contains("/ui/node?path=/app"));

    let hidden = get(admin, "/ui/node?path=/secret", None).await?;
    assert_eq!(hidden.status, 200);
    assert!(hidden.body.contains("no access"));
    assert!(!hidden.body.contains("the-secret-value"));
    let (bob, _) = login(admin, "bob", "pw").await?;
    let still = get(admin, "/ui/node?path=/secret", Some(&bob)).await?;
    assert!(!still.body.contains("the-secret-value"));
    let (alice, _) = login(admin, "alice", "pw").await?;
    let shown = get(admin, "/ui/node?path=/secret", Some(&alice)).await?;
    assert!(shown.body.contains("the-secret-value"), "{}", shown.body);
    assert!(shown.body.contains("logged in as alice"));

    let missing = get(admin, "/ui/node?path=/nope", None).await?;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("NoNode"));
    Ok(())
}

#[tokio::test]
async fn sessions_watches_members_and_charts_pages() -> anyhow::Result<()> {
    let (_server, client, admin) = start().await?;
    client
        .create("/eph", b"", CreateOptions::mode(CreateMode::Ephemeral))
        .await?;
    let _watch = client.exists_watch("/watched").await?;
    let sessions = get(admin, "/ui/sessions", None).await?;
    assert_eq!(sessions.status, 200);
    assert!(
        sessions
            .body
            .contains(&format!("{:#x}", client.session_id())),
        "{}",
        sessions.body
    );
    assert!(sessions.body.contains("/eph"));
    let watches = get(admin, "/ui/watches", None).await?;
    assert!(watches.body.contains("/watched"), "{}", watches.body);
    let members = get(admin, "/ui/members", None).await?;
    assert!(members.body.contains("standalone"), "{}", members.body);
    assert!(members.body.contains("ready"));
    // The sampler takes one sample a second: wait for two of them.
    eventually(LIMIT, "a chart with samples", || async {
        get(admin, "/ui/charts", None)
            .await
            .map(|a| a.status == 200 && a.body.contains("<svg") && !a.body.contains("last 0 s"))
            .unwrap_or(false)
    })
    .await?;
    let svg = get(admin, "/ui/charts/writes.svg", None).await?;
    assert!(svg.body.contains("<svg"));
    assert_eq!(get(admin, "/ui/charts/nope.svg", None).await?.status, 404);
    let script = get(admin, "/ui/assets/ui.js", None).await?;
    assert!(script.body.contains("EventSource"));
    Ok(())
}

#[tokio::test]
async fn writes_need_a_login_and_its_token_and_check_the_version() -> anyhow::Result<()> {
    let (_server, client, admin) = start().await?;
    client.create("/conf", b"v0", persistent()).await?;
    let form = "path=%2Fconf&version=0&data=v1";

    let anonymous = http::post_form(admin, "/ui/set", &[], &format!("csrf=x&{form}")).await?;
    assert_eq!(anonymous.status, 403, "{}", anonymous.body);
    let (cookie, csrf) = login(admin, "carol", "pw").await?;
    let no_token = post(admin, "/ui/set", &cookie, form).await?;
    assert_eq!(no_token.status, 403, "a form without its token is refused");
    let wrong = post(admin, "/ui/set", &cookie, &format!("csrf=other&{form}")).await?;
    assert_eq!(wrong.status, 403);
    let cross = http::post_form(
        admin,
        "/ui/set",
        &[
            format!("Cookie: {cookie}"),
            "Origin: http://evil.example".to_string(),
        ],
        &format!("csrf={csrf}&{form}"),
    )
    .await?;
    assert_eq!(cross.status, 403, "a cross-origin post is refused");
    assert_eq!(client.get_data("/conf").await?.0, b"v0");
    let get_write = get(admin, &format!("/ui/set?csrf={csrf}&{form}"), Some(&cookie)).await?;
    assert_eq!(get_write.status, 405, "writes are POST only");

    let saved = post(admin, "/ui/set", &cookie, &format!("csrf={csrf}&{form}")).await?;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (data, stat) = client.get_data("/conf").await?;
    assert_eq!((data.as_slice(), stat.version), (&b"v1"[..], 1));

    // The page showed version 0 and a client has changed it since.
    let stale = post(admin, "/ui/set", &cookie, &format!("csrf={csrf}&{form}")).await?;
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains("BadVersion"), "{}", stale.body);
    assert_eq!(client.get_data("/conf").await?.0, b"v1");

    let created = post(
        admin,
        "/ui/create",
        &cookie,
        &format!("csrf={csrf}&parent=%2Fconf&name=made&data=hello&mode=persistent&acl=mine"),
    )
    .await?;
    assert_eq!(created.status, 303, "{}", created.body);
    assert!(
        client.get_data("/conf/made").await.is_err(),
        "carol's alone"
    );
    client.add_auth("digest", b"carol:pw").await?;
    assert_eq!(client.get_data("/conf/made").await?.0, b"hello");
    let (acl, _) = client.get_acl("/conf/made").await?;
    assert_eq!(acl.first().map(|a| a.scheme.as_str()), Some("digest"));
    // The node is carol's alone: another user may not change it.
    let (dave, dave_csrf) = login(admin, "dave", "pw").await?;
    let denied = post(
        admin,
        "/ui/set",
        &dave,
        &format!("csrf={dave_csrf}&path=%2Fconf%2Fmade&version=0&data=x"),
    )
    .await?;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied.body.contains("NoAuth"));

    let deleted = post(
        admin,
        "/ui/delete",
        &cookie,
        &format!("csrf={csrf}&path=%2Fconf%2Fmade&version=0"),
    )
    .await?;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert!(client.exists("/conf/made").await?.is_none());

    let out = post(admin, "/ui/logout", &cookie, &format!("csrf={csrf}")).await?;
    assert_eq!(out.status, 303);
    let after = post(
        admin,
        "/ui/set",
        &cookie,
        &format!("csrf={csrf}&path=%2Fconf&version=1&data=z"),
    )
    .await?;
    assert_eq!(after.status, 403, "a logged-out cookie writes nothing");
    Ok(())
}

#[tokio::test]
async fn a_hundred_thousand_children_are_paged() -> anyhow::Result<()> {
    let (_server, client, admin) = start().await?;
    client.create("/big", b"", persistent()).await?;
    for batch in 0..100 {
        let ops = (0..1000)
            .map(|i| Op::Create {
                path: format!("/big/c{:06}", batch * 1000 + i),
                data: Vec::new(),
                options: persistent(),
            })
            .collect();
        client.multi(ops).await?;
    }
    let started = Instant::now();
    let first = get(admin, "/ui/node?path=/big", None).await?;
    let took = started.elapsed();
    assert_eq!(first.status, 200);
    assert!(first.body.contains("Children (100000)"));
    assert!(first.body.contains(">c000000<") && first.body.contains(">c000099<"));
    assert!(!first.body.contains(">c000100<"), "one page of 100");
    assert!(
        first.body.len() < 64 * 1024,
        "page is {} bytes",
        first.body.len()
    );
    assert!(first.body.contains("after=c000099"), "a next-page link");
    let next = get(admin, "/ui/node?path=/big&after=c000099", None).await?;
    assert!(next.body.contains(">c000100<") && !next.body.contains(">c000099<"));
    let last = get(admin, "/ui/node?path=/big&after=c099949&limit=1000", None).await?;
    assert!(last.body.contains(">c099999<") && !last.body.contains("id=\"next\""));
    let filtered = get(admin, "/ui/node?path=/big&prefix=c0543", None).await?;
    assert!(filtered.body.contains(">c054300<") && filtered.body.contains(">c054399<"));
    assert!(!filtered.body.contains(">c054400<") && !filtered.body.contains(">c000000<"));
    assert!(!filtered.body.contains("id=\"next\""), "exactly 100 match");
    eprintln!(
        "first page of 100,000 children: {took:?}, {} bytes",
        first.body.len()
    );
    Ok(())
}

/// An open event stream: the request sent, the headers read.
async fn open_events(
    admin: SocketAddr,
    path: &str,
    receive_buffer: Option<u32>,
) -> anyhow::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(bytes) = receive_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    let mut stream = socket.connect(admin).await?;
    let request = format!("GET /ui/events?path={path} HTTP/1.1\r\nHost: {admin}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    read_until(&mut stream, "hello").await?;
    Ok(stream)
}

/// Reads the stream until `needle` has come.
async fn read_until(stream: &mut tokio::net::TcpStream, needle: &str) -> anyhow::Result<String> {
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(LIMIT, async {
        while !seen.contains(needle) {
            let n = stream.read(&mut buf).await?;
            anyhow::ensure!(n > 0, "stream ended before {needle:?}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        Ok(())
    })
    .await
    .map_err(|_| anyhow::anyhow!("no {needle:?} within {LIMIT:?}"))??;
    Ok(seen)
}

async fn watched(admin: SocketAddr, path: &str) -> bool {
    http::get(admin, "/commands/wchp")
        .await
        .map(|a| a.body.contains(&format!("\"{path}\"")))
        .unwrap_or(true)
}

#[tokio::test]
async fn an_open_page_gets_changes_and_its_watch_goes_with_it() -> anyhow::Result<()> {
    let (_server, client, admin) = start().await?;
    client.create("/live", b"0", persistent()).await?;
    let mut stream = open_events(admin, "/live", None).await?;
    assert!(watched(admin, "/live").await, "the page watches its node");
    client.set_data("/live", b"1", None).await?;
    read_until(&mut stream, "NodeDataChanged").await?;
    client.create("/live/kid", b"", persistent()).await?;
    read_until(&mut stream, "NodeChildrenChanged").await?;
    drop(stream);
    eventually(LIMIT, "the closed page's watch removed", || async {
        !watched(admin, "/live").await
    })
    .await?;
    // A page on a node not there yet waits for it.
    let mut early = open_events(admin, "/later", None).await?;
    client.create("/later", b"", persistent()).await?;
    read_until(&mut early, "NodeCreated").await?;
    Ok(())
}

#[tokio::test]
async fn a_page_that_does_not_read_is_dropped_not_buffered() -> anyhow::Result<()> {
    // The default bound (64 KiB of events per page) holds a burst of 500
    // child events (about 19 KiB) for a page that reads.
    let (_server, client, admin) = start().await?;
    client.create("/flood", b"", persistent()).await?;
    // A page that reads nothing more, behind a small receive window, and
    // one that reads everything.
    let _slow = open_events(admin, "/flood", Some(4096)).await?;
    let mut reader = open_events(admin, "/flood", None).await?;
    let (count_tx, count_rx) = tokio::sync::watch::channel(0usize);
    let reading = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = 0;
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
            seen += String::from_utf8_lossy(&buf[..n])
                .matches("NodeChildrenChanged")
                .count();
            let _ = count_tx.send(seen);
        }
    });
    let watchers = |admin| async move {
        let body = http::get(admin, "/commands/wchp")
            .await
            .map(|a| a.body)
            .unwrap_or_default();
        body.split("\"/flood\":[")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .map_or(0, |ids| ids.split(',').filter(|id| !id.is_empty()).count())
    };
    assert_eq!(watchers(admin).await, 2);
    let mut events = 0;
    let deadline = Instant::now() + LIMIT;
    while watchers(admin).await == 2 {
        anyhow::ensure!(Instant::now() < deadline, "the slow page was never dropped");
        let ops = (0..500)
            .map(|i| Op::Create {
                path: format!("/flood/n{events}-{i}"),
                data: Vec::new(),
                options: persistent(),
            })
            .collect();
        client.multi(ops).await?;
        events += 500;
        // The reading page keeps up before the next burst.
        let mut count = count_rx.clone();
        tokio::time::timeout(LIMIT, count.wait_for(|seen| *seen >= events)).await??;
    }
    assert_eq!(watchers(admin).await, 1, "the reading page is still there");
    eprintln!("slow page dropped after {events} child events; the reading page got them all");
    client.set_data("/flood", b"x", None).await?;
    reading.abort();
    Ok(())
}

#[tokio::test]
async fn a_write_through_a_followers_console_is_replicated() -> anyhow::Result<()> {
    use testkit::cluster::{Cluster, ClusterOptions, InProcessCluster};
    let c = InProcessCluster::start(ClusterOptions::default()).await?;
    let leader = c.leader(LIMIT).await?;
    let follower = c
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .ok_or_else(|| anyhow::anyhow!("no follower"))?;
    let admin = c
        .admin_addr(follower)
        .ok_or_else(|| anyhow::anyhow!("no admin listener"))?;
    eventually(LIMIT, "the follower ready", || async {
        http::get(admin, "/readyz")
            .await
            .map(|a| a.status == 200)
            .unwrap_or(false)
    })
    .await?;
    let (cookie, csrf) = login(admin, "erin", "pw").await?;
    let created = post(
        admin,
        "/ui/create",
        &cookie,
        &format!("csrf={csrf}&parent=%2F&name=via-follower&data=hello&mode=persistent&acl=open"),
    )
    .await?;
    assert_eq!(created.status, 303, "{}", created.body);
    let on_leader = Client::connect(c.connect_string(&[leader]).as_str()).await?;
    let (data, _) = on_leader.get_data_linearizable("/via-follower").await?;
    assert_eq!(data, b"hello");

    let members = get(c.admin_addr(leader).unwrap_or(admin), "/ui/members", None).await?;
    assert!(members.body.contains("leader"), "{}", members.body);
    assert_eq!(members.body.matches("<tr><td>").count(), c.ids().len());
    assert!(members.body.contains("in sync"), "{}", members.body);
    Ok(())
}
