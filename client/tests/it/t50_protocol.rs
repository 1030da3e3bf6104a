//! Protocol corners against the scripted fake server: frame orders and
//! refusals a real server produces only by chance or not at all.

use crate::fake::{ok, script, stream_event, FakeServer};
use crate::{next_event, wait_event, within};
use client::{AddWatchMode, Client, Error, SessionEvent, SessionState};
use futures::StreamExt;
use proto::v1::{request::Op, response, server_frame::Frame, Request, Response};
use proto::ErrorCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

fn answer(request: &Request, err: ErrorCode, result: Option<response::Result>) -> Frame {
    Frame::Response(Response {
        xid: request.xid,
        zxid: 0,
        err: err.as_i32(),
        result,
    })
}

#[tokio::test]
async fn stream_events_before_the_watch_from_answer_are_kept() -> anyhow::Result<()> {
    let fake = FakeServer::start(script(|mut conn| async move {
        if conn.connect().await.is_none() {
            return;
        }
        conn.accept(1, 10_000, 10).await;
        while let Some(request) = conn.request().await {
            if let Some(Op::WatchFrom(_)) = &request.op {
                // The replay overtakes the answer, as a real server may do.
                conn.send(stream_event(5, 11, "/s")).await;
                conn.send(stream_event(5, 12, "/s")).await;
                let id = proto::v1::WatchFromResult { stream_id: 5 };
                let result = Some(response::Result::WatchFrom(id));
                conn.send(answer(&request, ErrorCode::Ok, result)).await;
                conn.send(stream_event(5, 13, "/s")).await;
            } else {
                conn.send(Frame::Response(ok(&request))).await;
            }
        }
    }))
    .await?;
    let c = Client::connect(fake.addr()).await?;
    let mut stream = c.watch_from("/s", false, 10).await?;
    let mut zxids = Vec::new();
    while zxids.len() < 3 {
        match within("stream event", stream.next()).await? {
            Some(Ok(e)) => zxids.push(e.zxid),
            other => anyhow::bail!("{other:?} after {zxids:?}"),
        }
    }
    assert_eq!(zxids, [11, 12, 13]);
    Ok(())
}

#[tokio::test]
async fn requests_in_flight_when_the_link_drops_fail_with_connection_loss() -> anyhow::Result<()> {
    let fake = FakeServer::start(script(|mut conn| async move {
        if conn.connect().await.is_none() {
            return;
        }
        conn.accept(1, 10_000, 0).await;
        if conn.n == 0 {
            // Take the first request and vanish without answering.
            let _ = conn.request().await;
            return;
        }
        conn.serve(ok).await;
    }))
    .await?;
    let c = Client::connect(fake.addr()).await?;
    let mut events = c.state_stream();
    assert_eq!(c.sync("/").await, Err(Error::ConnectionLoss));
    wait_event(&mut events, SessionEvent::Reconnected).await?;
    c.sync("/").await?;
    Ok(())
}

#[tokio::test]
async fn a_silent_server_is_left_and_the_session_expires_a_timeout_after_last_contact(
) -> anyhow::Result<()> {
    const TIMEOUT_MS: u64 = 1500;
    let fake = FakeServer::start(script(|mut conn| async move {
        if conn.connect().await.is_none() {
            return;
        }
        if conn.n == 0 {
            conn.accept(1, TIMEOUT_MS as i32, 0).await;
            conn.ignore().await; // never a pong
        } else {
            conn.reject(ErrorCode::ConnectionLoss).await;
        }
    }))
    .await?;
    let c = Client::connect(fake.addr()).await?;
    let last_contact = tokio::time::Instant::now();
    let mut events = c.state_stream();
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    let suspended_after = last_contact.elapsed();
    assert_eq!(next_event(&mut events).await?, SessionEvent::Expired);
    let expired_after = last_contact.elapsed();
    let timeout = Duration::from_millis(TIMEOUT_MS);
    assert!(
        suspended_after >= timeout * 2 / 3 - Duration::from_millis(50),
        "suspended after {suspended_after:?}"
    );
    // One session timeout after the last frame heard, not after the loss
    // was noticed (that would be 5/3 of it).
    assert!(
        expired_after >= timeout - Duration::from_millis(50) && expired_after < timeout * 4 / 3,
        "expired after {expired_after:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_server_behind_the_client_is_skipped_for_the_next_host() -> anyhow::Result<()> {
    let seen_by_laggard: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let laggard = FakeServer::start(script({
        let seen = seen_by_laggard.clone();
        move |mut conn| {
            let seen = seen.clone();
            async move {
                if let Some(c) = conn.connect().await {
                    if let Ok(mut seen) = seen.lock() {
                        seen.push((c.session_id, c.last_zxid_seen));
                    }
                    conn.reject(ErrorCode::ConnectionLoss).await;
                }
            }
        }
    }))
    .await?;
    let good = FakeServer::start(script(|mut conn| async move {
        if conn.connect().await.is_none() {
            return;
        }
        conn.accept(7, 10_000, 100).await;
        if conn.n == 0 {
            // Answer one request, then drop the link.
            if let Some(request) = conn.request().await {
                conn.send(Frame::Response(ok(&request))).await;
            }
            return;
        }
        conn.serve(ok).await;
    }))
    .await?;
    let c = Client::connect(vec![good.addr(), laggard.addr()]).await?;
    let mut events = c.state_stream();
    c.sync("/").await?;
    wait_event(&mut events, SessionEvent::Reconnected).await?;
    assert_eq!(c.session_id(), 7);
    let seen = seen_by_laggard
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    assert!(
        seen.contains(&(7, 100)),
        "the laggard was asked to reattach with our last zxid: {seen:?}"
    );
    Ok(())
}

#[tokio::test]
async fn auth_failed_on_reattach_expires_the_session() -> anyhow::Result<()> {
    let fake = FakeServer::start(script(|mut conn| async move {
        if conn.connect().await.is_none() {
            return;
        }
        if conn.n > 0 {
            conn.reject(ErrorCode::AuthFailed).await;
            return;
        }
        conn.accept(3, 10_000, 0).await;
        if let Some(request) = conn.request().await {
            conn.send(watch_answers(&request)).await;
        }
    }))
    .await?;
    let c = Client::connect(fake.addr()).await?;
    let mut events = c.state_stream();
    let (_, watch) = c.exists_watch("/w").await?;
    assert_eq!(next_event(&mut events).await?, SessionEvent::Suspended);
    assert_eq!(next_event(&mut events).await?, SessionEvent::Expired);
    assert_eq!(c.state(), SessionState::Expired);
    assert_eq!(within("watch", watch).await?, Err(Error::SessionExpired));
    assert_eq!(c.sync("/").await, Err(Error::SessionExpired));
    Ok(())
}

/// Answers the reads that leave watches, as a server holding /d, /c and no /e.
fn watch_answers(request: &Request) -> Frame {
    let stat = Some(proto::v1::Stat::default());
    match &request.op {
        Some(Op::GetData(_)) => {
            let data = proto::v1::DataResult { data: None, stat };
            answer(request, ErrorCode::Ok, Some(response::Result::Data(data)))
        }
        Some(Op::GetChildren(_)) => {
            let children = proto::v1::ChildrenResult {
                children: Vec::new(),
                stat,
            };
            let result = Some(response::Result::Children(children));
            answer(request, ErrorCode::Ok, result)
        }
        Some(Op::Exists(_)) => answer(request, ErrorCode::NoNode, None),
        _ => Frame::Response(ok(request)),
    }
}

// Reference: zookeeper.md §5.4 (setWatches on reconnect).
#[tokio::test]
async fn one_set_watches_goes_out_before_requests_queued_while_suspended() -> anyhow::Result<()> {
    let release = Arc::new(Notify::new());
    let after_reattach: Arc<Mutex<Vec<Op>>> = Arc::default();
    let fake = FakeServer::start(script({
        let (release, log) = (release.clone(), after_reattach.clone());
        move |mut conn| {
            let (release, log) = (release.clone(), log.clone());
            async move {
                if conn.connect().await.is_none() {
                    return;
                }
                if conn.n == 0 {
                    conn.accept(9, 10_000, 50).await;
                    while let Some(request) = conn.request().await {
                        if let Some(Op::Sync(_)) = request.op {
                            return; // drop the link
                        }
                        conn.send(watch_answers(&request)).await;
                    }
                    return;
                }
                release.notified().await;
                conn.accept(9, 10_000, 50).await;
                while let Some(request) = conn.request().await {
                    if let (Ok(mut log), Some(op)) = (log.lock(), request.op.clone()) {
                        log.push(op);
                    }
                    conn.send(watch_answers(&request)).await;
                }
            }
        }
    }))
    .await?;
    let c = Client::connect(fake.addr()).await?;
    let mut events = c.state_stream();
    let _data = c.get_data_watch("/d").await?;
    let _exist = c.exists_watch("/e").await?;
    let _child = c.get_children_watch("/c").await?;
    let _persistent = c.add_watch("/p", AddWatchMode::Persistent).await?;
    let _recursive = c.add_watch("/r", AddWatchMode::PersistentRecursive).await?;
    assert_eq!(c.sync("/").await, Err(Error::ConnectionLoss));
    wait_event(&mut events, SessionEvent::Suspended).await?;
    let mut queued = Box::pin(c.exists("/q"));
    // One poll hands the request to the connection task.
    assert!(futures::poll!(&mut queued).is_pending());
    release.notify_one();
    assert_eq!(within("the queued request", queued).await??, None);
    let log = after_reattach.lock().map(|l| l.clone()).unwrap_or_default();
    match log.as_slice() {
        [Op::SetWatches(w), Op::Exists(e), ..] => {
            assert_eq!(w.relative_zxid, 50);
            assert_eq!(w.data_watches, ["/d"]);
            assert_eq!(w.exist_watches, ["/e"]);
            assert_eq!(w.child_watches, ["/c"]);
            assert_eq!(w.persistent_watches, ["/p"]);
            assert_eq!(w.persistent_recursive_watches, ["/r"]);
            assert_eq!(e.path, "/q");
        }
        other => anyhow::bail!("after the reattach: {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn a_handshake_the_server_closes_or_refuses_is_tried_again_until_one_is_accepted(
) -> anyhow::Result<()> {
    // Stream 0 ends without a frame, stream 1 is refused with ConnectionLoss
    // (a server not in touch with a quorum), stream 2 accepts.
    let fake = FakeServer::start(script(|mut conn| async move {
        if conn.connect().await.is_none() {
            return;
        }
        match conn.n {
            0 => {}
            1 => conn.reject(ErrorCode::ConnectionLoss).await,
            _ => {
                conn.accept(7, 10_000, 1).await;
                conn.serve(ok).await;
            }
        }
    }))
    .await?;
    let c = within(
        "a session",
        Client::builder(fake.addr())
            .connect_timeout(Duration::from_secs(20))
            .build(),
    )
    .await??;
    assert_eq!(c.session_id(), 7);
    c.sync("/").await?;
    Ok(())
}
