//! The operator service on the native client listener (`corral admin`):
//! status for anyone; bootstrap and membership changes for administrators
//! only ([`Service::is_administrator`]), answered NoAuth otherwise with
//! nothing changed.

use super::incoming::NativeConnectInfo;
use crate::service::admins::AdminCredentials;
use crate::service::Service;
use proto::admin::{AdminFailure, AdminReply, AdminRequest};
use proto::peer::cluster_admin_server::{ClusterAdmin, ClusterAdminServer};
use proto::peer::Blob;
use tonic::{Request, Response, Status};

/// Largest operator command accepted (a membership of many members).
const MAX_COMMAND_BYTES: usize = 1 << 20;

/// The operator service of one server.
#[derive(Debug, Clone)]
pub struct ClusterAdminApi {
    service: Service,
}

impl ClusterAdminApi {
    /// Serves operator commands on behalf of `service`'s server.
    pub fn new(service: Service) -> Self {
        ClusterAdminApi { service }
    }

    /// The tonic service, with its message limit.
    pub fn into_server(self) -> ClusterAdminServer<ClusterAdminApi> {
        ClusterAdminServer::new(self).max_decoding_message_size(MAX_COMMAND_BYTES)
    }
}

/// True for commands that change the cluster.
fn changes_cluster(request: &AdminRequest) -> bool {
    !matches!(request, AdminRequest::Status)
}

#[tonic::async_trait]
impl ClusterAdmin for ClusterAdminApi {
    async fn admin(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let mut credentials = AdminCredentials::from_authorization(authorization);
        if let Some(subject) = NativeConnectInfo::of(&request).x509 {
            credentials.identities.push(format!("x509:{subject}"));
        }
        let payload = request
            .get_ref()
            .payload()
            .map_err(|e| Status::failed_precondition(e.to_string()))?;
        let command: AdminRequest = postcard::from_bytes(payload)
            .map_err(|e| Status::invalid_argument(format!("undecodable command: {e}")))?;
        let reply = if changes_cluster(&command) && !self.service.is_administrator(&credentials) {
            tracing::warn!(?command, "operator command refused: not an administrator");
            AdminReply::Failed(AdminFailure::NoAuth)
        } else {
            match self.service.replicator().admin(command).await {
                Some(reply) => reply,
                None => AdminReply::Failed(AdminFailure::Standalone),
            }
        };
        postcard::to_allocvec(&reply)
            .map(|payload| Response::new(Blob::new(payload)))
            .map_err(|e| Status::internal(format!("cannot encode reply: {e}")))
    }
}
