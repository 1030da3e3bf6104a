//! Certificate reload on the secure port without a restart: new files are
//! picked up by polling (in process) and on SIGHUP (the real binary); new
//! connections see the new certificate, sessions already up go on, and a
//! reload that fails keeps the old certificate and is counted.

use crate::raw_zk::{create, get_data};
use crate::tls_zk::{connector, der, Pki, TlsZk};
use std::time::Duration;
use testkit::tls::Validity;
use testkit::{eventually_ok, ProcessServer, TestServer};

/// Waits until a new connection is served `expected` (DER).
async fn until_served(
    addr: std::net::SocketAddr,
    tls: &tokio_rustls::TlsConnector,
    expected: &[u8],
) -> anyhow::Result<()> {
    eventually_ok(Duration::from_secs(20), "the new certificate", || async {
        let zk = TlsZk::connect(addr, tls).await?;
        anyhow::ensure!(zk.server_cert() == expected, "still the old certificate");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_files_are_served_to_new_connections_and_old_sessions_go_on() -> anyhow::Result<()>
{
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let server = TestServer::start_with(core_server::Config {
        tls_reload_ms: 50,
        ..pki.config(true)
    })
    .await?;
    let addr = server.zk_secure_addr().expect("secure port on");
    let client = pki.ca.client(&[("CN", "old-timer")], Validity::Current)?;
    let tls = connector(&pki.ca.cert_pem(), Some(&client))?;
    let mut old = TlsZk::connect(addr, &tls).await?;
    assert_eq!(old.server_cert(), der(&pki.server.cert_pem)?);

    let renewed = pki.ca.server()?;
    assert_ne!(renewed.serial, pki.server.serial);
    renewed.write(pki.dir.path(), "server")?;
    until_served(addr, &tls, &der(&renewed.cert_pem)?).await?;

    let (h, _) = old.call(&create(1, "/after-reload", b"x")).await?;
    assert_eq!(h.err, 0, "the session from before the reload goes on");
    assert_eq!(
        old.server_cert(),
        der(&pki.server.cert_pem)?,
        "on its old certificate"
    );
    Ok(())
}

/// The value of an unlabelled counter in `/metrics` (0 when absent).
async fn counter(admin: std::net::SocketAddr, name: &str) -> anyhow::Result<f64> {
    let answer = testkit::http::get(admin, "/metrics").await?;
    Ok(answer
        .body
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_bad_file_keeps_the_old_certificate() -> anyhow::Result<()> {
    testkit::log_to_test_output();
    let pki = Pki::new()?;
    let data = tempfile::tempdir()?;
    let (cert, key, ca) = (
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string(),
        pki.ca_path.display().to_string(),
    );
    let server = ProcessServer::start(
        testkit::corral_binary(),
        data.path(),
        "127.0.0.1:0".parse()?,
        &[
            "--no-zk",
            "--zk-secure-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
            // Only SIGHUP reloads within this test.
            "--tls-reload-ms",
            "3600000",
        ],
    )?;
    assert_eq!(server.zk_addr(), None, "--no-zk turns the plain port off");
    let addr = server.zk_secure_addr().expect("a zookeeper-secure: line");
    let admin = server.admin_addr().expect("admin listener");
    let client = pki.ca.client(&[("CN", "ops")], Validity::Current)?;
    let tls = connector(&pki.ca.cert_pem(), Some(&client))?;
    let mut old = TlsZk::connect(addr, &tls).await?;
    assert_eq!(old.server_cert(), der(&pki.server.cert_pem)?);

    // A broken certificate file: the reload fails, is counted, and the old
    // certificate stays in use.
    std::fs::write(&pki.server_cert, "not a certificate")?;
    server.hangup()?;
    eventually_ok(
        Duration::from_secs(20),
        "a counted reload failure",
        || async {
            let failures = counter(admin, "corral_tls_reload_failures_total").await?;
            anyhow::ensure!(failures >= 1.0, "{failures} failures");
            Ok(())
        },
    )
    .await?;
    let zk = TlsZk::connect(addr, &tls).await?;
    assert_eq!(zk.server_cert(), der(&pki.server.cert_pem)?);

    let renewed = pki.ca.server()?;
    renewed.write(pki.dir.path(), "server")?;
    server.hangup()?;
    until_served(addr, &tls, &der(&renewed.cert_pem)?).await?;
    let (h, _) = old.call(&get_data(2, "/")).await?;
    assert_eq!(h.err, 0, "the session from before the reloads goes on");
    Ok(())
}
