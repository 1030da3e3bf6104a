//! Resumable watch streams: what one watches ([`StreamSpec`]) and which
//! events it reports. The task that feeds a stream from the
//! [`EventHistory`](super::EventHistory) is the service's
//! (`service::streams`).

use crate::tree::{EventKind, TreeEvent};

/// What a stream watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// The id events carry.
    pub stream_id: i64,
    /// The watched path.
    pub path: String,
    /// Include the subtree (created / deleted / data-changed, as a persistent
    /// recursive watch); otherwise all four kinds on the exact path.
    pub recursive: bool,
    /// Deliver changes with a greater zxid.
    pub from_zxid: i64,
}

impl StreamSpec {
    /// True if the stream reports this event.
    pub fn matches(&self, event: &TreeEvent) -> bool {
        if !self.recursive {
            return event.path == self.path;
        }
        if event.kind == EventKind::NodeChildrenChanged {
            return false;
        }
        self.path == "/"
            || event.path == self.path
            || (event.path.starts_with(&self.path)
                && event.path.as_bytes().get(self.path.len()) == Some(&b'/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, recursive: bool) -> StreamSpec {
        StreamSpec {
            stream_id: 1,
            path: path.into(),
            recursive,
            from_zxid: 0,
        }
    }

    fn ev(kind: EventKind, path: &str) -> TreeEvent {
        TreeEvent {
            kind,
            path: path.into(),
            acl: 0,
        }
    }

    #[test]
    fn recursive_streams_match_the_subtree_only() {
        let s = spec("/a", true);
        assert!(s.matches(&ev(EventKind::NodeCreated, "/a")));
        assert!(s.matches(&ev(EventKind::NodeDataChanged, "/a/b/c")));
        assert!(!s.matches(&ev(EventKind::NodeCreated, "/ab")));
        assert!(!s.matches(&ev(EventKind::NodeChildrenChanged, "/a")));
        assert!(spec("/", true).matches(&ev(EventKind::NodeDeleted, "/x")));
    }

    #[test]
    fn exact_streams_match_all_kinds_on_the_path() {
        let s = spec("/a", false);
        assert!(s.matches(&ev(EventKind::NodeChildrenChanged, "/a")));
        assert!(!s.matches(&ev(EventKind::NodeCreated, "/a/b")));
    }
}
