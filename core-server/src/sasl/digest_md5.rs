//! The server side of SASL DIGEST-MD5 (RFC 2831) as Java's SASL server runs
//! it for ZooKeeper: an empty first token gets a challenge, the client's
//! digest-response is checked (realm, nonce, nonce count, qop, digest-uri,
//! response) and answered with `rspauth`; then the exchange is over, and
//! anything more fails. Only qop `auth` (no integrity or privacy layer),
//! algorithm md5-sess, and initial authentication (nonce count 1).
//!
//! Pure: the caller supplies the nonce and the password lookup.

use super::directives::{self, Directive};
use md5::{Digest, Md5};

/// RFC 2831 §2.1.2: a digest-response is at most 4096 bytes (Java's limit).
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// What an exchange offers and checks against.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    /// The one realm offered.
    pub realm: &'a str,
    /// The digest-uri the client must name (`serv-type/host`), compared
    /// without regard to case.
    pub digest_uri: &'a str,
}

/// ZooKeeper's: protocol `zookeeper`, server name and realm `zk-sasl-md5`
/// (`SecurityUtils.createSaslServer`).
pub const ZOOKEEPER: Params<'static> = Params {
    realm: "zk-sasl-md5",
    digest_uri: "zookeeper/zk-sasl-md5",
};

/// Why an exchange failed; every one ends it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The token is longer than RFC 2831 allows.
    #[error("DIGEST-MD5 token of {0} bytes (at most 4096)")]
    TooLong(usize),
    /// The token is not a directive list, or a value is not what it must be.
    #[error("malformed DIGEST-MD5 token: {0}")]
    Malformed(&'static str),
    /// A directive that may appear once appeared more often.
    #[error("DIGEST-MD5 directive {0} given more than once")]
    Duplicate(String),
    /// A required directive is missing.
    #[error("DIGEST-MD5 directive {0} missing")]
    Missing(&'static str),
    /// A value this server does not support (charset, qop).
    #[error("unsupported DIGEST-MD5 {what}: {value:?}")]
    Unsupported {
        /// The directive.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// The client chose a realm that was not offered.
    #[error("DIGEST-MD5 realm {0:?} was not offered")]
    Realm(String),
    /// The nonce is not the one this exchange offered (a replay, or another
    /// exchange's).
    #[error("DIGEST-MD5 nonce is not the one offered")]
    Nonce,
    /// The nonce count is not 1 (only initial authentication is supported).
    #[error("DIGEST-MD5 nonce count {0:?} is not 00000001")]
    NonceCount(String),
    /// The digest-uri names another service or host.
    #[error("DIGEST-MD5 digest-uri {found:?}, expected {expected:?}")]
    DigestUri {
        /// What the client sent.
        found: String,
        /// What this server expects.
        expected: String,
    },
    /// No such user.
    #[error("DIGEST-MD5 user {0:?} is unknown")]
    UnknownUser(String),
    /// The response does not prove the user's password.
    #[error("DIGEST-MD5 response is wrong for user {0:?}")]
    WrongResponse(String),
    /// A token after the exchange completed or failed.
    #[error("DIGEST-MD5 exchange is already over")]
    Finished,
}

/// What a step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge; the exchange goes on.
    Challenge(Vec<u8>),
    /// The client proved `user`'s password; send `token` (`rspauth=...`).
    Complete {
        /// The authenticated user name.
        user: String,
        /// The final server token.
        token: Vec<u8>,
    },
}

/// One connection's DIGEST-MD5 exchange.
#[derive(Debug, Default)]
pub struct Exchange {
    state: State,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Start,
    Challenged {
        nonce: String,
    },
    Over,
}

impl Exchange {
    /// Takes the client's next token. The first (normally empty; a client's
    /// initial response is ignored, as Java does) gets a challenge with the
    /// nonce from `nonce`; the second is checked with `password` (the user's
    /// password, or `None` for an unknown user).
    pub fn step<P: AsRef<str>>(
        &mut self,
        params: &Params<'_>,
        token: &[u8],
        nonce: impl FnOnce() -> String,
        password: impl FnOnce(&str) -> Option<P>,
    ) -> Result<Step, DigestError> {
        let state = std::mem::replace(&mut self.state, State::Over);
        if token.len() > MAX_RESPONSE_BYTES {
            return Err(DigestError::TooLong(token.len()));
        }
        match state {
            State::Start => {
                let nonce = nonce();
                let challenge = challenge(params, &nonce);
                self.state = State::Challenged { nonce };
                Ok(Step::Challenge(challenge))
            }
            State::Challenged { nonce } => verify(params, &nonce, token, password),
            State::Over => Err(DigestError::Finished),
        }
    }
}

fn challenge(params: &Params<'_>, nonce: &str) -> Vec<u8> {
    let mut out = b"realm=".to_vec();
    directives::push_quoted(&mut out, params.realm.as_bytes());
    out.extend_from_slice(b",nonce=");
    directives::push_quoted(&mut out, nonce.as_bytes());
    out.extend_from_slice(b",qop=\"auth\",charset=utf-8,algorithm=md5-sess");
    out
}

/// The directives of a digest-response this server reads; each at most once.
const KNOWN: [&str; 12] = [
    "username",
    "realm",
    "nonce",
    "cnonce",
    "nc",
    "qop",
    "digest-uri",
    "response",
    "maxbuf",
    "charset",
    "cipher",
    "authzid",
];

struct Response {
    fields: Vec<Directive>,
}

impl Response {
    fn parse(token: &[u8]) -> Result<Response, DigestError> {
        let fields = directives::parse(token)?;
        for (i, d) in fields.iter().enumerate() {
            if KNOWN.contains(&d.key.as_str()) && fields[..i].iter().any(|e| e.key == d.key) {
                return Err(DigestError::Duplicate(d.key.clone()));
            }
        }
        Ok(Response { fields })
    }

    fn bytes(&self, key: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|d| d.key == key)
            .map(|d| d.value.as_slice())
    }

    fn text(&self, key: &'static str) -> Result<Option<&str>, DigestError> {
        self.bytes(key)
            .map(|v| {
                std::str::from_utf8(v).map_err(|_| DigestError::Malformed("a value is not UTF-8"))
            })
            .transpose()
    }

    fn required(&self, key: &'static str) -> Result<&str, DigestError> {
        self.text(key)?.ok_or(DigestError::Missing(key))
    }
}

fn verify<P: AsRef<str>>(
    params: &Params<'_>,
    nonce: &str,
    token: &[u8],
    password: impl FnOnce(&str) -> Option<P>,
) -> Result<Step, DigestError> {
    let r = Response::parse(token)?;
    if let Some(charset) = r.text("charset")? {
        if charset != "utf-8" {
            return Err(DigestError::Unsupported {
                what: "charset",
                value: charset.to_string(),
            });
        }
    }
    if let Some(maxbuf) = r.text("maxbuf")? {
        maxbuf
            .parse::<u32>()
            .map_err(|_| DigestError::Malformed("maxbuf is not a number"))?;
    }
    let user = r.required("username")?;
    let realm = r.text("realm")?.unwrap_or("");
    if realm != params.realm {
        return Err(DigestError::Realm(realm.to_string()));
    }
    if r.required("nonce")? != nonce {
        return Err(DigestError::Nonce);
    }
    let cnonce = r.required("cnonce")?;
    if let Some(nc) = r.text("nc")? {
        if u32::from_str_radix(nc, 16).ok() != Some(1) {
            return Err(DigestError::NonceCount(nc.to_string()));
        }
    }
    let qop = r.text("qop")?.unwrap_or("auth");
    if qop != "auth" {
        return Err(DigestError::Unsupported {
            what: "qop",
            value: qop.to_string(),
        });
    }
    let uri = r.text("digest-uri")?.unwrap_or("");
    if !uri.eq_ignore_ascii_case(params.digest_uri) {
        return Err(DigestError::DigestUri {
            found: uri.to_string(),
            expected: params.digest_uri.to_string(),
        });
    }
    let sent = r.required("response")?;
    let authzid = r.bytes("authzid");
    let Some(password) = password(user) else {
        return Err(DigestError::UnknownUser(user.to_string()));
    };
    let secret = Secret {
        user,
        realm,
        password: password.as_ref(),
        nonce,
        cnonce,
        authzid,
    };
    let expected = secret.response_value("AUTHENTICATE", uri);
    if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(DigestError::WrongResponse(user.to_string()));
    }
    let mut token = b"rspauth=".to_vec();
    token.extend_from_slice(secret.response_value("", uri).as_bytes());
    Ok(Step::Complete {
        user: user.to_string(),
        token,
    })
}

/// What both sides hash (RFC 2831 §2.1.2.1, md5-sess, qop auth, nc 1).
struct Secret<'a> {
    user: &'a str,
    realm: &'a str,
    password: &'a str,
    nonce: &'a str,
    cnonce: &'a str,
    authzid: Option<&'a [u8]>,
}

impl Secret<'_> {
    /// `response-value` with A2 = `{method}:{digest-uri}`: method
    /// `AUTHENTICATE` for the client's response, empty for `rspauth`.
    fn response_value(&self, method: &str, digest_uri: &str) -> String {
        let user_realm = md5(&[
            &latin1_or_utf8(&format!("{}:{}:", self.user, self.realm)),
            &latin1_or_utf8(self.password),
        ]);
        let mut a1: Vec<&[u8]> = vec![
            &user_realm,
            b":",
            self.nonce.as_bytes(),
            b":",
            self.cnonce.as_bytes(),
        ];
        if let Some(authzid) = self.authzid {
            a1.extend_from_slice(&[b":", authzid]);
        }
        let ha1 = hex(&md5(&a1));
        let ha2 = hex(&md5(&[method.as_bytes(), b":", digest_uri.as_bytes()]));
        hex(&md5(&[
            ha1.as_bytes(),
            b":",
            self.nonce.as_bytes(),
            b":00000001:",
            self.cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]))
    }
}

/// RFC 2831 (and Java): text all in ISO 8859-1's range is hashed as ISO
/// 8859-1, other text as UTF-8.
fn latin1_or_utf8(text: &str) -> Vec<u8> {
    if text.chars().all(|c| (c as u32) <= 0xFF) {
        text.chars().map(|c| c as u32 as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Equality whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
