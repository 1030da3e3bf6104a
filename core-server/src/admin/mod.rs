//! The admin HTTP listener and the read-only views of a server: health
//! (`/livez`, `/readyz`), status (`/status`), Prometheus metrics
//! (`/metrics`), ZooKeeper's AdminServer commands (`/commands/NAME`) and
//! the web console (`/ui`, [`ui`]).
//!
//! Owns what an operator or a probe reads; changes nothing in the tree and
//! never holds the state lock longer than one reading ([`facts`]).

pub mod commands;
pub mod facts;
pub mod health;
pub mod metrics;
pub mod snapshot;
pub mod status;
pub mod ui;

use crate::service::Service;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The version string reported to tools (as ZooKeeper's, with ours after it).
pub const VERSION: &str = concat!("3.8.4-corral-", env!("CARGO_PKG_VERSION"));

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AdminState {
    service: Service,
    started: Instant,
}

impl AdminState {
    /// The views of `service`, which started at `started`.
    pub fn new(service: Service, started: Instant) -> Self {
        AdminState { service, started }
    }

    /// The service the views read.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// How long the server has run.
    pub fn uptime(&self) -> std::time::Duration {
        self.service.now().saturating_duration_since(self.started)
    }
}

/// Every route of the admin listener, the console's over `ui`.
pub fn router(state: AdminState, ui: ui::UiState) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/status", get(status_json))
        .route("/metrics", get(metrics_text))
        .route("/commands", get(command_list))
        .route("/commands/{name}", get(command))
        .route("/snapshot", get(snapshot::handler))
        .with_state(state)
        .merge(ui::router(ui))
}

/// Serves `router(state)` on `listener` until `stop`.
pub async fn serve(listener: TcpListener, state: AdminState, stop: CancellationToken) {
    let console = ui::UiState::new(state.clone());
    tokio::spawn(ui::charts::sample_every_second(
        console.clone(),
        stop.clone(),
    ));
    let app = router(state, console);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(error) = served {
        tracing::warn!(%error, "admin listener failed");
    }
}

async fn livez() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AdminState>) -> Response {
    match health::readiness(&state.service) {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn status_json(State(state): State<AdminState>) -> Response {
    axum::Json(status::Status::of(&state)).into_response()
}

async fn metrics_text(State(state): State<AdminState>) -> Response {
    let text = metrics::render(&state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn command_list() -> Response {
    axum::Json(commands::list()).into_response()
}

async fn command(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    match commands::run(&state, &name) {
        Some(body) => axum::Json(body).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "command": name,
                "error": "Unknown command: ".to_string() + &name,
            })),
        )
            .into_response(),
    }
}
