//! Owns the [`Client`] handle: construction, session accessors, the request
//! plumbing to the connection task, close, and the opt-in retry helper. The
//! operations themselves live in `node_ops`, `watch_ops`, `multi` and
//! `acl_ops`.

use crate::connection::{self, Command, Shared, WatchReg};
use crate::ops::Stat;
use crate::retry::RetryPolicy;
use crate::session::{SessionEvent, SessionEvents, SessionState};
use crate::{ClientBuilder, Error, IntoHosts};
use proto::v1::{self, request::Op, response::Result as R};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// A connection to Corral with one session. Cheap to clone; every clone shares
/// the session. Dropping the last clone closes the session.
///
/// Every operation is an `async fn` returning a typed [`Error`]. They are
/// cancellation-safe in the sense that dropping the future never corrupts the
/// client, but a request already handed to the connection task is still sent:
/// a dropped write may or may not be applied.
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
    /// Connects with default settings to a connect string
    /// `host:port[,host:port...][/chroot]` or a host list.
    pub async fn connect(hosts: impl IntoHosts) -> Result<Client, Error> {
        ClientBuilder::new(hosts).build().await
    }

    /// A builder for custom settings.
    pub fn builder(hosts: impl IntoHosts) -> ClientBuilder {
        ClientBuilder::new(hosts)
    }

    pub(crate) async fn start(builder: ClientBuilder) -> Result<Client, Error> {
        let shared = Arc::new(Shared::new(&builder));
        let commands = connection::start(shared.clone(), &builder).await?;
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
        self.shared.timeout()
    }

    /// The highest zxid this client has seen in responses, pongs and
    /// one-shot or persistent watch events (not resumable-stream events).
    pub fn last_zxid(&self) -> i64 {
        self.shared.last_zxid.load(Ordering::Relaxed)
    }

    /// The current session state.
    pub fn state(&self) -> SessionState {
        *self.shared.state.borrow()
    }

    /// A receiver of the session state (await `changed()` or `wait_for`);
    /// intermediate states may be coalesced.
    pub fn state_watch(&self) -> watch::Receiver<SessionState> {
        self.shared.state.subscribe()
    }

    /// Every session transition from now on (Connected, Suspended,
    /// Reconnected, Expired, Closed), as a broadcast receiver.
    pub fn events(&self) -> broadcast::Receiver<SessionEvent> {
        self.shared.events.subscribe()
    }

    /// Every session transition from now on, as a `Stream` (see
    /// [`SessionEvents`] for its overflow policy).
    pub fn state_stream(&self) -> SessionEvents {
        SessionEvents::new(self.shared.events.subscribe())
    }

    /// Validates a client path and maps it into the chroot.
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
        Ok(self.shared.chroot.to_server(path))
    }

    /// Sends one request and waits for its response. While the connection is
    /// suspended the request waits for the reconnect (at most the session
    /// timeout, after which it fails with `SessionExpired`).
    async fn call(
        &self,
        op: Op,
        path: String,
        watch: Option<WatchReg>,
    ) -> Result<v1::Response, Error> {
        let (reply, rx) = oneshot::channel();
        let command = Command {
            op,
            path,
            watch,
            reply,
        };
        self.commands.send(command).await.map_err(|_| self.gone())?;
        rx.await.map_err(|_| self.gone())?
    }

    /// The error for a request the task will never answer.
    pub(crate) fn gone(&self) -> Error {
        match self.state() {
            SessionState::Expired => Error::SessionExpired,
            _ => Error::Closed,
        }
    }

    /// Sends a request; a non-zero code becomes the matching [`Error`] about
    /// `user_path`.
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

    /// Closes the session: the server deletes its ephemerals, every watch ends
    /// with [`Error::Closed`], later calls fail with [`Error::Closed`], and the
    /// state becomes [`SessionState::Closed`]. Waits for the server's answer
    /// (at most the session timeout). While suspended it does not wait for a
    /// reconnect: the client closes at once and the server expires the session
    /// after its timeout. Idempotent; cancellation-safe (the close proceeds).
    pub async fn close(&self) -> Result<(), Error> {
        if !self.state().is_terminal() {
            self.shared.close.notify_one();
        }
        let mut state = self.state_watch();
        // `shared` owns the sender, so this ends when the state is terminal.
        let _ = state.wait_for(|s| s.is_terminal()).await;
        Ok(())
    }

    /// Runs `op` under `policy`: again after each retryable failure
    /// ([`Error::is_retryable`]: the connection was lost) until it succeeds,
    /// fails otherwise, or the policy gives up. Use it only for idempotent
    /// operations (reads, `set_data`/`delete` with a version, `create` of a
    /// fixed path whose `NodeExists` you handle): a write that failed with
    /// `ConnectionLoss` may have been applied. The client never retries on
    /// its own.
    ///
    /// ```no_run
    /// # async fn f(client: client::Client) -> Result<(), client::Error> {
    /// use client::retry::ExponentialBackoff;
    /// use std::time::Duration;
    /// let policy = ExponentialBackoff {
    ///     base: Duration::from_millis(50),
    ///     max_delay: Duration::from_secs(2),
    ///     max_retries: 5,
    /// };
    /// let (data, _stat) = client.retry(&policy, || client.get_data("/config")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn retry<T, F, Fut>(&self, policy: &dyn RetryPolicy, op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        crate::retry::retry(policy, op).await
    }
}
