//! Owns the mapping between the paths a chrooted client sees and the paths the
//! server sees: prefixed on the way out, stripped on the way back (create
//! results, event paths, ephemerals). Pure functions; no I/O.

/// A client's chroot: `None` means the whole tree. The root is never `/` and
/// never ends with `/` (the builder validates it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chroot(Option<String>);

impl Chroot {
    /// A chroot at `root` (already validated); `None` or `/` for none.
    pub(crate) fn new(root: Option<String>) -> Chroot {
        Chroot(root.filter(|r| r != "/"))
    }

    /// The server path for a client path (`/` is the chroot node itself).
    pub(crate) fn to_server(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => format!("{root}{path}"),
        }
    }

    /// The client path for a server path. Only paths inside the chroot are
    /// stripped (`/app2` is not inside `/app`); others are returned unchanged.
    pub(crate) fn to_client(&self, server_path: &str) -> String {
        let Some(root) = &self.0 else {
            return server_path.to_string();
        };
        match server_path.strip_prefix(root.as_str()) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => server_path.to_string(),
        }
    }

    /// True if a server path lies at or under the chroot.
    pub(crate) fn contains(&self, server_path: &str) -> bool {
        match &self.0 {
            None => true,
            Some(root) => server_path
                .strip_prefix(root.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }

    /// The server-side prefix for a `getEphemerals` prefix, which is a plain
    /// string prefix (`/a` matches `/ab`), so it is not validated as a path.
    pub(crate) fn ephemeral_prefix(&self, prefix: &str) -> String {
        match &self.0 {
            None => prefix.to_string(),
            Some(root) if prefix.is_empty() || prefix == "/" => root.clone(),
            Some(root) if prefix.starts_with('/') => format!("{root}{prefix}"),
            Some(root) => format!("{root}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_chroot_leaves_paths_alone() {
        let c = Chroot::new(None);
        assert_eq!(c.to_server("/a"), "/a");
        assert_eq!(c.to_client("/a/b"), "/a/b");
        assert!(c.contains("/anything"));
        assert_eq!(c.ephemeral_prefix("/a"), "/a");
        assert_eq!(Chroot::new(Some("/".into())), c, "a chroot of / is none");
    }

    #[test]
    fn chroot_prefixes_on_the_way_out_and_strips_on_the_way_back() {
        let c = Chroot::new(Some("/app".into()));
        assert_eq!(c.to_server("/"), "/app");
        assert_eq!(c.to_server("/x/y"), "/app/x/y");
        assert_eq!(c.to_client("/app"), "/");
        assert_eq!(c.to_client("/app/x/y"), "/x/y");
        for p in ["/", "/x", "/x/y-0000000001"] {
            assert_eq!(c.to_client(&c.to_server(p)), p, "round trip of {p}");
        }
    }

    #[test]
    fn strip_respects_segment_boundaries() {
        let c = Chroot::new(Some("/app".into()));
        assert_eq!(c.to_client("/app2/x"), "/app2/x");
        assert_eq!(c.to_client("/ap"), "/ap");
        assert!(c.contains("/app") && c.contains("/app/x"));
        assert!(!c.contains("/app2") && !c.contains("/"));
    }

    #[test]
    fn ephemeral_prefixes_are_plain_string_prefixes_under_the_root() {
        let c = Chroot::new(Some("/app".into()));
        assert_eq!(c.ephemeral_prefix(""), "/app");
        assert_eq!(c.ephemeral_prefix("/"), "/app");
        assert_eq!(c.ephemeral_prefix("/lo"), "/app/lo");
        assert_eq!(c.ephemeral_prefix("lo"), "/app/lo");
    }
}
