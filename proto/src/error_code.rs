//! ZooKeeper's error codes (`KeeperException.Code`), the only error vocabulary on the wire.

use std::fmt;

/// An error code as carried in responses. Values are ZooKeeper's; Corral's own
/// additions sit at -200 and below, outside ZooKeeper's range.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Success.
    Ok = 0,
    /// Range marker for system errors.
    SystemError = -1,
    /// An operation after the failing one in a multi.
    RuntimeInconsistency = -2,
    /// A data inconsistency was found.
    DataInconsistency = -3,
    /// The connection was lost (client side).
    ConnectionLoss = -4,
    /// The request could not be decoded.
    MarshallingError = -5,
    /// The operation is not implemented.
    Unimplemented = -6,
    /// The operation timed out (client side).
    OperationTimeout = -7,
    /// Invalid arguments: path, flags, TTL, special-path delete.
    BadArguments = -8,
    /// Unknown session (internal).
    UnknownSession = -12,
    /// Reconfig: no quorum for the new config.
    NewConfigNoQuorum = -13,
    /// Reconfig already in progress.
    ReconfigInProgress = -14,
    /// Range marker for API errors.
    ApiError = -100,
    /// The node does not exist.
    NoNode = -101,
    /// Not authorized.
    NoAuth = -102,
    /// Version mismatch.
    BadVersion = -103,
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108,
    /// The node already exists.
    NodeExists = -110,
    /// The node has children.
    NotEmpty = -111,
    /// The session has expired.
    SessionExpired = -112,
    /// Invalid callback (client side).
    InvalidCallback = -113,
    /// Invalid ACL.
    InvalidAcl = -114,
    /// Authentication failed (also: wrong session password).
    AuthFailed = -115,
    /// The session moved to another server.
    SessionMoved = -118,
    /// Write on a read-only server.
    NotReadOnly = -119,
    /// Ephemeral create on a local session.
    EphemeralOnLocalSession = -120,
    /// No such watch.
    NoWatcher = -121,
    /// Request timed out (client side).
    RequestTimeout = -122,
    /// Reconfig is disabled.
    ReconfigDisabled = -123,
    /// The session requires SASL authentication.
    SessionClosedRequireSaslAuth = -124,
    /// A hard quota was exceeded.
    QuotaExceeded = -125,
    /// The request was throttled.
    Throttled = -127,
    /// Corral: a resumable watch asked for history the server no longer holds.
    Compacted = -200,
    /// Corral: node data or a request is over the configured size limit.
    TooLarge = -201,
    /// Corral: the server's session limit is reached.
    TooManySessions = -202,
}

/// A number that is not a known error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0}")]
pub struct UnknownErrorCode(pub i32);

impl ErrorCode {
    /// Every code, for exhaustive tests and tables.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Ok,
        ErrorCode::SystemError,
        ErrorCode::RuntimeInconsistency,
        ErrorCode::DataInconsistency,
        ErrorCode::ConnectionLoss,
        ErrorCode::MarshallingError,
        ErrorCode::Unimplemented,
        ErrorCode::OperationTimeout,
        ErrorCode::BadArguments,
        ErrorCode::UnknownSession,
        ErrorCode::NewConfigNoQuorum,
        ErrorCode::ReconfigInProgress,
        ErrorCode::ApiError,
        ErrorCode::NoNode,
        ErrorCode::NoAuth,
        ErrorCode::BadVersion,
        ErrorCode::NoChildrenForEphemerals,
        ErrorCode::NodeExists,
        ErrorCode::NotEmpty,
        ErrorCode::SessionExpired,
        ErrorCode::InvalidCallback,
        ErrorCode::InvalidAcl,
        ErrorCode::AuthFailed,
        ErrorCode::SessionMoved,
        ErrorCode::NotReadOnly,
        ErrorCode::EphemeralOnLocalSession,
        ErrorCode::NoWatcher,
        ErrorCode::RequestTimeout,
        ErrorCode::ReconfigDisabled,
        ErrorCode::SessionClosedRequireSaslAuth,
        ErrorCode::QuotaExceeded,
        ErrorCode::Throttled,
        ErrorCode::Compacted,
        ErrorCode::TooLarge,
        ErrorCode::TooManySessions,
    ];

    /// The wire value.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// True for ZooKeeper's system errors (-1 ..= -99).
    pub fn is_system(self) -> bool {
        (-99..=-1).contains(&(self as i32))
    }
}

impl TryFrom<i32> for ErrorCode {
    type Error = UnknownErrorCode;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| *code as i32 == value)
            .ok_or(UnknownErrorCode(value))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?} ({})", *self as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::try_from(code.as_i32()), Ok(*code));
        }
    }

    #[test]
    fn unknown_numbers_are_an_error_not_a_panic() {
        assert_eq!(ErrorCode::try_from(-9999), Err(UnknownErrorCode(-9999)));
        assert_eq!(ErrorCode::try_from(-126), Err(UnknownErrorCode(-126)));
    }

    #[test]
    fn system_range_matches_zookeeper() {
        assert!(ErrorCode::ConnectionLoss.is_system());
        assert!(!ErrorCode::NoNode.is_system());
        assert!(!ErrorCode::Ok.is_system());
    }
}
