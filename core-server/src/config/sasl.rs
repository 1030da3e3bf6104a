//! The SASL settings: checking them, and loading the users they name.

use super::{Config, ConfigError};
use crate::sasl::SaslUsers;

impl Config {
    /// Checks the SASL settings against each other.
    pub(super) fn validate_sasl(&self) -> Result<(), ConfigError> {
        if self.sasl_server_section.is_empty() {
            return Err(ConfigError::Invalid {
                name: "sasl_server_section",
                reason: "must not be empty",
            });
        }
        if self.sasl_super_user.as_deref() == Some("") {
            return Err(ConfigError::Invalid {
                name: "sasl_super_user",
                reason: "must not be empty",
            });
        }
        Ok(())
    }

    /// The SASL users from `sasl_users_file` (`None` when no file is
    /// configured): read once, at start; a missing, unreadable or malformed
    /// file, or one without the section, is an error.
    pub fn sasl_users(&self) -> Result<Option<SaslUsers>, ConfigError> {
        let Some(path) = &self.sasl_users_file else {
            return Ok(None);
        };
        let users = SaslUsers::load(path, &self.sasl_server_section)?;
        Ok(Some(users.with_super_user(self.sasl_super_user.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings;

    #[test]
    fn sasl_settings_come_from_files_the_environment_and_their_defaults() {
        let c = Config::default();
        assert_eq!(c.sasl_server_section, "Server");
        assert!(c.sasl_users().expect("no file").is_none());
        let vars = [
            ("CORRAL_SASL_USERS_FILE", "/nonexistent/jaas.conf"),
            ("CORRAL_SASL_SUPER_USER", "admin"),
            ("CORRAL_SASL_SERVER_SECTION", "ZkServer"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = settings::resolve(settings::from_env(vars)).expect("valid");
        assert_eq!(c.sasl_super_user.as_deref(), Some("admin"));
        assert_eq!(c.sasl_server_section, "ZkServer");
        assert!(matches!(c.sasl_users(), Err(ConfigError::Sasl(_))));
        let bad = settings::parse("sasl_server_section = \"\"").expect("toml");
        assert!(matches!(
            settings::resolve(bad),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn a_users_file_gives_users_and_the_super_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jaas.conf");
        std::fs::write(
            &path,
            "Server { org.apache.zookeeper.server.auth.DigestLoginModule required\n\
             user_super=\"adminsecret\" user_bob=\"bobsecret\"; };",
        )
        .expect("write");
        let c = Config {
            sasl_users_file: Some(path),
            sasl_super_user: Some("super".into()),
            ..Config::default()
        };
        let users = c.sasl_users().expect("loads").expect("configured");
        assert_eq!(users.password("bob"), Some("bobsecret"));
        assert!(users.is_super("super") && !users.is_super("bob"));
    }
}
