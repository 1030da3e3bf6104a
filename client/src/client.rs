//! The [`Client`] handle and its operations.

use crate::connection::{self, Command, Shared, WatchReg};
use crate::ops::{CreateOptions, Stat};
use crate::session::{SessionEvent, SessionState};
use crate::watch::{Kind, OneshotWatch};
use crate::{ClientBuilder, Error};
use parking_lot::Mutex;
use proto::v1::{self, request::Op, response::Result as R};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// A connection to Corral with one session. Cheap to clone; every clone shares
/// the session. Dropping the last clone closes the session.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

pub(crate) fn v(version: Option<i32>) -> i32 {
    version.unwrap_or(-1)
}

pub(crate) fn stat_or_default(s: Option<Stat>) -> Stat {
    s.unwrap_or_default()
}

impl Client {
    /// Connects with default settings to `host:port[,host:port...][/chroot]`.
    pub async fn connect(connect_string: &str) -> Result<Client, Error> {
        ClientBuilder::new(connect_string).build().await
    }

    /// A builder for custom settings.
    pub fn builder(connect_string: &str) -> ClientBuilder {
        ClientBuilder::new(connect_string)
    }

    pub(crate) async fn start(builder: ClientBuilder) -> Result<Client, Error> {
        let (state, _) = watch::channel(SessionState::Connecting);
        let (events, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            session_id: AtomicI64::new(0),
            password: Mutex::new(Vec::new()),
            timeout_ms: AtomicI64::new(builder.session_timeout.as_millis() as i64),
            last_zxid: AtomicI64::new(0),
            registry: Mutex::new(Default::default()),
            chroot: builder.chroot.clone(),
            auth: Mutex::new(Vec::new()),
            state,
            events,
        });
        let link = connection::first_session(&shared, &builder).await?;
        shared.state.send_replace(SessionState::Connected);
        let _ = shared.events.send(SessionEvent::Connected);
        let (commands, rx) = mpsc::channel(1024);
        tokio::spawn(connection::run(shared.clone(), builder, link, rx));
        Ok(Client { shared, commands })
    }

    /// The session id.
    pub fn session_id(&self) -> i64 {
        self.shared.session_id.load(Ordering::Relaxed)
    }

    /// The session password.
    pub fn session_password(&self) -> Vec<u8> {
        self.shared.password.lock().clone()
    }

    /// The negotiated session timeout.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.shared.timeout_ms.load(Ordering::Relaxed).max(0) as u64)
    }

    /// The highest zxid this client has seen.
    pub fn last_zxid(&self) -> i64 {
        self.shared.last_zxid.load(Ordering::Relaxed)
    }

    /// The current session state.
    pub fn state(&self) -> SessionState {
        *self.shared.state.borrow()
    }

    /// A receiver of the session state (await `changed()` or `wait_for`).
    pub fn state_watch(&self) -> watch::Receiver<SessionState> {
        self.shared.state.subscribe()
    }

    /// Every session transition from now on (Connected, Suspended,
    /// Reconnected, Expired, Closed).
    pub fn events(&self) -> broadcast::Receiver<SessionEvent> {
        self.shared.events.subscribe()
    }

    pub(crate) fn server_path(&self, path: &str, sequential: bool) -> Result<String, Error> {
        let checked = if sequential {
            proto::path::validate_sequential(path)
        } else {
            proto::path::validate(path)
        };
        checked.map_err(|reason| Error::InvalidPath {
            path: path.to_string(),
            reason,
        })?;
        Ok(match &self.shared.chroot {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => format!("{root}{path}"),
        })
    }

    async fn call(
        &self,
        op: Op,
        path: String,
        watch: Option<WatchReg>,
    ) -> Result<v1::Response, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command {
                op,
                path,
                watch,
                reply,
            })
            .await
            .map_err(|_| self.gone())?;
        rx.await.map_err(|_| self.gone())?
    }

    pub(crate) fn gone(&self) -> Error {
        match self.state() {
            SessionState::Expired => Error::SessionExpired,
            _ => Error::Closed,
        }
    }

    pub(crate) async fn ok(
        &self,
        op: Op,
        path: String,
        watch: Option<WatchReg>,
        user_path: &str,
    ) -> Result<Option<R>, Error> {
        let response = self.call(op, path, watch).await?;
        if response.err != 0 {
            return Err(Error::from_wire(response.err, user_path));
        }
        Ok(response.result)
    }

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
            Some(R::Create(c)) => {
                Ok((self.shared.to_client_path(&c.path), stat_or_default(c.stat)))
            }
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
        let server = self.server_path(path, false)?;
        let op = Op::Exists(v1::ExistsOp {
            path: server.clone(),
            watch: false,
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
        let (data, stat, _) = self.get_data_inner(path, false).await?;
        Ok((data.unwrap_or_default(), stat))
    }

    /// The node's data, `None` for null data, and Stat.
    pub async fn get_data_opt(&self, path: &str) -> Result<(Option<Vec<u8>>, Stat), Error> {
        let (data, stat, _) = self.get_data_inner(path, false).await?;
        Ok((data, stat))
    }

    /// Like [`get_data`](Self::get_data), leaving a one-shot data watch.
    pub async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, OneshotWatch), Error> {
        let (data, stat, watch) = self.get_data_inner(path, true).await?;
        let watch = watch.ok_or_else(|| Error::Protocol("watch missing".into()))?;
        Ok((data.unwrap_or_default(), stat, watch))
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
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let server = match &self.shared.chroot {
            Some(root) if prefix.is_empty() || prefix == "/" => root.clone(),
            Some(root) => format!("{root}{prefix}"),
            None => prefix.to_string(),
        };
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
                .map(|p| self.shared.to_client_path(p))
                .collect()),
            None => Ok(Vec::new()),
            other => Err(Error::Protocol(format!("getEphemerals answered {other:?}"))),
        }
    }

    /// Closes the session: its ephemerals are deleted, watches end.
    pub async fn close(&self) -> Result<(), Error> {
        if self.state().is_terminal() {
            return Ok(());
        }
        match self
            .call(Op::CloseSession(v1::CloseSessionOp {}), String::new(), None)
            .await
        {
            Ok(_) | Err(Error::Closed) => {}
            Err(e) => return Err(e),
        }
        let mut state = self.state_watch();
        let _ = state.wait_for(|s| s.is_terminal()).await;
        Ok(())
    }
}
