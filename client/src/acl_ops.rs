//! ACLs and authentication.

use crate::client::stat_or_default;
use crate::ops::{Acl, Stat};
use crate::{Client, Error};
use proto::v1::{self, request::Op, response::Result as R};

fn to_wire(acl: &[Acl]) -> Vec<v1::Acl> {
    acl.iter()
        .map(|a| v1::Acl {
            perms: a.perms,
            scheme: a.scheme.clone(),
            id: a.id.clone(),
        })
        .collect()
}

impl Client {
    /// Proves an identity for this session's connections (ZooKeeper's
    /// `addAuthInfo`): scheme `digest`, credentials `user:password`. It is
    /// sent again after every reconnect.
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<(), Error> {
        let op = Op::AddAuth(v1::AddAuthOp {
            scheme: scheme.to_string(),
            auth: auth.to_vec(),
        });
        self.ok(op, String::new(), None, "").await?;
        self.shared
            .auth
            .lock()
            .push((scheme.to_string(), auth.to_vec()));
        Ok(())
    }

    /// The node's ACL and Stat (digests show as `user:x` without ADMIN).
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), Error> {
        let server = self.server_path(path, false)?;
        match self
            .ok(
                Op::GetAcl(v1::GetAclOp {
                    path: server.clone(),
                }),
                server,
                None,
                path,
            )
            .await?
        {
            Some(R::Acl(a)) => Ok((
                a.acl
                    .into_iter()
                    .map(|a| Acl {
                        perms: a.perms,
                        scheme: a.scheme,
                        id: a.id,
                    })
                    .collect(),
                stat_or_default(a.stat),
            )),
            other => Err(Error::Protocol(format!("getACL answered {other:?}"))),
        }
    }

    /// Replaces the node's ACL if its aversion matches (`None` = any).
    pub async fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        version: Option<i32>,
    ) -> Result<Stat, Error> {
        let server = self.server_path(path, false)?;
        let op = Op::SetAcl(v1::SetAclOp {
            path: server.clone(),
            acl: to_wire(acl),
            version: version.unwrap_or(-1),
        });
        match self.ok(op, server, None, path).await? {
            Some(R::Stat(s)) => Ok(stat_or_default(s.stat)),
            other => Err(Error::Protocol(format!("setACL answered {other:?}"))),
        }
    }

    /// The (scheme, user) identities this connection holds.
    pub async fn who_am_i(&self) -> Result<Vec<(String, String)>, Error> {
        match self
            .ok(Op::WhoAmI(v1::WhoAmIOp {}), String::new(), None, "")
            .await?
        {
            Some(R::WhoAmI(w)) => Ok(w
                .client_info
                .into_iter()
                .map(|c| (c.scheme, c.user))
                .collect()),
            other => Err(Error::Protocol(format!("whoAmI answered {other:?}"))),
        }
    }
}
