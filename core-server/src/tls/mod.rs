//! TLS for Corral's listeners, on rustls with the `ring` provider.
//!
//! Owns turning PEM files into a rustls server configuration (a certificate
//! chain, its key, and optionally a client CA that makes client
//! certificates required and verified), keeping that configuration current
//! as the files change ([`Reloading`]), accepting TLS on a stream
//! ([`TlsAcceptor`]) and reading the identity a client certificate proves
//! ([`client_identity`], the ZooKeeper `x509` id). It knows nothing of any
//! protocol: the ZooKeeper front end uses it for its secure port, and the
//! native gRPC and peer listeners can use it the same way.

mod acceptor;
mod error;
pub mod identity;
mod pem;
mod reload;
mod server_config;
mod version;

pub use acceptor::{client_identity, TlsAcceptor};
pub use error::{HandshakeError, TlsError};
pub use reload::Reloading;
pub use server_config::{build, provider, TlsFiles};
pub use version::MinVersion;
