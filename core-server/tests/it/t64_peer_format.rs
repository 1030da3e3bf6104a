//! Guarantee: a server never misreads a peer message written by a release
//! with another peer format (decision 0008); it refuses it, with a status
//! that says so, and keeps serving messages of its own format.

use client::admin::{AdminReply, AdminRequest};
use core_server::replication::raft::network::{channel, peer_client};
use core_server::replication::raft::peer_auth::{PeerDialer, PeerSecret};
use proto::peer::Blob;
use std::time::Duration;
use testkit::{test_config, TestServer};

#[tokio::test]
async fn a_peer_message_of_another_format_is_refused_not_misread() -> anyhow::Result<()> {
    // A cluster member (it waits to be initialized, and serves peers).
    let dir = tempfile::tempdir()?;
    let secret_file = testkit::cluster::write_secret(dir.path())?;
    let server = TestServer::start_with(core_server::Config {
        node_id: Some(1),
        peer_listen: Some(([127, 0, 0, 1], 0).into()),
        cluster_secret_file: Some(secret_file.clone()),
        ..test_config()
    })
    .await?;
    let peer_addr = server
        .peer_addr()
        .ok_or_else(|| anyhow::anyhow!("a member has a peer listener"))?;
    let dialer = PeerDialer::with_secret(PeerSecret::load(&secret_file)?, Duration::from_secs(5));
    let mut peer = peer_client(channel(&peer_addr.to_string(), &dialer)?);
    let status = postcard::to_allocvec(&AdminRequest::Status)?;
    let old = Blob {
        payload: status.clone(),
        format: 0,
    };
    let refused = peer
        .admin(old)
        .await
        .expect_err("a message of format 0 is refused");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("format 0"),
        "the refusal names the format: {}",
        refused.message()
    );
    let reply = peer.admin(Blob::new(status)).await?.into_inner();
    let reply: AdminReply = postcard::from_bytes(reply.payload()?)?;
    assert!(matches!(reply, AdminReply::Done(s) if s.id == 1));
    Ok(())
}
