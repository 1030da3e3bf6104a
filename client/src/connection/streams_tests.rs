//! Unit tests of resumable stream bookkeeping: positions, early events,
//! resumes without loss or duplicates, stalls.

use super::*;
use proto::v1::{client_frame::Frame, WatchFromResult};
use tokio::sync::Notify;

type Rx = mpsc::Receiver<Result<WatchedEvent, Error>>;

fn stream(from_zxid: i64) -> (NewStream, Rx, Arc<StallSignal>) {
    let (tx, rx) = channel();
    let signal = StallSignal::new(Arc::new(Notify::new()));
    let new = NewStream {
        path: "/s".into(),
        recursive: true,
        from_zxid,
        tx,
        signal: signal.clone(),
    };
    (new, rx, signal)
}

fn ev(stream_id: i64, zxid: i64, path: &str) -> WatchEvent {
    WatchEvent {
        r#type: 1,
        path: path.into(),
        zxid,
        stream_id,
        err: 0,
    }
}

/// The requests the streams queued: (xid, op).
fn sent(reqs: &mut Requests) -> Vec<(i32, Op)> {
    let mut out = Vec::new();
    while let Some(frame) = reqs.pop_frame() {
        if let Some(Frame::Request(r)) = frame.frame {
            if let Some(op) = r.op {
                out.push((r.xid, op));
            }
        }
    }
    out
}

fn received(rx: &mut Rx) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    while let Ok(item) = rx.try_recv() {
        match item {
            Ok(e) => out.push((e.zxid, e.path)),
            Err(e) => out.push((-1, e.to_string())),
        }
    }
    out
}

fn watch_from_answer(xid: i32, stream_id: i64) -> Response {
    Response {
        xid,
        zxid: 0,
        err: 0,
        result: Some(response::Result::WatchFrom(WatchFromResult { stream_id })),
    }
}

/// Answers a queued resume as the server would; returns its from_zxid.
fn answer_resume(
    streams: &mut Streams,
    reqs: &mut Requests,
    chroot: &Chroot,
    new_id: i64,
) -> Option<i64> {
    let (xid, from) = sent(reqs).into_iter().find_map(|(xid, op)| match op {
        Op::WatchFrom(w) => Some((xid, w.from_zxid)),
        _ => None,
    })?;
    let Some(Waiter::Resume(local)) = reqs.complete(xid) else {
        return None;
    };
    streams.resumed(local, &watch_from_answer(xid, new_id), chroot, reqs);
    Some(from)
}

#[test]
fn events_before_the_answer_are_kept_and_delivered_in_order() {
    let chroot = Chroot::new(Some("/app".into()));
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    // The caller's WatchFrom is in flight; the server's replay overtakes it.
    reqs.submit(Op::WatchFrom(WatchFromOp::default()), Waiter::Internal);
    let (xid, _) = sent(&mut reqs)[0].clone();
    streams.on_event(ev(7, 11, "/app/s/a"), &chroot, &mut reqs);
    streams.on_event(ev(7, 12, "/app/s/b"), &chroot, &mut reqs);
    reqs.complete(xid);
    let (new, mut rx, _) = stream(10);
    streams.opened(new, 7, &chroot, &mut reqs);
    streams.on_event(ev(7, 13, "/app/s/c"), &chroot, &mut reqs);
    assert_eq!(
        received(&mut rx),
        [
            (11, "/s/a".into()),
            (12, "/s/b".into()),
            (13, "/s/c".into())
        ]
    );
    assert!(sent(&mut reqs).is_empty(), "nothing to cancel or resume");
}

#[test]
fn events_of_unknown_or_cancelled_streams_are_dropped() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    streams.on_event(ev(3, 5, "/x"), &chroot, &mut reqs);
    assert!(streams.orphans.is_empty(), "no WatchFrom in flight: stale");
    let (new, mut rx, _) = stream(0);
    streams.opened(new, 4, &chroot, &mut reqs);
    drop(rx.try_recv());
    rx.close();
    streams.on_event(ev(4, 6, "/s"), &chroot, &mut reqs);
    let ops = sent(&mut reqs);
    assert!(
        matches!(ops.as_slice(), [(_, Op::CancelWatchFrom(c))] if c.stream_id == 4),
        "a dropped consumer cancels its server stream: {ops:?}"
    );
    reqs.submit(Op::WatchFrom(WatchFromOp::default()), Waiter::Internal);
    streams.on_event(ev(4, 7, "/s"), &chroot, &mut reqs);
    assert!(
        streams.orphans.is_empty(),
        "late events of a cancelled stream"
    );
}

#[test]
fn a_resume_in_the_middle_of_a_zxid_skips_what_was_delivered() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    let (new, mut rx, _) = stream(4);
    streams.opened(new, 1, &chroot, &mut reqs);
    // A multi at zxid 5 changed /s/a and /s/b; the link broke after /s/a.
    streams.on_event(ev(1, 5, "/s/a"), &chroot, &mut reqs);
    streams.disconnected();
    reqs.disconnected(&Error::ConnectionLoss);
    streams.reconnected(&mut reqs);
    let from = answer_resume(&mut streams, &mut reqs, &chroot, 2);
    assert_eq!(from, Some(4), "asks again for all of zxid 5");
    for e in [ev(2, 5, "/s/a"), ev(2, 5, "/s/b"), ev(2, 6, "/s/c")] {
        streams.on_event(e, &chroot, &mut reqs);
    }
    assert_eq!(
        received(&mut rx),
        [(5, "/s/a".into()), (5, "/s/b".into()), (6, "/s/c".into())],
        "each event exactly once"
    );
    // Broken again after all of zxid 6: resume from 6, nothing skipped.
    streams.disconnected();
    reqs.disconnected(&Error::ConnectionLoss);
    streams.reconnected(&mut reqs);
    assert_eq!(answer_resume(&mut streams, &mut reqs, &chroot, 3), Some(5));
    for e in [ev(3, 6, "/s/c"), ev(3, 7, "/s/d")] {
        streams.on_event(e, &chroot, &mut reqs);
    }
    assert_eq!(received(&mut rx), [(7, "/s/d".into())]);
}

#[test]
fn a_full_buffer_pauses_the_stream_and_resumes_it_without_loss() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    let (new, mut rx, signal) = stream(0);
    streams.opened(new, 1, &chroot, &mut reqs);
    let total = WATCH_BUFFER as i64 + 10;
    for zxid in 1..=total {
        streams.on_event(ev(1, zxid, "/s"), &chroot, &mut reqs);
    }
    assert!(streams.has_stalled());
    assert!(signal.stalled.load(Ordering::Acquire));
    let ops = sent(&mut reqs);
    assert!(matches!(ops.as_slice(), [(_, Op::CancelWatchFrom(c))] if c.stream_id == 1));
    // The consumer drains; waking before it has room does nothing.
    streams.wake(&mut reqs);
    assert!(sent(&mut reqs).is_empty());
    let first = received(&mut rx);
    assert_eq!(first.len(), WATCH_BUFFER);
    streams.wake(&mut reqs);
    assert!(!streams.has_stalled());
    let from = answer_resume(&mut streams, &mut reqs, &chroot, 2);
    // Zxid 4096 was delivered, but maybe not all of its events.
    let from = from.expect("resumed");
    assert_eq!(from, WATCH_BUFFER as i64 - 1);
    for zxid in (from + 1)..=total {
        streams.on_event(ev(2, zxid, "/s"), &chroot, &mut reqs);
    }
    let rest = received(&mut rx);
    let zxids: Vec<i64> = first.iter().chain(&rest).map(|(z, _)| *z).collect();
    assert_eq!(zxids, (1..=total).collect::<Vec<_>>());
}

#[test]
fn too_many_early_events_restart_the_stream_from_its_position() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    reqs.submit(Op::WatchFrom(WatchFromOp::default()), Waiter::Internal);
    let (xid, _) = sent(&mut reqs)[0].clone();
    for zxid in 1..=(ORPHAN_LIMIT as i64 + 5) {
        streams.on_event(ev(9, zxid, "/s"), &chroot, &mut reqs);
    }
    reqs.complete(xid);
    let (new, mut rx, _) = stream(0);
    streams.opened(new, 9, &chroot, &mut reqs);
    let ops = sent(&mut reqs);
    assert!(
        matches!(ops.as_slice(), [(_, Op::CancelWatchFrom(c)), (_, Op::WatchFrom(w))]
            if c.stream_id == 9 && w.from_zxid == ORPHAN_LIMIT as i64 - 1),
        "{ops:?}"
    );
    assert_eq!(received(&mut rx).len(), ORPHAN_LIMIT.min(WATCH_BUFFER));
}

#[test]
fn compaction_and_session_end_close_the_stream_with_an_error() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    let (new, mut rx, _) = stream(0);
    streams.opened(new, 1, &chroot, &mut reqs);
    let mut compacted = ev(1, 3, "/s");
    compacted.err = ErrorCode::Compacted.as_i32();
    streams.on_event(compacted, &chroot, &mut reqs);
    assert!(matches!(rx.try_recv(), Ok(Err(Error::Compacted))));
    assert!(streams.tracked.is_empty());

    let (new, mut rx, _) = stream(0);
    streams.opened(new, 2, &chroot, &mut reqs);
    streams.fail_all(&Error::SessionExpired);
    assert!(matches!(rx.try_recv(), Ok(Err(Error::SessionExpired))));
}

#[test]
fn a_resume_the_server_refuses_ends_the_stream() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    let (new, mut rx, _) = stream(0);
    streams.opened(new, 1, &chroot, &mut reqs);
    streams.disconnected();
    streams.reconnected(&mut reqs);
    let (xid, _) = sent(&mut reqs)[0].clone();
    let Some(Waiter::Resume(local)) = reqs.complete(xid) else {
        panic!("a resume was queued");
    };
    let refused = Response {
        xid,
        zxid: 0,
        err: ErrorCode::Compacted.as_i32(),
        result: None,
    };
    streams.resumed(local, &refused, &chroot, &mut reqs);
    assert!(matches!(rx.try_recv(), Ok(Err(Error::Compacted))));
}

#[test]
fn a_dropped_consumer_is_forgotten_and_its_server_stream_cancelled_on_wake() {
    let chroot = Chroot::default();
    let mut streams = Streams::default();
    let mut reqs = Requests::default();
    let (new, rx, _) = stream(0);
    streams.opened(new, 6, &chroot, &mut reqs);
    drop(rx);
    streams.wake(&mut reqs);
    assert!(streams.is_empty());
    let ops = sent(&mut reqs);
    assert!(matches!(ops.as_slice(), [(_, Op::CancelWatchFrom(c))] if c.stream_id == 6));
}
