//! The identity a verified client certificate proves: its subject DN in the
//! form of Java's `X500Principal.getName()` (RFC 2253), which is the id
//! ZooKeeper's `X509AuthenticationProvider` gives the connection (scheme
//! `x509`), so ACLs written for ZooKeeper match unchanged.
//!
//! RFC 2253 as the JDK writes it: the most specific RDN first, RDNs joined
//! by `,`, the values of a multi-valued RDN by `+`; the keywords CN, C, L,
//! ST, O, OU, STREET, DC and UID, any other attribute by its dotted OID with
//! the value as `#` and the hex of its DER encoding (as for a value that is
//! not a string); in string values `, = + < > # ; " \` are escaped with a
//! backslash, a NUL as `\00`, and leading and trailing spaces with a
//! backslash.

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The keyword the JDK uses in RFC 2253 names for an attribute OID.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The value as text when it is one of the string types the JDK writes as
/// text (UTF8, Printable, T61, IA5, General, BMP).
fn string_value(value: &Any<'_>) -> Option<String> {
    let data = value.data;
    match value.header.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::T61String
        | Tag::Ia5String
        | Tag::GeneralString => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// The whole DER encoding of a value (identifier, length, contents).
fn der_encoding(value: &Any<'_>) -> Vec<u8> {
    let header = &value.header;
    let class = match header.class() {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let constructed = if header.is_constructed() { 0x20 } else { 0 };
    let mut out = Vec::with_capacity(value.data.len() + 8);
    let tag = header.tag().0;
    if tag < 31 {
        out.push(class | constructed | tag as u8);
    } else {
        out.push(class | constructed | 0x1f);
        let mut groups = Vec::new();
        let mut rest = tag;
        loop {
            groups.push((rest & 0x7f) as u8);
            rest >>= 7;
            if rest == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            out.push(if i == 0 { *g } else { g | 0x80 });
        }
    }
    let len = value.data.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value.data);
    out
}

/// A string value escaped as the JDK's RFC 2253 writer does.
pub fn escape_value(value: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut escaped: Vec<char> = Vec::with_capacity(value.len());
    for c in value.chars() {
        if ESCAPEES.contains(c) {
            escaped.push('\\');
            escaped.push(c);
        } else if c == '\0' {
            escaped.extend(['\\', '0', '0']);
        } else {
            escaped.push(c);
        }
    }
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = escaped.iter().take_while(|c| blank(c)).count();
    let trail = escaped.len() - escaped.iter().rev().take_while(|c| blank(c)).count();
    let mut out = String::with_capacity(escaped.len() + 4);
    for (i, c) in escaped.into_iter().enumerate() {
        if i < lead || i >= trail.max(lead) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn attribute(oid: &str, value: &Any<'_>) -> String {
    match (keyword(oid), string_value(value)) {
        (Some(word), Some(text)) => format!("{word}={}", escape_value(&text)),
        (word, _) => {
            let hex: String = der_encoding(value)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{}=#{hex}", word.unwrap_or(oid))
        }
    }
}

/// The subject DN of a DER certificate as `X500Principal.getName()` gives
/// it; an error if the certificate does not parse.
pub fn subject_dn(der: &[u8]) -> Result<String, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| attribute(&ava.attr_type().to_id_string(), ava.attr_value()))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Ok(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped_as_the_jdk_does() {
        assert_eq!(escape_value("alice"), "alice");
        assert_eq!(escape_value("a,b+c=d"), "a\\,b\\+c\\=d");
        assert_eq!(escape_value("#x;<y>\"\\"), "\\#x\\;\\<y\\>\\\"\\\\");
        assert_eq!(escape_value(" a b "), "\\ a b\\ ");
        assert_eq!(escape_value("  "), "\\ \\ ");
        assert_eq!(escape_value("nul\0"), "nul\\00");
        assert_eq!(escape_value("Zoë"), "Zoë");
    }

    #[test]
    fn a_subject_is_written_most_specific_first_as_java_does() {
        use rcgen::DnType;
        let mut params = rcgen::CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(DnType::CountryName, "DE");
        dn.push(DnType::OrganizationName, "Corral, Inc.");
        dn.push(DnType::OrganizationalUnitName, "eng");
        dn.push(DnType::CommonName, " alice+bob");
        dn.push(
            DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
            "a@b.c",
        );
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        assert_eq!(
            subject_dn(cert.der()).expect("parses"),
            "1.2.840.113549.1.9.1=#0c056140622e63,CN=\\ alice\\+bob,OU=eng,O=Corral\\, Inc.,C=DE"
        );
        assert!(subject_dn(b"not a certificate").is_err());
    }

    #[test]
    fn a_long_value_gets_a_long_form_length() {
        let data = vec![b'a'; 200];
        let header = x509_parser::der_parser::asn1_rs::Header::new(
            Class::Universal,
            false,
            Tag::OctetString,
            x509_parser::der_parser::asn1_rs::Length::Definite(200),
        );
        let encoded = der_encoding(&Any::new(header, &data));
        assert_eq!(&encoded[..3], &[0x04, 0x81, 200]);
        assert_eq!(encoded.len(), 203);
    }
}
