//! Local reads: served from this server's tree, registering watches atomically
//! with the read. Which paths are looked up how is `paths.rs`'s business: a
//! watch is kept on the path as the client gave it, the lookup may differ
//! (`""` is the root on the ZooKeeper port).

use super::latency::Protocol;
use super::{Connection, Reply, Request, Service};
use crate::tree::acl::perms;
use crate::tree::StateMachine;
use crate::watch::WatchKind;
use proto::ErrorCode;

impl Service {
    fn read_allowed(
        &self,
        connection: &Connection,
        state: &StateMachine,
        path: &str,
    ) -> Result<(), ErrorCode> {
        match state.node(path) {
            Some(node) => self.permit_read(connection, state, node, perms::READ),
            None => Err(ErrorCode::NoNode),
        }
    }

    pub(super) fn read(
        &self,
        connection: &Connection,
        request: Request,
    ) -> (i64, Result<Reply, ErrorCode>) {
        let state = self.inner.state.read();
        let zxid = state.last_zxid();
        let result = match request {
            Request::Exists { path, watch } => self.exists_path(connection, &path).and_then(|at| {
                let stat = state.stat(at);
                let checks_read = connection.protocol != Protocol::ZooKeeper
                    || self.config().zk_compat.exists_checks_read();
                if let (Some(node), true) = (state.node(at), checks_read) {
                    self.permit_read(connection, &state, node, perms::READ)?;
                }
                if watch {
                    let kind = if stat.is_some() {
                        WatchKind::Data
                    } else {
                        WatchKind::Exist
                    };
                    self.inner
                        .state
                        .watches()
                        .lock()
                        .add(connection.conn, kind, &path);
                }
                stat.map(Reply::Stat).ok_or(ErrorCode::NoNode)
            }),
            Request::GetData { path, watch } => self.read_path(connection, &path).and_then(|at| {
                let (data, stat) = state.get_data(at)?;
                self.read_allowed(connection, &state, at)?;
                if watch {
                    self.inner
                        .state
                        .watches()
                        .lock()
                        .add(connection.conn, WatchKind::Data, &path);
                }
                Ok(Reply::Data { data, stat })
            }),
            Request::GetChildren { path, watch } => {
                self.read_path(connection, &path).and_then(|at| {
                    let (children, stat) = state.children(at)?;
                    self.read_allowed(connection, &state, at)?;
                    if watch {
                        self.inner.state.watches().lock().add(
                            connection.conn,
                            WatchKind::Child,
                            &path,
                        );
                    }
                    Ok(Reply::Children { children, stat })
                })
            }
            Request::GetAllChildrenNumber { path } => {
                self.read_path(connection, &path).and_then(|at| {
                    let mut count = state.all_children_number(at)?;
                    self.read_allowed(connection, &state, at)?;
                    // ZooKeeper counts the keys under `path + "/"` in a
                    // map holding the root as both "" and "/": for "" the
                    // root itself is one of them.
                    if path.is_empty() && !super::paths::is_strict(connection.protocol) {
                        count = count.saturating_add(1);
                    }
                    Ok(Reply::Count(count))
                })
            }
            Request::GetAcl { path } => self
                .read_path(connection, &path)
                .and_then(|at| self.get_acl(connection, &state, at)),
            Request::GetEphemerals { prefix } => Ok(Reply::Paths(
                state.ephemerals(connection.session_id, &prefix),
            )),
            Request::MultiRead(ops) => {
                let results = ops
                    .into_iter()
                    .map(|op| match op {
                        super::ReadOp::GetData(path) => {
                            self.read_path(connection, &path).and_then(|at| {
                                let (data, stat) = state.get_data(at)?;
                                self.read_allowed(connection, &state, at)?;
                                Ok(Reply::Data { data, stat })
                            })
                        }
                        super::ReadOp::GetChildren(path) => {
                            self.read_path(connection, &path).and_then(|at| {
                                let (children, stat) = state.children(at)?;
                                self.read_allowed(connection, &state, at)?;
                                Ok(Reply::Children { children, stat })
                            })
                        }
                    })
                    .collect();
                Ok(Reply::MultiRead(results))
            }
            _ => Err(ErrorCode::Unimplemented),
        };
        (zxid, result)
    }
}
