//! The waiting driver every recipe's waits run on, against a real server: a
//! look is repeated after its watch fires, a deadline ends the wait with
//! `None`, an expired session with `SessionLost`, a reconnect makes it look
//! again, and a look that lost its connection is retried only when asked.

use client::Error;
use recipes::internals::wait::{Step, Waiter, Wake};
use recipes::RecipeError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{eventually, TestServer};

mod common;
use common::{client, WAIT};

#[tokio::test]
async fn a_wait_looks_again_after_its_watch_fires_until_the_condition_holds() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let c = client(&server).await?;
    c.create("/flag", b"", Default::default()).await?;
    let looks = AtomicUsize::new(0);
    let (c_ref, looks_ref) = (&c, &looks);
    let wait = Waiter::new(&c).timeout(WAIT).until(|| async move {
        looks_ref.fetch_add(1, Ordering::SeqCst);
        Ok(match c_ref.exists_watch("/flag").await? {
            (None, _) => Step::Done("gone"),
            (Some(_), watch) => Step::Wait(Wake::watch(watch)),
        })
    });
    let remover = client(&server).await?;
    let (waited, removed) = tokio::join!(wait, async {
        // Delete once the first look has set its watch.
        eventually(WAIT, "the first look", || async {
            looks.load(Ordering::SeqCst) >= 1
        })
        .await?;
        remover.delete("/flag", None).await?;
        anyhow::Ok(())
    });
    removed?;
    assert_eq!(waited?, Some("gone"));
    assert!(
        looks.load(Ordering::SeqCst) >= 2,
        "looked again after the watch"
    );
    Ok(())
}

#[tokio::test]
async fn a_wait_past_its_deadline_ends_with_none() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = client(&server).await?;
    c.create("/stays", b"", Default::default()).await?;
    let c_ref = &c;
    let waited = Waiter::new(&c)
        .timeout(Duration::from_millis(100))
        .until(|| async move {
            let (_, watch) = c_ref.exists_watch("/stays").await?;
            Ok(Step::<()>::Wait(Wake::watch(watch)))
        })
        .await?;
    assert_eq!(waited, None);
    Ok(())
}

#[tokio::test]
async fn a_wait_ends_with_session_lost_when_the_session_expires() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = client(&server).await?;
    let waiting = {
        let c = c.clone();
        tokio::spawn(async move {
            // Never wakes on its own: only the session's end can end it.
            Waiter::new(&c)
                .until(|| async { Ok(Step::<()>::Wait(Wake::on(std::future::pending()))) })
                .await
        })
    };
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    assert!(handle.service().expire_session_now(c.session_id()).await);
    let ended = tokio::time::timeout(WAIT, waiting).await??;
    assert_eq!(ended, Err(RecipeError::SessionLost));
    Ok(())
}

#[tokio::test]
async fn a_reconnect_makes_a_wait_look_again() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let c = client(&server).await?;
    let looks = Arc::new(AtomicUsize::new(0));
    let waiting = {
        let (c, looks) = (c.clone(), looks.clone());
        tokio::spawn(async move {
            let looks = &looks;
            Waiter::new(&c)
                .until(|| async move {
                    // The first look waits for nothing but a reconnect.
                    if looks.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Ok(Step::Wait(Wake::on(std::future::pending())));
                    }
                    Ok(Step::Done(()))
                })
                .await
        })
    };
    eventually(WAIT, "the first look", || async {
        looks.load(Ordering::SeqCst) >= 1
    })
    .await?;
    let mut events = c.events();
    server.kill().await?;
    assert_eq!(
        tokio::time::timeout(WAIT, events.recv()).await??,
        client::SessionEvent::Suspended
    );
    server.restart().await?;
    assert_eq!(tokio::time::timeout(WAIT, waiting).await??, Ok(Some(())));
    assert_eq!(looks.load(Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test]
async fn a_look_that_lost_its_connection_is_retried_only_when_asked() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let c = client(&server).await?;
    let looks = AtomicUsize::new(0);
    let looks = &looks;
    // The first look fails as a read in flight during a failover does.
    let look = || async move {
        if looks.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(RecipeError::Client(Error::ConnectionLoss));
        }
        Ok(Step::Done(()))
    };
    let retried = Waiter::new(&c)
        .retry(Duration::from_millis(10), Duration::from_millis(100))
        .timeout(WAIT)
        .until(look)
        .await?;
    assert_eq!((retried, looks.load(Ordering::SeqCst)), (Some(()), 2));
    looks.store(0, Ordering::SeqCst);
    let reported = Waiter::new(&c).until(look).await;
    assert_eq!(reported, Err(RecipeError::Client(Error::ConnectionLoss)));
    Ok(())
}
