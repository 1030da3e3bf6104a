//! The version of the encodings carried in peer messages ([`peer::Blob`]):
//! every blob is stamped with [`FORMAT`], and a blob of another format is
//! refused, never decoded as if it were this one (decision 0008).

use crate::peer;

/// The peer payload format this build writes and reads. Raise it whenever a
/// postcard-encoded peer type (Raft messages, log entries, forwarded
/// proposals and replies, admin commands) changes shape. Format 2: members
/// carry a native client address beside their peer address (issue 12).
/// Format 3: a log entry's command may be `Txn::QuotaEnforced` (issue 14;
/// a new last variant, so entries of format 2 keep their bytes).
pub const FORMAT: u32 = 3;

/// A peer message of a format this build does not speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "peer message format {got}, this server speaks format {FORMAT}: \
     every server of a cluster must run a release with the same peer format"
)]
pub struct FormatMismatch {
    /// The format the message carried (0: a release before formats).
    pub got: u32,
}

impl peer::Blob {
    /// A blob of this build's format.
    pub fn new(payload: Vec<u8>) -> peer::Blob {
        peer::Blob {
            payload,
            format: FORMAT,
        }
    }

    /// The payload, if the blob is of this build's format.
    pub fn payload(&self) -> Result<&[u8], FormatMismatch> {
        if self.format == FORMAT {
            Ok(&self.payload)
        } else {
            Err(FormatMismatch { got: self.format })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_of_another_format_is_refused() {
        let ours = peer::Blob::new(vec![1, 2]);
        assert_eq!(ours.payload(), Ok(&[1u8, 2][..]));
        let old = peer::Blob {
            payload: vec![1, 2],
            format: 0,
        };
        assert_eq!(old.payload(), Err(FormatMismatch { got: 0 }));
    }
}
