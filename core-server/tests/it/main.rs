//! Integration tests: a real server on a loopback port the OS picks, real
//! clients, no fixed sleeps.

mod raw;
mod raw_zk;
mod t10_bad_input;
mod t11_data_model;
mod t12_sessions_watches;
mod t13_manual_clock;
mod t20_durability;
mod t21_backend_conformance;
mod t22_disk_faults;
mod t40_zk_wire;
mod t41_differential;
mod t41_differential_raw;
mod t42_zk_hostile;
mod t43_zk_heavy_clients;
mod t44_slow_readers_and_signals;
mod t45_zk_paths;
mod t46_zk_frame_limit;
mod t47_zk_multi_order;
mod t50_linearizability;
mod t60_cluster;
mod t61_cluster_linearizability;
mod t62_cluster_availability;
mod t63_cluster_flood;
mod t64_peer_format;
mod t65_status_words;
mod t66_backup_restore;
mod t67_admin_http;
mod t68_zk_tls;
mod t69_zk_tls_reload;
mod t75_peer_and_admin_auth;
mod t76_native_tls;
mod t77_zk_sasl;
mod t78_peer_tls;
mod t79_web_console;
mod tls_zk;
