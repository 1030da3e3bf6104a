//! Throwaway certificate authorities and certificates for TLS tests (made
//! with rcgen, ECDSA P-256): a CA, server certificates valid for 127.0.0.1
//! and localhost, client certificates with a chosen subject, expired ones.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Serial numbers handed out in this process (each certificate its own).
static SERIAL: AtomicU64 = AtomicU64::new(1000);

/// A certificate authority that signs test certificates.
pub struct TestCa {
    cert: Certificate,
    key: KeyPair,
}

/// A certificate, its key, and its serial number.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The serial number's bytes (big-endian, as in the certificate).
    pub serial: Vec<u8>,
}

/// What a certificate is for and how long it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From 2020 to 2100.
    Current,
    /// Expired: 2001 to 2002.
    Expired,
}

/// The subject, most specific RDN first as in RFC 2253 (`[("CN", "alice"),
/// ("O", "Corral")]` is `CN=alice,O=Corral`); it is encoded the other way
/// round, as X.509 orders names.
fn distinguished_name(subject: &[(&str, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (kind, value) in subject.iter().rev() {
        let kind = match *kind {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "C" => DnType::CountryName,
            "L" => DnType::LocalityName,
            "ST" => DnType::StateOrProvinceName,
            other => DnType::CustomDnType(
                other
                    .split('.')
                    .filter_map(|n| n.parse::<u64>().ok())
                    .collect(),
            ),
        };
        dn.push(kind, *value);
    }
    dn
}

fn params(subject: &[(&str, &str)], validity: Validity) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(subject);
    let (from, to) = match validity {
        Validity::Current => ((2020, 1, 1), (2100, 1, 1)),
        Validity::Expired => ((2001, 1, 1), (2002, 1, 1)),
    };
    params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    params.serial_number = Some(SerialNumber::from(SERIAL.fetch_add(1, Ordering::Relaxed)));
    params
}

impl TestCa {
    /// A new self-signed CA named `CN=<name>`.
    pub fn new(name: &str) -> anyhow::Result<TestCa> {
        let mut params = params(&[("CN", name), ("O", "Corral tests")], Validity::Current);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(TestCa { cert, key })
    }

    /// The CA certificate, PEM (a trust store for clients and servers).
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    fn issue(&self, mut params: CertificateParams) -> anyhow::Result<Issued> {
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.use_authority_key_identifier_extension = true;
        let serial = params
            .serial_number
            .as_ref()
            .map(|s| s.to_bytes())
            .unwrap_or_default();
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial,
        })
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self) -> anyhow::Result<Issued> {
        let mut params = params(&[("CN", "localhost"), ("O", "Corral")], Validity::Current);
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A cluster member's certificate for the peer plane (mutual TLS: both
    /// a server and a client), for 127.0.0.1 and localhost.
    pub fn peer(&self, name: &str) -> anyhow::Result<Issued> {
        let mut params = params(&[("CN", name), ("O", "Corral")], Validity::Current);
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.issue(params)
    }

    /// A client certificate with this subject (most specific RDN first).
    pub fn client(&self, subject: &[(&str, &str)], validity: Validity) -> anyhow::Result<Issued> {
        let mut params = params(subject, validity);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }
}

impl Issued {
    /// Writes `DIR/NAME.pem` (certificate) and `DIR/NAME-key.pem` (key);
    /// returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}-key.pem"));
        std::fs::write(&cert, &self.cert_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok((cert, key))
    }

    /// Writes the certificate and key into one file (ZooKeeper's PEM key
    /// store) at `path`.
    pub fn write_combined(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, format!("{}{}", self.cert_pem, self.key_pem))?;
        Ok(())
    }
}
