//! Flags and the TOML file take one path to a `Config`: every flag gives the
//! same configuration as the same setting written in a file.

use super::ServeArgs;
use clap::{CommandFactory, Parser};
use core_server::Config;

#[derive(Debug, Parser)]
struct Serve {
    #[command(flatten)]
    args: ServeArgs,
}

/// Each flag (with its values) and the same setting as TOML.
const SAME_SETTING: &[(&[&str], &str)] = &[
    (&["--data-dir", "d1"], "data_dir = \"d1\""),
    (&["--listen", "127.0.0.1:5000"], "listen = \"127.0.0.1:5000\""),
    (&["--zk-listen", "127.0.0.1:5001"], "zk_listen = \"127.0.0.1:5001\""),
    (&["--no-zk"], "zk_listen = \"off\""),
    (&["--admin-listen", "127.0.0.1:5002"], "admin_listen = \"127.0.0.1:5002\""),
    (&["--no-admin"], "admin_listen = \"off\""),
    (&["--ready-lag-entries", "5"], "ready_lag_entries = 5"),
    (&["--super-digest", "super:abc="], "super_digest = \"super:abc=\""),
    (
        &["--four-letter-words", "srvr,ruok"],
        "four_letter_words = [\"srvr\", \"ruok\"]",
    ),
    (&["--tick-ms", "100"], "tick_ms = 100"),
    (&["--min-session-timeout-ms", "3000"], "min_session_timeout_ms = 3000"),
    (&["--max-session-timeout-ms", "50000"], "max_session_timeout_ms = 50000"),
    (&["--max-data-bytes", "4194304"], "max_data_bytes = 4194304"),
    (&["--jute-maxbuffer-bytes", "2097152"], "jute_maxbuffer_bytes = 2097152"),
    (&["--max-client-cnxns", "7"], "max_connections_per_ip = 7"),
    (&["--connection-queue-bytes", "1000000"], "connection_queue_bytes = 1000000"),
    (&["--handshake-timeout-ms", "500"], "handshake_timeout_ms = 500"),
    (&["--frame-timeout-ms", "700"], "frame_timeout_ms = 700"),
    (&["--partial-frame-bytes", "200000000"], "partial_frame_bytes = 200000000"),
    (&["--log-retained-bytes", "300000000"], "log_retained_bytes = 300000000"),
    (&["--log-write-queue-bytes", "1000"], "log_write_queue_bytes = 1000"),
    (&["--log-cache-bytes", "2000"], "log_cache_bytes = 2000"),
    (&["--zk-compat", "3.8"], "zk_compat = \"3.8\""),
    (&["--read-only-mode"], "read_only_mode = true"),
    (&["--enforce-quota"], "enforce_quota = true"),
    (&["--snapshot-every", "50"], "snapshot_every = 50"),
    (&["--container-check-ms", "900"], "container_check_ms = 900"),
    (
        &CLUSTER,
        "node_id = 2\npeer_listen = \"127.0.0.1:7000\"\ncluster_secret_file = \"secret\"",
    ),
    (
        &[
            "--id", "2", "--peer-listen", "127.0.0.1:7000", "--cluster-secret-file", "secret",
            "--member", "1=a:1", "--member", "2=b:2,client=d:4,zk=c:3",
        ],
        "node_id = 2\npeer_listen = \"127.0.0.1:7000\"\ncluster_secret_file = \"secret\"\n\
         members = [{ id = 1, addr = \"a:1\" }, { id = 2, addr = \"b:2\", zk_addr = \"c:3\", client_addr = \"d:4\" }]",
    ),
    (
        &[
            "--peer-tls-cert", "p.pem", "--peer-tls-key", "p.key", "--peer-tls-ca", "ca.pem",
        ],
        "peer_tls_cert = \"p.pem\"\npeer_tls_key = \"p.key\"\npeer_tls_ca = \"ca.pem\"",
    ),
    (
        &["--admin-identity", "x509:CN=ops", "--admin-identity", "digest:ops:h"],
        "admin_identities = [\"x509:CN=ops\", \"digest:ops:h\"]",
    ),
    (&["--heartbeat-ms", "40"], "heartbeat_ms = 40"),
    (&["--election-timeout-ms", "900"], "election_timeout_ms = 900"),
    (&["--write-timeout-ms", "1234"], "write_timeout_ms = 1234"),
    (
        &["--peer-route", "2=127.0.0.1:9"],
        "peer_routes = [{ id = 2, addr = \"127.0.0.1:9\" }]",
    ),
    (
        &["--tls-cert", "c.pem", "--tls-key", "k.pem"],
        "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"",
    ),
    (
        &[
            "--zk-secure-listen",
            "127.0.0.1:5003",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem",
        ],
        "zk_secure_listen = \"127.0.0.1:5003\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_client_ca = \"ca.pem\"",
    ),
    (&["--tls-min-version", "1.3"], "tls_min_version = \"1.3\""),
    (&["--tls-reload-ms", "250"], "tls_reload_ms = 250"),
    (&["--max-tls-handshakes", "8"], "max_tls_handshakes = 8"),
    (
        &["--x509-super-user", "CN=admin,O=Corral"],
        "x509_super_user = \"CN=admin,O=Corral\"",
    ),
    (&["--sasl-users", "jaas.conf"], "sasl_users_file = \"jaas.conf\""),
    (&["--sasl-server-section", "Zk"], "sasl_server_section = \"Zk\""),
    (&["--sasl-super-user", "admin"], "sasl_super_user = \"admin\""),
];

/// The least a cluster member needs: an id, a peer listener and a secret.
const CLUSTER: [&str; 6] = [
    "--id",
    "2",
    "--peer-listen",
    "127.0.0.1:7000",
    "--cluster-secret-file",
    "secret",
];

fn from_flags(flags: &[&str]) -> Config {
    let argv = std::iter::once("serve").chain(flags.iter().copied());
    Serve::try_parse_from(argv)
        .expect("flags parse")
        .args
        .into_config_with_env([])
        .expect("flags give a valid config")
}

fn from_file(text: &str, flags: &[&str]) -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corral.toml");
    std::fs::write(&path, text).expect("write");
    let path = path.to_string_lossy().into_owned();
    let mut argv = vec!["--config", path.as_str()];
    argv.extend_from_slice(flags);
    from_flags(&argv)
}

#[test]
fn every_flag_gives_the_same_config_as_the_same_setting_in_a_file() {
    for (flags, toml) in SAME_SETTING {
        let by_flag = from_flags(flags);
        assert_ne!(by_flag, Config::default(), "{flags:?} changes something");
        assert_eq!(by_flag, from_file(toml, &[]), "{flags:?} against `{toml}`");
    }
}

#[test]
fn every_serve_flag_is_checked_against_the_file() {
    let checked: Vec<&str> = SAME_SETTING
        .iter()
        .flat_map(|(f, _)| f.iter())
        .copied()
        .collect();
    for arg in Serve::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "config" {
            continue;
        }
        let flag = format!("--{long}");
        assert!(
            checked.contains(&flag.as_str()),
            "{flag} has no file twin in SAME_SETTING"
        );
    }
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let parse = |flags: &[&str]| {
        Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
            .expect("flags parse")
            .args
    };
    let c = parse(&[])
        .into_config_with_env(env(&[("CORRAL_TICK_MS", "300"), ("CORRAL_NO_SUCH", "1")]))
        .expect("valid");
    assert_eq!(c.tick_ms, 300);
    let c = parse(&["--tick-ms", "100"])
        .into_config_with_env(env(&[("CORRAL_TICK_MS", "300")]))
        .expect("valid");
    assert_eq!(c.tick_ms, 100);
}

#[test]
fn a_flag_overrides_the_file_and_derived_values_follow_the_merged_settings() {
    let c = from_file("tick_ms = 100\nsnapshot_every = 7", &["--tick-ms", "300"]);
    assert_eq!((c.tick_ms, c.snapshot_every), (300, 7));
    assert_eq!(
        (c.min_session_timeout_ms, c.max_session_timeout_ms),
        (600, 6000)
    );
    // A large data limit in the file raises the request limit as the flag does.
    let c = from_file("max_data_bytes = 8388608", &[]);
    assert_eq!(c, from_flags(&["--max-data-bytes", "8388608"]));
    assert!(c.max_request_bytes > 8388608);
}
