//! Writes a throwaway CA, a server certificate for 127.0.0.1/localhost and a
//! client certificate (`CN=zkcli,OU=tools,O=Corral`) as PEM files into the
//! directory given, for scripts that drive TLS clients against Corral:
//! `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`
//! and `client-keystore.pem` (certificate and key in one file, as
//! ZooKeeper's PEM key store wants).

use testkit::tls::{TestCa, Validity};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: corral-test-certs DIR"))?;
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let ca = TestCa::new("Corral test CA")?;
    std::fs::write(dir.join("ca.pem"), ca.cert_pem())?;
    ca.server()?.write(&dir, "server")?;
    let client = ca.client(
        &[("CN", "zkcli"), ("OU", "tools"), ("O", "Corral")],
        Validity::Current,
    )?;
    client.write(&dir, "client")?;
    client.write_combined(&dir.join("client-keystore.pem"))?;
    Ok(())
}
