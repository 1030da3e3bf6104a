//! The `x509` identity a connection proved with its TLS client certificate,
//! attached once at the handshake as ZooKeeper's `X509AuthenticationProvider`
//! does: the id is the subject DN; a DN equal to the configured
//! `x509_super_user` also makes the connection the super user.

use super::{Connection, Service};
use crate::tree::AuthId;

impl Service {
    /// Gives the connection the `x509` id `subject` (a verified client
    /// certificate's subject DN, RFC 2253), and super-user status when it
    /// is the configured x509 super user.
    pub fn add_x509_identity(&self, connection: &Connection, subject: &str) {
        let is_super = self.inner.config.x509_super_user.as_deref() == Some(subject);
        let mut held = connection.auth.lock();
        if is_super && !held.1 {
            held.1 = true;
            held.0.push(AuthId::new("super", subject));
        }
        let id = AuthId::new("x509", subject);
        if !held.0.contains(&id) {
            held.0.push(id);
        }
    }
}
