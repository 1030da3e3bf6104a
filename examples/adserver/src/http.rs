//! The worker's HTTP front: `GET /ad` serves an ad within the worker's
//! share for the current second (200 with `campaign second worker` as the
//! body) or says there is none (204); `?campaign=NAME` asks for one
//! campaign, without it the worker picks one that has budget left.
//! `GET /status` shows the split the worker follows and what is left.

use crate::model::now_ms;
use crate::pacing::Pacer;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the handlers share.
#[derive(Debug)]
pub struct Front {
    /// The worker's id.
    pub worker: String,
    /// Its pacer.
    pub pacer: Arc<Pacer>,
    /// Ads served since start.
    pub served: AtomicU64,
}

#[derive(Debug, Deserialize)]
struct AdQuery {
    campaign: Option<String>,
}

async fn ad(State(front): State<Arc<Front>>, Query(q): Query<AdQuery>) -> Response {
    match front.pacer.take(q.campaign.as_deref(), now_ms()) {
        Some(grant) => {
            front.served.fetch_add(1, Ordering::Relaxed);
            let body = format!("{} {} {}", grant.campaign, grant.second, front.worker);
            (StatusCode::OK, body).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn status(State(front): State<Arc<Front>>) -> Response {
    let now = now_ms();
    let s = front.pacer.status(now);
    Json(serde_json::json!({
        "worker": front.worker,
        "in_force": s.in_force,
        "seen": s.seen,
        "members": s.members,
        "serving": s.serving,
        "remaining": front.pacer.remaining(now),
        "served": front.served.load(Ordering::Relaxed),
    }))
    .into_response()
}

/// The router over `front`.
pub fn router(front: Arc<Front>) -> Router {
    Router::new()
        .route("/ad", get(ad))
        .route("/status", get(status))
        .with_state(front)
}

/// Binds `addr` and serves until aborted; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    front: Arc<Front>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(front);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("http: {e}");
        }
    });
    Ok((local, task))
}
