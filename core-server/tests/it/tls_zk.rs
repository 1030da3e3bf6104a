//! A TLS ZooKeeper client for tests of the secure port (rustls, ring), a
//! throwaway PKI on disk, and server settings that use it.

use crate::raw_zk::{framed, handshake, header, Body, ReplyHeader};
use core_server::Config;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use testkit::tls::{Issued, TestCa};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A CA and a server certificate written to a temporary folder.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: TestCa,
    pub ca_path: PathBuf,
    pub server: Issued,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Pki {
    pub fn new() -> anyhow::Result<Pki> {
        let dir = tempfile::tempdir()?;
        let ca = TestCa::new("test CA")?;
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.cert_pem())?;
        let server = ca.server()?;
        let (server_cert, server_key) = server.write(dir.path(), "server")?;
        Ok(Pki {
            dir,
            ca,
            ca_path,
            server,
            server_cert,
            server_key,
        })
    }

    /// Test settings with the secure port on; `mutual`: client certificates
    /// required (signed by this CA).
    pub fn config(&self, mutual: bool) -> Config {
        Config {
            zk_secure_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            tls_cert: Some(self.server_cert.clone()),
            tls_key: Some(self.server_key.clone()),
            tls_client_ca: mutual.then(|| self.ca_path.clone()),
            ..testkit::test_config()
        }
    }

    /// Writes a client certificate; returns (cert, key) paths.
    pub fn write_client(&self, issued: &Issued, name: &str) -> anyhow::Result<(String, String)> {
        let (cert, key) = issued.write(self.dir.path(), name)?;
        Ok((cert.display().to_string(), key.display().to_string()))
    }
}

/// The DER of a PEM certificate.
pub fn der(pem: &str) -> anyhow::Result<Vec<u8>> {
    Ok(CertificateDer::from_pem_slice(pem.as_bytes())?.to_vec())
}

/// A client trusting `ca_pem`, presenting `client` if given.
pub fn connector(
    ca_pem: &str,
    client: Option<&Issued>,
) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
    let builder = rustls::ClientConfig::builder_with_provider(core_server::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match client {
        Some(issued) => builder.with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(issued.cert_pem.as_bytes())?],
            PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes())?,
        )?,
        None => builder.with_no_client_auth(),
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = i32::from_be_bytes(len).max(0) as usize;
    let mut frame = vec![0u8; len];
    stream.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

/// A ZooKeeper session over TLS.
pub struct TlsZk {
    pub stream: TlsStream<TcpStream>,
}

/// Opens TLS and the ZooKeeper handshake; an error if either fails.
async fn open(addr: SocketAddr, tls: &tokio_rustls::TlsConnector) -> std::io::Result<TlsZk> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    let mut stream = tls.connect(name, tcp).await?;
    stream.write_all(&handshake()).await?;
    stream.flush().await?;
    match read_frame(&mut stream).await? {
        Some(reply) if reply.len() >= 20 => Ok(TlsZk { stream }),
        _ => Err(std::io::Error::other("closed during the handshake")),
    }
}

impl TlsZk {
    pub async fn connect(
        addr: SocketAddr,
        tls: &tokio_rustls::TlsConnector,
    ) -> anyhow::Result<TlsZk> {
        Ok(tokio::time::timeout(Duration::from_secs(10), open(addr, tls)).await??)
    }

    /// The certificate the server presented (DER).
    pub fn server_cert(&self) -> Vec<u8> {
        let (_, session) = self.stream.get_ref();
        session
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }

    /// Sends one request frame and returns the next reply that is not an event.
    pub async fn call(&mut self, frame: &[u8]) -> anyhow::Result<(ReplyHeader, Vec<u8>)> {
        self.stream.write_all(frame).await?;
        self.stream.flush().await?;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), read_frame(&mut self.stream))
                .await??
                .ok_or_else(|| anyhow::anyhow!("connection closed"))?;
            let h = header(&frame)?;
            if h.xid != -1 {
                return Ok((h, frame));
            }
        }
    }

    /// whoAmI: the (scheme, user) pairs of the connection.
    pub async fn who_am_i(&mut self) -> anyhow::Result<Vec<(String, String)>> {
        let (h, frame) = self
            .call(&framed(&Body::default().i32(7).i32(107).0))
            .await?;
        anyhow::ensure!(h.err == 0, "whoAmI failed: {}", h.err);
        let mut at = 16;
        let next_i32 = |frame: &[u8], at: &mut usize| -> anyhow::Result<i32> {
            let bytes = frame
                .get(*at..*at + 4)
                .ok_or_else(|| anyhow::anyhow!("short"))?;
            *at += 4;
            Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        };
        let count = next_i32(&frame, &mut at)?;
        let mut out = Vec::new();
        for _ in 0..count {
            let mut pair = Vec::new();
            for _ in 0..2 {
                let len = next_i32(&frame, &mut at)?.max(0) as usize;
                let text = frame
                    .get(at..at + len)
                    .ok_or_else(|| anyhow::anyhow!("short"))?;
                pair.push(String::from_utf8_lossy(text).into_owned());
                at += len;
            }
            out.push((pair[0].clone(), pair[1].clone()));
        }
        Ok(out)
    }
}

/// The TLS error that ends an attempt to connect (a handshake alert shows
/// at once with TLS 1.2, at the first read with 1.3); `None` if the
/// attempt succeeded.
pub async fn refusal(addr: SocketAddr, tls: &tokio_rustls::TlsConnector) -> Option<rustls::Error> {
    let attempt = tokio::time::timeout(Duration::from_secs(10), open(addr, tls)).await;
    match attempt {
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(
            error
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .cloned()
                .unwrap_or_else(|| rustls::Error::General(error.to_string())),
        ),
        Err(_) => Some(rustls::Error::General("timed out".into())),
    }
}

/// Runs a kazoo script (blocking, on a blocking thread).
pub async fn kazoo(script: &'static str, args: Vec<String>) -> anyhow::Result<String> {
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        testkit::kazoo::run(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
            script,
            &args,
        )
    })
    .await??;
    anyhow::ensure!(
        out.status.success(),
        "kazoo failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// kazoo over TLS: `HOSTS CA CERT KEY MODE [ARG]`; modes `create`,
/// `protect DN` (a node only DN may use) and `read`.
pub const KAZOO_SCRIPT: &str = r#"
import sys
from kazoo.client import KazooClient
from kazoo.security import make_acl
from kazoo.exceptions import NoAuthError
hosts, ca, cert, key, mode = sys.argv[1:6]
zk = KazooClient(hosts=hosts, use_ssl=True, ca=ca, certfile=cert, keyfile=key,
                 verify_certs=True, timeout=10.0)
zk.start(timeout=20)
if mode == "create":
    zk.create("/tls-kazoo", b"over tls")
    print("data=" + zk.get("/tls-kazoo")[0].decode())
elif mode == "protect":
    zk.create("/alice-only", b"secret", acl=[make_acl("x509", sys.argv[6], all=True)])
    acls = zk.get_acls("/alice-only")[0]
    print("acl=" + ";".join("%s:%s:%d" % (a.id.scheme, a.id.id, a.perms) for a in acls))
    print("data=" + zk.get("/alice-only")[0].decode())
elif mode == "read":
    try:
        print("data=" + zk.get("/alice-only")[0].decode())
    except NoAuthError:
        print("noauth")
zk.stop()
zk.close()
"#;
