//! TLS for Corral's listeners, on rustls with the `ring` provider.
//!
//! Owns turning PEM files into a rustls server configuration (a certificate
//! chain, its key, and optionally a client CA that makes client
//! certificates required and verified), keeping that configuration current
//! as the files change ([`Reloading`]), accepting TLS on a stream
//! ([`TlsAcceptor`]) and reading the identity a client certificate proves
//! ([`client_identity`], the ZooKeeper `x509` id). It knows nothing of any
//! protocol: the ZooKeeper front end uses it for its secure port, the peer
//! plane for mutual TLS between members ([`build_client`] for the dialing
//! side), and the native gRPC listener the same way.

mod acceptor;
mod client_config;
mod error;
pub mod identity;
mod pem;
mod reload;
mod server_config;
mod version;

pub use acceptor::{client_identity, TlsAcceptor};
pub use client_config::build_client;
pub use error::{HandshakeError, TlsError};
pub use reload::Reloading;
pub use server_config::{build, provider, TlsFiles};
pub use version::MinVersion;
