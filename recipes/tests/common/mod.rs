//! What every recipe test file shares: the wait limit and a client with a
//! session timeout long enough to outlive a server restart.

use client::Client;
use std::time::Duration;
use testkit::TestServer;

/// Longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A client of `server` with a 20 s session timeout.
pub async fn client(server: &TestServer) -> anyhow::Result<Client> {
    Ok(Client::builder(&server.connect_string())
        .session_timeout(Duration::from_secs(20))
        .build()
        .await?)
}
