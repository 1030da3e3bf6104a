//! ZooKeeper's quota vocabulary, shared by the server (which keeps the stats
//! nodes up to date and enforces the limits) and the shell (`setquota`,
//! `listquota`, `delquota`): the paths under `/zookeeper/quota` (ZooKeeper's
//! `Quotas`) and the text of the limits and stats nodes (its `StatsTrack`),
//! parsed and printed exactly as ZooKeeper 3.8 does.

use std::collections::BTreeMap;
use std::fmt;

/// The node under which quotas live (`Quotas.quotaZookeeper`).
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// The name of the node holding a quota's limits (`Quotas.limitNode`).
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// The name of the node holding a quota's usage (`Quotas.statNode`).
pub const STAT_NODE: &str = "zookeeper_stats";

/// The key of the node count (soft limit in a limits node, usage in a stats node).
pub const COUNT: &str = "count";
/// The key of the data bytes (soft limit, or usage).
pub const BYTES: &str = "bytes";
/// The key of the hard limit on the node count.
pub const COUNT_HARD_LIMIT: &str = "countHardLimit";
/// The key of the hard limit on the data bytes.
pub const BYTE_HARD_LIMIT: &str = "byteHardLimit";

/// The quota directory of `path` (`Quotas.quotaPath`).
pub fn quota_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}")
}

/// The limits node of `path` (`Quotas.limitPath`).
pub fn limit_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}/{LIMIT_NODE}")
}

/// The stats node of `path` (`Quotas.statPath`).
pub fn stat_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}/{STAT_NODE}")
}

/// The path a limits node puts a quota on: `/a/b` for
/// `/zookeeper/quota/a/b/zookeeper_limits`; `None` for any other node (and
/// for `/zookeeper/quota/zookeeper_limits`, which names no path).
pub fn quota_of_limit_node(node_path: &str) -> Option<&str> {
    node_path
        .strip_prefix(QUOTA_ROOT)?
        .strip_suffix(LIMIT_NODE)?
        .strip_suffix('/')
        .filter(|path| path.starts_with('/'))
}

/// The path whose stats a stats node holds, as ZooKeeper computes it when
/// the node is created: `/a` for `/zookeeper/quota/a/zookeeper_stats`, and
/// `""` (the whole tree) for `/zookeeper/quota/zookeeper_stats`.
pub fn quota_of_stat_node(node_path: &str) -> Option<&str> {
    let rest = node_path
        .strip_prefix(QUOTA_ROOT)?
        .strip_suffix(STAT_NODE)?
        .strip_suffix('/')?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Why the text of a limits or stats node does not parse (ZooKeeper's
/// `StatsTrack` throws on it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// A pair without `=value`.
    #[error("quota field without a value: {0:?}")]
    MissingValue(String),
    /// A value that is not a 64-bit integer.
    #[error("quota field {key:?} has a value that is not a number: {value:?}")]
    NotANumber {
        /// The field.
        key: String,
        /// Its text.
        value: String,
    },
}

/// The fields of a limits or stats node (ZooKeeper's `StatsTrack`): `key=value`
/// pairs of 64-bit integers; a field that is absent reads as -1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    fields: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a node's data as ZooKeeper does: pairs separated by runs of
    /// `,` or `;`, each split at `=` (trailing empty pieces dropped, an empty
    /// value read as -1, pieces after the value ignored), invalid UTF-8
    /// replaced; the last of a repeated key wins. Empty data has no fields.
    pub fn parse(data: &[u8]) -> Result<Self, StatsError> {
        let text = String::from_utf8_lossy(data);
        let mut fields = BTreeMap::new();
        if text.is_empty() {
            return Ok(StatsTrack { fields });
        }
        for pair in java_split(&text, |c| c == ',' || c == ';', true) {
            let parts = java_split(pair, |c| c == '=', false);
            let (Some(key), Some(value)) = (parts.first(), parts.get(1)) else {
                return Err(StatsError::MissingValue(pair.to_string()));
            };
            let number = if value.is_empty() {
                -1
            } else {
                value.parse::<i64>().map_err(|_| StatsError::NotANumber {
                    key: key.to_string(),
                    value: value.to_string(),
                })?
            };
            fields.insert(key.to_string(), number);
        }
        Ok(StatsTrack { fields })
    }

    /// The field `key`, or -1 when absent.
    pub fn get(&self, key: &str) -> i64 {
        self.fields.get(key).copied().unwrap_or(-1)
    }

    /// Sets the field `key`.
    pub fn set(&mut self, key: &str, value: i64) {
        self.fields.insert(key.to_string(), value);
    }

    /// The node count (a soft limit, or the usage).
    pub fn count(&self) -> i64 {
        self.get(COUNT)
    }

    /// The data bytes (a soft limit, or the usage).
    pub fn bytes(&self) -> i64 {
        self.get(BYTES)
    }

    /// The hard limit on the node count.
    pub fn count_hard_limit(&self) -> i64 {
        self.get(COUNT_HARD_LIMIT)
    }

    /// The hard limit on the data bytes.
    pub fn byte_hard_limit(&self) -> i64 {
        self.get(BYTE_HARD_LIMIT)
    }

    /// The text as ZooKeeper writes it: its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

/// `count=N,bytes=M` first (always, -1 when absent), then, if any other field
/// is set, `=` and `;key=value` for each in key order: ZooKeeper's layout,
/// kept readable by its 3.4 parser (`count=4,bytes=5=;countHardLimit=10`).
impl fmt::Display for StatsTrack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{COUNT}={},{BYTES}={}", self.count(), self.bytes())?;
        let mut others = self
            .fields
            .iter()
            .filter(|(key, _)| key.as_str() != COUNT && key.as_str() != BYTES)
            .peekable();
        if others.peek().is_some() {
            f.write_str("=")?;
        }
        for (key, value) in others {
            write!(f, ";{key}={value}")?;
        }
        Ok(())
    }
}

/// Java's `String.split`: the pieces between separators, trailing empty
/// pieces dropped (so `"a,"` is `["a"]` and `","` is `[]`); a text without a
/// separator is itself. With `merge_runs` a run of separators is one (the
/// regex `[,;]+` of ZooKeeper's pairs); without, `"a==5"` is `["a", "", "5"]`.
fn java_split(text: &str, sep: impl Fn(char) -> bool, merge_runs: bool) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_run = false;
    for (i, c) in text.char_indices() {
        if sep(c) {
            if !(merge_runs && in_run) {
                pieces.push(&text[start..i]);
            }
            start = i + c.len_utf8();
            in_run = true;
        } else {
            in_run = false;
        }
    }
    pieces.push(&text[start..]);
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<StatsTrack, StatsError> {
        StatsTrack::parse(s.as_bytes())
    }

    #[test]
    fn prints_count_and_bytes_first_and_the_rest_after_an_equals_sign() {
        let mut st = StatsTrack::new();
        assert_eq!(st.to_string(), "count=-1,bytes=-1");
        st.set(COUNT, 4);
        st.set(BYTES, 5);
        assert_eq!(st.to_string(), "count=4,bytes=5");
        st.set(COUNT_HARD_LIMIT, 10);
        st.set(BYTE_HARD_LIMIT, 7);
        assert_eq!(
            st.to_string(),
            "count=4,bytes=5=;byteHardLimit=7;countHardLimit=10"
        );
    }

    #[test]
    fn parses_what_zookeeper_writes_and_reads_it_back_the_same() {
        let text = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2";
        let st = parse(text).expect("parses");
        assert_eq!((st.count(), st.bytes(), st.count_hard_limit()), (-1, -1, 2));
        assert_eq!(st.byte_hard_limit(), -1);
        assert_eq!(st.to_string(), text);
        assert_eq!(parse("").expect("empty"), StatsTrack::new());
        assert_eq!(parse("count=3;;,bytes=9").expect("runs").bytes(), 9);
        assert_eq!(
            parse("count=").map(|s| s.count()),
            Err(StatsError::MissingValue("count=".into()))
        );
        assert_eq!(parse("count==5").expect("empty value").count(), -1);
        assert_eq!(parse("count=5=6").expect("extra piece").count(), 5);
        assert_eq!(parse("count=+5,count=6").expect("repeat").count(), 6);
        assert!(matches!(
            parse("count=x"),
            Err(StatsError::NotANumber { .. })
        ));
        assert!(matches!(
            parse(",count=1"),
            Err(StatsError::MissingValue(_))
        ));
        assert!(matches!(parse("count"), Err(StatsError::MissingValue(_))));
        assert_eq!(parse(",").expect("only separators"), StatsTrack::new());
    }

    #[test]
    fn names_the_quota_of_limit_and_stat_nodes() {
        assert_eq!(limit_path("/a"), "/zookeeper/quota/a/zookeeper_limits");
        assert_eq!(stat_path("/a/b"), "/zookeeper/quota/a/b/zookeeper_stats");
        assert_eq!(quota_of_limit_node(&limit_path("/a/b")), Some("/a/b"));
        assert_eq!(
            quota_of_limit_node("/zookeeper/quota/zookeeper_limits"),
            None
        );
        assert_eq!(
            quota_of_limit_node("/zookeeper/quotax/zookeeper_limits"),
            None
        );
        assert_eq!(quota_of_limit_node("/a/zookeeper_limits"), None);
        assert_eq!(quota_of_stat_node(&stat_path("/a")), Some("/a"));
        assert_eq!(
            quota_of_stat_node("/zookeeper/quota/zookeeper_stats"),
            Some("")
        );
        assert_eq!(
            quota_of_stat_node("/zookeeper/quota/azookeeper_stats"),
            None
        );
    }
}
