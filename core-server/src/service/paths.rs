//! Which path checks a request gets before it is served, by front end.
//!
//! - **Native API**: every path ZooKeeper's own client would refuse
//!   ([`proto::path::validate`]; a sequential create may end with `/`) is
//!   BadArguments up front, whatever the operation.
//! - **ZooKeeper port**: answered as ZooKeeper 3.8's server answers, which
//!   checks little up front and differently per operation. Reads look the
//!   path up as given, so a malformed path names no node (NoNode) and `""`
//!   names the root (ZooKeeper's tree keeps the root under `""` too); exists
//!   refuses only a NUL (BadArguments); watches are kept on the path as
//!   given; writes leave their checks to apply (`txn::apply`, in
//!   PrepRequestProcessor's order: create and delete look the parent up
//!   first, setData and check validate the whole path); sync never validates.
//!
//! On both, `max_path_bytes` is Corral's own bound: a longer path names no
//! node for reads (no watch is kept on it: no node could ever fire it), and
//! writes and watch registrations refuse it with BadArguments.

use super::latency::Protocol;
use super::{Connection, Service};
use proto::ErrorCode;

/// Whether `protocol` gets the native API's strict path rules.
pub(super) fn is_strict(protocol: Protocol) -> bool {
    matches!(protocol, Protocol::Native)
}

/// The strict check: any path ZooKeeper's client would refuse.
fn validate_strictly(path: &str, sequential: bool) -> Result<(), ErrorCode> {
    let valid = if sequential {
        proto::path::validate_sequential(path)
    } else {
        proto::path::validate(path)
    };
    valid.map_err(|_| ErrorCode::BadArguments)
}

/// The node a read of `path` looks up on the ZooKeeper port: `""` is the root.
fn zk_lookup(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

impl Service {
    fn is_too_long(&self, path: &str) -> bool {
        path.len() > self.inner.config.max_path_bytes
    }

    /// The path a read (getData, getChildren, getACL, getAllChildrenNumber,
    /// a multiRead op) looks up, or why it is refused.
    pub(super) fn read_path<'p>(
        &self,
        connection: &Connection,
        path: &'p str,
    ) -> Result<&'p str, ErrorCode> {
        if is_strict(connection.protocol) {
            if self.is_too_long(path) {
                return Err(ErrorCode::BadArguments);
            }
            validate_strictly(path, false)?;
            return Ok(path);
        }
        if self.is_too_long(path) {
            return Err(ErrorCode::NoNode);
        }
        Ok(zk_lookup(path))
    }

    /// The path exists looks up: as [`Service::read_path`], and a NUL is
    /// BadArguments on the ZooKeeper port (its only check there), before any
    /// watch is left.
    pub(super) fn exists_path<'p>(
        &self,
        connection: &Connection,
        path: &'p str,
    ) -> Result<&'p str, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        self.read_path(connection, path)
    }

    /// Checks a path a watch is registered on (addWatch, setWatches).
    pub(super) fn check_watch_path(
        &self,
        connection: &Connection,
        path: &str,
    ) -> Result<(), ErrorCode> {
        if self.is_too_long(path) {
            return Err(ErrorCode::BadArguments);
        }
        if is_strict(connection.protocol) {
            validate_strictly(path, false)?;
        }
        Ok(())
    }

    /// Checks a write's path before it goes into the log (`sequential`: a
    /// sequential create's, which may end with `/`).
    pub(super) fn check_write_path(
        &self,
        protocol: Protocol,
        path: &str,
        sequential: bool,
    ) -> Result<(), ErrorCode> {
        if self.is_too_long(path) {
            return Err(ErrorCode::BadArguments);
        }
        if is_strict(protocol) {
            validate_strictly(path, sequential)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strict_rules_refuse_what_zookeepers_client_refuses() {
        for path in ["", "a", "/a/", "/a//b", "/a/./b", "/a\0", "/a/.."] {
            assert_eq!(
                validate_strictly(path, false),
                Err(ErrorCode::BadArguments),
                "{path:?}"
            );
        }
        assert_eq!(validate_strictly("/a/", true), Ok(()));
        assert_eq!(validate_strictly("/a/b", false), Ok(()));
        assert!(is_strict(Protocol::Native));
        assert!(!is_strict(Protocol::ZooKeeper));
    }

    #[test]
    fn the_zookeeper_port_reads_the_empty_path_as_the_root() {
        assert_eq!(zk_lookup(""), "/");
        assert_eq!(zk_lookup("/a/"), "/a/");
        assert_eq!(zk_lookup("/"), "/");
    }
}
