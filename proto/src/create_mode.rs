//! The seven create modes and what each implies.

use crate::ErrorCode;

/// How a node is created; values are ZooKeeper's `CreateMode` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CreateMode {
    /// A plain node.
    Persistent,
    /// Deleted when its session ends; cannot have children.
    Ephemeral,
    /// Plain, with a `%010d` suffix from the parent's creation counter.
    PersistentSequential,
    /// Ephemeral and sequential.
    EphemeralSequential,
    /// Deleted by the server after its last child goes.
    Container,
    /// Deleted once childless and unmodified for its TTL.
    PersistentWithTtl,
    /// TTL and sequential.
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// ZooKeeper's flag value.
    pub fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl => 5,
            CreateMode::PersistentSequentialWithTtl => 6,
        }
    }

    /// The mode for a flag value; anything else is BadArguments, as in ZooKeeper.
    pub fn from_flag(flag: i32) -> Result<Self, ErrorCode> {
        Ok(match flag {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return Err(ErrorCode::BadArguments),
        })
    }

    /// True for the modes that append a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// True for the session-owned modes.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// True for the TTL modes.
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// True for container nodes.
    pub fn is_container(self) -> bool {
        matches!(self, CreateMode::Container)
    }

    /// Checks the TTL against the mode: TTL modes need 1..=2^40-1, other modes
    /// must not carry one (a negative or zero TTL means "none" for them).
    pub fn validate_ttl(self, ttl_ms: i64) -> Result<(), ErrorCode> {
        if self.is_ttl() {
            if ttl_ms <= 0 || ttl_ms > crate::MAX_TTL_MS {
                return Err(ErrorCode::BadArguments);
            }
        } else if ttl_ms > 0 {
            return Err(ErrorCode::BadArguments);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_and_unknown_flags_are_bad_arguments() {
        for flag in 0..=6 {
            assert_eq!(CreateMode::from_flag(flag).map(CreateMode::flag), Ok(flag));
        }
        assert_eq!(CreateMode::from_flag(7), Err(ErrorCode::BadArguments));
        assert_eq!(CreateMode::from_flag(-1), Err(ErrorCode::BadArguments));
    }

    #[test]
    fn ttl_rules_follow_the_mode() {
        assert!(CreateMode::PersistentWithTtl.validate_ttl(1).is_ok());
        assert!(CreateMode::PersistentWithTtl.validate_ttl(0).is_err());
        assert!(CreateMode::PersistentWithTtl
            .validate_ttl(crate::MAX_TTL_MS + 1)
            .is_err());
        assert!(CreateMode::Persistent.validate_ttl(5).is_err());
        assert!(CreateMode::Persistent.validate_ttl(0).is_ok());
        assert!(CreateMode::Persistent.validate_ttl(-1).is_ok());
    }
}
