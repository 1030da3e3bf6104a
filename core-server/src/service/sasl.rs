//! SASL identities: the ZooKeeper `sasl` request (a DIGEST-MD5 exchange,
//! as `ZooKeeperServer.processSasl`), the native API's one-step `sasl`
//! auth, and the id both give: `sasl:NAME`, plus super rights when NAME is
//! the configured SASL super user.

use super::{Connection, Reply, Service};
use crate::sasl::digest_md5::{Step, ZOOKEEPER};
use crate::tree::AuthId;
use proto::ErrorCode;

impl Service {
    /// One step of the connection's SASL exchange. Without SASL configured
    /// the answer is an empty success (ZooKeeper has no SASL server on the
    /// connection then: it logs and replies OK with a null token). A failed
    /// exchange is AuthFailed, and the front end closes the connection
    /// (ZooKeeper 3.8 without `zookeeper.allowSaslFailedClients`).
    pub(super) fn sasl(&self, connection: &Connection, token: &[u8]) -> Result<Reply, ErrorCode> {
        let Some(users) = &self.inner.sasl else {
            tracing::debug!(
                session_id = connection.session_id,
                "SASL request without SASL configured"
            );
            return Ok(Reply::Sasl(None));
        };
        let step =
            connection
                .sasl
                .lock()
                .step(&ZOOKEEPER, token, crate::sasl::new_nonce, |user: &str| {
                    users.password(user).map(str::to_string)
                });
        match step {
            Ok(Step::Challenge(challenge)) => Ok(Reply::Sasl(Some(challenge))),
            Ok(Step::Complete { user, token }) => {
                tracing::info!(
                    session_id = connection.session_id,
                    user,
                    "SASL DIGEST-MD5 authenticated"
                );
                self.add_sasl_id(connection, &user);
                Ok(Reply::Sasl(Some(token)))
            }
            Err(error) => {
                tracing::warn!(session_id = connection.session_id, %error, "SASL authentication failed");
                metrics::counter!("corral_sasl_failures_total").increment(1);
                Err(ErrorCode::AuthFailed)
            }
        }
    }

    /// The native API's `sasl` auth: `user:password` checked against the
    /// SASL users in one step (the password travels as is: only safe over
    /// TLS). Unknown users, wrong passwords and a server without SASL users
    /// are AuthFailed.
    pub(super) fn sasl_plain(
        &self,
        connection: &Connection,
        auth: &[u8],
    ) -> Result<Reply, ErrorCode> {
        let users = self.inner.sasl.as_ref().ok_or(ErrorCode::AuthFailed)?;
        let text = std::str::from_utf8(auth).map_err(|_| ErrorCode::AuthFailed)?;
        let (user, password) = text.split_once(':').ok_or(ErrorCode::AuthFailed)?;
        if !users.check_plain(user, password) {
            tracing::warn!(
                session_id = connection.session_id,
                user,
                "SASL password refused"
            );
            metrics::counter!("corral_sasl_failures_total").increment(1);
            return Err(ErrorCode::AuthFailed);
        }
        self.add_sasl_id(connection, user);
        Ok(Reply::Done)
    }

    fn add_sasl_id(&self, connection: &Connection, user: &str) {
        let is_super = self.inner.sasl.as_ref().is_some_and(|u| u.is_super(user));
        let mut held = connection.auth.lock();
        let id = AuthId::new("sasl", user);
        if !held.0.contains(&id) {
            held.0.push(id);
        }
        if is_super && !held.1 {
            held.1 = true;
            held.0.push(AuthId::new("super", ""));
        }
    }
}
