//! Locks and semaphores against a real server: mutual exclusion under
//! contention, no herd, expiry of the holder, a connection drop shorter than
//! the session timeout, a stale holder's guarded write refused, and a
//! read-write lock's downgrade with a writer waiting.

use client::Client;
use recipes::{Hold, Mutex, RecipeError, Semaphore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{eventually, TestServer};

mod common;
use common::{client, WAIT};

#[tokio::test]
async fn a_mutex_never_has_two_holders_and_tokens_grow() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let inside = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = client(&server).await?;
        let (inside, tokens) = (inside.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let lock = Mutex::new(c, "/locks/m");
            for _ in 0..5 {
                let guard = lock.acquire().await?;
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                if let Ok(mut t) = tokens.lock() {
                    t.push(guard.fencing_token());
                }
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
                guard.release().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let tokens = tokens
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    assert_eq!(tokens.len(), 20);
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "fencing tokens grow with each holder"
    );
    Ok(())
}

#[tokio::test]
async fn a_release_wakes_only_the_next_waiter() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let holder = Mutex::new(client(&server).await?, "/locks/herd");
    let guard = holder.acquire().await?;
    let mut waiters = Vec::new();
    for _ in 0..5 {
        let lock = Mutex::new(client(&server).await?, "/locks/herd");
        let task_lock = lock.clone();
        waiters.push((lock, tokio::spawn(async move { task_lock.acquire().await })));
    }
    let observer = client(&server).await?;
    eventually(WAIT, "six contenders in line", || async {
        observer
            .get_children("/locks/herd")
            .await
            .map(|c| c.len() == 6)
            .unwrap_or(false)
    })
    .await?;
    guard.release().await?;
    eventually(WAIT, "the next waiter to hold", || async {
        waiters.iter().any(|(_, t)| t.is_finished())
    })
    .await?;
    let woken: u64 = waiters.iter().map(|(lock, _)| lock.wakeups()).sum();
    assert_eq!(woken, 1, "one release woke {woken} waiters");
    Ok(())
}

#[tokio::test]
async fn an_expired_holder_loses_the_lock_and_its_guarded_writes_are_refused() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let old = client(&server).await?;
    let new = client(&server).await?;
    old.create("/resource", b"v0", Default::default()).await?;
    let stale = Mutex::new(old.clone(), "/locks/x").acquire().await?;
    stale.guarded_set_data("/resource", b"v1", None).await?;
    let waiting = tokio::spawn({
        let new = new.clone();
        async move { Mutex::new(new, "/locks/x").acquire().await }
    });
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    assert!(handle.service().expire_session_now(old.session_id()).await);
    let fresh = tokio::time::timeout(WAIT, waiting).await???;
    assert!(fresh.fencing_token() > stale.fencing_token());
    tokio::time::timeout(WAIT, stale.lost()).await?;
    assert_eq!(stale.hold(), Hold::Lost);
    fresh.guarded_set_data("/resource", b"v2", None).await?;
    // The paused old holder wakes up and writes with a fresh connection of its own
    // identity: the guard's check on its (deleted) lock node refuses it.
    let late = client(&server).await?;
    let refused = recipes::internals::fencing::guarded_multi(
        &late,
        stale.path(),
        vec![client::Op::SetData {
            path: "/resource".into(),
            data: b"stale".to_vec(),
            version: None,
        }],
    )
    .await;
    assert_eq!(refused, Err(RecipeError::NotHolder));
    assert_eq!(new.get_data("/resource").await?.0, b"v2");
    Ok(())
}

#[tokio::test]
async fn a_short_disconnect_puts_the_lock_in_doubt_then_back_held() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = client(&server).await?;
    let guard = Mutex::new(c.clone(), "/locks/d").acquire().await?;
    let mut events = c.events();
    server.kill().await?;
    assert_eq!(
        tokio::time::timeout(WAIT, events.recv()).await??,
        client::SessionEvent::Suspended
    );
    eventually(WAIT, "in doubt", || async { guard.hold() == Hold::InDoubt }).await?;
    server.restart().await?;
    eventually(WAIT, "held again", || async { guard.hold() == Hold::Held }).await?;
    assert_eq!(
        c.get_children("/locks/d").await?.len(),
        1,
        "nothing duplicated"
    );
    guard.release().await?;
    Ok(())
}

#[tokio::test]
async fn a_semaphore_never_gives_more_than_n_leases() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let c = client(&server).await?;
        let (inside, peak) = (inside.clone(), peak.clone());
        tasks.push(tokio::spawn(async move {
            let sem = Semaphore::new(c, "/sem", 2);
            for _ in 0..3 {
                let lease = sem.acquire().await?;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                assert!(now <= 2, "{now} leases at once");
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
                lease.release().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert!(peak.load(Ordering::SeqCst) >= 1);
    Ok(())
}

#[tokio::test]
async fn readers_share_writers_exclude_and_a_waiting_writer_blocks_new_readers(
) -> anyhow::Result<()> {
    use recipes::ReadWriteLock;
    let server = TestServer::start().await?;
    let lock = |c: Client| ReadWriteLock::new(c, "/locks/rw");
    let r1 = lock(client(&server).await?).read().await?;
    let r2 = tokio::time::timeout(WAIT, lock(client(&server).await?).read()).await??;
    let writer_lock = lock(client(&server).await?);
    let writer = tokio::spawn(async move { writer_lock.write().await });
    let observer = client(&server).await?;
    eventually(WAIT, "the writer in line", || async {
        observer
            .get_children("/locks/rw")
            .await
            .map(|c| c.len() == 3)
            .unwrap_or(false)
    })
    .await?;
    let late_reader_lock = lock(client(&server).await?);
    let late_reader = tokio::spawn(async move { late_reader_lock.read().await });
    eventually(WAIT, "the late reader in line", || async {
        observer
            .get_children("/locks/rw")
            .await
            .map(|c| c.len() == 4)
            .unwrap_or(false)
    })
    .await?;
    assert!(
        !writer.is_finished() && !late_reader.is_finished(),
        "writer waits for readers; late reader waits for writer"
    );
    r1.release().await?;
    r2.release().await?;
    let w = tokio::time::timeout(WAIT, writer).await???;
    assert!(w.is_write());
    assert!(
        !late_reader.is_finished(),
        "no reader while the writer holds"
    );
    // Downgrade: the writer becomes a reader and the late reader joins it.
    let r = w.downgrade().await?;
    assert!(!r.is_write());
    let late = tokio::time::timeout(WAIT, late_reader).await???;
    r.release().await?;
    late.release().await?;
    Ok(())
}

#[tokio::test]
async fn a_downgrade_with_a_writer_waiting_completes_and_the_writer_waits_for_the_read(
) -> anyhow::Result<()> {
    use recipes::ReadWriteLock;
    const PATH: &str = "/locks/rw-downgrade";
    let server = TestServer::start().await?;
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    let lock = |c: Client| ReadWriteLock::new(c, PATH);
    let first = lock(client(&server).await?).write().await?;
    let second_lock = lock(client(&server).await?);
    let second = tokio::spawn(async move { second_lock.write().await });
    let observer = client(&server).await?;
    let line = || async { observer.get_children(PATH).await.unwrap_or_default() };
    eventually(WAIT, "the second writer in line", || async {
        line().await.len() == 2
    })
    .await?;

    // The holder of the write lock takes the read lock at once: the downgrade
    // neither waits for the writer behind it nor lets it in.
    let read = tokio::time::timeout(WAIT, first.downgrade())
        .await
        .map_err(|_| anyhow::anyhow!("the downgrade hung behind the waiting writer"))??;
    assert!(!read.is_write());
    assert_eq!(read.hold(), Hold::Held);
    let names = line().await;
    assert_eq!(names.len(), 2, "the write node is gone: {names:?}");
    assert!(names.iter().any(|n| read.path().ends_with(n.as_str())));

    // The second writer now waits for the read node (it watches it), not
    // for a lock it could already take.
    eventually(WAIT, "the second writer to watch the read node", || async {
        let watches = handle.service().state().watches().lock().all();
        watches.iter().any(|(_, path)| path == read.path())
    })
    .await?;
    assert!(!second.is_finished(), "a writer got in beside the reader");
    read.release().await?;
    let w = tokio::time::timeout(WAIT, second).await???;
    assert!(w.is_write());
    assert_eq!(line().await.len(), 1, "only the second writer is left");
    w.release().await?;
    Ok(())
}

#[tokio::test]
async fn multi_locks_take_all_or_wait_and_reentrant_guards_release_at_depth_zero(
) -> anyhow::Result<()> {
    use recipes::{MultiLock, ReentrantGuard};
    let server = TestServer::start().await?;
    let a = client(&server).await?;
    let b = client(&server).await?;
    let both = MultiLock::new(a.clone(), &["/ml/y", "/ml/x"])
        .acquire()
        .await?;
    assert_eq!(both.fencing_tokens().len(), 2);
    let other = MultiLock::new(b.clone(), &["/ml/x", "/ml/y"]);
    let waiting = tokio::spawn(async move { other.acquire().await });
    assert!(Mutex::new(b.clone(), "/ml/x")
        .try_acquire(Duration::from_millis(100))
        .await?
        .is_none());
    both.release().await?;
    tokio::time::timeout(WAIT, waiting)
        .await???
        .release()
        .await?;

    let outer = ReentrantGuard::new(Mutex::new(a.clone(), "/re").acquire().await?);
    let inner = outer.reenter();
    assert_eq!(outer.depth(), 2);
    inner.release().await?;
    assert!(
        Mutex::new(b.clone(), "/re")
            .try_acquire(Duration::from_millis(100))
            .await?
            .is_none(),
        "still held"
    );
    outer.release().await?;
    assert!(
        Mutex::new(b.clone(), "/re")
            .try_acquire(WAIT)
            .await?
            .is_some(),
        "free after the last release"
    );
    let ids = [
        recipes::shared::ids::next_id(&a, "/ids").await?,
        recipes::shared::ids::next_id(&b, "/ids").await?,
    ];
    assert!(ids[0] < ids[1]);
    Ok(())
}
