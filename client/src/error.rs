//! The client's error type: one variant per error code the server sends, plus
//! the client's own failures.

use proto::ErrorCode;

/// What can go wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node does not exist.
    #[error("no node at {path}")]
    NoNode {
        /// The path.
        path: String,
    },
    /// The node already exists.
    #[error("node already exists at {path}")]
    NodeExists {
        /// The path.
        path: String,
    },
    /// The expected version did not match.
    #[error("version mismatch at {path}")]
    BadVersion {
        /// The path.
        path: String,
    },
    /// The node has children.
    #[error("node {path} has children")]
    NotEmpty {
        /// The path.
        path: String,
    },
    /// Ephemeral nodes cannot have children.
    #[error("cannot create children under ephemeral node (creating {path})")]
    NoChildrenForEphemerals {
        /// The path.
        path: String,
    },
    /// The node's ACL does not grant this to any of the caller's ids.
    #[error("not authorized for {path}")]
    NoAuth {
        /// The path.
        path: String,
    },
    /// The ACL is empty, malformed, or `auth` without an authenticated id.
    #[error("invalid ACL")]
    InvalidAcl,
    /// The server refused the arguments: path, flags, TTL, or an undeletable node.
    #[error("bad arguments (path {path:?})")]
    BadArguments {
        /// The path the request was about (empty if none).
        path: String,
    },
    /// The session has expired (or was closed); create a new client.
    #[error("session expired")]
    SessionExpired,
    /// Wrong session password.
    #[error("authentication failed")]
    AuthFailed,
    /// The connection dropped; the operation may or may not have been applied.
    #[error("connection lost; the operation may or may not have been applied")]
    ConnectionLoss,
    /// The server does not implement this.
    #[error("unimplemented")]
    Unimplemented,
    /// No such watch.
    #[error("no watcher")]
    NoWatcher,
    /// A resumable watch asked for history the server no longer keeps.
    #[error("history compacted: the server no longer holds changes that old")]
    Compacted,
    /// Data or request over the server's limit.
    #[error("data or request too large")]
    TooLarge,
    /// The server's session limit is reached.
    #[error("too many sessions")]
    TooManySessions,
    /// The server could not decode the request.
    #[error("the server could not decode the request")]
    MarshallingError,
    /// An operation of a multi after the failing one (never alone: it shows in
    /// [`Error::Multi`]'s results).
    #[error("operation not run: an earlier operation of the multi failed")]
    RuntimeInconsistency,
    /// The server failed internally.
    #[error("server-side system error")]
    SystemError,
    /// A multi failed: the first failing code and every op's code.
    #[error("multi failed with {code}")]
    Multi {
        /// The first failing op's code.
        code: ErrorCode,
        /// Per-op codes (Ok before the failure, RuntimeInconsistency after).
        results: Vec<ErrorCode>,
    },
    /// Any other code from the server.
    #[error("server error {0}")]
    Server(ErrorCode),
    /// The server sent a code this client does not know.
    #[error("unknown error code {0}")]
    UnknownCode(i32),
    /// The path is not a valid znode path; nothing was sent.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path.
        path: String,
        /// Why.
        reason: proto::path::PathError,
    },
    /// The client was closed.
    #[error("client closed")]
    Closed,
    /// No server accepted a connection in time; the detail is for humans.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The connect string or host list cannot be used; nothing was sent.
    #[error("invalid connect string {input:?}: {reason}")]
    InvalidConnectString {
        /// What was given.
        input: String,
        /// Why it is refused (for humans).
        reason: String,
    },
    /// The TLS settings cannot be used (unreadable or malformed PEM, a key
    /// that does not match its certificate); nothing was sent.
    #[error("invalid TLS settings: {0}")]
    InvalidTls(String),
    /// The server sent something this client did not expect.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl Error {
    /// The error for a server code about `path`.
    pub fn from_code(code: ErrorCode, path: &str) -> Error {
        let path = path.to_string();
        match code {
            ErrorCode::NoNode => Error::NoNode { path },
            ErrorCode::NodeExists => Error::NodeExists { path },
            ErrorCode::BadVersion => Error::BadVersion { path },
            ErrorCode::NotEmpty => Error::NotEmpty { path },
            ErrorCode::NoChildrenForEphemerals => Error::NoChildrenForEphemerals { path },
            ErrorCode::NoAuth => Error::NoAuth { path },
            ErrorCode::InvalidAcl => Error::InvalidAcl,
            ErrorCode::BadArguments => Error::BadArguments { path },
            ErrorCode::MarshallingError => Error::MarshallingError,
            ErrorCode::RuntimeInconsistency => Error::RuntimeInconsistency,
            ErrorCode::SystemError => Error::SystemError,
            ErrorCode::SessionExpired => Error::SessionExpired,
            ErrorCode::AuthFailed => Error::AuthFailed,
            ErrorCode::ConnectionLoss => Error::ConnectionLoss,
            ErrorCode::Unimplemented => Error::Unimplemented,
            ErrorCode::NoWatcher => Error::NoWatcher,
            ErrorCode::Compacted => Error::Compacted,
            ErrorCode::TooLarge => Error::TooLarge,
            ErrorCode::TooManySessions => Error::TooManySessions,
            other => Error::Server(other),
        }
    }

    /// The error for a raw wire code.
    pub fn from_wire(code: i32, path: &str) -> Error {
        match ErrorCode::try_from(code) {
            Ok(code) => Error::from_code(code, path),
            Err(_) => Error::UnknownCode(code),
        }
    }

    /// The ZooKeeper error code this error stands for.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NoNode { .. } => ErrorCode::NoNode,
            Error::NodeExists { .. } => ErrorCode::NodeExists,
            Error::BadVersion { .. } => ErrorCode::BadVersion,
            Error::NotEmpty { .. } => ErrorCode::NotEmpty,
            Error::NoChildrenForEphemerals { .. } => ErrorCode::NoChildrenForEphemerals,
            Error::NoAuth { .. } => ErrorCode::NoAuth,
            Error::InvalidAcl => ErrorCode::InvalidAcl,
            Error::BadArguments { .. }
            | Error::InvalidPath { .. }
            | Error::InvalidConnectString { .. }
            | Error::InvalidTls(_) => ErrorCode::BadArguments,
            Error::MarshallingError => ErrorCode::MarshallingError,
            Error::RuntimeInconsistency => ErrorCode::RuntimeInconsistency,
            Error::SystemError => ErrorCode::SystemError,
            Error::SessionExpired => ErrorCode::SessionExpired,
            Error::AuthFailed => ErrorCode::AuthFailed,
            Error::ConnectionLoss | Error::Connect(_) => ErrorCode::ConnectionLoss,
            Error::Unimplemented => ErrorCode::Unimplemented,
            Error::NoWatcher => ErrorCode::NoWatcher,
            Error::Compacted => ErrorCode::Compacted,
            Error::TooLarge => ErrorCode::TooLarge,
            Error::TooManySessions => ErrorCode::TooManySessions,
            Error::Multi { code, .. } => *code,
            Error::Server(code) => *code,
            Error::UnknownCode(_) | Error::Protocol(_) => ErrorCode::SystemError,
            Error::Closed => ErrorCode::SessionExpired,
        }
    }

    /// True when retrying the same idempotent (or version-conditional)
    /// request may succeed: the connection dropped.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::ConnectionLoss | Error::Connect(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_an_error() {
        for code in ErrorCode::ALL {
            if *code == ErrorCode::Ok {
                continue;
            }
            assert_eq!(Error::from_code(*code, "/p").code(), *code, "{code}");
            assert_eq!(
                Error::from_wire(code.as_i32(), "/p").code(),
                *code,
                "{code}"
            );
        }
        assert_eq!(Error::from_wire(-9999, "/p"), Error::UnknownCode(-9999));
    }

    #[test]
    fn every_code_the_server_sends_has_its_own_variant() {
        // The codes core-server puts in responses, connect rejections and
        // stream events; none may fall into the catch-all.
        let sent = [
            ErrorCode::SystemError,
            ErrorCode::RuntimeInconsistency,
            ErrorCode::ConnectionLoss,
            ErrorCode::MarshallingError,
            ErrorCode::Unimplemented,
            ErrorCode::BadArguments,
            ErrorCode::NoNode,
            ErrorCode::NoAuth,
            ErrorCode::BadVersion,
            ErrorCode::NoChildrenForEphemerals,
            ErrorCode::NodeExists,
            ErrorCode::NotEmpty,
            ErrorCode::SessionExpired,
            ErrorCode::InvalidAcl,
            ErrorCode::AuthFailed,
            ErrorCode::NoWatcher,
            ErrorCode::Compacted,
            ErrorCode::TooLarge,
            ErrorCode::TooManySessions,
        ];
        for code in sent {
            let error = Error::from_code(code, "/p");
            assert!(!matches!(error, Error::Server(_)), "{code} has no variant");
        }
        assert_eq!(
            Error::from_code(ErrorCode::NoNode, "/p"),
            Error::NoNode { path: "/p".into() },
            "path-carrying variants keep the path"
        );
    }

    #[test]
    fn only_connection_failures_are_retryable() {
        assert!(Error::ConnectionLoss.is_retryable());
        assert!(Error::Connect("refused".into()).is_retryable());
        assert!(!Error::NoNode { path: "/a".into() }.is_retryable());
        assert!(!Error::SessionExpired.is_retryable());
        assert!(!Error::Closed.is_retryable());
    }
}
