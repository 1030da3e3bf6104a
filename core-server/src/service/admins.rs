//! Who may run operator commands (bootstrap, membership changes, backups):
//! the super user, or a caller proving an identity listed in
//! `admin_identities`. One rule for the gRPC operator service and the admin
//! HTTP listener.

use super::Service;
use crate::tree::acl::digest_id;

/// What a caller of an operator command proved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminCredentials {
    /// `USER:PASSWORD` from `authorization: digest USER:PASSWORD`.
    pub digest: Option<String>,
    /// Identities proven by the connection itself (`x509:<subject DN>` of
    /// a verified client certificate).
    pub identities: Vec<String>,
}

impl AdminCredentials {
    /// Reads an `authorization` header or metadata value: `digest
    /// USER:PASSWORD` (ZooKeeper's AdminServer form) or HTTP `Basic
    /// base64(USER:PASSWORD)`. Anything else proves nothing.
    pub fn from_authorization(value: Option<&str>) -> AdminCredentials {
        let digest = value.and_then(|value| {
            let (scheme, rest) = value.trim().split_once(' ')?;
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("digest") {
                return Some(rest.to_string());
            }
            if scheme.eq_ignore_ascii_case("basic") {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .ok()?;
                return String::from_utf8(bytes).ok();
            }
            None
        });
        AdminCredentials {
            digest,
            identities: Vec::new(),
        }
    }
}

impl Service {
    /// True when `credentials` make the caller an administrator: a digest
    /// equal to the super user's (`super_digest`), or an identity
    /// (`digest:USER:HASH` for a digest) listed in `admin_identities`.
    pub fn is_administrator(&self, credentials: &AdminCredentials) -> bool {
        let config = self.config();
        let mut proven: Vec<String> = credentials.identities.clone();
        if let Some(id) = credentials.digest.as_deref().and_then(digest_id) {
            if config.super_digest.as_deref() == Some(id.as_str()) {
                return true;
            }
            proven.push(format!("digest:{id}"));
        }
        proven
            .iter()
            .any(|id| config.admin_identities.iter().any(|admin| admin == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_are_read_in_both_forms() {
        let d = AdminCredentials::from_authorization(Some("digest super:pw"));
        assert_eq!(d.digest.as_deref(), Some("super:pw"));
        // base64("super:pw")
        let b = AdminCredentials::from_authorization(Some("Basic c3VwZXI6cHc="));
        assert_eq!(b.digest.as_deref(), Some("super:pw"));
        assert_eq!(
            AdminCredentials::from_authorization(Some("Bearer x")).digest,
            None
        );
        assert_eq!(AdminCredentials::from_authorization(None).digest, None);
    }
}
