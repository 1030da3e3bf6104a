//! The one path from settings to a validated [`Config`]: a TOML file and
//! command-line flags are both a table of settings (keys as in `Config`);
//! layers are merged (a later one wins key by key), the derived defaults are
//! applied from what was set, and the result is validated.
//!
//! Derived defaults (ZooKeeper's rules where it has them):
//! - `tick_ms` set, a session timeout bound not set: the bounds are 2 and
//!   20 ticks;
//! - `jute_maxbuffer_bytes` set, `max_data_bytes` not set: data may be as
//!   large as a frame (as in ZooKeeper, where jute.maxbuffer alone bounds
//!   it; never less than the default);
//! - `max_data_bytes` set, `jute_maxbuffer_bytes` not set: a ZooKeeper frame
//!   may be the data plus 64 KiB (never less than ZooKeeper's default), so
//!   raising the data limit raises it on both front ends;
//! - `max_request_bytes` not set: a request may be the data plus 64 KiB of
//!   the rest of it, and at least one whole ZooKeeper frame (never less than
//!   the default);
//! - `partial_frame_bytes`, `proposal_queue_bytes`, `log_retained_bytes`
//!   not set: at least one whole request.

use super::{Config, ConfigError};
use std::path::Path;

/// Settings by `Config` key, as read from a file or given as flags.
pub type Settings = toml::Table;

/// What a request may hold beside its data.
const REQUEST_OVERHEAD: usize = 64 * 1024;

/// Reads a TOML file of settings.
pub fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses TOML text into settings.
pub fn parse(text: &str) -> Result<Settings, toml::de::Error> {
    toml::from_str(text)
}

/// Settings from the environment: `CORRAL_<KEY>` for each `Config` key
/// (upper case), for containers. A value is read as TOML (`8`, `true`,
/// `["a", "b"]`) and, when it is not TOML, as a string. Variables that name
/// no setting (such as `CORRAL_LOG`) are left alone.
pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Settings {
    let keys: Vec<String> = match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(table)) => table.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mut settings = Settings::new();
    for (name, value) in vars {
        let Some(key) = name.strip_prefix("CORRAL_").map(str::to_ascii_lowercase) else {
            continue;
        };
        if !keys.contains(&key) && !OPTIONAL_KEYS.contains(&key.as_str()) {
            continue;
        }
        let parsed = toml::from_str::<Settings>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        settings.insert(key, parsed);
    }
    settings
}

/// `Config` keys with no default value (absent from a serialized default).
const OPTIONAL_KEYS: [&str; 12] = [
    "peer_tls_cert",
    "peer_tls_key",
    "peer_tls_ca",
    "super_digest",
    "node_id",
    "cluster_secret_file",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "x509_super_user",
    "sasl_users_file",
    "sasl_super_user",
];

/// Merges layers of settings; a key in a later layer replaces the same key
/// in an earlier one.
pub fn merge(layers: impl IntoIterator<Item = Settings>) -> Settings {
    let mut merged = Settings::new();
    for layer in layers {
        merged.extend(layer);
    }
    merged
}

/// The validated configuration these settings describe (defaults for what
/// they leave out, derived as the module says).
pub fn resolve(settings: Settings) -> Result<Config, ConfigError> {
    let set = |key: &str| settings.contains_key(key);
    let (tick, min, max) = (
        set("tick_ms"),
        set("min_session_timeout_ms"),
        set("max_session_timeout_ms"),
    );
    let (data, request, jute) = (
        set("max_data_bytes"),
        set("max_request_bytes"),
        set("jute_maxbuffer_bytes"),
    );
    let (partial, proposals, retained) = (
        set("partial_frame_bytes"),
        set("proposal_queue_bytes"),
        set("log_retained_bytes"),
    );
    let mut config: Config = toml::Value::Table(settings)
        .try_into()
        .map_err(|source| ConfigError::Settings { source })?;
    if tick && !min {
        config.min_session_timeout_ms = config.tick_ms.saturating_mul(2);
    }
    if tick && !max {
        config.max_session_timeout_ms = config.tick_ms.saturating_mul(20);
    }
    if jute && !data {
        config.max_data_bytes = config.max_data_bytes.max(config.jute_maxbuffer_bytes);
    }
    if data && !jute {
        config.jute_maxbuffer_bytes = config
            .jute_maxbuffer_bytes
            .max(config.max_data_bytes.saturating_add(REQUEST_OVERHEAD));
    }
    if !request {
        config.max_request_bytes = config
            .max_request_bytes
            .max(config.max_data_bytes.saturating_add(REQUEST_OVERHEAD))
            .max(config.jute_maxbuffer_bytes);
    }
    let request_bytes = config.max_request_bytes;
    if !partial {
        config.partial_frame_bytes = config.partial_frame_bytes.max(request_bytes);
    }
    if !proposals {
        config.proposal_queue_bytes = config.proposal_queue_bytes.max(request_bytes);
    }
    if !retained {
        config.log_retained_bytes = config.log_retained_bytes.max(request_bytes);
    }
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        resolve(parse(text).expect("parses")).expect("valid")
    }

    #[test]
    fn a_tick_sets_the_session_timeout_bounds_unless_they_are_given() {
        let c = config("tick_ms = 100");
        assert_eq!(
            (c.min_session_timeout_ms, c.max_session_timeout_ms),
            (200, 2000)
        );
        let c = config("tick_ms = 100\nmax_session_timeout_ms = 60000");
        assert_eq!(
            (c.min_session_timeout_ms, c.max_session_timeout_ms),
            (200, 60000)
        );
    }

    #[test]
    fn larger_data_raises_the_request_and_partial_frame_limits() {
        let c = config("max_data_bytes = 4194304");
        assert_eq!(c.max_request_bytes, 4194304 + REQUEST_OVERHEAD);
        assert_eq!(c.partial_frame_bytes, 64 << 20);
        let c = config("max_data_bytes = 134217728");
        assert_eq!(c.partial_frame_bytes, c.max_request_bytes);
        assert_eq!(c.proposal_queue_bytes, c.max_request_bytes);
    }

    #[test]
    fn the_zookeeper_frame_limit_is_jute_maxbuffer_and_follows_the_data_limit() {
        let c = config("");
        assert_eq!(c.jute_maxbuffer_bytes, 1_048_575);
        assert_eq!(c.max_data_bytes, 1 << 20);
        assert_eq!(c.max_request_bytes, (1 << 20) + REQUEST_OVERHEAD);
        let c = config("max_data_bytes = 4194304");
        assert_eq!(c.jute_maxbuffer_bytes, 4194304 + REQUEST_OVERHEAD);
        let c = config("max_data_bytes = 65536");
        assert_eq!(c.jute_maxbuffer_bytes, 1_048_575, "never below ZooKeeper's");
        let c = config("jute_maxbuffer_bytes = 4194304");
        assert_eq!(c.max_data_bytes, 4194304);
        assert_eq!(c.max_request_bytes, 4194304 + REQUEST_OVERHEAD);
        assert!(c.partial_frame_bytes >= c.max_request_bytes);
        let c = config("jute_maxbuffer_bytes = 65536");
        assert_eq!((c.jute_maxbuffer_bytes, c.max_data_bytes), (65536, 1 << 20));
        assert!(matches!(
            resolve(
                parse("jute_maxbuffer_bytes = 2097152\nmax_request_bytes = 1048576")
                    .expect("parses")
            ),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            resolve(parse("jute_maxbuffer_bytes = 100").expect("parses")),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn the_environment_names_settings_by_upper_case_key() {
        let vars = [
            ("CORRAL_NODE_ID", "3"),
            ("CORRAL_PEER_LISTEN", "0.0.0.0:4188"),
            ("CORRAL_CLUSTER_SECRET_FILE", "/etc/corral/cluster-secret"),
            ("CORRAL_ADMIN_LISTEN", "0.0.0.0:8181"),
            ("CORRAL_FOUR_LETTER_WORDS", r#"["ruok", "mntr"]"#),
            ("CORRAL_LOG", "debug"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = resolve(from_env(vars)).expect("valid");
        assert_eq!(c.node_id, Some(3));
        assert_eq!(c.peer_listen, "0.0.0.0:4188".parse().ok());
        assert!(c.cluster_secret_file.is_some());
        assert_eq!(c.admin_listen, "0.0.0.0:8181".parse().ok());
        assert_eq!(c.four_letter_words, ["ruok", "mntr"]);
    }

    #[test]
    fn a_later_layer_wins_key_by_key() {
        let file = parse("tick_ms = 100\nsnapshot_every = 7").expect("parses");
        let flags = parse("tick_ms = 300").expect("parses");
        let c = resolve(merge([file, flags])).expect("valid");
        assert_eq!((c.tick_ms, c.snapshot_every), (300, 7));
        assert_eq!(c.min_session_timeout_ms, 600);
    }

    #[test]
    fn the_zookeeper_listener_can_be_turned_off_in_a_file() {
        assert_eq!(config("zk_listen = \"off\"").zk_listen, None);
        assert_eq!(
            config("zk_listen = \"127.0.0.1:2999\"").zk_listen,
            Some("127.0.0.1:2999".parse().expect("addr"))
        );
    }

    #[test]
    fn unknown_keys_and_invalid_values_are_refused() {
        assert!(matches!(
            resolve(parse("no_such_key = 1").expect("parses")),
            Err(ConfigError::Settings { .. })
        ));
        assert!(matches!(
            resolve(parse("tick_ms = 0").expect("parses")),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
