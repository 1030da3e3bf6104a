//! The console's sessions: a write or a live page opens a session on this
//! server through [`Service::connect`], as a client would, proves the
//! logged-in user's digest with the auth request, and closes the session
//! when done. Its requests go through [`Service::handle`], so ACLs,
//! limits, leader forwarding and replication apply as to any client.

use super::login::Login;
use super::UiError;
use crate::connection::{outbound, Outbox};
use crate::service::latency::Protocol;
use crate::service::{ConnectArgs, Connection, Reply, Request, Service};
use tokio_util::sync::CancellationToken;

/// A console session's timeout: long enough for a live page's keep-alive
/// (one a third of it) to hold it.
pub const TIMEOUT_MS: i32 = 30_000;

/// Opens a session whose events go to `outbox` (a fresh, small one when
/// `None`), with `login`'s identity proven.
pub async fn open(
    service: &Service,
    login: Option<&Login>,
    outbox: Option<Outbox>,
) -> Result<Connection, UiError> {
    let outbox = outbox.unwrap_or_else(|| {
        let (tx, _rx) = outbound::channel(1, 1024);
        Outbox {
            tx,
            close: CancellationToken::new(),
        }
    });
    let args = ConnectArgs {
        session_id: 0,
        password: Vec::new(),
        timeout_ms: TIMEOUT_MS,
        last_zxid_seen: 0,
        peer_ip: None,
        can_be_read_only: false,
        protocol: Protocol::Native,
    };
    let (connection, _) = service
        .connect(args, outbox)
        .await
        .map_err(|(code, why)| UiError::Refused(code, why))?;
    if let Some(login) = login {
        let auth = Request::AddAuth {
            scheme: "digest".into(),
            auth: login.digest.as_bytes().to_vec(),
        };
        if let Err(code) = service.handle(&connection, 0, auth).await.result {
            close(service, connection).await;
            return Err(UiError::Refused(code, "the digest was refused".into()));
        }
    }
    Ok(connection)
}

/// Sends one request on `connection`.
pub async fn call(
    service: &Service,
    connection: &Connection,
    request: Request,
) -> Result<Reply, UiError> {
    let what = describe(&request);
    service
        .handle(connection, 1, request)
        .await
        .result
        .map_err(|code| UiError::Refused(code, what))
}

/// Ends the session (its ephemerals and watches go) and forgets the
/// connection.
pub async fn close(service: &Service, connection: Connection) {
    let _ = service.handle(&connection, 2, Request::CloseSession).await;
    service.disconnect(&connection);
}

/// Opens a session, sends `request` and closes the session.
pub async fn once(service: &Service, login: &Login, request: Request) -> Result<Reply, UiError> {
    let connection = open(service, Some(login), None).await?;
    let result = call(service, &connection, request).await;
    close(service, connection).await;
    result
}

fn describe(request: &Request) -> String {
    match request {
        Request::Create(args) => format!("create {}", args.path),
        Request::SetData { path, version, .. } => {
            format!("set {path} at version {version} (someone changed it meanwhile?)")
        }
        Request::Delete { path, .. } => format!("delete {path}"),
        Request::AddWatch { path, .. } => format!("watch {path}"),
        _ => "request".into(),
    }
}
