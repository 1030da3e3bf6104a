//! ZooKeeper request records → service requests, and replies → frames.
//!
//! Opcodes and record layouts are ZooKeeper's (`ZooDefs.OpCode`,
//! `zookeeper.jute`). Decoding returns the request plus the shape its reply
//! must take ([`Body`]); a request that cannot be served gets an error code
//! for its reply header.

use super::jute::{JuteError, Reader, Writer};
use crate::connection::WatchedEvent;
use crate::service::{CreateArgs, Reply, Request, SetWatches, WatcherType};
use proto::{CreateMode, ErrorCode};

/// ZooKeeper opcodes.
#[allow(missing_docs)]
pub mod op {
    pub const NOTIFICATION: i32 = 0;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

/// The shape of a successful reply's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Header only.
    Empty,
    /// CreateResponse (path).
    Create,
    /// Create2Response (path, stat).
    Create2,
    /// A Stat (exists, setData, setACL).
    Stat,
    /// GetDataResponse.
    Data,
    /// GetACLResponse.
    Acl,
    /// GetChildrenResponse.
    Children,
    /// GetChildren2Response.
    Children2,
    /// SyncResponse.
    Sync,
    /// MultiResponse, with each op's type.
    Multi(Vec<i32>),
    /// MultiResponse of reads, with each op's type.
    MultiRead(Vec<i32>),
    /// GetAllChildrenNumberResponse.
    Count,
    /// GetEphemeralsResponse.
    Paths,
    /// ErrorResponse{0} (addWatch).
    ErrorZero,
    /// WhoAmIResponse.
    WhoAmI,
    /// SetSASLResponse (token); sent after an error header too, as
    /// ZooKeeper does.
    Sasl,
}

impl From<JuteError> for ErrorCode {
    fn from(_: JuteError) -> Self {
        ErrorCode::MarshallingError
    }
}

/// The fields of a create record of any opcode, as on the wire: path, data,
/// ACL, flags, and the TTL (createTTL only, else 0).
pub(super) type CreateFields = (String, Option<Vec<u8>>, Vec<crate::tree::Acl>, i32, i64);

/// Reads a create record's fields (what its opcode means is the caller's).
pub(super) fn create_fields(r: &mut Reader<'_>, opcode: i32) -> Result<CreateFields, ErrorCode> {
    let path = r.string()?;
    let data = r.buffer()?;
    let acl = r.acls()?;
    let flags = r.i32()?;
    let ttl_ms = if opcode == op::CREATE_TTL {
        r.i64()?
    } else {
        0
    };
    Ok((path, data, acl, flags, ttl_ms))
}

/// A top-level create of any opcode (inside a multi, `multi.rs` reads creates).
fn create(r: &mut Reader<'_>, opcode: i32) -> Result<CreateArgs, ErrorCode> {
    let (path, data, acl, flags, ttl_ms) = create_fields(r, opcode)?;
    let mode = CreateMode::from_flag(flags)?;
    // ZooKeeper checks the TTL against the mode first: a TTL mode through
    // any opcode but createTTL has none (BadArguments), and createTTL with
    // another mode is BadArguments too (3.8 would crash on one with a
    // negative TTL).
    let mode = match opcode {
        op::CREATE_CONTAINER if mode.is_ttl() => return Err(ErrorCode::BadArguments),
        op::CREATE_CONTAINER => CreateMode::Container,
        // The create txn has no container notion: flag 4 makes a plain node.
        op::CREATE | op::CREATE2 if mode == CreateMode::Container => CreateMode::Persistent,
        op::CREATE | op::CREATE2 if mode.is_ttl() => return Err(ErrorCode::BadArguments),
        op::CREATE_TTL if !mode.is_ttl() => return Err(ErrorCode::BadArguments),
        _ => mode,
    };
    Ok(CreateArgs {
        path,
        data,
        mode,
        ttl_ms,
        acl,
    })
}

fn watcher_type(t: i32) -> Result<WatcherType, ErrorCode> {
    Ok(match t {
        1 => WatcherType::Children,
        2 => WatcherType::Data,
        3 => WatcherType::Any,
        4 => WatcherType::Persistent,
        5 => WatcherType::PersistentRecursive,
        _ => return Err(ErrorCode::BadArguments),
    })
}

/// Decodes one request body for `opcode`.
pub fn decode(opcode: i32, r: &mut Reader<'_>) -> Result<(Request, Body), ErrorCode> {
    let path_watch =
        |r: &mut Reader<'_>| -> Result<(String, bool), ErrorCode> { Ok((r.string()?, r.bool()?)) };
    Ok(match opcode {
        op::CREATE => (Request::Create(create(r, opcode)?), Body::Create),
        op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            (Request::Create(create(r, opcode)?), Body::Create2)
        }
        op::DELETE => (
            Request::Delete {
                path: r.string()?,
                version: r.i32()?,
            },
            Body::Empty,
        ),
        op::EXISTS => {
            let (path, watch) = path_watch(r)?;
            (Request::Exists { path, watch }, Body::Stat)
        }
        op::GET_DATA => {
            let (path, watch) = path_watch(r)?;
            (Request::GetData { path, watch }, Body::Data)
        }
        op::SET_DATA => (
            Request::SetData {
                path: r.string()?,
                data: r.buffer()?,
                version: r.i32()?,
            },
            Body::Stat,
        ),
        op::GET_ACL => (Request::GetAcl { path: r.string()? }, Body::Acl),
        op::SET_ACL => (
            Request::SetAcl {
                path: r.string()?,
                acl: r.acls()?,
                version: r.i32()?,
            },
            Body::Stat,
        ),
        op::GET_CHILDREN | op::GET_CHILDREN2 => {
            let (path, watch) = path_watch(r)?;
            let body = if opcode == op::GET_CHILDREN {
                Body::Children
            } else {
                Body::Children2
            };
            (Request::GetChildren { path, watch }, body)
        }
        op::SYNC => (Request::Sync { path: r.string()? }, Body::Sync),
        op::MULTI => super::multi::decode(r, false)?,
        op::MULTI_READ => super::multi::decode(r, true)?,
        op::GET_EPHEMERALS => (
            Request::GetEphemerals {
                prefix: r.string()?,
            },
            Body::Paths,
        ),
        op::GET_ALL_CHILDREN_NUMBER => (
            Request::GetAllChildrenNumber { path: r.string()? },
            Body::Count,
        ),
        op::ADD_WATCH => {
            let path = r.string()?;
            let recursive = match r.i32()? {
                0 => false,
                1 => true,
                _ => return Err(ErrorCode::BadArguments),
            };
            (Request::AddWatch { path, recursive }, Body::ErrorZero)
        }
        op::CHECK_WATCHES | op::REMOVE_WATCHES => {
            let path = r.string()?;
            let kind = watcher_type(r.i32()?)?;
            let request = if opcode == op::CHECK_WATCHES {
                Request::CheckWatches { path, kind }
            } else {
                Request::RemoveWatches { path, kind }
            };
            (request, Body::Empty)
        }
        op::SET_WATCHES | op::SET_WATCHES2 => {
            let relative_zxid = r.i64()?;
            let (data, exist, child) = (r.strings()?, r.strings()?, r.strings()?);
            let (persistent, recursive) = if opcode == op::SET_WATCHES2 {
                (r.strings()?, r.strings()?)
            } else {
                (Vec::new(), Vec::new())
            };
            let lists = SetWatches {
                relative_zxid,
                data,
                exist,
                child,
                persistent,
                recursive,
            };
            (Request::SetWatches(lists), Body::Empty)
        }
        op::AUTH => {
            let _type = r.i32()?;
            let scheme = r.string()?;
            let auth = r.buffer()?.unwrap_or_default();
            (Request::AddAuth { scheme, auth }, Body::Empty)
        }
        op::WHO_AM_I => (Request::WhoAmI, Body::WhoAmI),
        op::SASL => (
            Request::Sasl {
                token: r.buffer()?.unwrap_or_default(),
            },
            Body::Sasl,
        ),
        op::CLOSE_SESSION => (Request::CloseSession, Body::Empty),
        // A top-level check is never written to the log (ZOOKEEPER-2623).
        op::CHECK => return Err(ErrorCode::Unimplemented),
        op::RECONFIG => return Err(ErrorCode::ReconfigDisabled),
        // Internal opcodes are refused when a client sends them.
        op::NOTIFICATION | op::DELETE_CONTAINER => return Err(ErrorCode::BadArguments),
        _ => return Err(ErrorCode::Unimplemented),
    })
}

/// A reply frame: header, then the body if the request succeeded.
pub fn encode_reply(xid: i32, zxid: i64, result: Result<Reply, ErrorCode>, body: &Body) -> Vec<u8> {
    let mut w = Writer::frame();
    let reply = match result {
        Ok(reply) => reply,
        Err(code) => {
            w.i32(xid).i64(zxid).i32(code.as_i32());
            if *body == Body::Sasl {
                w.buffer(None);
            }
            return w.finish();
        }
    };
    w.i32(xid).i64(zxid).i32(0);
    match (body, reply) {
        (Body::Create, Reply::Created { path, .. }) => {
            w.string(&path);
        }
        (Body::Create2, Reply::Created { path, stat }) => {
            w.string(&path).stat(&stat);
        }
        (Body::Stat, Reply::Stat(stat)) => {
            w.stat(&stat);
        }
        (Body::Data, Reply::Data { data, stat }) => {
            w.buffer(data.as_deref()).stat(&stat);
        }
        (Body::Acl, Reply::Acl { acl, stat }) => {
            w.acls(&acl).stat(&stat);
        }
        (Body::Children, Reply::Children { children, .. }) => {
            w.strings(&children);
        }
        (Body::Children2, Reply::Children { children, stat }) => {
            w.strings(&children).stat(&stat);
        }
        (Body::Sync, Reply::Synced(path)) => {
            w.string(&path);
        }
        (Body::Multi(types), Reply::Multi(results)) => {
            super::multi::encode_results(&mut w, types, results)
        }
        (Body::MultiRead(_), Reply::MultiRead(results)) => {
            for result in results {
                match result {
                    Ok(Reply::Data { data, stat }) => {
                        w.i32(op::GET_DATA)
                            .bool(false)
                            .i32(0)
                            .buffer(data.as_deref())
                            .stat(&stat);
                    }
                    Ok(Reply::Children { children, .. }) => {
                        w.i32(op::GET_CHILDREN)
                            .bool(false)
                            .i32(0)
                            .strings(&children);
                    }
                    Ok(_) | Err(_) => {
                        let code = result.err().unwrap_or(ErrorCode::SystemError).as_i32();
                        w.i32(op::ERROR).bool(false).i32(code).i32(code);
                    }
                }
            }
            w.i32(-1).bool(true).i32(-1);
        }
        (Body::Count, Reply::Count(n)) => {
            w.i32(n);
        }
        (Body::Paths, Reply::Paths(paths)) => {
            w.strings(&paths);
        }
        (Body::ErrorZero, _) => {
            w.i32(0);
        }
        (Body::Sasl, Reply::Sasl(token)) => {
            w.buffer(token.as_deref());
        }
        (Body::WhoAmI, Reply::WhoAmI(ids)) => {
            w.i32(ids.len() as i32);
            for (scheme, user) in ids {
                w.string(&scheme).string(&user);
            }
        }
        _ => {}
    }
    w.finish()
}

/// A watch notification frame (xid -1, state SyncConnected) carrying
/// `zxid` in its header (the change's, or -1 as ZooKeeper 3.8 sends).
pub fn encode_event(event: &WatchedEvent, zxid: i64) -> Vec<u8> {
    let mut w = Writer::frame();
    w.i32(-1).i64(zxid).i32(0);
    w.i32(event.kind.as_i32()).i32(3).string(&event.path);
    w.finish()
}

/// A ping reply (xid -2).
pub fn encode_pong(zxid: i64) -> Vec<u8> {
    let mut w = Writer::frame();
    w.i32(-2).i64(zxid).i32(0);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_internal_opcodes_are_refused() {
        let empty: [u8; 0] = [];
        assert_eq!(
            decode(999, &mut Reader::new(&empty)).err(),
            Some(ErrorCode::Unimplemented)
        );
        assert_eq!(
            decode(op::CHECK, &mut Reader::new(&empty)).err(),
            Some(ErrorCode::Unimplemented)
        );
        assert_eq!(
            decode(op::DELETE_CONTAINER, &mut Reader::new(&empty)).err(),
            Some(ErrorCode::BadArguments)
        );
        assert_eq!(
            decode(op::GET_DATA, &mut Reader::new(&empty)).err(),
            Some(ErrorCode::MarshallingError)
        );
    }

    #[test]
    fn a_read_inside_multi_is_a_marshalling_error() {
        let mut w = Writer::frame();
        w.i32(op::GET_DATA)
            .bool(false)
            .i32(-1)
            .string("/a")
            .bool(false)
            .i32(-1)
            .bool(true)
            .i32(-1);
        let bytes = w.finish();
        assert_eq!(
            decode(op::MULTI, &mut Reader::new(&bytes[4..])).err(),
            Some(ErrorCode::MarshallingError)
        );
        let decoded = decode(op::MULTI_READ, &mut Reader::new(&bytes[4..]));
        assert!(matches!(decoded, Ok((Request::MultiRead(ref ops), _)) if ops.len() == 1));
    }

    #[test]
    fn create_flags_follow_the_opcode() {
        let create_bytes = |flags: i32| {
            let mut w = Writer::frame();
            w.string("/a")
                .buffer(None)
                .acls(&crate::tree::Acl::open())
                .i32(flags);
            w.finish()
        };
        let bytes = create_bytes(4);
        let decoded = decode(op::CREATE, &mut Reader::new(&bytes[4..]));
        assert!(
            matches!(decoded, Ok((Request::Create(ref c), _)) if c.mode == CreateMode::Persistent)
        );
        let decoded = decode(op::CREATE_CONTAINER, &mut Reader::new(&bytes[4..]));
        assert!(
            matches!(decoded, Ok((Request::Create(ref c), _)) if c.mode == CreateMode::Container)
        );
        let bytes = create_bytes(5);
        assert_eq!(
            decode(op::CREATE, &mut Reader::new(&bytes[4..])).err(),
            Some(ErrorCode::BadArguments)
        );
        assert_eq!(
            decode(op::CREATE_CONTAINER, &mut Reader::new(&bytes[4..])).err(),
            Some(ErrorCode::BadArguments),
            "a TTL mode through createContainer"
        );
        let bytes = create_bytes(7);
        assert_eq!(
            decode(op::CREATE, &mut Reader::new(&bytes[4..])).err(),
            Some(ErrorCode::BadArguments)
        );
    }
}
