//! Guarantee: the peer plane is closed to processes without the cluster
//! secret (no vote, append or snapshot reaches Raft), the client listener
//! serves no peer call, and operator commands need an administrator: an
//! unauthenticated `admin remove` is NoAuth and the member stays.

use client::admin::{AdminClient, AdminError, AdminFailure};
use core_server::replication::raft::network::{channel, peer_client};
use core_server::replication::raft::peer_auth::{PeerDialer, PeerSecret};
use core_server::replication::raft::types::TypeConfig;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::{SnapshotMeta, StoredMembership, Vote};
use proto::peer::peer_client::PeerClient;
use proto::peer::Blob;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions, InProcessCluster, ProcessCluster, ADMIN_AUTH};
use testkit::corral_binary;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(20);

/// The three Raft messages a forged peer would send, as postcard payloads,
/// from a made-up candidate 99 at a far higher term.
fn forged_messages(term: u64) -> anyhow::Result<[(&'static str, Vec<u8>); 3]> {
    let vote = Vote::new(term + 100, 99);
    let ballot = VoteRequest::<u64>::new(vote, None);
    let append = AppendEntriesRequest::<TypeConfig> {
        vote,
        prev_log_id: None,
        entries: Vec::new(),
        leader_commit: None,
    };
    let snapshot = InstallSnapshotRequest::<TypeConfig> {
        vote,
        meta: SnapshotMeta {
            last_log_id: None,
            last_membership: StoredMembership::default(),
            snapshot_id: "forged".into(),
        },
        offset: 0,
        data: vec![0; 64],
        done: true,
    };
    Ok([
        ("vote", postcard::to_allocvec(&ballot)?),
        ("append", postcard::to_allocvec(&append)?),
        ("snapshot", postcard::to_allocvec(&snapshot)?),
    ])
}

async fn send(
    client: &mut PeerClient<tonic::transport::Channel>,
    rpc: &str,
    payload: Vec<u8>,
) -> Result<(), tonic::Status> {
    let blob = Blob::new(payload);
    match rpc {
        "vote" => client.vote(blob).await.map(drop),
        "append" => client.append_entries(blob).await.map(drop),
        _ => client.install_snapshot(blob).await.map(drop),
    }
}

#[tokio::test]
async fn a_process_without_the_cluster_secret_cannot_vote_append_or_install_a_snapshot(
) -> anyhow::Result<()> {
    let cluster = InProcessCluster::start(ClusterOptions::default()).await?;
    let leader = cluster.leader(LIMIT).await?;
    let follower = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap_or(1);
    let term = cluster.status(follower).await?.term;
    let peer = cluster.peer_addr(follower).to_string();
    let limit = Duration::from_secs(2);

    let wrong = PeerDialer::with_secret(PeerSecret::new(b"not-the-cluster-secret".to_vec()), limit);
    let mut forged = peer_client(channel(&peer, &wrong)?);
    let mut plain = PeerClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{peer}"))?
            .connect_timeout(limit)
            .timeout(limit)
            .connect_lazy(),
    );
    let native = cluster.addr(follower);
    let mut on_client_port = PeerClient::connect(format!("http://{native}")).await?;
    for (rpc, payload) in forged_messages(term)? {
        let refused = send(&mut forged, rpc, payload.clone())
            .await
            .expect_err("a wrong secret is refused");
        assert_eq!(
            refused.code(),
            tonic::Code::Unavailable,
            "{rpc} with a wrong secret: {refused}"
        );
        let refused = send(&mut plain, rpc, payload.clone())
            .await
            .expect_err("no handshake is refused");
        assert!(
            matches!(
                refused.code(),
                tonic::Code::Unavailable
                    | tonic::Code::Cancelled
                    | tonic::Code::Unknown
                    | tonic::Code::DeadlineExceeded
            ),
            "{rpc} without the handshake: {refused}"
        );
        let refused = send(&mut on_client_port, rpc, payload)
            .await
            .expect_err("the client listener serves no peer call");
        assert_eq!(
            refused.code(),
            tonic::Code::Unimplemented,
            "{rpc} on the client port: {refused}"
        );
    }

    // A stranger that speaks the preamble but cannot prove the secret is
    // closed before any HTTP/2 is read.
    let mut stranger = tokio::net::TcpStream::connect(&peer).await?;
    let mut hello = b"CRPA\x01".to_vec();
    hello.extend_from_slice(&[7; 32]);
    stranger.write_all(&hello).await?;
    let mut challenge = [0u8; 64];
    stranger.read_exact(&mut challenge).await?;
    stranger.write_all(&[0; 32]).await?;
    stranger
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await?;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(LIMIT, stranger.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a wrong proof closes the connection, got {closed:?} {rest:?}"
    );

    let after = cluster.status(follower).await?;
    assert!(
        after.term < term + 100,
        "no forged message reached Raft: term {term} -> {}",
        after.term
    );

    // The same vote with the cluster's secret is heard (the checks above
    // could fail): the follower answers it.
    let handle = cluster
        .handle(follower)
        .ok_or_else(|| anyhow::anyhow!("follower runs"))?;
    let secret_file = handle
        .service()
        .config()
        .cluster_secret_file
        .clone()
        .ok_or_else(|| anyhow::anyhow!("a member has a secret file"))?;
    let real = PeerDialer::with_secret(PeerSecret::load(&secret_file)?, limit);
    let mut member = peer_client(channel(&peer, &real)?);
    let [(rpc, payload), ..] = forged_messages(term)?;
    send(&mut member, rpc, payload).await?;
    Ok(())
}

async fn corral(args: &[&str]) -> anyhow::Result<std::process::Output> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let binary = corral_binary().to_path_buf();
    let run = move || std::process::Command::new(binary).args(args).output();
    Ok(tokio::task::spawn_blocking(run).await??)
}

fn refused_for_no_auth(result: Result<client::admin::ClusterStatus, AdminError>) -> bool {
    matches!(result, Err(AdminError::Refused(AdminFailure::NoAuth)))
}

#[tokio::test]
async fn an_unauthenticated_admin_remove_is_refused_and_the_member_stays() -> anyhow::Result<()> {
    let cluster = ProcessCluster::start(ClusterOptions::default()).await?;
    let leader = cluster.leader(LIMIT).await?;
    let addr = cluster.addr(leader);
    let victim = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap_or(3);
    let server = addr.to_string();

    let out = corral(&["--server", &server, "admin", "remove", &victim.to_string()]).await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "remove without credentials succeeded"
    );
    assert!(
        stderr.contains("NoAuth"),
        "the refusal says NoAuth: {stderr}"
    );

    let anonymous = AdminClient::new(server.clone());
    assert!(refused_for_no_auth(anonymous.remove(victim).await));
    let wrong = AdminClient::new(server.clone()).with_digest("super:wrong-password");
    assert!(refused_for_no_auth(wrong.remove(victim).await));
    assert!(refused_for_no_auth(
        wrong
            .add_learner(9, client::admin::PeerNode::at("127.0.0.1:9"))
            .await
    ));
    // Status stays open to anyone.
    let members = anonymous.status().await?.members;
    assert!(members.iter().any(|m| m.id == victim), "{members:?}");
    assert_eq!(members.len(), 3);

    // A backup needs an administrator too.
    let admin_http = cluster
        .admin_addr(leader)
        .ok_or_else(|| anyhow::anyhow!("admin listener"))?;
    let snapshot = testkit::http::get(admin_http, "/snapshot").await?;
    assert_eq!(snapshot.status, 401, "{}", snapshot.body);

    // The super user may (so the refusals above were about credentials).
    let out = corral(&[
        "--server",
        &server,
        "admin",
        "--auth",
        ADMIN_AUTH,
        "remove",
        &victim.to_string(),
    ])
    .await?;
    assert!(
        out.status.success(),
        "remove as the super user: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let members = anonymous.status().await?.members;
    assert!(!members.iter().any(|m| m.id == victim), "{members:?}");
    Ok(())
}
