//! `GET /snapshot`: a consistent backup of the live server, streamed (as
//! ZooKeeper 3.9's AdminServer `snapshot` command).
//!
//! Owns answering one backup request: on a cluster member it first waits
//! until this server has applied everything committed before the request
//! (`Replicator::sync`, the leader's read index), so a follower's backup is
//! as current as the leader's; then it captures the tree at its applied
//! zxid under the state's read lock (writes wait for the encoding only, on
//! a blocking thread) and streams the backup file (`backup::format`) in
//! chunks of the one encoded buffer. Headers: `last_zxid` (hex, as
//! ZooKeeper's), `snapshot_size` (bytes), `Content-Length`.
//!
//! One backup at a time per server: a second request while one is captured
//! or still streaming gets 429, so memory stays bounded by one encoded tree.
//! A member that is not ready (`health::readiness`) or cannot sync gets 503.

use super::{health, AdminState};
use crate::backup::{Backup, BackupError};
use crate::service::admins::AdminCredentials;
use crate::state::ServerState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

/// Bytes per body chunk.
const CHUNK_BYTES: usize = 1 << 20;

/// The servers (by their state's address) with a backup in progress: one
/// process may run several servers (tests, `corral dev`), each allowed one.
static IN_PROGRESS: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

/// A server's backup slot, held until its body is sent or dropped.
struct Slot(usize);

impl Slot {
    fn take(state: &Arc<ServerState>) -> Option<Slot> {
        let key = Arc::as_ptr(state) as usize;
        let taken = IN_PROGRESS
            .lock()
            .get_or_insert_with(HashSet::new)
            .insert(key);
        // Built only once the lock is released: a `Slot` dropped under it
        // (refused) would lock it again.
        taken.then(|| Slot(key))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(busy) = IN_PROGRESS.lock().as_mut() {
            busy.remove(&self.0);
        }
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// Answers `GET /snapshot` with the backup file, to an administrator only
/// (`Authorization: digest USER:PASSWORD` or Basic): a backup holds every
/// node, whatever its ACL. Others get 401 and no snapshot is taken.
pub async fn handler(State(admin): State<AdminState>, headers: axum::http::HeaderMap) -> Response {
    let service = admin.service().clone();
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !service.is_administrator(&AdminCredentials::from_authorization(authorization)) {
        let mut refused = refuse(
            StatusCode::UNAUTHORIZED,
            "NoAuth: a snapshot needs an administrator (Authorization: digest USER:PASSWORD)"
                .into(),
        );
        refused.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Basic realm=\"corral\""),
        );
        return refused;
    }
    let Some(slot) = Slot::take(service.state()) else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "a snapshot of this server is already in progress; retry when it is done".into(),
        );
    };
    if service.replicator().view().is_some() {
        if let Err(why) = health::readiness(&service) {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready for a snapshot: {why}"),
            );
        }
        if let Err(error) = service.replicator().sync().await {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot catch up with the leader before the snapshot: {error}"),
            );
        }
    }
    let state = service.state().clone();
    let captured = tokio::task::spawn_blocking(move || Backup::capture(&state.read())).await;
    let backup = match captured {
        Ok(Ok(backup)) => backup,
        Ok(Err(error)) => return internal(&error),
        Err(error) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("snapshot task failed: {error}"),
            )
        }
    };
    let header = *backup.header();
    tracing::info!(
        zxid = header.zxid,
        nodes = header.nodes,
        bytes = header.file_len(),
        "streaming a snapshot"
    );
    metrics::counter!("corral_admin_snapshots_total").increment(1);
    let (head, payload) = backup.into_parts();
    let body = Body::from_stream(chunks(head.to_vec(), payload, slot));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(header.file_len()));
    headers.insert("snapshot_size", HeaderValue::from(header.file_len()));
    if let Ok(zxid) = HeaderValue::from_str(&format!("{:#x}", header.zxid)) {
        headers.insert("last_zxid", zxid);
    }
    response
}

fn internal(error: &BackupError) -> Response {
    tracing::warn!(%error, "snapshot failed");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("snapshot failed: {error}"),
    )
}

/// The header, then the payload in [`CHUNK_BYTES`] slices of one buffer
/// (no copies); `slot` is released when the stream is done or dropped.
fn chunks(
    head: Vec<u8>,
    payload: Vec<u8>,
    slot: Slot,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send {
    let payload = Bytes::from(payload);
    let mut parts = vec![Bytes::from(head)];
    let mut at = 0;
    while at < payload.len() {
        let end = (at + CHUNK_BYTES).min(payload.len());
        parts.push(payload.slice(at..end));
        at = end;
    }
    futures::stream::iter(parts).map(move |part| {
        let _held = &slot;
        Ok(part)
    })
}
