//! Guarantee: hostile bytes on the ZooKeeper port (random and truncated
//! frames, absurd lengths, unknown opcodes) get an error or a closed
//! connection; the server never panics and other sessions keep working.
//! Seeded, so a failure can be replayed: the seed is in the assertion message.

use rand::{Rng, SeedableRng};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zookeeper_client as zk;

fn handshake() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_be_bytes()); // protocol version
    body.extend_from_slice(&0i64.to_be_bytes()); // last zxid seen
    body.extend_from_slice(&30_000i32.to_be_bytes()); // timeout
    body.extend_from_slice(&0i64.to_be_bytes()); // session id
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0u8; 16]);
    body.push(0);
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

fn hostile_payload(rng: &mut impl Rng) -> Vec<u8> {
    let mut out = Vec::new();
    match rng.gen_range(0..5) {
        // Random bytes, no framing at all.
        0 => {
            let mut junk = vec![0u8; rng.gen_range(1..64)];
            rng.fill_bytes(&mut junk);
            out.extend_from_slice(&junk);
        }
        // An absurd or negative length.
        1 => out.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]),
        2 => out.extend_from_slice(&(-5i32).to_be_bytes()),
        // A valid handshake, then a request with an unknown or internal opcode
        // and a random body.
        3 => {
            out.extend_from_slice(&handshake());
            let opcode: i32 = *[999, 0, 20, 13, -3, 4, 1, 14, 22, 106]
                .get(rng.gen_range(0..10))
                .unwrap_or(&999);
            let mut body = vec![0u8; rng.gen_range(0..40)];
            rng.fill_bytes(&mut body);
            let len = 8 + body.len() as i32;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&7i32.to_be_bytes());
            out.extend_from_slice(&opcode.to_be_bytes());
            out.extend_from_slice(&body);
        }
        // A handshake truncated at a random point.
        _ => {
            let hs = handshake();
            let cut = rng.gen_range(1..hs.len());
            out.extend_from_slice(&hs[..cut]);
        }
    }
    out
}

#[tokio::test]
async fn hostile_frames_never_harm_other_sessions() -> anyhow::Result<()> {
    let seed: u64 = std::env::var("CORRAL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xC0AA1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let server = testkit::TestServer::start().await?;
    let addr = server
        .zk_addr()
        .ok_or_else(|| anyhow::anyhow!("no zk listener"))?;
    let healthy = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(20))
        .connect(&addr.to_string())
        .await?;
    healthy
        .create(
            "/alive",
            b"",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        )
        .await?;
    for round in 0..150 {
        let payload = hostile_payload(&mut rng);
        let mut s = TcpStream::connect(addr).await?;
        let _ = s.write_all(&payload).await;
        let _ = s.shutdown().await;
        // Drain whatever the server answers until it closes the connection.
        let mut sink = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut sink)).await;
        assert!(
            read.is_ok(),
            "seed {seed} round {round}: the server neither answered nor closed"
        );
        if round % 25 == 0 {
            healthy
                .set_data("/alive", format!("{round}").as_bytes(), None)
                .await?;
        }
    }
    assert!(
        healthy.check_stat("/alive").await?.is_some(),
        "seed {seed}: the healthy session still works"
    );
    let native = client::Client::connect(&server.connect_string()).await?;
    assert_eq!(native.get_data("/alive").await?.0, b"125");
    Ok(())
}
