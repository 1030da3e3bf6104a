//! Logging in to the console: a `user:password` digest identity, as
//! ZooKeeper's `addauth digest`, remembered under a random cookie
//! (`HttpOnly`, `SameSite=Strict`) with a CSRF token that every form posts
//! back. Any digest may log in: as on the ZooKeeper port, it is each
//! node's ACL that decides what the identity may do.

use super::{html, Nav, UiError, UiState};
use crate::tree::acl::digest_id;
use crate::tree::AuthId;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use std::collections::VecDeque;

/// The cookie that names a login.
pub const COOKIE: &str = "corral_ui";

/// Longest `user:password` accepted.
pub const MAX_DIGEST_BYTES: usize = 512;

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Login {
    token: String,
    /// `user:password`.
    pub digest: String,
    /// The token its forms carry.
    pub csrf: String,
}

impl Login {
    /// The user's name.
    pub fn user(&self) -> &str {
        self.digest.split_once(':').map_or("", |(user, _)| user)
    }
}

/// The remembered logins, oldest first, at most `capacity`.
#[derive(Debug)]
pub struct Logins {
    list: VecDeque<Login>,
    capacity: usize,
}

impl Logins {
    /// An empty table of at most `capacity` logins.
    pub fn new(capacity: usize) -> Self {
        Logins {
            list: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Remembers a login for `digest`; forgets the oldest past the bound.
    pub fn add(&mut self, digest: String) -> Login {
        let login = Login {
            token: random_token(),
            digest,
            csrf: random_token(),
        };
        while self.list.len() >= self.capacity {
            self.list.pop_front();
        }
        self.list.push_back(login.clone());
        login
    }

    /// The login named by `token`.
    pub fn get(&self, token: &str) -> Option<Login> {
        self.list.iter().find(|l| l.token == token).cloned()
    }

    /// Forgets the login named by `token`.
    pub fn remove(&mut self, token: &str) {
        self.list.retain(|l| l.token != token);
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in `headers`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The login of the browser that sent `headers`, if any.
pub fn current(state: &UiState, headers: &HeaderMap) -> Option<Login> {
    let token = cookie(headers, COOKIE)?;
    state.logins.lock().get(token)
}

/// The navigation bar for `login`.
pub fn nav(login: Option<&Login>) -> Nav {
    Nav {
        user: login.map(|l| l.user().to_string()),
        csrf: login.map(|l| l.csrf.clone()).unwrap_or_default(),
    }
}

/// The ids `login` proves on ACL checks, and whether it is the super user.
pub fn identities(state: &UiState, login: Option<&Login>) -> (Vec<AuthId>, bool) {
    let Some(id) = login.and_then(|l| digest_id(&l.digest)) else {
        return (Vec::new(), false);
    };
    let is_super = state.service().config().super_digest.as_deref() == Some(id.as_str());
    let mut ids = vec![AuthId::new("digest", &id)];
    if is_super {
        ids.push(AuthId::new("super", ""));
    }
    (ids, is_super)
}

/// A write's guard: the browser is logged in, the form carries its CSRF
/// token, and a browser's `Origin`, when sent, is this listener's own.
pub fn check_write(state: &UiState, headers: &HeaderMap, csrf: &str) -> Result<Login, UiError> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if own != Some(host) {
            return Err(UiError::Forbidden("cross-origin write refused"));
        }
    }
    let login = current(state, headers).ok_or(UiError::Forbidden("log in to change the tree"))?;
    if csrf.is_empty() || login.csrf != csrf {
        return Err(UiError::Forbidden("missing or stale form token (CSRF)"));
    }
    Ok(login)
}

#[derive(askama::Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    nav: Nav,
}

/// `GET /ui/login`: the form.
pub async fn form(State(state): State<UiState>, headers: HeaderMap) -> Result<Response, UiError> {
    let login = current(&state, &headers);
    html(&LoginPage {
        nav: nav(login.as_ref()),
    })
}

/// What the login form posts.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    user: String,
    password: String,
}

/// `POST /ui/login`: remembers the digest and sets the cookie.
pub async fn submit(
    State(state): State<UiState>,
    Form(credentials): Form<Credentials>,
) -> Result<Response, UiError> {
    let digest = format!("{}:{}", credentials.user, credentials.password);
    if credentials.user.is_empty() || credentials.user.contains(':') {
        return Err(UiError::BadRequest("a user name, without ':'".into()));
    }
    if digest.len() > MAX_DIGEST_BYTES {
        return Err(UiError::BadRequest(format!(
            "user:password is over {MAX_DIGEST_BYTES} bytes"
        )));
    }
    let login = state.logins.lock().add(digest);
    let cookie = format!(
        "{COOKIE}={}; Path=/ui; HttpOnly; SameSite=Strict",
        login.token
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/ui")).into_response())
}

/// What the logout form posts.
#[derive(Debug, Deserialize)]
pub struct Logout {
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/logout`: forgets the login.
pub async fn logout(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<Logout>,
) -> Result<Response, UiError> {
    let login = check_write(&state, &headers, &form.csrf)?;
    state.logins.lock().remove(&login.token);
    let cookie = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/ui")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_login_is_forgotten_past_the_bound() {
        let mut logins = Logins::new(2);
        let a = logins.add("a:1".into());
        let b = logins.add("b:2".into());
        let c = logins.add("c:3".into());
        assert!(logins.get(&a.token).is_none());
        assert_eq!(logins.get(&b.token).map(|l| l.digest), Some("b:2".into()));
        assert_eq!(
            logins.get(&c.token).map(|l| l.user().to_string()),
            Some("c".into())
        );
    }
}
