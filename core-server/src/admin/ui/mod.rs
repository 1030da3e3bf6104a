//! The web console at `/ui` on the admin listener: the tree, node by node
//! with paged children ([`tree`]), writes by a logged-in user through the
//! normal request path ([`write`], [`login`], [`session`]), live updates
//! of an open node page by server-sent events ([`live`]), sessions,
//! watches and members ([`cluster`]) and live charts ([`charts`]).
//!
//! Owns the console's pages, its logins and its chart samples. Pages are
//! askama templates compiled into the binary; the one script ([`assets`])
//! only enhances them: every page reads and every form posts without it.
//! Reads come from the state like the other admin views, checked against
//! each node's ACL with the logged-in user's identity.

pub mod assets;
pub mod charts;
pub mod cluster;
pub mod live;
pub mod login;
pub mod session;
pub mod tree;
pub mod write;

use super::AdminState;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use parking_lot::Mutex;
use proto::ErrorCode;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What the console's handlers share.
#[derive(Debug, Clone)]
pub struct UiState {
    admin: AdminState,
    logins: Arc<Mutex<login::Logins>>,
    samples: Arc<Mutex<charts::Samples>>,
    live_pages: Arc<Semaphore>,
}

impl UiState {
    /// The console over `admin`, with its bounds from the service's config.
    pub fn new(admin: AdminState) -> Self {
        let config = admin.service().config();
        let logins = login::Logins::new(config.ui_logins);
        let samples = charts::Samples::new(config.ui_chart_samples);
        let live_pages = Arc::new(Semaphore::new(config.ui_live_pages));
        UiState {
            admin,
            logins: Arc::new(Mutex::new(logins)),
            samples: Arc::new(Mutex::new(samples)),
            live_pages,
        }
    }

    /// The admin views the console reads.
    pub fn admin(&self) -> &AdminState {
        &self.admin
    }

    /// The service behind the console.
    pub fn service(&self) -> &crate::service::Service {
        self.admin.service()
    }

    /// The chart samples (filled by [`charts::sample_every_second`]).
    pub fn samples(&self) -> &Arc<Mutex<charts::Samples>> {
        &self.samples
    }
}

/// The console's routes, all under `/ui`.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/ui", get(tree::page))
        .route("/ui/", get(tree::page))
        .route("/ui/node", get(tree::page))
        .route("/ui/events", get(live::events))
        .route("/ui/create", post(write::create))
        .route("/ui/set", post(write::set))
        .route("/ui/delete", post(write::delete))
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/sessions", get(cluster::sessions))
        .route("/ui/watches", get(cluster::watches))
        .route("/ui/members", get(cluster::members))
        .route("/ui/charts", get(charts::page))
        .route("/ui/charts/{name}", get(charts::svg))
        .route("/ui/assets/{name}", get(assets::file))
        .with_state(state)
}

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// A template could not be rendered.
    #[error("page rendering failed: {0}")]
    Render(#[from] askama::Error),
    /// The request is refused (not logged in, CSRF check failed).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The server refused the operation with a ZooKeeper code.
    #[error("{}: {}", code_name(*.0), .1)]
    Refused(ErrorCode, String),
    /// Too many live pages are open.
    #[error("too many live pages are open (ui_live_pages)")]
    Busy,
}

/// ZooKeeper's name for a code, as clients print it (`BadVersion`).
pub fn code_name(code: ErrorCode) -> String {
    format!("{code:?}")
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = match &self {
            UiError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
            UiError::Forbidden(_) => StatusCode::FORBIDDEN,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::Refused(ErrorCode::BadVersion | ErrorCode::NodeExists, _) => {
                StatusCode::CONFLICT
            }
            UiError::Refused(ErrorCode::NoNode, _) => StatusCode::NOT_FOUND,
            UiError::Refused(ErrorCode::NoAuth | ErrorCode::AuthFailed, _) => StatusCode::FORBIDDEN,
            UiError::Refused(_, _) => StatusCode::BAD_REQUEST,
            UiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        };
        let page = ErrorPage {
            nav: Nav::default(),
            message: self.to_string(),
        };
        let body = askama::Template::render(&page).unwrap_or_else(|_| self.to_string());
        (status, Html(body)).into_response()
    }
}

/// What the top of every page shows: who is logged in and the CSRF token
/// its forms carry.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The logged-in user's name.
    pub user: Option<String>,
    /// The token the page's forms post back.
    pub csrf: String,
}

/// A failed request's page.
#[derive(askama::Template)]
#[template(path = "ui/error.html")]
struct ErrorPage {
    nav: Nav,
    message: String,
}

/// Renders a template into a response that no cache keeps (pages show
/// live state, some of it behind ACLs).
pub fn html(page: &impl askama::Template) -> Result<Response, UiError> {
    let no_store = [(axum::http::header::CACHE_CONTROL, "no-store")];
    Ok((no_store, Html(page.render()?)).into_response())
}
