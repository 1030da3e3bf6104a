//! Owns how the shell prints things, in the forms zkCli users know: Stat
//! lines (`cZxid = 0x..`, Java's date format), `WatchedEvent` lines, error
//! sentences (`Node does not exist: /x`), and Corral's own `tree` and `du`.

use client::{Error, EventType, SessionEvent, SessionState, Stat};

/// The state word of zkCli's prompt (`CONNECTED` in `[zk: host(CONNECTED) 3]`).
pub fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connecting | SessionState::Suspended => "CONNECTING",
        SessionState::Connected => "CONNECTED",
        SessionState::Expired => "EXPIRED",
        SessionState::Closed => "CLOSED",
    }
}

/// The Stat lines zkCli prints for `stat`, `get -s`, `ls -s`.
pub fn stat_lines(stat: &Stat) -> Vec<String> {
    vec![
        format!("cZxid = {:#x}", stat.czxid),
        format!("ctime = {}", java_date(stat.ctime)),
        format!("mZxid = {:#x}", stat.mzxid),
        format!("mtime = {}", java_date(stat.mtime)),
        format!("pZxid = {:#x}", stat.pzxid),
        format!("cversion = {}", stat.cversion),
        format!("dataVersion = {}", stat.version),
        format!("aclVersion = {}", stat.aversion),
        format!("ephemeralOwner = {:#x}", stat.ephemeral_owner),
        format!("dataLength = {}", stat.data_length),
        format!("numChildren = {}", stat.num_children),
    ]
}

/// Milliseconds since the epoch as Java's `Date.toString()` writes them,
/// in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = ms.div_euclid(1000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        year
    )
}

/// (year, month 1..=12, day 1..=31) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// ZooKeeper's name of an event type.
fn event_type_name(event_type: EventType) -> &'static str {
    match event_type {
        EventType::NodeCreated => "NodeCreated",
        EventType::NodeDeleted => "NodeDeleted",
        EventType::NodeDataChanged => "NodeDataChanged",
        EventType::NodeChildrenChanged => "NodeChildrenChanged",
    }
}

/// `WatchedEvent state:SyncConnected type:NodeDataChanged path:/x`.
pub fn event_line(event_type: EventType, path: &str) -> String {
    format!(
        "WatchedEvent state:SyncConnected type:{} path:{path}",
        event_type_name(event_type)
    )
}

/// The event line zkCli prints when `removewatches` drops a data (or
/// exist) watch, or else a child watch, on `path`.
pub fn watch_removed_line(is_data: bool, path: &str) -> String {
    let kind = if is_data {
        "DataWatchRemoved"
    } else {
        "ChildWatchRemoved"
    };
    format!("WatchedEvent state:SyncConnected type:{kind} path:{path}")
}

/// The block zkCli prints when a watch fires or the session changes state:
/// an empty line, `WATCHER::`, an empty line, the `WatchedEvent` line.
pub fn watcher_block(event_line: &str) -> String {
    format!("\nWATCHER::\n\n{event_line}")
}

/// The `WatchedEvent` line of a session transition (type None, no path).
pub fn session_line(event: SessionEvent) -> String {
    let state = match event {
        SessionEvent::Connected | SessionEvent::Reconnected => "SyncConnected",
        SessionEvent::Suspended => "Disconnected",
        SessionEvent::Expired => "Expired",
        SessionEvent::Closed => "Closed",
    };
    format!("WatchedEvent state:{state} type:None path:null")
}

/// A client error as zkCli words it, about `path` (the command's path when
/// the error carries none).
pub fn error_message(error: &Error, path: &str) -> String {
    match error {
        Error::NoNode { path } => format!("Node does not exist: {path}"),
        Error::NodeExists { path } => format!("Node already exists: {path}"),
        Error::NotEmpty { path } => format!("Node not empty: {path}"),
        Error::NoChildrenForEphemerals { path } => {
            format!("Ephemerals cannot have children: {path}")
        }
        Error::NoAuth { path } => format!("Insufficient permission : {path}"),
        Error::BadVersion { path } => format!("version No is not valid : {path}"),
        Error::BadArguments { path } => format!("Argument is not valid : {path}"),
        Error::InvalidAcl => format!("Acl is not valid : {path}"),
        Error::InvalidPath { path, .. } if !path.starts_with('/') => {
            "Path must start with / character".to_string()
        }
        Error::InvalidPath { path, reason } => zk_path_message(path, reason),
        Error::Closed => "Not connected".to_string(),
        other if other.code() == proto::ErrorCode::QuotaExceeded => {
            format!("Quota has exceeded : {path}")
        }
        other => {
            let code = match other {
                Error::SessionExpired => "Session expired".to_string(),
                Error::NoWatcher => "No such watcher".to_string(),
                other => format!("{:?}", other.code()),
            };
            match path {
                "" => format!("KeeperErrorCode = {code}"),
                path => format!("KeeperErrorCode = {code} for {path}"),
            }
        }
    }
}

/// What ZooKeeper's client (`PathUtils.validatePath`) says of an invalid
/// path: the first three bare, the others after `Invalid path string`, at
/// the index it names (of the second `/`, the last `.`, the character).
fn zk_path_message(path: &str, reason: &proto::path::PathError) -> String {
    use proto::path::PathError;
    let caused = |why: String| format!("Invalid path string \"{path}\" caused by {why}");
    match reason {
        PathError::Empty => "Path length must be > 0".to_string(),
        PathError::NotAbsolute => "Path must start with / character".to_string(),
        PathError::TrailingSlash => "Path must not end with / character".to_string(),
        PathError::EmptySegment(at) => caused(format!("empty node name specified @{at}")),
        PathError::RelativeSegment(at) => {
            let dots = path[*at..].chars().take_while(|c| *c == '.').count();
            caused(format!(
                "relative paths not allowed @{}",
                at + dots.max(1) - 1
            ))
        }
        PathError::InvalidChar('\0', at) => caused(format!("null character not allowed @{at}")),
        PathError::InvalidChar(_, at) => caused(format!("invalid character @{at}")),
    }
}

/// One node of a subtree, for `tree`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// The node's name (the full path for the root of the listing).
    pub name: String,
    /// Its children, in order.
    pub children: Vec<TreeNode>,
}

/// A subtree drawn as `tree(1)` draws folders: the root, then each child
/// under it with `├── ` / `└── ` and `│   ` guides.
pub fn tree_lines(root: &TreeNode) -> Vec<String> {
    fn walk(node: &TreeNode, prefix: &str, out: &mut Vec<String>) {
        let last = node.children.len().saturating_sub(1);
        for (i, child) in node.children.iter().enumerate() {
            let (branch, guide) = if i == last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            out.push(format!("{prefix}{branch}{}", child.name));
            walk(child, &format!("{prefix}{guide}"), out);
        }
    }
    let mut out = vec![root.name.clone()];
    walk(root, "", &mut out);
    out
}

/// `du`'s line: how many nodes a subtree holds (itself included) and the
/// bytes of their data.
pub fn du_line(path: &str, nodes: u64, bytes: u64) -> String {
    let plural = if nodes == 1 { "" } else { "s" };
    format!("{path}: {nodes} node{plural}, {bytes} bytes of data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_javas_date_to_string_in_utc() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2026-12-03T09:40:04Z, as the reference zkCli printed it.
        assert_eq!(java_date(1_796_290_804_000), "Thu Dec 03 09:40:04 UTC 2026");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(java_date(-1000), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn stat_lines_use_zookeepers_names_and_hex_zxids() {
        let stat = Stat {
            czxid: 2,
            mzxid: 8,
            pzxid: 6,
            version: 2,
            cversion: 2,
            data_length: 5,
            num_children: 2,
            ..Stat::default()
        };
        let lines = stat_lines(&stat);
        assert_eq!(lines[0], "cZxid = 0x2");
        assert_eq!(lines[1], "ctime = Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(lines[2], "mZxid = 0x8");
        assert_eq!(lines[6], "dataVersion = 2");
        assert_eq!(lines[8], "ephemeralOwner = 0x0");
        assert_eq!(lines[10], "numChildren = 2");
        assert_eq!(lines.len(), 11);
    }

    #[test]
    fn events_print_as_zkcli_prints_them() {
        assert_eq!(
            watcher_block(&event_line(EventType::NodeDataChanged, "/x")),
            "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/x"
        );
        assert_eq!(
            session_line(SessionEvent::Suspended),
            "WatchedEvent state:Disconnected type:None path:null"
        );
        assert_eq!(
            session_line(SessionEvent::Reconnected),
            "WatchedEvent state:SyncConnected type:None path:null"
        );
        assert_eq!(
            session_line(SessionEvent::Expired),
            "WatchedEvent state:Expired type:None path:null"
        );
    }

    #[test]
    fn errors_read_like_zkclis() {
        let p = || "/x".to_string();
        assert_eq!(
            error_message(&Error::NoNode { path: p() }, "/x"),
            "Node does not exist: /x"
        );
        assert_eq!(
            error_message(&Error::NodeExists { path: p() }, "/x"),
            "Node already exists: /x"
        );
        assert_eq!(
            error_message(&Error::NoAuth { path: p() }, "/x"),
            "Insufficient permission : /x"
        );
        assert_eq!(
            error_message(&Error::BadVersion { path: p() }, "/x"),
            "version No is not valid : /x"
        );
        assert_eq!(
            error_message(&Error::InvalidAcl, "/x"),
            "Acl is not valid : /x"
        );
        let relative = Error::InvalidPath {
            path: "x".into(),
            reason: proto::path::PathError::NotAbsolute,
        };
        assert_eq!(
            error_message(&relative, "x"),
            "Path must start with / character"
        );
        assert_eq!(
            error_message(&Error::ConnectionLoss, "/x"),
            "KeeperErrorCode = ConnectionLoss for /x"
        );
        assert_eq!(
            error_message(&Error::SessionExpired, "/x"),
            "KeeperErrorCode = Session expired for /x"
        );
        assert_eq!(
            error_message(&Error::AuthFailed, ""),
            "KeeperErrorCode = AuthFailed",
            "addauth and whoami have no path"
        );
    }

    #[test]
    fn trees_are_drawn_with_guides() {
        let leaf = |name: &str| TreeNode {
            name: name.into(),
            children: vec![],
        };
        let root = TreeNode {
            name: "/app".into(),
            children: vec![
                TreeNode {
                    name: "a".into(),
                    children: vec![leaf("b"), leaf("c")],
                },
                leaf("z"),
            ],
        };
        assert_eq!(
            tree_lines(&root),
            ["/app", "├── a", "│   ├── b", "│   └── c", "└── z"]
        );
    }

    #[test]
    fn du_counts_read_as_a_sentence() {
        assert_eq!(du_line("/a", 3, 10), "/a: 3 nodes, 10 bytes of data");
        assert_eq!(du_line("/a", 1, 0), "/a: 1 node, 0 bytes of data");
    }
}
