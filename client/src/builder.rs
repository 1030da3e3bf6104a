//! Building a client: hosts, session timeout, chroot.

use crate::{Client, Error};
use std::time::Duration;

/// A parsed connect string: `host:port[,host:port...][/chroot]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// `host:port` entries, in order.
    pub hosts: Vec<String>,
    /// The chroot, if any (no trailing slash; never `/`).
    pub chroot: Option<String>,
}

impl ConnectString {
    /// Parses a connect string.
    pub fn parse(s: &str) -> Result<ConnectString, Error> {
        let (hosts, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        let hosts: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect();
        if hosts.is_empty() {
            return Err(Error::Connect(format!("no hosts in connect string {s:?}")));
        }
        let chroot = match chroot {
            None | Some("/") => None,
            Some(c) => {
                proto::path::validate(c).map_err(|reason| Error::InvalidPath {
                    path: c.to_string(),
                    reason,
                })?;
                Some(c.to_string())
            }
        };
        Ok(ConnectString { hosts, chroot })
    }
}

/// Settings for a new [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) hosts: Vec<String>,
    pub(crate) chroot: Option<String>,
    pub(crate) session_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) error: Option<Error>,
}

impl ClientBuilder {
    /// A builder for a connect string `host:port[,host:port...][/chroot]`.
    pub fn new(connect_string: &str) -> ClientBuilder {
        let (hosts, chroot, error) = match ConnectString::parse(connect_string) {
            Ok(cs) => (cs.hosts, cs.chroot, None),
            Err(e) => (Vec::new(), None, Some(e)),
        };
        ClientBuilder {
            hosts,
            chroot,
            session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            error,
        }
    }

    /// Requested session timeout (the server clamps it; default 10 s).
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long [`build`](Self::build) keeps trying to establish the first session.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Every path is taken relative to this node (overrides the connect string's).
    pub fn chroot(mut self, chroot: &str) -> Self {
        match proto::path::validate(chroot) {
            Ok(()) if chroot == "/" => self.chroot = None,
            Ok(()) => self.chroot = Some(chroot.to_string()),
            Err(reason) => {
                self.error = Some(Error::InvalidPath {
                    path: chroot.to_string(),
                    reason,
                })
            }
        }
        self
    }

    /// Connects and establishes the session.
    pub async fn build(self) -> Result<Client, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        Client::start(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_strings_carry_hosts_and_an_optional_chroot() {
        let cs = ConnectString::parse("a:1, b:2,c:3/app/x").expect("parses");
        assert_eq!(cs.hosts, vec!["a:1", "b:2", "c:3"]);
        assert_eq!(cs.chroot.as_deref(), Some("/app/x"));
        assert_eq!(ConnectString::parse("a:1/").expect("parses").chroot, None);
        assert!(ConnectString::parse("").is_err());
        assert!(ConnectString::parse("a:1/bad/").is_err());
    }
}
