//! Live updates of an open node page (`GET /ui/events?path=P`, server-sent
//! events): the page's own session holds a persistent watch on the node
//! (its data, its creation and deletion, its children coming and going),
//! and every change is pushed as an event. The events wait in a queue of
//! at most `ui_event_queue_bytes`: a page that does not keep up overflows
//! it and is dropped (the browser's EventSource reconnects and the page
//! reloads what changed). When the page closes, the stream is dropped
//! and its session closed, which removes the watch.

use super::login;
use super::session;
use super::{UiError, UiState};
use crate::connection::{outbound, OutboundReceiver, Outbox, Outgoing};
use crate::service::{Connection, Request, Service};
use crate::tree::EventKind;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

/// Most events queued for one page, whatever their bytes.
const QUEUE_FRAMES: usize = 4096;

/// The events query.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    path: String,
}

/// One open page: its session, its queue, its slot among the live pages.
struct LivePage {
    service: Service,
    connection: Option<Connection>,
    events: OutboundReceiver,
    close: CancellationToken,
    _permit: OwnedSemaphorePermit,
}

impl Drop for LivePage {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            let service = self.service.clone();
            // The watch goes at once; the session's close is a write.
            service.disconnect(&connection);
            tokio::spawn(async move { session::close(&service, connection).await });
        }
    }
}

/// `GET /ui/events?path=P`.
pub async fn events(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, UiError> {
    let permit = state
        .live_pages
        .clone()
        .try_acquire_owned()
        .map_err(|_| UiError::Busy)?;
    let login = login::current(&state, &headers);
    let service = state.service().clone();
    let (tx, events) = outbound::channel(QUEUE_FRAMES, service.config().ui_event_queue_bytes);
    let close = CancellationToken::new();
    let outbox = Outbox {
        tx,
        close: close.clone(),
    };
    let connection = session::open(&service, login.as_ref(), Some(outbox)).await?;
    let watch = Request::AddWatch {
        path: query.path.clone(),
        recursive: false,
    };
    if let Err(error) = session::call(&service, &connection, watch).await {
        session::close(&service, connection).await;
        return Err(error);
    }
    let page = LivePage {
        service,
        connection: Some(connection),
        events,
        close,
        _permit: permit,
    };
    let hello = Event::default().event("hello").data(query.path);
    let stream = stream::once(async move { Ok::<_, Infallible>(hello) })
        .chain(stream::unfold(page, next_event));
    Ok(Sse::new(stream).into_response())
}

/// How often an idle page is told the server is there (and its session
/// touched).
fn keep_alive() -> Duration {
    Duration::from_millis(session::TIMEOUT_MS as u64 / 3)
}

async fn next_event(mut page: LivePage) -> Option<(Result<Event, Infallible>, LivePage)> {
    loop {
        tokio::select! {
            _ = page.close.cancelled() => return None,
            item = page.events.recv() => match item? {
                Outgoing::Event(event) => {
                    let data = serde_json::json!({
                        "type": kind_name(event.kind),
                        "path": event.path,
                        "zxid": event.zxid,
                    });
                    return Some((Ok(Event::default().event("change").data(data.to_string())), page));
                }
                _ => continue,
            },
            _ = tokio::time::sleep(keep_alive()) => {
                if let Some(connection) = &page.connection {
                    page.service.touch(connection);
                }
                return Some((Ok(Event::default().comment("alive")), page));
            }
        }
    }
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::NodeCreated => "NodeCreated",
        EventKind::NodeDeleted => "NodeDeleted",
        EventKind::NodeDataChanged => "NodeDataChanged",
        EventKind::NodeChildrenChanged => "NodeChildrenChanged",
    }
}
