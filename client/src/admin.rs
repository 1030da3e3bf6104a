//! Cluster administration: a server's view of the cluster, bootstrap, and
//! membership changes (what `corral admin` runs).
//!
//! Owns the client side of the operator service (`ClusterAdmin`) on a
//! server's native client listener. Status answers anyone; changes need an
//! administrator ([`AdminClient::with_digest`]). A membership change sent to
//! a follower is carried out by the leader, and answered with the leader's
//! view of the cluster after it.

use proto::peer::cluster_admin_client::ClusterAdminClient;
use proto::peer::Blob;
use std::collections::BTreeMap;
use std::time::Duration;

pub use proto::admin::{
    AdminFailure, AdminReply, AdminRequest, ClusterStatus, MemberStatus, NodeId, PeerNode,
};

/// How long connecting to a server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an admin call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The server could not be reached or refused the call.
    #[error("cannot reach {addr}: {reason}")]
    Unreachable {
        /// The server's address.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The reply did not decode (a server of another version?).
    #[error("undecodable reply from {addr}")]
    Decode {
        /// The server's address.
        addr: String,
    },
    /// The server runs a release with another peer format.
    #[error(transparent)]
    Format(#[from] proto::peer_format::FormatMismatch),
    /// The server refused the command or could not carry it out.
    #[error(transparent)]
    Refused(#[from] AdminFailure),
}

/// Administers a cluster through one of its servers.
#[derive(Clone)]
pub struct AdminClient {
    addr: String,
    /// `USER:PASSWORD`, sent as `authorization: digest USER:PASSWORD`.
    digest: Option<String>,
    /// TLS to the server's native listener, if it requires it.
    tls: Option<crate::TlsConfig>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("addr", &self.addr)
            .field("digest", &self.digest.as_ref().map(|_| ".."))
            .field("tls", &self.tls)
            .finish()
    }
}

impl AdminClient {
    /// A client for the server at `addr` (`host:port`, its native address);
    /// it connects on each call.
    pub fn new(addr: impl Into<String>) -> AdminClient {
        AdminClient {
            addr: addr.into(),
            digest: None,
            tls: None,
        }
    }

    /// Proves an identity with each call: `user_password` is `USER:PASSWORD`
    /// (the super user, or a digest user listed in the server's
    /// `admin_identities`). Needed for every command but status.
    pub fn with_digest(mut self, user_password: impl Into<String>) -> AdminClient {
        self.digest = Some(user_password.into());
        self
    }

    /// Connects over TLS; a client certificate in `tls` whose `x509` id the
    /// server lists in `admin_identities` makes the caller an administrator.
    pub fn with_tls(mut self, tls: crate::TlsConfig) -> AdminClient {
        self.tls = Some(tls);
        self
    }

    /// The server's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `request` and returns the server's reply as it is (refusals
    /// included).
    pub async fn call(&self, request: &AdminRequest) -> Result<AdminReply, AdminError> {
        let unreachable = |reason: String| AdminError::Unreachable {
            addr: self.addr.clone(),
            reason,
        };
        let endpoint = crate::tls::endpoint(&self.addr, CONNECT_TIMEOUT).map_err(unreachable)?;
        let (channel, cause) = crate::tls::channel(endpoint, &self.addr, self.tls.as_ref())
            .await
            .map_err(unreachable)?;
        let payload = postcard::to_allocvec(request).map_err(|e| unreachable(e.to_string()))?;
        let mut call = tonic::Request::new(Blob::new(payload));
        if let Some(digest) = &self.digest {
            let value = format!("digest {digest}")
                .parse()
                .map_err(|_| unreachable("the credentials are not valid metadata".into()))?;
            call.metadata_mut().insert("authorization", value);
        }
        let reply = ClusterAdminClient::new(channel)
            .admin(call)
            .await
            .map_err(|s| unreachable(cause.explain(crate::tls::status_text(&s))))?;
        let payload = reply.get_ref().payload()?;
        postcard::from_bytes(payload).map_err(|_| AdminError::Decode {
            addr: self.addr.clone(),
        })
    }

    /// Sends `request`; a refusal becomes [`AdminError::Refused`].
    async fn run(&self, request: &AdminRequest) -> Result<ClusterStatus, AdminError> {
        match self.call(request).await? {
            AdminReply::Done(status) => Ok(status),
            AdminReply::Failed(failure) => Err(failure.into()),
        }
    }

    /// The server's view of the cluster.
    pub async fn status(&self) -> Result<ClusterStatus, AdminError> {
        self.run(&AdminRequest::Status).await
    }

    /// Bootstraps a new cluster with these voters (sent to one pristine
    /// server that is among them).
    pub async fn initialize(
        &self,
        members: BTreeMap<NodeId, PeerNode>,
    ) -> Result<ClusterStatus, AdminError> {
        self.run(&AdminRequest::Initialize { members }).await
    }

    /// Adds a non-voting member (an observer) and waits until it caught up.
    pub async fn add_learner(
        &self,
        id: NodeId,
        node: PeerNode,
    ) -> Result<ClusterStatus, AdminError> {
        self.run(&AdminRequest::AddLearner { id, node }).await
    }

    /// Adds a voting member: first as a learner, promoted once caught up.
    pub async fn add_voter(&self, id: NodeId, node: PeerNode) -> Result<ClusterStatus, AdminError> {
        self.run(&AdminRequest::AddVoter { id, node }).await
    }

    /// Removes a member (voter or learner).
    pub async fn remove(&self, id: NodeId) -> Result<ClusterStatus, AdminError> {
        self.run(&AdminRequest::Remove { id }).await
    }
}
