//! Guarantee: ZooKeeper clients authenticate with SASL DIGEST-MD5 against
//! the users of a JAAS file as they do against Apache ZooKeeper: kazoo
//! (pure-sasl) and `zookeeper-client` (rsasl) complete the exchange and hold
//! `sasl:NAME`; a `sasl:bob` ACL admits bob only (and the SASL super user);
//! a wrong password or unknown user gets AuthFailed and loses only its own
//! connection; the native API accepts the same users with scheme `sasl`;
//! and without users the request is answered as ZooKeeper does then.

use crate::raw_zk::{self, framed, handshake, header, read_frame, Body};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::{test_config, TestServer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use zookeeper_client as zk;

const JAAS: &str = r#"
/* Users as ZooKeeper's DigestLoginModule takes them. */
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_admin="admin\"secret"
    user_bob="bobsecret"
    user_eve="evesecret";
};
// What a zkCli user keeps beside it: not read by the server.
Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="bob" password="bobsecret";
};
"#;

const OP_SASL: i32 = 102;
const AUTH_FAILED: i32 = -115;
const LIMIT: Duration = Duration::from_secs(20);

/// A server with the JAAS users above and `admin` as SASL super user.
async fn sasl_server(dir: &Path) -> anyhow::Result<TestServer> {
    let jaas = dir.join("jaas.conf");
    std::fs::write(&jaas, JAAS)?;
    TestServer::start_with(core_server::Config {
        sasl_users_file: Some(jaas),
        sasl_super_user: Some("admin".into()),
        ..test_config()
    })
    .await
}

fn zk_addr(server: &TestServer) -> anyhow::Result<SocketAddr> {
    server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no ZooKeeper port"))
}

/// kazoo 2.11 with pure-sasl, installed once from PyPI under the test
/// target's temporary folder.
fn kazoo_path() -> anyhow::Result<PathBuf> {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let target = cache.join("kazoo-2.11.0-pure-sasl-0.6.2");
    if target.join("puresasl").is_dir() && target.join("kazoo").is_dir() {
        return Ok(target);
    }
    let staging = cache.join("kazoo-sasl.partial");
    let _ = std::fs::remove_dir_all(&staging);
    let out = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--root-user-action=ignore", "--target"])
        .arg(&staging)
        .args(["kazoo==2.11.0", "pure-sasl==0.6.2"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pip install kazoo pure-sasl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&staging, &target)?;
    Ok(target)
}

/// Runs `script` with kazoo importable and `args` as `sys.argv[1:]`;
/// returns its standard output, failing if the script failed.
async fn kazoo(script: &'static str, args: Vec<String>) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let path = kazoo_path()?;
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(&args)
            .env("PYTHONPATH", path)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        anyhow::ensure!(
            out.status.success(),
            "kazoo script failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(stdout)
    })
    .await?
}

const KAZOO_SCRIPT: &str = r#"
import logging, sys, threading
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl

hosts = sys.argv[1]

def connect(user=None, password=None):
    options = None
    if user is not None:
        options = {"mechanism": "DIGEST-MD5", "username": user, "password": password}
    c = KazooClient(hosts=hosts, sasl_options=options, timeout=10)
    c.start(timeout=15)
    return c

class Failures(logging.Handler):
    """kazoo's connection thread logs 'AUTH_FAILED closing: REASON' when it
    gives up: an empty reason is the server's AuthFailed reply, 'Connection
    dropped in SASL' a connection closed without one."""
    def __init__(self):
        super().__init__()
        self.reasons = []
        self.seen = threading.Event()
    def emit(self, record):
        text = record.getMessage()
        if text.startswith("AUTH_FAILED closing:"):
            self.reasons.append(text[len("AUTH_FAILED closing:"):].strip())
            self.seen.set()

def refused(user, password):
    failures = Failures()
    logging.getLogger("kazoo.client").addHandler(failures)
    c = KazooClient(hosts=hosts, timeout=10,
                    sasl_options={"mechanism": "DIGEST-MD5", "username": user, "password": password})
    # kazoo reports CONNECTED before its SASL exchange ends, so start() may
    # return or time out: wait for the failure instead.
    c.start_async()
    assert failures.seen.wait(15), "no AUTH_FAILED for " + user
    logging.getLogger("kazoo.client").removeHandler(failures)
    reason = failures.reasons[0] or "reply"
    print(user, "AuthFailed", reason)
    c.stop()
    c.close()

bob = connect("bob", "bobsecret")
bob.create("/sasl-bob", b"hello", acl=[make_acl("sasl", "bob", all=True)])
data, _ = bob.get("/sasl-bob")
print("bob read", data.decode())
acl, _ = bob.get_acls("/sasl-bob")
print("acl", acl[0].id.scheme, acl[0].id.id, acl[0].perms)

for who in [("eve", "evesecret"), (None, None)]:
    c = connect(*who)
    try:
        c.get("/sasl-bob")
        print(who[0], "read allowed")
    except NoAuthError:
        print(who[0], "NoAuthError")
    c.stop()
    c.close()

admin = connect("admin", 'admin"secret')
print("admin read", admin.get("/sasl-bob")[0].decode())
admin.stop()
admin.close()

refused("bob", "wrong")
# An unknown user with a known user's password: refused, as ZooKeeper 3.9.3+
# does (3.8 let it in after that user had logged in: ZOOKEEPER-4839).
refused("mallory", "bobsecret")

# The failures harmed no one else: bob's session still works.
bob.set("/sasl-bob", b"still")
print("bob after", bob.get("/sasl-bob")[0].decode())
bob.stop()
bob.close()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_authenticates_with_digest_md5_and_sasl_acls_hold() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = sasl_server(dir.path()).await?;
    let out = kazoo(KAZOO_SCRIPT, vec![zk_addr(&server)?.to_string()]).await?;
    for line in [
        "bob read hello",
        "acl sasl bob 31",
        "eve NoAuthError",
        "None NoAuthError",
        "admin read hello",
        "bob AuthFailed reply",
        "mallory AuthFailed reply",
        "bob after still",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
    }
    Ok(())
}

async fn zk_sasl(addr: SocketAddr, user: &str, password: &str) -> Result<zk::Client, zk::Error> {
    zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .with_sasl(zk::SaslOptions::digest_md5(
            user.to_string(),
            password.to_string(),
        ))
        .connect(&addr.to_string())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_client_library_authenticates_and_who_am_i_names_the_user() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = sasl_server(dir.path()).await?;
    let addr = zk_addr(&server)?;
    let bob = zk_sasl(addr, "bob", "bobsecret").await?;
    let ids = bob.list_auth_users().await?;
    assert!(ids.contains(&zk::AuthUser::new("sasl", "bob")), "{ids:?}");
    let acl = [zk::Acl::new(
        zk::Permission::ALL,
        zk::AuthId::new("sasl", "bob"),
    )];
    bob.create(
        "/z",
        b"z",
        &zk::CreateMode::Persistent.with_acls(zk::Acls::from(&acl[..])),
    )
    .await?;
    let eve = zk_sasl(addr, "eve", "evesecret").await?;
    assert!(matches!(eve.get_data("/z").await, Err(zk::Error::NoAuth)));
    // The super user's whoAmI says so; it reads everything.
    let admin = zk_sasl(addr, "admin", "admin\"secret").await?;
    let ids = admin.list_auth_users().await?;
    assert!(ids.contains(&zk::AuthUser::new("sasl", "admin")), "{ids:?}");
    assert!(ids.contains(&zk::AuthUser::new("super", "")), "{ids:?}");
    assert_eq!(admin.get_data("/z").await?.0, b"z");
    let refused = zk_sasl(addr, "bob", "nope").await;
    assert!(matches!(refused, Err(zk::Error::AuthFailed)), "{refused:?}");
    assert_eq!(
        bob.get_data("/z").await?.0,
        b"z",
        "bob's session is unharmed"
    );

    // The native API: scheme `sasl` with user:password.
    let native = client::Client::connect(&server.connect_string()).await?;
    assert!(matches!(
        native.get_data("/z").await,
        Err(client::Error::NoAuth { .. })
    ));
    native.add_auth("sasl", b"bob:bobsecret").await?;
    assert_eq!(native.get_data("/z").await?.0, b"z");
    let ids = native.who_am_i().await?;
    assert!(
        ids.contains(&("sasl".to_string(), "bob".to_string())),
        "{ids:?}"
    );
    let wrong = client::Client::connect(&server.connect_string()).await?;
    assert!(matches!(
        wrong.add_auth("sasl", b"bob:guess").await,
        Err(client::Error::AuthFailed)
    ));
    Ok(())
}

/// A raw connection with a session.
async fn raw_session(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&handshake()).await?;
    anyhow::ensure!(read_frame(&mut stream).await?.is_some(), "no session");
    Ok(stream)
}

fn sasl_request(xid: i32, token: &[u8]) -> Vec<u8> {
    framed(&Body::default().i32(xid).i32(OP_SASL).bytes(token).0)
}

/// Sends a SASL token; the reply's header and token (`None`: null).
async fn sasl_step(
    stream: &mut TcpStream,
    xid: i32,
    token: &[u8],
) -> anyhow::Result<(raw_zk::ReplyHeader, Option<Vec<u8>>)> {
    stream.write_all(&sasl_request(xid, token)).await?;
    let frame = tokio::time::timeout(LIMIT, read_frame(stream))
        .await??
        .ok_or_else(|| anyhow::anyhow!("closed before the SASL reply"))?;
    let head = header(&frame)?;
    let body = &frame[16..];
    anyhow::ensure!(body.len() >= 4, "no token in the SASL reply");
    let len = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let token = (len >= 0).then(|| body[4..].to_vec());
    Ok((head, token))
}

async fn is_closed(stream: &mut TcpStream) -> anyhow::Result<bool> {
    Ok(tokio::time::timeout(LIMIT, read_frame(stream))
        .await??
        .is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tokens_fail_the_exchange_and_close_only_their_connection() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = sasl_server(dir.path()).await?;
    let addr = zk_addr(&server)?;
    let mut bystander = raw_session(addr).await?;
    let huge = vec![b'x'; 64 * 1024];
    let garbage: [&[u8]; 4] = [
        b"\xff\x00garbage",
        b"username=\"bob\",nc=00000001",
        b"username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"replayed\",cnonce=\"c\",\
          nc=00000001,qop=auth,digest-uri=\"zookeeper/zk-sasl-md5\",\
          response=00000000000000000000000000000000",
        &huge,
    ];
    for (i, token) in garbage.into_iter().enumerate() {
        let mut stream = raw_session(addr).await?;
        let (head, challenge) = sasl_step(&mut stream, 1, b"").await?;
        assert_eq!((head.xid, head.zxid, head.err), (1, 0, 0));
        let challenge = String::from_utf8(challenge.unwrap_or_default())?;
        assert!(
            challenge.starts_with("realm=\"zk-sasl-md5\",nonce=\"")
                && challenge.ends_with(",qop=\"auth\",charset=utf-8,algorithm=md5-sess"),
            "{challenge}"
        );
        // ZooKeeper's failure: AuthFailed with a null token, then the close.
        let (head, token) = sasl_step(&mut stream, 2, token).await?;
        assert_eq!(
            (head.xid, head.err, token),
            (2, AUTH_FAILED, None),
            "token {i}"
        );
        assert!(is_closed(&mut stream).await?, "token {i}: still open");
        // The bystander's session answers.
        bystander
            .write_all(&raw_zk::get_data(10 + i as i32, "/"))
            .await?;
        let frame = read_frame(&mut bystander).await?;
        let frame = frame.ok_or_else(|| anyhow::anyhow!("bystander closed"))?;
        assert_eq!(header(&frame)?.err, 0);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_users_a_sasl_request_gets_zookeepers_empty_success() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut stream = raw_session(zk_addr(&server)?).await?;
    let (head, token) = sasl_step(&mut stream, 7, b"").await?;
    assert_eq!((head.xid, head.zxid, head.err, token), (7, 0, 0, None));
    stream.write_all(&raw_zk::get_data(8, "/")).await?;
    let frame = read_frame(&mut stream).await?;
    let frame = frame.ok_or_else(|| anyhow::anyhow!("closed"))?;
    assert_eq!(header(&frame)?.err, 0, "the connection goes on");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_users_file_stops_the_server_from_starting() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let jaas = dir.path().join("jaas.conf");
    std::fs::write(&jaas, "Server {\n  M required user_bob=\"x\"\n};\n")?;
    let config = core_server::Config {
        sasl_users_file: Some(jaas),
        ..test_config()
    };
    let error = TestServer::start_with(config)
        .await
        .expect_err("a malformed users file must refuse to start");
    let text = format!("{error:#}");
    assert!(
        text.contains("line 3") && text.contains("jaas.conf"),
        "{text}"
    );
    Ok(())
}
