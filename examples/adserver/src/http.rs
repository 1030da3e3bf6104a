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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{split, Settings, Split};
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
        let req = axum::http::Request::get(uri).body(Body::empty());
        let Ok(req) = req else {
            return (StatusCode::BAD_REQUEST, String::new());
        };
        let Ok(res) = app.clone().oneshot(req).await;
        let status = res.status();
        let body = res.into_body().collect().await.map(|b| b.to_bytes());
        let text = body.map_or(String::new(), |b| String::from_utf8_lossy(&b).into_owned());
        (status, text)
    }

    #[tokio::test]
    async fn an_ad_until_the_share_is_spent_then_no_ad() {
        let settings = Settings {
            campaigns: vec![crate::model::Campaign {
                name: "shoes".into(),
                budget_per_s: 2,
            }],
        };
        let pacer = Arc::new(Pacer::new("w"));
        pacer.extend_lease(u64::MAX);
        let members = vec!["w".to_string()];
        pacer.offer(
            Split {
                epoch: 1,
                shares: split(&settings, &members),
                members,
                ..Split::default()
            },
            now_ms(),
        );
        let front = Arc::new(Front {
            worker: "w".into(),
            pacer,
            served: AtomicU64::new(0),
        });
        let app = router(front.clone());
        // Two ads a second: of ten quick requests some must find the share
        // spent (a second boundary between them only refills it once).
        let (status, body) = get(&app, "/ad?campaign=shoes").await;
        assert_eq!(status, StatusCode::OK);
        let fields: Vec<&str> = body.split(' ').collect();
        assert_eq!((fields[0], fields[2]), ("shoes", "w"), "{body}");
        assert!(fields[1].parse::<u64>().is_ok(), "{body}");
        assert_eq!(
            get(&app, "/ad?campaign=books").await.0,
            StatusCode::NO_CONTENT
        );
        let mut answers = Vec::new();
        for _ in 0..10 {
            answers.push(get(&app, "/ad").await.0);
        }
        assert!(answers.contains(&StatusCode::NO_CONTENT), "{answers:?}");
        let (status, body) = get(&app, "/status").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"in_force\":1"), "{body}");
    }
}
