//! The console's writes: create, setData (with the version the page
//! showed, so a concurrent change is refused with BadVersion) and delete.
//! POST only, by a logged-in browser carrying its CSRF token
//! ([`login::check_write`]); each goes through [`Service::handle`] on a
//! session with the user's digest identity ([`session::once`]), so ACLs
//! apply and a cluster member forwards it to the leader like any write.
//!
//! [`Service::handle`]: crate::service::Service::handle

use super::login;
use super::session;
use super::tree::{join, parent, q};
use super::{UiError, UiState};
use crate::service::{CreateArgs, Request};
use crate::tree::acl::{perms, Acl};
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use proto::{CreateMode, ErrorCode};
use serde::Deserialize;

/// The create form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    /// The parent.
    parent: String,
    /// The new child's name.
    name: String,
    #[serde(default)]
    data: String,
    /// `persistent`, `sequential` or `container`.
    #[serde(default)]
    mode: String,
    /// `open` (world:anyone, all) or `mine` (the creator only).
    #[serde(default)]
    acl: String,
}

/// The setData form.
#[derive(Debug, Deserialize)]
pub struct SetForm {
    #[serde(default)]
    csrf: String,
    path: String,
    #[serde(default)]
    data: String,
    /// The version the page showed.
    version: i32,
}

/// The delete form.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    path: String,
    /// The version the page showed.
    version: i32,
}

fn back_to(path: &str, done: &str) -> Response {
    Redirect::to(&format!("/ui/node?path={}&done={}", q(path), q(done))).into_response()
}

/// `POST /ui/create`.
pub async fn create(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, UiError> {
    let login = login::check_write(&state, &headers, &form.csrf)?;
    if form.name.is_empty() || form.name.contains('/') {
        return Err(UiError::BadRequest("a child name, without '/'".into()));
    }
    let mode = match form.mode.as_str() {
        "sequential" => CreateMode::PersistentSequential,
        "container" => CreateMode::Container,
        _ => CreateMode::Persistent,
    };
    let acl = match form.acl.as_str() {
        "mine" => vec![Acl::new(perms::ALL, "auth", "")],
        _ => Acl::open(),
    };
    let path = join(&form.parent, &form.name);
    let request = Request::Create(CreateArgs {
        path,
        data: Some(form.data.into_bytes()),
        mode,
        ttl_ms: 0,
        acl,
    });
    match session::once(state.service(), &login, request).await? {
        crate::service::Reply::Created { path, .. } => Ok(back_to(&path, "created")),
        _ => Ok(back_to(&form.parent, "created")),
    }
}

/// `POST /ui/set`.
pub async fn set(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<SetForm>,
) -> Result<Response, UiError> {
    let login = login::check_write(&state, &headers, &form.csrf)?;
    let request = Request::SetData {
        path: form.path.clone(),
        data: Some(form.data.into_bytes()),
        version: form.version,
    };
    match session::once(state.service(), &login, request).await {
        Ok(_) => Ok(back_to(&form.path, "saved")),
        Err(UiError::Refused(ErrorCode::BadVersion, _)) => Err(UiError::Refused(
            ErrorCode::BadVersion,
            format!(
                "{} changed after you loaded version {}; nothing was saved. \
                 Reload the node to see the new data, then edit again.",
                form.path, form.version
            ),
        )),
        Err(other) => Err(other),
    }
}

/// `POST /ui/delete`.
pub async fn delete(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Result<Response, UiError> {
    let login = login::check_write(&state, &headers, &form.csrf)?;
    let request = Request::Delete {
        path: form.path.clone(),
        version: form.version,
    };
    session::once(state.service(), &login, request).await?;
    Ok(back_to(&parent(&form.path), "deleted"))
}
