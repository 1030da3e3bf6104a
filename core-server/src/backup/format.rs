//! The backup file: owns its bytes (header, checksum, payload) and checking
//! them; knows nothing of where a backup comes from or goes to.
//!
//! A backup is a 44-byte header then the payload (integers little endian):
//!
//! ```text
//! offset  size  field
//!      0     4  magic    the bytes "CRBK"
//!      4     4  version  1
//!      8     8  zxid     last applied zxid of the tree (i64)
//!     16     8  nodes    number of znodes, system nodes included
//!     24     8  digest   StateMachine::digest of the tree
//!     32     8  len      payload length in bytes
//!     40     4  crc32    CRC-32 (IEEE) of bytes 0..40 followed by the payload
//!     44   len  payload  the postcard-encoded StateMachine (tree, sessions,
//!                        ACLs, last zxid): the bytes a snapshot holds
//! ```
//!
//! Reading checks, in this order: the file holds a whole header
//! ([`BackupError::Truncated`]), the magic ([`BackupError::BadMagic`]), the
//! version ([`BackupError::UnsupportedVersion`]: the layout after it belongs
//! to the version), the payload length against the file
//! ([`BackupError::Truncated`] or [`BackupError::TrailingBytes`]), the CRC
//! ([`BackupError::ChecksumMismatch`]); [`Backup::decode_tree`] then decodes
//! the payload and checks that the tree agrees with the header (zxid, node
//! count, digest: [`BackupError::Inconsistent`]), so a file that passes was
//! written whole by a server and describes one consistent tree.

use super::BackupError;
use crate::tree::StateMachine;
use std::path::Path;

/// The magic bytes at the start of every backup.
pub const MAGIC: [u8; 4] = *b"CRBK";
/// The only format version this build reads and writes.
pub const VERSION: u32 = 1;
/// Size of the header in bytes.
pub const HEADER_BYTES: usize = 44;
/// Bytes of the header covered by the CRC (everything before the CRC).
const CRC_COVERED: usize = 40;

/// What a backup's header says about its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The last applied zxid the tree was captured at.
    pub zxid: i64,
    /// Number of znodes in the tree.
    pub nodes: u64,
    /// The tree's digest (`StateMachine::digest`).
    pub digest: u64,
    /// Length of the payload in bytes.
    pub payload_len: u64,
}

impl Header {
    /// Size of the whole file this header describes.
    pub fn file_len(&self) -> u64 {
        HEADER_BYTES as u64 + self.payload_len
    }

    /// The header's bytes for `payload` (its CRC covers them and the payload).
    fn encode(&self, payload: &[u8]) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..8].copy_from_slice(&VERSION.to_le_bytes());
        out[8..16].copy_from_slice(&self.zxid.to_le_bytes());
        out[16..24].copy_from_slice(&self.nodes.to_le_bytes());
        out[24..32].copy_from_slice(&self.digest.to_le_bytes());
        out[32..40].copy_from_slice(&self.payload_len.to_le_bytes());
        let crc = crc(&out[..CRC_COVERED], payload);
        out[40..44].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses the fields of a header (magic and version checked, CRC not).
    fn parse(bytes: &[u8]) -> Result<(Header, u32), BackupError> {
        let field = |at: usize, len: usize| bytes.get(at..at + len);
        let Some(head) = field(0, HEADER_BYTES) else {
            return Err(BackupError::Truncated {
                expected: HEADER_BYTES as u64,
                found: bytes.len() as u64,
            });
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&head[at..at + 4]);
            u32::from_le_bytes(b)
        };
        let mut magic = [0u8; 4];
        magic.copy_from_slice(&head[0..4]);
        if magic != MAGIC {
            return Err(BackupError::BadMagic { found: magic });
        }
        let version = u32_at(4);
        if version != VERSION {
            return Err(BackupError::UnsupportedVersion { version });
        }
        let header = Header {
            zxid: u64_at(8) as i64,
            nodes: u64_at(16),
            digest: u64_at(24),
            payload_len: u64_at(32),
        };
        Ok((header, u32_at(40)))
    }
}

fn crc(covered_header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(covered_header);
    hasher.update(payload);
    hasher.finalize()
}

/// A whole backup: header and payload, checked (or just built).
#[derive(Debug, Clone)]
pub struct Backup {
    header: Header,
    crc: u32,
    payload: Vec<u8>,
}

impl Backup {
    /// Captures `tree` as it is now (the caller holds it still, for example
    /// under the state's read lock).
    pub fn capture(tree: &StateMachine) -> Result<Backup, BackupError> {
        let payload = postcard::to_allocvec(tree).map_err(BackupError::Encode)?;
        let header = Header {
            zxid: tree.last_zxid(),
            nodes: tree.node_count() as u64,
            digest: tree.digest(),
            payload_len: payload.len() as u64,
        };
        let crc = crc(&header.encode(&[])[..CRC_COVERED], &payload);
        Ok(Backup {
            header,
            crc,
            payload,
        })
    }

    /// Checks a backup's bytes (header, length, CRC) and takes them.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Backup, BackupError> {
        let (header, stored) = Header::parse(&bytes)?;
        let found = (bytes.len() - HEADER_BYTES) as u64;
        if found < header.payload_len {
            return Err(BackupError::Truncated {
                expected: header.file_len(),
                found: bytes.len() as u64,
            });
        }
        if found > header.payload_len {
            return Err(BackupError::TrailingBytes {
                expected: header.file_len(),
                found: bytes.len() as u64,
            });
        }
        let computed = crc(&bytes[..CRC_COVERED], &bytes[HEADER_BYTES..]);
        if computed != stored {
            return Err(BackupError::ChecksumMismatch { stored, computed });
        }
        bytes.drain(..HEADER_BYTES);
        Ok(Backup {
            header,
            crc: stored,
            payload: bytes,
        })
    }

    /// Reads and checks the backup file at `path` (see [`Backup::from_bytes`]).
    pub fn read_file(path: &Path) -> Result<Backup, BackupError> {
        let bytes = std::fs::read(path).map_err(BackupError::io("read", path))?;
        Backup::from_bytes(bytes)
    }

    /// What the header says.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The CRC-32 stored in the header (and checked).
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// The header's bytes.
    pub fn header_bytes(&self) -> [u8; HEADER_BYTES] {
        self.header.encode(&self.payload)
    }

    /// The payload: the postcard-encoded tree.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The header's bytes and the payload, without a copy of the payload.
    pub fn into_parts(self) -> ([u8; HEADER_BYTES], Vec<u8>) {
        (self.header_bytes(), self.payload)
    }

    /// The whole file's bytes (header then payload).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.payload.len());
        out.extend_from_slice(&self.header_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes the tree and checks it against the header.
    pub fn decode_tree(&self) -> Result<StateMachine, BackupError> {
        let tree: StateMachine =
            postcard::from_bytes(&self.payload).map_err(BackupError::Decode)?;
        let found = (tree.last_zxid(), tree.node_count() as u64, tree.digest());
        let said = (self.header.zxid, self.header.nodes, self.header.digest);
        if found != said {
            return Err(BackupError::Inconsistent {
                header: format!(
                    "zxid {:#x}, {} nodes, digest {:#018x}",
                    said.0, said.1, said.2
                ),
                tree: format!(
                    "zxid {:#x}, {} nodes, digest {:#018x}",
                    found.0, found.1, found.2
                ),
            });
        }
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Acl;
    use crate::txn::{self, CreateTxn, Entry, Txn};
    use proto::CreateMode;

    fn tree_with(nodes: usize) -> StateMachine {
        let mut sm = StateMachine::new();
        let open = Entry {
            time_ms: 1,
            session_id: 0,
            auth: Vec::new(),
            is_super: true,
            txn: Txn::CreateSession {
                session_id: 7,
                timeout_ms: 5000,
                password: vec![1; 16],
            },
        };
        txn::apply(&mut sm, 1, &open);
        for i in 0..nodes {
            let entry = Entry {
                time_ms: 2,
                session_id: 7,
                auth: Vec::new(),
                is_super: true,
                txn: Txn::Create(CreateTxn {
                    path: format!("/n{i}"),
                    data: Some(vec![i as u8; 10]),
                    acl: Acl::open(),
                    // One ephemeral: the session and its nodes go along.
                    mode: if i == 0 {
                        CreateMode::Ephemeral
                    } else {
                        CreateMode::Persistent
                    },
                    ttl_ms: 0,
                }),
            };
            txn::apply(&mut sm, 2 + i as i64, &entry);
        }
        sm
    }

    fn backup_bytes() -> (StateMachine, Vec<u8>) {
        let tree = tree_with(20);
        let bytes = Backup::capture(&tree).expect("capture").to_bytes();
        (tree, bytes)
    }

    #[test]
    fn a_backup_round_trips_through_its_bytes() {
        let (tree, bytes) = backup_bytes();
        let backup = Backup::from_bytes(bytes.clone()).expect("intact");
        assert_eq!(backup.header().zxid, tree.last_zxid());
        assert_eq!(backup.header().nodes, tree.node_count() as u64);
        assert_eq!(backup.header().digest, tree.digest());
        assert_eq!(backup.header().file_len(), bytes.len() as u64);
        assert_eq!(backup.decode_tree().expect("decodes"), tree);
        assert_eq!(backup.to_bytes(), bytes);
        let (header, payload) = backup.into_parts();
        assert_eq!(&bytes[..HEADER_BYTES], &header[..]);
        assert_eq!(&bytes[HEADER_BYTES..], &payload[..]);
    }

    #[test]
    fn every_truncation_is_refused() {
        let (_, bytes) = backup_bytes();
        for len in 0..bytes.len() {
            let err = Backup::from_bytes(bytes[..len].to_vec()).expect_err("truncated");
            assert!(
                matches!(err, BackupError::Truncated { found, .. } if found == len as u64),
                "{len} bytes: {err}"
            );
        }
    }

    #[test]
    fn every_bit_flip_is_refused() {
        let (_, bytes) = backup_bytes();
        for at in 0..bytes.len() {
            for bit in [0u8, 3, 7] {
                let mut bad = bytes.clone();
                bad[at] ^= 1 << bit;
                let err = Backup::from_bytes(bad).expect_err("flipped");
                let expected = match at {
                    0..4 => matches!(err, BackupError::BadMagic { .. }),
                    4..8 => matches!(err, BackupError::UnsupportedVersion { .. }),
                    // A flipped length no longer matches the file.
                    32..40 => matches!(
                        err,
                        BackupError::Truncated { .. } | BackupError::TrailingBytes { .. }
                    ),
                    _ => matches!(err, BackupError::ChecksumMismatch { .. }),
                };
                assert!(expected, "byte {at} bit {bit}: {err}");
            }
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let (_, mut bytes) = backup_bytes();
        bytes.push(0);
        let err = Backup::from_bytes(bytes).expect_err("too long");
        assert!(matches!(err, BackupError::TrailingBytes { .. }), "{err}");
    }

    /// Re-seals `payload` under a header claiming `header`, with a valid CRC.
    fn sealed(header: Header, payload: &[u8]) -> Vec<u8> {
        let mut out = header.encode(payload).to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn an_undecodable_payload_with_a_good_checksum_is_a_decode_error() {
        let payload = [0xffu8; 12];
        let header = Header {
            zxid: 1,
            nodes: 1,
            digest: 0,
            payload_len: payload.len() as u64,
        };
        let backup = Backup::from_bytes(sealed(header, &payload)).expect("crc is fine");
        let err = backup.decode_tree().expect_err("not a tree");
        assert!(matches!(err, BackupError::Decode(_)), "{err}");
    }

    #[test]
    fn a_header_that_disagrees_with_its_tree_is_refused() {
        let (tree, bytes) = backup_bytes();
        let payload = &bytes[HEADER_BYTES..];
        let truthful = Header {
            zxid: tree.last_zxid(),
            nodes: tree.node_count() as u64,
            digest: tree.digest(),
            payload_len: payload.len() as u64,
        };
        for lie in [
            Header {
                zxid: truthful.zxid + 1,
                ..truthful
            },
            Header {
                nodes: truthful.nodes - 1,
                ..truthful
            },
            Header {
                digest: truthful.digest ^ 1,
                ..truthful
            },
        ] {
            let backup = Backup::from_bytes(sealed(lie, payload)).expect("crc is fine");
            let err = backup.decode_tree().expect_err("inconsistent");
            assert!(matches!(err, BackupError::Inconsistent { .. }), "{err}");
        }
    }

    #[test]
    fn a_newer_version_is_named_as_such() {
        let (_, mut bytes) = backup_bytes();
        bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
        let err = Backup::from_bytes(bytes).expect_err("version 2");
        assert!(
            matches!(err, BackupError::UnsupportedVersion { version: 2 }),
            "{err}"
        );
    }
}
