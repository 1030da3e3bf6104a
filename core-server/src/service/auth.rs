//! Connection identities: the auth request, whoAmI, and ACL checks on reads.

use super::{Connection, Reply, Service};
use crate::tree::acl::{self, digest_id};
use crate::tree::{AuthId, Node, StateMachine};
use proto::ErrorCode;

impl Service {
    /// Proves an identity for the connection: `digest` with `user:password`.
    /// A digest equal to the configured super digest makes the connection the
    /// super user. On the native API, `sasl` with `user:password` too (see
    /// `sasl_plain`); on ZooKeeper's protocol SASL is its own request, and
    /// its provider refuses the auth packet, as ZooKeeper's does. Unknown
    /// schemes are AuthFailed.
    pub(super) fn add_auth(
        &self,
        connection: &Connection,
        scheme: &str,
        auth: &[u8],
    ) -> Result<Reply, ErrorCode> {
        if scheme == "sasl" && connection.protocol == super::latency::Protocol::Native {
            return self.sasl_plain(connection, auth);
        }
        if scheme != "digest" {
            return Err(ErrorCode::AuthFailed);
        }
        let text = std::str::from_utf8(auth).map_err(|_| ErrorCode::AuthFailed)?;
        let id = digest_id(text).ok_or(ErrorCode::AuthFailed)?;
        let is_super = self.inner.config.super_digest.as_deref() == Some(id.as_str());
        let mut held = connection.auth.lock();
        let id = AuthId::new("digest", &id);
        if !held.0.contains(&id) {
            held.0.push(id);
        }
        if is_super && !held.1 {
            held.1 = true;
            held.0.push(AuthId::new("super", ""));
        }
        Ok(Reply::Done)
    }

    /// The connection's (scheme, user) pairs, as ZooKeeper's whoAmI.
    pub(super) fn who_am_i(&self, connection: &Connection) -> Reply {
        let held = connection.auth.lock();
        Reply::WhoAmI(
            held.0
                .iter()
                .map(|id| {
                    let user = match id.scheme.as_str() {
                        "digest" => id.id.split_once(':').map_or(id.id.as_str(), |(u, _)| u),
                        _ => id.id.as_str(),
                    };
                    (id.scheme.clone(), user.to_string())
                })
                .collect(),
        )
    }

    /// Checks a permission for a read, with the connection's ids.
    pub(super) fn permit_read(
        &self,
        connection: &Connection,
        state: &StateMachine,
        node: &Node,
        perm: i32,
    ) -> Result<(), ErrorCode> {
        let held = connection.auth.lock();
        acl::check(state.acl_of(node), perm, &held.0, held.1)
    }

    /// getACL: READ or ADMIN needed; without ADMIN digest hashes are hidden.
    pub(super) fn get_acl(
        &self,
        connection: &Connection,
        state: &StateMachine,
        path: &str,
    ) -> Result<Reply, ErrorCode> {
        let node = state.node(path).ok_or(ErrorCode::NoNode)?;
        self.permit_read(
            connection,
            state,
            node,
            acl::perms::READ | acl::perms::ADMIN,
        )?;
        let list = state.acl_of(node);
        let acl = match self.permit_read(connection, state, node, acl::perms::ADMIN) {
            Ok(()) => list.to_vec(),
            Err(_) => acl::redact(list),
        };
        Ok(Reply::Acl {
            acl,
            stat: node.stat(),
        })
    }
}
