//! Translation between the gRPC messages and the service's vocabulary.

use crate::connection::{Outgoing, WatchedEvent};
use crate::service::{
    ConnectArgs, Connected, CreateArgs, MultiOp, ReadOp, Reply, Request, Response, SetWatches,
    WatcherType,
};
use crate::tree::{Acl, Stat};
use crate::txn::OpResult;
use proto::v1::{self, request::Op, response::Result as R};
use proto::{CreateMode, ErrorCode};

/// The connect frame's arguments.
pub fn connect_args(c: v1::Connect, peer_ip: Option<std::net::IpAddr>) -> ConnectArgs {
    ConnectArgs {
        session_id: c.session_id,
        password: c.password,
        timeout_ms: c.timeout_ms,
        last_zxid_seen: c.last_zxid_seen,
        peer_ip,
        can_be_read_only: false,
        protocol: crate::service::latency::Protocol::Native,
    }
}

/// The frame announcing an established session.
pub fn connected_frame(c: Connected) -> v1::ServerFrame {
    frame(v1::server_frame::Frame::Connected(v1::Connected {
        session_id: c.session_id,
        password: c.password,
        timeout_ms: c.timeout_ms,
        zxid: c.zxid,
        reattached: c.reattached,
    }))
}

/// The frame refusing a connect.
pub fn rejected_frame(code: ErrorCode, message: String) -> v1::ServerFrame {
    frame(v1::server_frame::Frame::Rejected(v1::ConnectRejected {
        err: code.as_i32(),
        message,
    }))
}

fn frame(f: v1::server_frame::Frame) -> v1::ServerFrame {
    v1::ServerFrame { frame: Some(f) }
}

fn create_args(c: v1::CreateOp) -> Result<CreateArgs, ErrorCode> {
    Ok(CreateArgs {
        path: c.path,
        data: c.data,
        mode: CreateMode::from_flag(c.mode)?,
        ttl_ms: c.ttl_ms,
        acl: if c.acl.is_empty() {
            Acl::open()
        } else {
            acls(c.acl)
        },
    })
}

fn acls(list: Vec<v1::Acl>) -> Vec<Acl> {
    list.into_iter()
        .map(|a| Acl {
            perms: a.perms,
            scheme: a.scheme,
            id: a.id,
        })
        .collect()
}

fn watcher_type(t: i32) -> Result<WatcherType, ErrorCode> {
    Ok(
        match v1::WatcherType::try_from(t).map_err(|_| ErrorCode::BadArguments)? {
            v1::WatcherType::Children => WatcherType::Children,
            v1::WatcherType::Data => WatcherType::Data,
            v1::WatcherType::Any => WatcherType::Any,
            v1::WatcherType::Persistent => WatcherType::Persistent,
            v1::WatcherType::PersistentRecursive => WatcherType::PersistentRecursive,
            v1::WatcherType::Unspecified => return Err(ErrorCode::BadArguments),
        },
    )
}

/// True for a read that asked to be linearizable.
pub fn is_linearizable(op: Option<&Op>) -> bool {
    match op {
        Some(Op::Exists(e)) => e.linearizable,
        Some(Op::GetData(g)) => g.linearizable,
        Some(Op::GetChildren(g)) => g.linearizable,
        _ => false,
    }
}

/// Decodes a request's operation; a missing or malformed one is an error code.
pub fn request(op: Option<Op>) -> Result<Request, ErrorCode> {
    let op = op.ok_or(ErrorCode::MarshallingError)?;
    Ok(match op {
        Op::Create(c) => Request::Create(create_args(c)?),
        Op::Delete(d) => Request::Delete {
            path: d.path,
            version: d.version,
        },
        Op::Exists(e) => Request::Exists {
            path: e.path,
            watch: e.watch,
        },
        Op::GetData(g) => Request::GetData {
            path: g.path,
            watch: g.watch,
        },
        Op::SetData(s) => Request::SetData {
            path: s.path,
            data: s.data,
            version: s.version,
        },
        Op::GetChildren(g) => Request::GetChildren {
            path: g.path,
            watch: g.watch,
        },
        Op::Sync(s) => Request::Sync { path: s.path },
        Op::Multi(m) => {
            let mut ops = Vec::with_capacity(m.ops.len());
            for item in m.ops {
                use v1::multi_op_item::Op as M;
                ops.push(match item.op.ok_or(ErrorCode::MarshallingError)? {
                    // A mode that names no create mode fails in its place.
                    M::Create(c) => create_args(c).map_or(MultiOp::Invalid, MultiOp::Create),
                    M::Delete(d) => MultiOp::Delete {
                        path: d.path,
                        version: d.version,
                    },
                    M::SetData(s) => MultiOp::SetData {
                        path: s.path,
                        data: s.data,
                        version: s.version,
                    },
                    M::Check(c) => MultiOp::Check {
                        path: c.path,
                        version: c.version,
                    },
                });
            }
            Request::Multi(ops)
        }
        Op::MultiRead(m) => {
            let mut ops = Vec::with_capacity(m.ops.len());
            for item in m.ops {
                use v1::multi_read_item::Op as M;
                ops.push(match item.op.ok_or(ErrorCode::MarshallingError)? {
                    M::GetData(g) => ReadOp::GetData(g.path),
                    M::GetChildren(g) => ReadOp::GetChildren(g.path),
                });
            }
            Request::MultiRead(ops)
        }
        Op::GetAllChildrenNumber(g) => Request::GetAllChildrenNumber { path: g.path },
        Op::GetEphemerals(g) => Request::GetEphemerals { prefix: g.prefix },
        Op::AddWatch(a) => Request::AddWatch {
            path: a.path,
            recursive: match v1::AddWatchMode::try_from(a.mode) {
                Ok(v1::AddWatchMode::Persistent) => false,
                Ok(v1::AddWatchMode::PersistentRecursive) => true,
                Err(_) => return Err(ErrorCode::BadArguments),
            },
        },
        Op::RemoveWatches(r) => Request::RemoveWatches {
            path: r.path,
            kind: watcher_type(r.r#type)?,
        },
        Op::CheckWatches(r) => Request::CheckWatches {
            path: r.path,
            kind: watcher_type(r.r#type)?,
        },
        Op::SetWatches(s) => Request::SetWatches(SetWatches {
            relative_zxid: s.relative_zxid,
            data: s.data_watches,
            exist: s.exist_watches,
            child: s.child_watches,
            persistent: s.persistent_watches,
            recursive: s.persistent_recursive_watches,
        }),
        Op::WatchFrom(w) => Request::WatchFrom {
            path: w.path,
            recursive: w.recursive,
            from_zxid: w.from_zxid,
        },
        Op::CancelWatchFrom(c) => Request::CancelWatchFrom {
            stream_id: c.stream_id,
        },
        Op::CloseSession(_) => Request::CloseSession,
        Op::GetAcl(g) => Request::GetAcl { path: g.path },
        Op::SetAcl(s) => Request::SetAcl {
            path: s.path,
            acl: acls(s.acl),
            version: s.version,
        },
        Op::AddAuth(a) => Request::AddAuth {
            scheme: a.scheme,
            auth: a.auth,
        },
        Op::WhoAmI(_) => Request::WhoAmI,
    })
}

/// The wire form of a Stat.
pub fn stat(s: Stat) -> v1::Stat {
    v1::Stat {
        czxid: s.czxid,
        mzxid: s.mzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner,
        data_length: s.data_length,
        num_children: s.num_children,
        pzxid: s.pzxid,
    }
}

fn data_result(data: Option<Vec<u8>>, s: Stat) -> v1::DataResult {
    v1::DataResult {
        data,
        stat: Some(stat(s)),
    }
}

fn children_result(children: Vec<String>, s: Stat) -> v1::ChildrenResult {
    v1::ChildrenResult {
        children,
        stat: Some(stat(s)),
    }
}

fn multi_result(results: Vec<Result<OpResult, ErrorCode>>) -> v1::MultiResult {
    use v1::multi_op_result::Result as M;
    let results = results
        .into_iter()
        .map(|r| match r {
            Ok(OpResult::Created { path, stat: s }) => v1::MultiOpResult {
                err: 0,
                result: Some(M::Create(v1::CreateResult {
                    path,
                    stat: Some(stat(s)),
                })),
            },
            Ok(OpResult::DataSet(s)) => v1::MultiOpResult {
                err: 0,
                result: Some(M::SetData(v1::StatResult {
                    stat: Some(stat(s)),
                })),
            },
            Ok(_) => v1::MultiOpResult {
                err: 0,
                result: Some(M::Done(v1::Empty {})),
            },
            Err(code) => v1::MultiOpResult {
                err: code.as_i32(),
                result: None,
            },
        })
        .collect();
    v1::MultiResult { results }
}

fn reply(r: Reply) -> Option<R> {
    Some(match r {
        Reply::Created { path, stat: s } => R::Create(v1::CreateResult {
            path,
            stat: Some(stat(s)),
        }),
        Reply::Stat(s) => R::Stat(v1::StatResult {
            stat: Some(stat(s)),
        }),
        Reply::Data { data, stat: s } => R::Data(data_result(data, s)),
        Reply::Children { children, stat: s } => R::Children(children_result(children, s)),
        Reply::Synced(path) => R::Sync(v1::SyncResult { path }),
        Reply::Multi(results) => R::Multi(multi_result(results)),
        Reply::MultiRead(results) => {
            use v1::multi_read_item_result::Result as M;
            let results = results
                .into_iter()
                .map(|r| match r {
                    Ok(Reply::Data { data, stat: s }) => v1::MultiReadItemResult {
                        err: 0,
                        result: Some(M::Data(data_result(data, s))),
                    },
                    Ok(Reply::Children { children, stat: s }) => v1::MultiReadItemResult {
                        err: 0,
                        result: Some(M::Children(children_result(children, s))),
                    },
                    Ok(_) => v1::MultiReadItemResult {
                        err: ErrorCode::SystemError.as_i32(),
                        result: None,
                    },
                    Err(code) => v1::MultiReadItemResult {
                        err: code.as_i32(),
                        result: None,
                    },
                })
                .collect();
            R::MultiRead(v1::MultiReadResult { results })
        }
        Reply::Count(count) => R::Count(v1::CountResult { count }),
        Reply::Paths(paths) => R::Paths(v1::PathsResult { paths }),
        Reply::WatchStream(stream_id) => R::WatchFrom(v1::WatchFromResult { stream_id }),
        Reply::Acl { acl, stat: s } => R::Acl(v1::AclResult {
            acl: acl
                .into_iter()
                .map(|a| v1::Acl {
                    perms: a.perms,
                    scheme: a.scheme,
                    id: a.id,
                })
                .collect(),
            stat: Some(stat(s)),
        }),
        Reply::WhoAmI(ids) => R::WhoAmI(v1::WhoAmIResult {
            client_info: ids
                .into_iter()
                .map(|(scheme, user)| v1::ClientInfo { scheme, user })
                .collect(),
        }),
        // The native API has no SASL exchange (its `sasl` auth is one step).
        Reply::Sasl(_) | Reply::Done => return None,
    })
}

/// The wire form of a response.
pub fn response(r: Response) -> v1::Response {
    let (err, result) = match r.result {
        Ok(ok) => (0, reply(ok)),
        Err(code) => (code.as_i32(), None),
    };
    v1::Response {
        xid: r.xid,
        zxid: r.zxid,
        err,
        result,
    }
}

fn event(e: WatchedEvent) -> v1::WatchEvent {
    v1::WatchEvent {
        r#type: e.kind.as_i32(),
        path: e.path,
        zxid: e.zxid,
        stream_id: e.stream_id,
        err: e.err.as_i32(),
    }
}

/// The wire form of anything queued for a connection (`None` for frames
/// encoded by another front end, which never reach a gRPC stream).
pub fn outgoing(o: Outgoing) -> Option<v1::ServerFrame> {
    Some(frame(match o {
        Outgoing::Event(e) => v1::server_frame::Frame::Event(event(e)),
        Outgoing::Response(r) => v1::server_frame::Frame::Response(response(r)),
        Outgoing::Pong(zxid) => v1::server_frame::Frame::Pong(v1::Pong { zxid }),
        Outgoing::Frame(_) => return None,
    }))
}
