//! `corral dev --tls`: a throwaway certificate authority and certificates
//! under `<dir>/tls` (made with rcgen on the first run, kept after), the
//! server settings that use them, and how to connect with them.
//!
//! Every TLS listener wants a client certificate signed by the dev CA
//! (mutual TLS): the native API, and the ZooKeeper secure port beside the
//! plain one. The client certificate's `x509` id is listed as an
//! administrator, so `corral admin` works with it alone.

use anyhow::Context;
use core_server::Config;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use std::path::{Path, PathBuf};

/// The subject of the dev client certificate, as an `x509` id.
pub const CLIENT_DN: &str = "CN=dev-admin,O=Corral dev";

/// The files of the dev PKI.
#[derive(Debug, Clone)]
pub struct DevPki {
    /// Its folder.
    pub dir: PathBuf,
}

impl DevPki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The CA certificate (the trust store of clients and servers).
    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// The servers' certificate (for 127.0.0.1 and localhost).
    pub fn server_cert(&self) -> PathBuf {
        self.path("server.pem")
    }

    /// The servers' private key.
    pub fn server_key(&self) -> PathBuf {
        self.path("server-key.pem")
    }

    /// The client certificate.
    pub fn client_cert(&self) -> PathBuf {
        self.path("client.pem")
    }

    /// The client certificate's private key.
    pub fn client_key(&self) -> PathBuf {
        self.path("client-key.pem")
    }

    /// The client certificate and key in one file: ZooKeeper's PEM key store.
    pub fn client_keystore(&self) -> PathBuf {
        self.path("client-keystore.pem")
    }

    /// Reads the PKI under `dir`, making it on the first run (keys readable
    /// by the owner only).
    pub fn load_or_create(dir: &Path) -> anyhow::Result<DevPki> {
        // Absolute, so the printed paths work from any folder.
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let pki = DevPki { dir: dir.clone() };
        if pki.client_keystore().exists() {
            return Ok(pki);
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        pki.create().context("cannot make the dev certificates")?;
        Ok(pki)
    }

    fn create(&self) -> anyhow::Result<()> {
        let ca_key = KeyPair::generate()?;
        let mut ca = params("Corral dev CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;

        let mut server = params("localhost");
        server.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key)?;

        let mut client = params("dev-admin");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate()?;
        let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key)?;

        crate::dev::write_private(&self.path("ca-key.pem"), ca_key.serialize_pem().trim())?;
        crate::dev::write_private(&self.server_key(), server_key.serialize_pem().trim())?;
        crate::dev::write_private(&self.client_key(), client_key.serialize_pem().trim())?;
        let keystore = format!("{}{}", client_cert.pem(), client_key.serialize_pem());
        // Written last: its presence says the PKI is whole.
        for (file, text) in [
            (self.ca(), ca_cert.pem()),
            (self.server_cert(), server_cert.pem()),
            (self.client_cert(), client_cert.pem()),
        ] {
            std::fs::write(&file, text)
                .with_context(|| format!("cannot write {}", file.display()))?;
        }
        crate::dev::write_private(&self.client_keystore(), keystore.trim())?;
        Ok(())
    }

    /// `config` with mutual TLS on the native listener and a ZooKeeper
    /// secure port at `secure` (0: a free port).
    pub fn apply(&self, config: Config, secure: u16) -> Config {
        Config {
            tls_cert: Some(self.server_cert()),
            tls_key: Some(self.server_key()),
            tls_client_ca: Some(self.ca()),
            zk_secure_listen: Some(([127, 0, 0, 1], secure).into()),
            admin_identities: vec![format!("x509:{CLIENT_DN}")],
            ..config
        }
    }

    /// How to connect with TLS from `corral`, zkCli.sh and kazoo.
    pub fn instructions(&self, native: &str, secure: &str) -> Vec<String> {
        let d = |p: PathBuf| p.display().to_string();
        let first_secure = secure.split(',').next().unwrap_or(secure);
        vec![
            format!(
                "tls:     mutual TLS on every client port; CA {}, client certificate {} (x509:{CLIENT_DN}, an administrator)",
                d(self.ca()),
                d(self.client_cert())
            ),
            format!(
                "         corral --server {native} --cacert {} --cert {} --key {} ls /",
                d(self.ca()),
                d(self.client_cert()),
                d(self.client_key())
            ),
            format!("zookeeper secure: {secure}"),
            format!(
                "         CLIENT_JVMFLAGS=\"-Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty -Dzookeeper.ssl.keyStore.location={} -Dzookeeper.ssl.keyStore.type=PEM -Dzookeeper.ssl.trustStore.location={} -Dzookeeper.ssl.trustStore.type=PEM\" zkCli.sh -server {first_secure}",
                d(self.client_keystore()),
                d(self.ca())
            ),
            format!(
                "         kazoo: KazooClient(hosts=\"{secure}\", use_ssl=True, ca=\"{}\", certfile=\"{}\", keyfile=\"{}\")",
                d(self.ca()),
                d(self.client_cert()),
                d(self.client_key())
            ),
        ]
    }
}

/// Certificate parameters for `CN=<cn>,O=Corral dev`, valid for 10 years
/// from the year 2025.
fn params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Corral dev");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    params.serial_number = Some(rcgen::SerialNumber::from(rand::random::<u64>() >> 1));
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pki_is_made_once_with_private_keys_and_loads_into_a_client() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = DevPki::load_or_create(&dir.path().join("tls")).expect("made");
        let ca = std::fs::read(pki.ca()).expect("ca");
        let again = DevPki::load_or_create(&pki.dir).expect("loaded");
        assert_eq!(std::fs::read(again.ca()).expect("ca"), ca, "kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in [pki.server_key(), pki.client_key(), pki.client_keystore()] {
                let mode = std::fs::metadata(&key).expect("key").permissions().mode();
                assert_eq!(mode & 0o077, 0, "{} is private", key.display());
            }
        }
        client::TlsConfig::from_pem_files(&pki.ca(), Some((&pki.client_cert(), &pki.client_key())))
            .expect("the client loads it");
        let config = pki.apply(Config::default(), 0);
        config.validate().expect("valid settings");
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_file(pki.client_cert()).expect("pem");
        let subject = core_server::tls::identity::subject_dn(der.as_ref()).expect("dn");
        assert_eq!(subject, CLIENT_DN);
    }
}
