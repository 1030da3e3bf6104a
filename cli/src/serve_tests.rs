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
    (&["--max-client-cnxns", "7"], "max_connections_per_ip = 7"),
    (&["--connection-queue-bytes", "1000000"], "connection_queue_bytes = 1000000"),
    (&["--handshake-timeout-ms", "500"], "handshake_timeout_ms = 500"),
    (&["--frame-timeout-ms", "700"], "frame_timeout_ms = 700"),
    (&["--partial-frame-bytes", "200000000"], "partial_frame_bytes = 200000000"),
    (&["--log-retained-bytes", "300000000"], "log_retained_bytes = 300000000"),
    (&["--log-write-queue-bytes", "1000"], "log_write_queue_bytes = 1000"),
    (&["--snapshot-every", "50"], "snapshot_every = 50"),
    (&["--container-check-ms", "900"], "container_check_ms = 900"),
    (&["--id", "2"], "node_id = 2"),
    (
        &["--id", "2", "--member", "1=a:1", "--member", "2=b:2/c:3"],
        "node_id = 2\nmembers = [{ id = 1, addr = \"a:1\" }, { id = 2, addr = \"b:2\", zk_addr = \"c:3\" }]",
    ),
    (&["--heartbeat-ms", "40"], "heartbeat_ms = 40"),
    (&["--election-timeout-ms", "900"], "election_timeout_ms = 900"),
    (&["--write-timeout-ms", "1234"], "write_timeout_ms = 1234"),
    (
        &["--peer-route", "2=127.0.0.1:9"],
        "peer_routes = [{ id = 2, addr = \"127.0.0.1:9\" }]",
    ),
    (&["--sasl-users", "jaas.conf"], "sasl_users_file = \"jaas.conf\""),
    (&["--sasl-server-section", "Zk"], "sasl_server_section = \"Zk\""),
    (&["--sasl-super-user", "admin"], "sasl_super_user = \"admin\""),
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
