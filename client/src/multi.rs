//! Transactions: atomic multi and multiRead.

use crate::client::{stat_or_default, v};
use crate::ops::{Op2, OpResult, ReadOp, ReadResult};
use crate::{Client, Error};
use proto::v1::{self, request::Op, response::Result as R};
use proto::ErrorCode;

impl Client {
    /// Applies all ops atomically, or none (then `Error::Multi` with per-op codes).
    pub async fn multi(&self, ops: Vec<Op2>) -> Result<Vec<OpResult>, Error> {
        use v1::multi_op_item::Op as M;
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let item = match op {
                Op2::Create {
                    path,
                    data,
                    options,
                } => M::Create(self.create_op(path, Some(data), options)?),
                Op2::Delete { path, version } => M::Delete(v1::DeleteOp {
                    path: self.server_path(path, false)?,
                    version: v(*version),
                }),
                Op2::SetData {
                    path,
                    data,
                    version,
                } => M::SetData(v1::SetDataOp {
                    path: self.server_path(path, false)?,
                    data: Some(data.clone()),
                    version: v(*version),
                }),
                Op2::Check { path, version } => M::Check(v1::CheckOp {
                    path: self.server_path(path, false)?,
                    version: v(*version),
                }),
            };
            items.push(v1::MultiOpItem { op: Some(item) });
        }
        let results = match self
            .ok(
                Op::Multi(v1::MultiOp { ops: items }),
                String::new(),
                None,
                "",
            )
            .await?
        {
            Some(R::Multi(m)) => m.results,
            other => return Err(Error::Protocol(format!("multi answered {other:?}"))),
        };
        if let Some(failed) = results
            .iter()
            .find(|r| r.err != 0 && r.err != ErrorCode::RuntimeInconsistency.as_i32())
        {
            let code = ErrorCode::try_from(failed.err).unwrap_or(ErrorCode::SystemError);
            let codes = results
                .iter()
                .map(|r| ErrorCode::try_from(r.err).unwrap_or(ErrorCode::SystemError))
                .collect();
            return Err(Error::Multi {
                code,
                results: codes,
            });
        }
        use v1::multi_op_result::Result as MR;
        Ok(results
            .into_iter()
            .zip(ops)
            .map(|(r, op)| match (r.result, op) {
                (Some(MR::Create(c)), _) => OpResult::Created {
                    path: self.shared.chroot.to_client(&c.path),
                    stat: stat_or_default(c.stat),
                },
                (Some(MR::SetData(s)), _) => OpResult::DataSet(stat_or_default(s.stat)),
                (_, Op2::Check { .. }) => OpResult::Checked,
                _ => OpResult::Deleted,
            })
            .collect())
    }

    /// Several independent reads; each succeeds or fails on its own.
    pub async fn multi_read(
        &self,
        ops: Vec<ReadOp>,
    ) -> Result<Vec<Result<ReadResult, Error>>, Error> {
        use v1::multi_read_item::Op as M;
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let item = match op {
                ReadOp::GetData(p) => M::GetData(v1::GetDataOp {
                    path: self.server_path(p, false)?,
                    ..Default::default()
                }),
                ReadOp::GetChildren(p) => M::GetChildren(v1::GetChildrenOp {
                    path: self.server_path(p, false)?,
                    ..Default::default()
                }),
            };
            items.push(v1::MultiReadItem { op: Some(item) });
        }
        let results = match self
            .ok(
                Op::MultiRead(v1::MultiReadOp { ops: items }),
                String::new(),
                None,
                "",
            )
            .await?
        {
            Some(R::MultiRead(m)) => m.results,
            other => return Err(Error::Protocol(format!("multiRead answered {other:?}"))),
        };
        use v1::multi_read_item_result::Result as MR;
        Ok(results
            .into_iter()
            .zip(ops)
            .map(|(r, op)| {
                let path = match &op {
                    ReadOp::GetData(p) | ReadOp::GetChildren(p) => p.as_str(),
                };
                match r.result {
                    Some(MR::Data(d)) => Ok(ReadResult::Data(
                        d.data.unwrap_or_default(),
                        stat_or_default(d.stat),
                    )),
                    Some(MR::Children(c)) => {
                        Ok(ReadResult::Children(c.children, stat_or_default(c.stat)))
                    }
                    None => Err(Error::from_wire(r.err, path)),
                }
            })
            .collect())
    }
}
