//! Guarded writes on every holder against a real server: once a holder is
//! stale (its session expired, or its node was deleted and someone else now
//! holds), its own guarded write is refused with `NotHolder` and changes
//! nothing, while the current holder's write goes through.
// Guarantee: a stale holder cannot overwrite the current holder's work.

use client::{Client, SessionState};
use recipes::{
    Hold, LeaderLatch, LeaderSelector, Leadership, Mutex, ReadWriteLock, RecipeError,
    ReentrantGuard, Semaphore,
};
use testkit::{eventually, TestServer};

mod common;
use common::{client, WAIT};

const RESOURCE: &str = "/resource";

/// A server with the resource node every holder writes to.
async fn server_with_resource() -> anyhow::Result<(TestServer, Client)> {
    let server = TestServer::start().await?;
    let admin = client(&server).await?;
    admin.create(RESOURCE, b"v0", Default::default()).await?;
    Ok((server, admin))
}

/// Expires `c`'s session on the server and waits until `c` knows.
async fn expire(server: &TestServer, c: &Client) -> anyhow::Result<()> {
    let handle = server
        .handle()
        .ok_or_else(|| anyhow::anyhow!("server down"))?;
    assert!(handle.service().expire_session_now(c.session_id()).await);
    eventually(WAIT, "the client to see its session expire", || async {
        c.state() == SessionState::Expired
    })
    .await
}

async fn resource(admin: &Client) -> anyhow::Result<Vec<u8>> {
    Ok(admin.get_data(RESOURCE).await?.0)
}

#[tokio::test]
async fn a_mutex_holder_whose_session_expired_is_refused_through_its_own_guard(
) -> anyhow::Result<()> {
    let (server, admin) = server_with_resource().await?;
    let old = client(&server).await?;
    let stale = Mutex::new(old.clone(), "/fence/mutex").acquire().await?;
    stale.guarded_set_data(RESOURCE, b"stale-1", None).await?;
    let waiting = {
        let new = client(&server).await?;
        tokio::spawn(async move { Mutex::new(new, "/fence/mutex").acquire().await })
    };
    expire(&server, &old).await?;
    let fresh = tokio::time::timeout(WAIT, waiting).await???;
    tokio::time::timeout(WAIT, stale.lost()).await?;
    fresh.guarded_set_data(RESOURCE, b"fresh", None).await?;
    assert_eq!(
        stale.guarded_set_data(RESOURCE, b"stale-2", None).await,
        Err(RecipeError::NotHolder)
    );
    assert_eq!(resource(&admin).await?, b"fresh");
    Ok(())
}

#[tokio::test]
async fn a_reentrant_holder_whose_node_was_deleted_is_refused_at_every_depth() -> anyhow::Result<()>
{
    let (server, admin) = server_with_resource().await?;
    let holder = client(&server).await?;
    let outer = ReentrantGuard::new(Mutex::new(holder, "/fence/re").acquire().await?);
    let inner = outer.reenter();
    inner.guarded_set_data(RESOURCE, b"inner", None).await?;
    let waiting = {
        let other = client(&server).await?;
        tokio::spawn(async move { Mutex::new(other, "/fence/re").acquire().await })
    };
    // An operator removes the lock node; the next in line now holds.
    admin.delete(outer.path(), None).await?;
    let fresh = tokio::time::timeout(WAIT, waiting).await???;
    assert!(fresh.fencing_token() > outer.fencing_token());
    fresh.guarded_set_data(RESOURCE, b"fresh", None).await?;
    for guard in [&inner, &outer] {
        assert_eq!(
            guard.guarded_set_data(RESOURCE, b"stale", None).await,
            Err(RecipeError::NotHolder)
        );
    }
    assert_eq!(resource(&admin).await?, b"fresh");
    Ok(())
}

#[tokio::test]
async fn a_read_holder_whose_session_expired_is_refused_and_the_writer_writes() -> anyhow::Result<()>
{
    let (server, admin) = server_with_resource().await?;
    let reader_client = client(&server).await?;
    let read = ReadWriteLock::new(reader_client.clone(), "/fence/rw-read")
        .read()
        .await?;
    read.guarded_set_data(RESOURCE, b"read", None).await?;
    let writer = {
        let c = client(&server).await?;
        tokio::spawn(async move { ReadWriteLock::new(c, "/fence/rw-read").write().await })
    };
    expire(&server, &reader_client).await?;
    let write = tokio::time::timeout(WAIT, writer).await???;
    eventually(WAIT, "the reader's hold to be lost", || async {
        read.hold() == Hold::Lost
    })
    .await?;
    write.guarded_set_data(RESOURCE, b"write", None).await?;
    assert_eq!(
        read.guarded_set_data(RESOURCE, b"stale", None).await,
        Err(RecipeError::NotHolder)
    );
    assert_eq!(resource(&admin).await?, b"write");
    Ok(())
}

#[tokio::test]
async fn a_write_holder_whose_node_was_deleted_is_refused_and_the_next_writer_writes(
) -> anyhow::Result<()> {
    let (server, admin) = server_with_resource().await?;
    let lock = |c: Client| ReadWriteLock::new(c, "/fence/rw-write");
    let first = lock(client(&server).await?).write().await?;
    first.guarded_set_data(RESOURCE, b"first", None).await?;
    let next = {
        let next_lock = lock(client(&server).await?);
        tokio::spawn(async move { next_lock.write().await })
    };
    admin.delete(first.path(), None).await?;
    let second = tokio::time::timeout(WAIT, next).await???;
    assert!(second.fencing_token() > first.fencing_token());
    second.guarded_set_data(RESOURCE, b"second", None).await?;
    assert_eq!(
        first.guarded_set_data(RESOURCE, b"stale", None).await,
        Err(RecipeError::NotHolder)
    );
    assert_eq!(resource(&admin).await?, b"second");
    Ok(())
}

#[tokio::test]
async fn a_semaphore_lease_whose_node_was_deleted_is_refused_and_the_others_write(
) -> anyhow::Result<()> {
    let (server, admin) = server_with_resource().await?;
    let semaphore = |c: Client| Semaphore::new(c, "/fence/sem", 2);
    let stale = semaphore(client(&server).await?).acquire().await?;
    let other = semaphore(client(&server).await?).acquire().await?;
    stale.guarded_set_data(RESOURCE, b"stale-1", None).await?;
    let waiting = {
        let sem = semaphore(client(&server).await?);
        tokio::spawn(async move { sem.acquire().await })
    };
    // The third waits for room; removing the first lease's node makes room.
    admin.delete(stale.path(), None).await?;
    let third = tokio::time::timeout(WAIT, waiting).await???;
    assert!(third.fencing_token() > stale.fencing_token());
    other.guarded_set_data(RESOURCE, b"other", None).await?;
    third.guarded_set_data(RESOURCE, b"third", None).await?;
    assert_eq!(
        stale.guarded_set_data(RESOURCE, b"stale-2", None).await,
        Err(RecipeError::NotHolder)
    );
    assert_eq!(resource(&admin).await?, b"third");
    Ok(())
}

#[tokio::test]
async fn a_latch_leader_whose_session_expired_is_refused_and_its_successor_writes(
) -> anyhow::Result<()> {
    let (server, admin) = server_with_resource().await?;
    let a = client(&server).await?;
    let leader = LeaderLatch::start(a.clone(), "/fence/latch", "a").await?;
    assert!(leader.await_leadership(WAIT).await?);
    let follower = LeaderLatch::start(client(&server).await?, "/fence/latch", "b").await?;
    // A participant that has not led is refused as well.
    assert_eq!(
        follower.guarded_set_data(RESOURCE, b"early", None).await,
        Err(RecipeError::NotHolder)
    );
    leader.guarded_set_data(RESOURCE, b"a", None).await?;
    expire(&server, &a).await?;
    assert!(follower.await_leadership(WAIT).await?);
    assert!(follower.fencing_token() > leader.fencing_token());
    eventually(WAIT, "a's leadership to be lost", || async {
        leader.leadership().hold() == Some(Hold::Lost)
    })
    .await?;
    follower.guarded_set_data(RESOURCE, b"b", None).await?;
    assert_eq!(
        leader.guarded_set_data(RESOURCE, b"stale", None).await,
        Err(RecipeError::NotHolder)
    );
    assert_eq!(resource(&admin).await?, b"b");
    Ok(())
}

#[tokio::test]
async fn a_selector_term_whose_node_was_deleted_is_refused_and_the_next_term_writes(
) -> anyhow::Result<()> {
    let (server, admin) = server_with_resource().await?;
    let (tx, mut terms) = tokio::sync::mpsc::channel::<Leadership>(4);
    // Each term hands its leadership out and runs until it is cancelled.
    let start = |c: Client, id: &str| {
        let tx = tx.clone();
        LeaderSelector::start(c, "/fence/selector", id, false, move |leadership| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(leadership).await;
                std::future::pending::<()>().await;
            }
        })
    };
    let _first_selector = start(client(&server).await?, "s1");
    let first = tokio::time::timeout(WAIT, terms.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no first term"))?;
    let _second_selector = start(client(&server).await?, "s2");
    first.guarded_set_data(RESOURCE, b"first", None).await?;
    // The first term's node goes while its work still runs (a paused
    // process would not notice either); the second participant now leads.
    admin.delete(first.path(), None).await?;
    let second = tokio::time::timeout(WAIT, terms.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no second term"))?;
    assert!(second.fencing_token() > first.fencing_token());
    second.guarded_set_data(RESOURCE, b"second", None).await?;
    assert_eq!(
        first.guarded_set_data(RESOURCE, b"stale", None).await,
        Err(RecipeError::NotHolder)
    );
    assert_eq!(resource(&admin).await?, b"second");
    Ok(())
}
