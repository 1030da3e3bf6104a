//! The ZooKeeper secure port: kazoo over TLS, mutual TLS refusals, a plain
//! client on the TLS port, and x509 identities in ACLs and whoAmI.

use crate::raw_zk::{get_data, RawZk};
use crate::tls_zk::{connector, kazoo, refusal, Pki, TlsZk, KAZOO_SCRIPT};
use rustls::AlertDescription;
use std::time::Duration;
use testkit::tls::{TestCa, Validity};
use testkit::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_creates_and_reads_a_node_over_the_secure_port() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(pki.config(true)).await?;
    let addr = server.zk_secure_addr().expect("secure port on");
    let kazoo_cert = pki
        .ca
        .client(&[("CN", "kazoo"), ("O", "Corral")], Validity::Current)?;
    let (cert, key) = pki.write_client(&kazoo_cert, "kazoo")?;
    let out = kazoo(
        KAZOO_SCRIPT,
        vec![
            addr.to_string(),
            pki.ca_path.display().to_string(),
            cert,
            key,
            "create".into(),
        ],
    )
    .await?;
    assert!(out.contains("data=over tls"), "kazoo printed: {out}");
    // The same tree as the plain port.
    let mut plain = RawZk::connect(server.zk_addr().expect("plain port")).await?;
    let (h, _) = {
        plain.stream.write_all(&get_data(3, "/tls-kazoo")).await?;
        plain.reply().await?
    };
    assert_eq!(h.err, 0, "the node is there on the plain port");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_missing_foreign_and_expired_certificates() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(pki.config(true)).await?;
    let addr = server.zk_secure_addr().expect("secure port on");
    let ca = pki.ca.cert_pem();

    let none = refusal(addr, &connector(&ca, None)?).await;
    assert_eq!(
        none,
        Some(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
        )),
        "a client without a certificate"
    );

    let other = TestCa::new("another CA")?;
    let foreign = other.client(&[("CN", "mallory")], Validity::Current)?;
    let refused = refusal(addr, &connector(&ca, Some(&foreign))?).await;
    assert_eq!(
        refused,
        Some(rustls::Error::AlertReceived(AlertDescription::UnknownCA)),
        "a certificate from another CA"
    );

    let expired = pki.ca.client(&[("CN", "old")], Validity::Expired)?;
    let refused = refusal(addr, &connector(&ca, Some(&expired))?).await;
    assert_eq!(
        refused,
        Some(rustls::Error::AlertReceived(
            AlertDescription::CertificateExpired
        )),
        "an expired certificate"
    );

    // A good certificate still gets in.
    let good = pki.ca.client(&[("CN", "good")], Validity::Current)?;
    let mut zk = TlsZk::connect(addr, &connector(&ca, Some(&good))?).await?;
    let who = zk.who_am_i().await?;
    assert!(who.contains(&("x509".into(), "CN=good".into())), "{who:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_on_the_secure_port_is_closed_and_harms_no_other_session(
) -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(pki.config(false)).await?;
    let addr = server.zk_secure_addr().expect("secure port on");
    // Without a client CA, no client certificate is asked for.
    let mut tls = TlsZk::connect(addr, &connector(&pki.ca.cert_pem(), None)?).await?;
    let (h, _) = tls.call(&crate::raw_zk::create(1, "/before", b"x")).await?;
    assert_eq!(h.err, 0);
    assert_eq!(tls.server_cert(), crate::tls_zk::der(&pki.server.cert_pem)?);

    let mut plain = tokio::net::TcpStream::connect(addr).await?;
    plain.write_all(&crate::raw_zk::handshake()).await?;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut sink = [0u8; 1024];
        loop {
            match plain.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                // At most a TLS alert comes back, never a ZooKeeper reply.
                Ok(n) => assert!(sink[0] == 0x15 || n < 16, "a reply to plain text"),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the plain connection was not closed");

    let (h, _) = tls.call(&get_data(2, "/before")).await?;
    assert_eq!(h.err, 0, "the TLS session goes on");
    let mut other = RawZk::connect(server.zk_addr().expect("plain port")).await?;
    other.stream.write_all(&get_data(3, "/before")).await?;
    assert_eq!(other.reply().await?.0.err, 0, "the plain port is untouched");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_acl_admits_its_subject_only() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let admin_dn = "CN=admin,O=Corral";
    let server = TestServer::start_with(core_server::Config {
        x509_super_user: Some(admin_dn.into()),
        ..pki.config(true)
    })
    .await?;
    let addr = server.zk_secure_addr().expect("secure port on");
    let alice_dn = "CN=alice,OU=eng,O=Corral";
    let alice = pki.ca.client(
        &[("CN", "alice"), ("OU", "eng"), ("O", "Corral")],
        Validity::Current,
    )?;
    let bob = pki.ca.client(
        &[("CN", "bob"), ("OU", "eng"), ("O", "Corral")],
        Validity::Current,
    )?;
    let (alice_cert, alice_key) = pki.write_client(&alice, "alice")?;
    let (bob_cert, bob_key) = pki.write_client(&bob, "bob")?;
    let ca = pki.ca_path.display().to_string();
    let host = addr.to_string();

    let out = kazoo(
        KAZOO_SCRIPT,
        vec![
            host.clone(),
            ca.clone(),
            alice_cert.clone(),
            alice_key.clone(),
            "protect".into(),
            alice_dn.into(),
        ],
    )
    .await?;
    assert!(out.contains(&format!("acl=x509:{alice_dn}:31")), "{out}");
    assert!(out.contains("data=secret"), "{out}");
    let args = |cert: &str, key: &str| {
        vec![
            host.clone(),
            ca.clone(),
            cert.to_string(),
            key.to_string(),
            "read".to_string(),
        ]
    };
    let out = kazoo(KAZOO_SCRIPT, args(&alice_cert, &alice_key)).await?;
    assert!(out.contains("data=secret"), "alice reads: {out}");
    let out = kazoo(KAZOO_SCRIPT, args(&bob_cert, &bob_key)).await?;
    assert!(out.contains("noauth"), "bob is refused: {out}");

    // whoAmI lists the x509 id; the x509 super user reads anything.
    let ca_pem = pki.ca.cert_pem();
    let mut zk = TlsZk::connect(addr, &connector(&ca_pem, Some(&alice))?).await?;
    let who = zk.who_am_i().await?;
    assert!(who.contains(&("x509".into(), alice_dn.into())), "{who:?}");
    let admin = pki
        .ca
        .client(&[("CN", "admin"), ("O", "Corral")], Validity::Current)?;
    let mut zk = TlsZk::connect(addr, &connector(&ca_pem, Some(&admin))?).await?;
    let (h, _) = zk.call(&get_data(5, "/alice-only")).await?;
    assert_eq!(h.err, 0, "the x509 super user reads alice's node");
    let who = zk.who_am_i().await?;
    assert!(who.contains(&("super".into(), admin_dn.into())), "{who:?}");
    let mut zk = TlsZk::connect(addr, &connector(&ca_pem, Some(&bob))?).await?;
    let (h, _) = zk.call(&get_data(6, "/alice-only")).await?;
    assert_eq!(h.err, -102, "NoAuth for bob");
    Ok(())
}
