//! SASL for ZooKeeper clients, as Apache ZooKeeper's server does it with
//! DIGEST-MD5: the users (from a JAAS file's `Server` section, ZooKeeper's
//! `DigestLoginModule` `user_NAME="password"` options), the mechanism
//! ([`digest_md5`], RFC 2831) and the file format ([`jaas`]).
//!
//! Pure apart from [`SaslUsers::load`], which reads the file once at start.
//! A connection that completes an exchange holds the id `sasl:NAME`
//! (`service::auth` adds it).

pub mod digest_md5;
pub mod directives;
pub mod jaas;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest users file read (a JAAS file is a few lines).
pub const MAX_USERS_FILE_BYTES: u64 = 1 << 20;

/// Why the users could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be read.
    #[error("cannot read SASL users file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_USERS_FILE_BYTES`] or not UTF-8.
    #[error("SASL users file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// The file is not valid JAAS.
    #[error("SASL users file {path}: {source}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: jaas::JaasError,
    },
    /// The file has no section of the configured name.
    #[error("SASL users file {path} has no section {section:?}")]
    NoSection {
        /// The file.
        path: PathBuf,
        /// The section looked for.
        section: String,
    },
}

/// The users SASL clients may authenticate as, and the super user's name.
#[derive(Clone, Default)]
pub struct SaslUsers {
    passwords: HashMap<String, String>,
    super_user: Option<String>,
}

impl std::fmt::Debug for SaslUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.passwords.keys().collect();
        names.sort();
        f.debug_struct("SaslUsers")
            .field("users", &names)
            .field("super_user", &self.super_user)
            .finish()
    }
}

impl SaslUsers {
    /// Users from JAAS text: the `user_*` options of section `section`.
    pub fn from_jaas(text: &str, section: &str) -> Result<Option<SaslUsers>, jaas::JaasError> {
        let parsed = jaas::parse(text)?;
        Ok(parsed.section(section).map(|s| SaslUsers {
            passwords: s.users().into_iter().collect(),
            super_user: None,
        }))
    }

    /// Reads and parses the users file (at most [`MAX_USERS_FILE_BYTES`]).
    pub fn load(path: &Path, section: &str) -> Result<SaslUsers, UsersError> {
        let read = |source| UsersError::Read {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_USERS_FILE_BYTES {
            return Err(UsersError::Unreadable {
                path: path.to_path_buf(),
                reason: "larger than 1 MiB",
            });
        }
        let bytes = std::fs::read(path).map_err(read)?;
        let text = String::from_utf8(bytes).map_err(|_| UsersError::Unreadable {
            path: path.to_path_buf(),
            reason: "not UTF-8 text",
        })?;
        let users = SaslUsers::from_jaas(&text, section).map_err(|source| UsersError::Syntax {
            path: path.to_path_buf(),
            source,
        })?;
        let users = users.ok_or_else(|| UsersError::NoSection {
            path: path.to_path_buf(),
            section: section.to_string(),
        })?;
        if users.passwords.is_empty() {
            tracing::warn!(path = %path.display(), section, "the SASL section names no user_ options: no DIGEST-MD5 client can authenticate");
        }
        Ok(users)
    }

    /// The same users with `name` as super user (ZooKeeper's
    /// `zookeeper.superUser`).
    pub fn with_super_user(mut self, name: Option<String>) -> SaslUsers {
        self.super_user = name;
        self
    }

    /// `user`'s password, if `user` is known.
    pub fn password(&self, user: &str) -> Option<&str> {
        self.passwords.get(user).map(String::as_str)
    }

    /// Whether `user` is the configured super user.
    pub fn is_super(&self, user: &str) -> bool {
        self.super_user.as_deref() == Some(user)
    }

    /// Whether `password` is `user`'s (a plain check, for the native API).
    pub fn check_plain(&self, user: &str, password: &str) -> bool {
        self.password(user)
            .is_some_and(|p| digest_md5::constant_time_eq(p.as_bytes(), password.as_bytes()))
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.passwords.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }
}

/// A fresh DIGEST-MD5 nonce: 24 random bytes, base64 (no quote or
/// backslash to escape).
pub fn new_nonce() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_come_from_the_named_section_only() {
        let text = "Server { M required user_bob=\"b\"; };\nOther { M required user_eve=\"e\"; };";
        let users = SaslUsers::from_jaas(text, "Server")
            .expect("parses")
            .expect("section");
        assert_eq!(users.password("bob"), Some("b"));
        assert_eq!(users.password("eve"), None);
        assert!(users.check_plain("bob", "b"));
        assert!(!users.check_plain("bob", "x"));
        assert!(!users.check_plain("eve", "e"));
        let other = SaslUsers::from_jaas(text, "Other").expect("parses");
        assert_eq!(
            other
                .and_then(|u| u.password("eve").map(String::from))
                .as_deref(),
            Some("e")
        );
        assert!(SaslUsers::from_jaas(text, "Nope")
            .expect("parses")
            .is_none());
        assert!(
            !format!("{users:?}").contains("\"b\""),
            "no passwords in Debug"
        );
    }

    #[test]
    fn loading_reports_missing_files_sections_and_syntax() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jaas.conf");
        assert!(matches!(
            SaslUsers::load(&path, "Server"),
            Err(UsersError::Read { .. })
        ));
        std::fs::write(&path, "Client { M required user_a=\"x\"; };").expect("write");
        assert!(matches!(
            SaslUsers::load(&path, "Server"),
            Err(UsersError::NoSection { .. })
        ));
        std::fs::write(&path, "Server { M required user_a=\"x\" }").expect("write");
        let error = SaslUsers::load(&path, "Server").expect_err("malformed");
        assert!(error.to_string().contains("line 1"), "{error}");
        std::fs::write(&path, "Server { M required user_a=\"x\"; };").expect("write");
        let users = SaslUsers::load(&path, "Server")
            .expect("loads")
            .with_super_user(Some("a".into()));
        assert!(users.is_super("a") && !users.is_super("b"));
        assert_eq!(users.len(), 1);
    }

    #[test]
    fn nonces_are_fresh_and_need_no_quoting() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(!a.contains('"') && !a.contains('\\'));
    }
}
