//! Znode operations: create, delete, exists, getData, setData, getChildren,
//! sync, getAllChildrenNumber, getEphemerals (with their watch variants).

use crate::client::{stat_or_default, v};
use crate::connection::WatchReg;
use crate::ops::{CreateOptions, Stat};
use crate::watch::{Kind, OneshotWatch};
use crate::{Client, Error};
use proto::v1::{self, request::Op, response::Result as R};
use tokio::sync::oneshot;

impl Client {
    pub(crate) fn create_op(
        &self,
        path: &str,
        data: Option<&[u8]>,
        options: &CreateOptions,
    ) -> Result<v1::CreateOp, Error> {
        let server = self.server_path(path, options.mode.is_sequential())?;
        Ok(v1::CreateOp {
            path: server,
            data: data.map(<[u8]>::to_vec),
            mode: options.mode.flag(),
            acl: options
                .acl
                .iter()
                .map(|a| v1::Acl {
                    perms: a.perms,
                    scheme: a.scheme.clone(),
                    id: a.id.clone(),
                })
                .collect(),
            ttl_ms: options
                .ttl
                .map_or(0, |t| t.as_millis().min(i64::MAX as u128) as i64),
        })
    }

    /// Creates a node; returns its path (with any sequential suffix) and Stat.
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        options: CreateOptions,
    ) -> Result<(String, Stat), Error> {
        self.create_opt(path, Some(data), options).await
    }

    /// Creates a node whose data may be null (`None`).
    pub async fn create_opt(
        &self,
        path: &str,
        data: Option<&[u8]>,
        options: CreateOptions,
    ) -> Result<(String, Stat), Error> {
        let op = self.create_op(path, data, &options)?;
        let server = op.path.clone();
        match self.ok(Op::Create(op), server, None, path).await? {
            Some(R::Create(c)) => Ok((
                self.shared.chroot.to_client(&c.path),
                stat_or_default(c.stat),
            )),
            other => Err(Error::Protocol(format!("create answered {other:?}"))),
        }
    }

    /// Deletes a node (version `None` = any).
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<(), Error> {
        let server = self.server_path(path, false)?;
        let op = Op::Delete(v1::DeleteOp {
            path: server.clone(),
            version: v(version),
        });
        self.ok(op, server, None, path).await.map(|_| ())
    }

    /// The node's Stat, or `None` if it does not exist.
    pub async fn exists(&self, path: &str) -> Result<Option<Stat>, Error> {
        self.exists_inner(path, false).await
    }

    /// Like [`exists`](Self::exists), but linearizable: the server first
    /// catches up with everything the cluster committed before the call (the
    /// leader's read index, as `sync` does). Costs a round trip to the leader.
    pub async fn exists_linearizable(&self, path: &str) -> Result<Option<Stat>, Error> {
        self.exists_inner(path, true).await
    }

    async fn exists_inner(&self, path: &str, linearizable: bool) -> Result<Option<Stat>, Error> {
        let server = self.server_path(path, false)?;
        let op = Op::Exists(v1::ExistsOp {
            path: server.clone(),
            watch: false,
            linearizable,
        });
        match self.ok(op, server, None, path).await {
            Ok(Some(R::Stat(s))) => Ok(Some(stat_or_default(s.stat))),
            Ok(other) => Err(Error::Protocol(format!("exists answered {other:?}"))),
            Err(Error::NoNode { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Like [`exists`](Self::exists), leaving a one-shot watch that fires on
    /// create, delete or data change (also when the node does not exist yet).
    pub async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, OneshotWatch), Error> {
        let server = self.server_path(path, false)?;
        let (tx, rx) = oneshot::channel();
        let reg = WatchReg::OneShot {
            kind: Kind::Data,
            if_missing: Some(Kind::Exist),
            tx,
        };
        let op = Op::Exists(v1::ExistsOp {
            path: server.clone(),
            watch: true,
            linearizable: false,
        });
        let stat = match self.ok(op, server, Some(reg), path).await {
            Ok(Some(R::Stat(s))) => Some(stat_or_default(s.stat)),
            Ok(other) => return Err(Error::Protocol(format!("exists answered {other:?}"))),
            Err(Error::NoNode { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok((stat, OneshotWatch { rx }))
    }

    async fn get_data_inner(
        &self,
        path: &str,
        watch: bool,
        linearizable: bool,
    ) -> Result<(Option<Vec<u8>>, Stat, Option<OneshotWatch>), Error> {
        let server = self.server_path(path, false)?;
        let (reg, rx) = if watch {
            let (tx, rx) = oneshot::channel();
            (
                Some(WatchReg::OneShot {
                    kind: Kind::Data,
                    if_missing: None,
                    tx,
                }),
                Some(rx),
            )
        } else {
            (None, None)
        };
        let op = Op::GetData(v1::GetDataOp {
            path: server.clone(),
            watch,
            linearizable,
        });
        match self.ok(op, server, reg, path).await? {
            Some(R::Data(d)) => Ok((
                d.data,
                stat_or_default(d.stat),
                rx.map(|rx| OneshotWatch { rx }),
            )),
            other => Err(Error::Protocol(format!("getData answered {other:?}"))),
        }
    }

    /// The node's data (null data reads as empty) and Stat.
    pub async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat), Error> {
        let (data, stat, _) = self.get_data_inner(path, false, false).await?;
        Ok((data.unwrap_or_default(), stat))
    }

    /// Like [`get_data`](Self::get_data), but linearizable: the server first
    /// catches up with everything the cluster committed before the call (the
    /// leader's read index, as `sync` does). Costs a round trip to the leader.
    pub async fn get_data_linearizable(&self, path: &str) -> Result<(Vec<u8>, Stat), Error> {
        let (data, stat, _) = self.get_data_inner(path, false, true).await?;
        Ok((data.unwrap_or_default(), stat))
    }

    /// The node's data, `None` for null data, and Stat.
    pub async fn get_data_opt(&self, path: &str) -> Result<(Option<Vec<u8>>, Stat), Error> {
        let (data, stat, _) = self.get_data_inner(path, false, false).await?;
        Ok((data, stat))
    }

    /// Like [`get_data`](Self::get_data), leaving a one-shot data watch.
    pub async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, OneshotWatch), Error> {
        let (data, stat, watch) = self.get_data_inner(path, true, false).await?;
        let watch = watch.ok_or_else(|| Error::Protocol("watch missing".into()))?;
        Ok((data.unwrap_or_default(), stat, watch))
    }

    /// Like [`get_data_watch`](Self::get_data_watch), telling null data
    /// (`None`) from empty data, as [`get_data_opt`](Self::get_data_opt) does.
    pub async fn get_data_opt_watch(
        &self,
        path: &str,
    ) -> Result<(Option<Vec<u8>>, Stat, OneshotWatch), Error> {
        let (data, stat, watch) = self.get_data_inner(path, true, false).await?;
        let watch = watch.ok_or_else(|| Error::Protocol("watch missing".into()))?;
        Ok((data, stat, watch))
    }

    /// Replaces the node's data (version `None` = any); returns the new Stat.
    pub async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<Stat, Error> {
        let server = self.server_path(path, false)?;
        let op = Op::SetData(v1::SetDataOp {
            path: server.clone(),
            data: Some(data.to_vec()),
            version: v(version),
        });
        match self.ok(op, server, None, path).await? {
            Some(R::Stat(s)) => Ok(stat_or_default(s.stat)),
            other => Err(Error::Protocol(format!("setData answered {other:?}"))),
        }
    }

    async fn children_inner(
        &self,
        path: &str,
        watch: bool,
    ) -> Result<(Vec<String>, Stat, Option<OneshotWatch>), Error> {
        let server = self.server_path(path, false)?;
        let (reg, rx) = if watch {
            let (tx, rx) = oneshot::channel();
            (
                Some(WatchReg::OneShot {
                    kind: Kind::Child,
                    if_missing: None,
                    tx,
                }),
                Some(rx),
            )
        } else {
            (None, None)
        };
        let op = Op::GetChildren(v1::GetChildrenOp {
            path: server.clone(),
            watch,
            linearizable: false,
        });
        match self.ok(op, server, reg, path).await? {
            Some(R::Children(c)) => Ok((
                c.children,
                stat_or_default(c.stat),
                rx.map(|rx| OneshotWatch { rx }),
            )),
            other => Err(Error::Protocol(format!("getChildren answered {other:?}"))),
        }
    }

    /// Child names, sorted.
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>, Error> {
        Ok(self.children_inner(path, false).await?.0)
    }

    /// Child names and the parent's Stat.
    pub async fn get_children2(&self, path: &str) -> Result<(Vec<String>, Stat), Error> {
        let (children, stat, _) = self.children_inner(path, false).await?;
        Ok((children, stat))
    }

    /// Child names, leaving a one-shot child watch.
    pub async fn get_children_watch(
        &self,
        path: &str,
    ) -> Result<(Vec<String>, OneshotWatch), Error> {
        let (children, _, watch) = self.children_inner(path, true).await?;
        Ok((
            children,
            watch.ok_or_else(|| Error::Protocol("watch missing".into()))?,
        ))
    }

    /// Waits until the server has applied everything committed before.
    pub async fn sync(&self, path: &str) -> Result<(), Error> {
        let server = self.server_path(path, false)?;
        self.ok(
            Op::Sync(v1::SyncOp {
                path: server.clone(),
            }),
            server,
            None,
            path,
        )
        .await
        .map(|_| ())
    }

    /// Number of all descendants of the node.
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32, Error> {
        let server = self.server_path(path, false)?;
        match self
            .ok(
                Op::GetAllChildrenNumber(v1::GetAllChildrenNumberOp {
                    path: server.clone(),
                }),
                server,
                None,
                path,
            )
            .await?
        {
            Some(R::Count(c)) => Ok(c.count),
            other => Err(Error::Protocol(format!(
                "getAllChildrenNumber answered {other:?}"
            ))),
        }
    }

    /// This session's ephemeral nodes whose path starts with `prefix`.
    /// `prefix` is a plain string prefix, as in ZooKeeper (`/lo` matches
    /// `/lock`); empty or `/` lists all. Paths come back relative to the chroot.
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let server = self.shared.chroot.ephemeral_prefix(prefix);
        match self
            .ok(
                Op::GetEphemerals(v1::GetEphemeralsOp { prefix: server }),
                String::new(),
                None,
                prefix,
            )
            .await?
        {
            Some(R::Paths(p)) => Ok(p
                .paths
                .iter()
                .filter(|p| self.shared.chroot.contains(p))
                .map(|p| self.shared.chroot.to_client(p))
                .collect()),
            None => Ok(Vec::new()),
            other => Err(Error::Protocol(format!("getEphemerals answered {other:?}"))),
        }
    }
}
