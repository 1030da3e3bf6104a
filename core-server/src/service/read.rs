//! Local reads: served from this server's tree, registering watches atomically
//! with the read.

use super::{Connection, Reply, Request, Service};
use crate::tree::acl::perms;
use crate::tree::StateMachine;
use crate::watch::WatchKind;
use proto::ErrorCode;

impl Service {
    pub(super) fn check_read_path(&self, path: &str) -> Result<(), ErrorCode> {
        if path.len() > self.inner.config.max_path_bytes {
            return Err(ErrorCode::BadArguments);
        }
        proto::path::validate(path).map_err(|_| ErrorCode::BadArguments)
    }

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
            Request::Exists { path, watch } => self.check_read_path(&path).and_then(|_| {
                let stat = state.stat(&path);
                if let Some(node) = state.node(&path) {
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
            Request::GetData { path, watch } => self.check_read_path(&path).and_then(|_| {
                let (data, stat) = state.get_data(&path)?;
                self.read_allowed(connection, &state, &path)?;
                if watch {
                    self.inner
                        .state
                        .watches()
                        .lock()
                        .add(connection.conn, WatchKind::Data, &path);
                }
                Ok(Reply::Data { data, stat })
            }),
            Request::GetChildren { path, watch } => self.check_read_path(&path).and_then(|_| {
                let (children, stat) = state.children(&path)?;
                self.read_allowed(connection, &state, &path)?;
                if watch {
                    self.inner
                        .state
                        .watches()
                        .lock()
                        .add(connection.conn, WatchKind::Child, &path);
                }
                Ok(Reply::Children { children, stat })
            }),
            Request::GetAllChildrenNumber { path } => self.check_read_path(&path).and_then(|_| {
                let count = state.all_children_number(&path)?;
                self.read_allowed(connection, &state, &path)?;
                Ok(Reply::Count(count))
            }),
            Request::GetAcl { path } => self
                .check_read_path(&path)
                .and_then(|_| self.get_acl(connection, &state, &path)),
            Request::GetEphemerals { prefix } => Ok(Reply::Paths(
                state.ephemerals(connection.session_id, &prefix),
            )),
            Request::MultiRead(ops) => {
                let results = ops
                    .into_iter()
                    .map(|op| match op {
                        super::ReadOp::GetData(path) => {
                            self.check_read_path(&path).and_then(|_| {
                                let (data, stat) = state.get_data(&path)?;
                                self.read_allowed(connection, &state, &path)?;
                                Ok(Reply::Data { data, stat })
                            })
                        }
                        super::ReadOp::GetChildren(path) => {
                            self.check_read_path(&path).and_then(|_| {
                                let (children, stat) = state.children(&path)?;
                                self.read_allowed(connection, &state, &path)?;
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
