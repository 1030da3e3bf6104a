//! Local reads: served from this server's tree, registering watches atomically
//! with the read.

use super::{Connection, Reply, Request, Service};
use crate::watch::WatchKind;
use proto::ErrorCode;

impl Service {
    pub(super) fn check_read_path(&self, path: &str) -> Result<(), ErrorCode> {
        if path.len() > self.inner.config.max_path_bytes {
            return Err(ErrorCode::BadArguments);
        }
        proto::path::validate(path).map_err(|_| ErrorCode::BadArguments)
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
                if watch {
                    self.inner
                        .state
                        .watches()
                        .lock()
                        .add(connection.conn, WatchKind::Child, &path);
                }
                Ok(Reply::Children { children, stat })
            }),
            Request::GetAllChildrenNumber { path } => self
                .check_read_path(&path)
                .and_then(|_| state.all_children_number(&path).map(Reply::Count)),
            Request::GetEphemerals { prefix } => Ok(Reply::Paths(
                state.ephemerals(connection.session_id, &prefix),
            )),
            Request::MultiRead(ops) => {
                let results = ops
                    .into_iter()
                    .map(|op| match op {
                        super::ReadOp::GetData(path) => {
                            self.check_read_path(&path).and_then(|_| {
                                state
                                    .get_data(&path)
                                    .map(|(data, stat)| Reply::Data { data, stat })
                            })
                        }
                        super::ReadOp::GetChildren(path) => {
                            self.check_read_path(&path).and_then(|_| {
                                state
                                    .children(&path)
                                    .map(|(children, stat)| Reply::Children { children, stat })
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
