//! Guarantee: with peer TLS, members authenticate each other by mutual TLS
//! against the cluster CA alone (no secret): the cluster elects, commits
//! and converges, and a process whose certificate another CA signed, or
//! that has none, reaches no Raft RPC.

use core_server::replication::raft::network::{channel, peer_client};
use core_server::replication::raft::peer_auth::{PeerCredentials, PeerDialer, PeerSecret, PeerTls};
use core_server::tls::{MinVersion, Reloading, TlsFiles};
use openraft::raft::VoteRequest;
use openraft::Vote;
use proto::peer::Blob;
use std::path::Path;
use std::time::Duration;
use testkit::cluster::{Cluster, ClusterOptions, InProcessCluster};
use testkit::tls::TestCa;

const LIMIT: Duration = Duration::from_secs(20);

/// Writes a CA and a member certificate under `dir`; returns the files.
fn member_files(dir: &Path, ca_name: &str) -> anyhow::Result<TlsFiles> {
    let ca = TestCa::new(ca_name)?;
    let ca_file = dir.join(format!("{ca_name}.pem"));
    std::fs::write(&ca_file, ca.cert_pem())?;
    let (cert, key) = ca
        .peer("member")?
        .write(dir, &format!("{ca_name}-member"))?;
    Ok(TlsFiles {
        cert,
        key,
        client_ca: Some(ca_file),
        min_version: MinVersion::Tls12,
    })
}

fn dialer(files: TlsFiles, secret: Option<PeerSecret>) -> anyhow::Result<PeerDialer> {
    let tls = PeerTls::new(Reloading::load(files)?, Duration::from_secs(2))?;
    let creds = PeerCredentials {
        secret,
        tls: Some(tls),
    };
    Ok(PeerDialer::new(creds, Duration::from_secs(2)))
}

#[tokio::test]
async fn members_authenticate_by_mutual_tls_and_strangers_are_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ours = member_files(dir.path(), "cluster-ca")?;
    let path = |p: &Path| toml::Value::String(p.display().to_string());
    let mut options = ClusterOptions::default();
    options
        .settings
        .insert("peer_tls_cert".into(), path(&ours.cert));
    options
        .settings
        .insert("peer_tls_key".into(), path(&ours.key));
    let ca = ours.client_ca.clone().unwrap_or_default();
    options.settings.insert("peer_tls_ca".into(), path(&ca));
    let cluster = InProcessCluster::start(options).await?;
    let leader = cluster.leader(LIMIT).await?;
    let client = client::Client::connect(&cluster.addr(leader).to_string()).await?;
    client
        .create("/over-tls", b"v", client::CreateOptions::default())
        .await?;
    cluster.converged(&cluster.ids(), LIMIT).await?;
    for id in cluster.ids() {
        let config = cluster
            .handle(id)
            .ok_or_else(|| anyhow::anyhow!("server {id} runs"))?
            .service()
            .config();
        assert!(config.cluster_secret_file.is_none(), "TLS alone here");
    }

    let follower = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap_or(1);
    let peer = cluster.peer_addr(follower).to_string();
    let term = cluster.status(follower).await?.term;
    let vote = postcard::to_allocvec(&VoteRequest::<u64>::new(Vote::new(term + 100, 99), None))?;

    let foreign = member_files(dir.path(), "other-ca")?;
    let mut stranger = peer_client(channel(&peer, &dialer(foreign, None)?)?);
    let refused = stranger
        .vote(Blob::new(vote.clone()))
        .await
        .expect_err("a certificate of another CA is refused");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused}");

    let no_tls = PeerDialer::with_secret(
        PeerSecret::new(b"a-secret-nobody-asked-for".to_vec()),
        Duration::from_secs(2),
    );
    let mut plain = peer_client(channel(&peer, &no_tls)?);
    let refused = plain
        .vote(Blob::new(vote.clone()))
        .await
        .expect_err("a peer without TLS is refused");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused}");
    assert!(cluster.status(follower).await?.term < term + 100);

    // The cluster's own certificate is heard (the refusals could fail).
    let mut member = peer_client(channel(&peer, &dialer(ours, None)?)?);
    member.vote(Blob::new(vote)).await?;
    Ok(())
}
