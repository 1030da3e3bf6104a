//! TLS on the native gRPC listener (`tls_cert`, `tls_key`, and
//! `tls_client_ca` for mutual TLS) with the Rust client: sessions over TLS
//! and mutual TLS, the `x509` id enforced by ACLs and proving an
//! administrator to the operator service, plain and badly certified clients
//! refused with a clear error and no harm to others, a stalled handshake
//! delaying nobody, and certificates reloaded without a restart.

use crate::tls_zk::Pki;
use client::admin::{AdminClient, AdminError, AdminFailure};
use client::{perms, Acl, Client, CreateOptions, Error, TlsConfig};
use std::time::Duration;
use testkit::tls::{Issued, TestCa, Validity};
use testkit::{eventually_ok, TestServer};

/// Settings with TLS on the native listener only.
fn native_tls(pki: &Pki, mutual: bool) -> core_server::Config {
    core_server::Config {
        zk_secure_listen: None,
        tls_reload_ms: 50,
        ..pki.config(mutual)
    }
}

fn trusting(ca: &TestCa, client: Option<&Issued>) -> anyhow::Result<TlsConfig> {
    let identity = client.map(|c| (c.cert_pem.as_bytes(), c.key_pem.as_bytes()));
    Ok(TlsConfig::from_pem(ca.cert_pem().as_bytes(), identity)?)
}

async fn connect(server: &TestServer, tls: TlsConfig) -> Result<Client, Error> {
    Client::builder(&server.connect_string())
        .connect_timeout(Duration::from_secs(3))
        .tls(tls)
        .build()
        .await
}

/// A refused connect, with what the client was told.
async fn refused(server: &TestServer, tls: Option<TlsConfig>) -> String {
    let builder = Client::builder(&server.connect_string()).connect_timeout(Duration::from_secs(2));
    let builder = match tls {
        Some(tls) => builder.tls(tls),
        None => builder,
    };
    match builder.build().await {
        Ok(_) => panic!("the connection was accepted"),
        Err(error) => {
            assert!(matches!(error, Error::Connect(_)), "{error:?}");
            error.to_string()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_runs_over_tls_and_a_plain_client_is_refused() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(native_tls(&pki, false)).await?;
    let zk = connect(&server, trusting(&pki.ca, None)?).await?;
    zk.create("/over-tls", b"secret", CreateOptions::default())
        .await?;
    assert_eq!(zk.get_data("/over-tls").await?.0, b"secret");

    let said = refused(&server, None).await;
    assert!(said.contains(&server.addr().to_string()), "{said}");
    let other = TestCa::new("another CA")?;
    let said = refused(&server, Some(trusting(&other, None)?)).await;
    assert!(said.contains("certificate"), "an untrusted server: {said}");

    // A socket that never starts its handshake holds up no one.
    let _stalled = tokio::net::TcpStream::connect(server.addr()).await?;
    let again = connect(&server, trusting(&pki.ca, None)?).await?;
    assert_eq!(again.get_data("/over-tls").await?.0, b"secret");
    assert_eq!(zk.get_data("/over-tls").await?.0, b"secret", "unharmed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_missing_foreign_and_expired_certificates() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(native_tls(&pki, true)).await?;
    let good = pki.ca.client(&[("CN", "good")], Validity::Current)?;
    let zk = connect(&server, trusting(&pki.ca, Some(&good))?).await?;
    zk.create("/mutual", b"m", CreateOptions::default()).await?;

    let said = refused(&server, Some(trusting(&pki.ca, None)?)).await;
    assert!(said.contains("CertificateRequired"), "none: {said}");
    let foreign_ca = TestCa::new("foreign CA")?;
    let foreign = foreign_ca.client(&[("CN", "good")], Validity::Current)?;
    let said = refused(&server, Some(trusting(&pki.ca, Some(&foreign))?)).await;
    assert!(said.contains("UnknownCA"), "foreign: {said}");
    let expired = pki.ca.client(&[("CN", "old")], Validity::Expired)?;
    let said = refused(&server, Some(trusting(&pki.ca, Some(&expired))?)).await;
    assert!(said.contains("CertificateExpired"), "expired: {said}");

    assert_eq!(zk.get_data("/mutual").await?.0, b"m", "unharmed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_acl_admits_its_subject_and_the_x509_super_user() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(core_server::Config {
        x509_super_user: Some("CN=root,O=Corral".into()),
        ..native_tls(&pki, true)
    })
    .await?;
    let alice_dn = "CN=alice,OU=eng,O=Corral";
    let issue = |cn: &str| {
        pki.ca.client(
            &[("CN", cn), ("OU", "eng"), ("O", "Corral")],
            Validity::Current,
        )
    };
    let alice = connect(&server, trusting(&pki.ca, Some(&issue("alice")?))?).await?;
    assert!(alice
        .who_am_i()
        .await?
        .contains(&("x509".to_string(), alice_dn.to_string())));
    let acl = vec![Acl::new(perms::ALL, "x509", alice_dn)];
    let options = CreateOptions {
        acl,
        ..CreateOptions::default()
    };
    alice.create("/alice-only", b"hers", options).await?;
    assert_eq!(alice.get_data("/alice-only").await?.0, b"hers");

    let bob = connect(&server, trusting(&pki.ca, Some(&issue("bob")?))?).await?;
    let denied = bob.get_data("/alice-only").await;
    assert!(matches!(denied, Err(Error::NoAuth { .. })), "{denied:?}");
    let root = pki
        .ca
        .client(&[("CN", "root"), ("O", "Corral")], Validity::Current)?;
    let root = connect(&server, trusting(&pki.ca, Some(&root))?).await?;
    assert_eq!(root.get_data("/alice-only").await?.0, b"hers");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_certificate_makes_an_administrator() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(core_server::Config {
        admin_identities: vec!["x509:CN=ops,O=Corral".into()],
        ..native_tls(&pki, true)
    })
    .await?;
    let admin = |cn: &str| -> anyhow::Result<AdminClient> {
        let cert = pki
            .ca
            .client(&[("CN", cn), ("O", "Corral")], Validity::Current)?;
        Ok(AdminClient::new(server.addr().to_string()).with_tls(trusting(&pki.ca, Some(&cert))?))
    };
    // A standalone server checks the caller before it says it has no
    // cluster: NoAuth for anyone else, Standalone for the administrator.
    let outsider = admin("dev")?.remove(2).await;
    assert!(
        matches!(outsider, Err(AdminError::Refused(AdminFailure::NoAuth))),
        "{outsider:?}"
    );
    let ops = admin("ops")?.remove(2).await;
    assert!(
        matches!(ops, Err(AdminError::Refused(AdminFailure::Standalone))),
        "{ops:?}"
    );
    let plain = AdminClient::new(server.addr().to_string()).status().await;
    assert!(
        matches!(plain, Err(AdminError::Unreachable { .. })),
        "{plain:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_certificates_serve_new_connections_and_sessions_go_on() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(native_tls(&pki, false)).await?;
    let old = connect(&server, trusting(&pki.ca, None)?).await?;
    old.create("/before", b"", CreateOptions::default()).await?;

    // A certificate from a new CA replaces the old one in place.
    let renewed_ca = TestCa::new("renewed CA")?;
    renewed_ca.server()?.write(pki.dir.path(), "server")?;
    let renewed = eventually_ok(Duration::from_secs(20), "the new certificate", || async {
        anyhow::Ok(connect(&server, trusting(&renewed_ca, None)?).await?)
    })
    .await?;
    renewed
        .create("/after", b"", CreateOptions::default())
        .await?;
    let said = refused(&server, Some(trusting(&pki.ca, None)?)).await;
    assert!(said.contains("certificate"), "the old CA: {said}");
    assert!(
        old.exists("/after").await?.is_some(),
        "the old session goes on"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_under_way_are_bounded_and_a_stalled_one_times_out() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(core_server::Config {
        max_tls_handshakes: 1,
        handshake_timeout_ms: 2_000,
        ..native_tls(&pki, false)
    })
    .await?;
    let raw = crate::tls_zk::connector(&pki.ca.cert_pem(), None)?;
    let handshake = || async {
        let tcp = tokio::net::TcpStream::connect(server.addr()).await?;
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?;
        anyhow::Ok(raw.connect(name, tcp).await?)
    };
    // A socket that never sends its hello holds the one handshake slot:
    // another handshake is closed at once.
    let mut stalled = tokio::net::TcpStream::connect(server.addr()).await?;
    eventually_ok(Duration::from_secs(10), "the slot taken", || async {
        match handshake().await {
            Ok(_) => anyhow::bail!("served: the stalled socket was not accepted yet"),
            Err(_) => anyhow::Ok(()),
        }
    })
    .await?;
    // The deadline closes the stalled socket; then others are served.
    let mut buf = [0u8; 1];
    let closed = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut stalled, &mut buf),
    )
    .await?;
    assert!(matches!(closed, Ok(0) | Err(_)), "closed by the deadline");
    let zk = eventually_ok(Duration::from_secs(10), "a free slot", || async {
        anyhow::Ok(connect(&server, trusting(&pki.ca, None)?).await?)
    })
    .await?;
    zk.create("/served", b"", CreateOptions::default()).await?;
    Ok(())
}
