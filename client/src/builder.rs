//! Owns client settings: the host list (a connect string or a list), the
//! chroot, the session and connect timeouts. [`ClientBuilder::build`] hands
//! them to the connection task.

use crate::{Client, Error};
use std::net::SocketAddr;
use std::time::Duration;

/// A parsed connect string: `host:port[,host:port...][/chroot]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// `host:port` entries, in order.
    pub hosts: Vec<String>,
    /// The chroot, if any (no trailing slash; never `/`).
    pub chroot: Option<String>,
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConnectString {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// Checks one `host:port` entry: a non-empty host and a numeric port.
fn check_host(input: &str, host: &str) -> Result<String, Error> {
    let host = host.trim();
    let Some((name, port)) = host.rsplit_once(':') else {
        return Err(invalid(input, format!("{host:?} has no :port")));
    };
    if name.is_empty() || name.contains('/') {
        return Err(invalid(input, format!("{host:?} has no host name")));
    }
    if port.parse::<u16>().is_err() {
        return Err(invalid(input, format!("{host:?} has a bad port")));
    }
    Ok(host.to_string())
}

fn check_chroot(chroot: &str) -> Result<Option<String>, Error> {
    proto::path::validate(chroot).map_err(|reason| Error::InvalidPath {
        path: chroot.to_string(),
        reason,
    })?;
    Ok((chroot != "/").then(|| chroot.to_string()))
}

impl ConnectString {
    /// Parses `host:port[,host:port...][/chroot]`; empty entries are skipped.
    pub fn parse(s: &str) -> Result<ConnectString, Error> {
        let (hosts, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        let hosts = hosts
            .split(',')
            .filter(|h| !h.trim().is_empty())
            .map(|h| check_host(s, h))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(invalid(s, "no hosts"));
        }
        let chroot = match chroot {
            None => None,
            Some(c) => check_chroot(c)?,
        };
        Ok(ConnectString { hosts, chroot })
    }

    /// A host list without chroot; every entry is `host:port`.
    pub fn from_hosts<I, S>(hosts: I) -> Result<ConnectString, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let hosts: Vec<String> = hosts.into_iter().map(|h| h.as_ref().to_string()).collect();
        let shown = hosts.join(",");
        let hosts = hosts
            .iter()
            .map(|h| check_host(&shown, h))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(invalid(&shown, "no hosts"));
        }
        Ok(ConnectString {
            hosts,
            chroot: None,
        })
    }
}

/// What [`ClientBuilder::new`] and [`Client::connect`] accept: a connect
/// string (`&str`, `&String`), a list of `host:port` entries (array, slice or
/// `Vec`), or socket addresses.
pub trait IntoHosts {
    /// The parsed hosts and chroot.
    fn into_hosts(self) -> Result<ConnectString, Error>;
}

impl IntoHosts for &str {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::parse(self)
    }
}

impl IntoHosts for &String {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::parse(self)
    }
}

impl IntoHosts for ConnectString {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        Ok(self)
    }
}

impl IntoHosts for &[&str] {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::from_hosts(self)
    }
}

impl<const N: usize> IntoHosts for [&str; N] {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::from_hosts(self)
    }
}

impl IntoHosts for Vec<&str> {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::from_hosts(self)
    }
}

impl IntoHosts for Vec<String> {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::from_hosts(self)
    }
}

impl IntoHosts for SocketAddr {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::from_hosts([self.to_string()])
    }
}

impl IntoHosts for Vec<SocketAddr> {
    fn into_hosts(self) -> Result<ConnectString, Error> {
        ConnectString::from_hosts(self.iter().map(SocketAddr::to_string))
    }
}

/// Settings for a new [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) hosts: Vec<String>,
    pub(crate) chroot: Option<String>,
    pub(crate) session_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) tls: Option<crate::TlsConfig>,
    pub(crate) error: Option<Error>,
}

impl ClientBuilder {
    /// A builder for a connect string `host:port[,host:port...][/chroot]` or a
    /// host list. A malformed one makes [`build`](Self::build) fail.
    pub fn new(hosts: impl IntoHosts) -> ClientBuilder {
        let (hosts, chroot, error) = match hosts.into_hosts() {
            Ok(cs) => (cs.hosts, cs.chroot, None),
            Err(e) => (Vec::new(), None, Some(e)),
        };
        ClientBuilder {
            hosts,
            chroot,
            session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            tls: None,
            error,
        }
    }

    /// Requested session timeout (the server clamps it; default 10 s).
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long [`build`](Self::build) keeps trying to establish the first
    /// session (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Connects over TLS (the servers' `tls_cert`; with `tls_client_ca` they
    /// also want the client certificate `tls` presents).
    pub fn tls(mut self, tls: crate::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Every path is taken relative to this node (overrides the connect
    /// string's chroot). The node must exist for most operations to succeed.
    pub fn chroot(mut self, chroot: &str) -> Self {
        match check_chroot(chroot) {
            Ok(root) => self.chroot = root,
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Connects and establishes the session. Fails with the last refusal (or
    /// [`Error::Connect`]) if no server accepts within the connect timeout.
    /// Not cancellation-safe in a useful sense: dropping the future drops the
    /// half-built client (no session is leaked beyond its timeout).
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
        let cs = ConnectString::parse("127.0.0.1:2181,127.0.0.1:2182/chroot").expect("parses");
        assert_eq!(cs.hosts, vec!["127.0.0.1:2181", "127.0.0.1:2182"]);
        assert_eq!(cs.chroot.as_deref(), Some("/chroot"));
        assert_eq!(ConnectString::parse("a:1/").expect("parses").chroot, None);
        assert_eq!(
            ConnectString::parse("[::1]:5").expect("ipv6").hosts,
            ["[::1]:5"]
        );
    }

    #[test]
    fn malformed_connect_strings_are_refused() {
        for bad in ["", ",", "/app", "a", "a:", "a:x", ":1", "a:70000"] {
            assert!(
                matches!(
                    ConnectString::parse(bad),
                    Err(Error::InvalidConnectString { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            ConnectString::parse("a:1/bad/"),
            Err(Error::InvalidPath { .. })
        ));
    }

    #[test]
    fn host_lists_are_accepted_in_several_shapes() {
        let want = vec!["a:1".to_string(), "b:2".to_string()];
        assert_eq!(["a:1", "b:2"].into_hosts().expect("array").hosts, want);
        assert_eq!(want.clone().into_hosts().expect("vec").hosts, want);
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        assert_eq!(addr.into_hosts().expect("addr").hosts, ["127.0.0.1:9"]);
        assert!(Vec::<String>::new().into_hosts().is_err());
        assert!(["a:1/x"].into_hosts().is_err(), "no chroot inside a list");
    }

    #[test]
    fn the_builder_chroot_overrides_and_validates() {
        let b = ClientBuilder::new("a:1/x").chroot("/y");
        assert_eq!(b.chroot.as_deref(), Some("/y"));
        assert!(ClientBuilder::new("a:1").chroot("/").chroot.is_none());
        assert!(ClientBuilder::new("a:1").chroot("y").error.is_some());
        assert!(ClientBuilder::new("nope").error.is_some());
    }
}
