//! Bare ZooKeeper-protocol frames for tests that must control every byte
//! (split frames, pipelining, clients that never read).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const OP_CREATE: i32 = 1;
pub const OP_GET_DATA: i32 = 4;
pub const OP_SET_DATA: i32 = 5;
pub const OP_MULTI: i32 = 14;
pub const OP_CHECK: i32 = 13;
pub const OP_ADD_WATCH: i32 = 106;

/// A frame: 4-byte length, then the body.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A jute builder for request bodies.
#[derive(Default)]
pub struct Body(pub Vec<u8>);

impl Body {
    pub fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bool(mut self, v: bool) -> Self {
        self.0.push(v as u8);
        self
    }
    pub fn bytes(mut self, v: &[u8]) -> Self {
        self = self.i32(v.len() as i32);
        self.0.extend_from_slice(v);
        self
    }
    pub fn string(self, v: &str) -> Self {
        self.bytes(v.as_bytes())
    }
    pub fn open_acl(self) -> Self {
        self.i32(1).i32(31).string("world").string("anyone")
    }
}

pub fn handshake() -> Vec<u8> {
    framed(
        &Body::default()
            .i32(0)
            .i64(0)
            .i32(30_000)
            .i64(0)
            .bytes(&[0u8; 16])
            .bool(false)
            .0,
    )
}

pub fn create(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
    framed(
        &Body::default()
            .i32(xid)
            .i32(OP_CREATE)
            .string(path)
            .bytes(data)
            .open_acl()
            .i32(0)
            .0,
    )
}

pub fn set_data(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
    framed(
        &Body::default()
            .i32(xid)
            .i32(OP_SET_DATA)
            .string(path)
            .bytes(data)
            .i32(-1)
            .0,
    )
}

pub fn get_data(xid: i32, path: &str) -> Vec<u8> {
    framed(
        &Body::default()
            .i32(xid)
            .i32(OP_GET_DATA)
            .string(path)
            .bool(false)
            .0,
    )
}

/// addWatch with mode 1 (persistent recursive).
pub fn add_recursive_watch(xid: i32, path: &str) -> Vec<u8> {
    framed(
        &Body::default()
            .i32(xid)
            .i32(OP_ADD_WATCH)
            .string(path)
            .i32(1)
            .0,
    )
}

/// A multi of `n` version checks (-1: any version) on `path`.
pub fn multi_checks(xid: i32, path: &str, n: usize) -> Vec<u8> {
    let mut body = Body::default().i32(xid).i32(OP_MULTI);
    for _ in 0..n {
        body = body.i32(OP_CHECK).bool(false).i32(-1).string(path).i32(-1);
    }
    framed(&body.i32(-1).bool(true).i32(-1).0)
}

/// A reply's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

/// Reads one frame; `None` when the server closed the connection.
pub async fn read_frame(stream: &mut TcpStream) -> anyhow::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = i32::from_be_bytes(len);
    anyhow::ensure!(len >= 0, "negative frame length");
    let mut frame = vec![0u8; len as usize];
    stream.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

pub fn header(frame: &[u8]) -> anyhow::Result<ReplyHeader> {
    anyhow::ensure!(frame.len() >= 16, "short reply");
    let i32_at =
        |at: usize| i32::from_be_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]);
    let mut zxid = [0u8; 8];
    zxid.copy_from_slice(&frame[4..12]);
    Ok(ReplyHeader {
        xid: i32_at(0),
        zxid: i64::from_be_bytes(zxid),
        err: i32_at(12),
    })
}

/// A connected raw session.
pub struct RawZk {
    pub stream: TcpStream,
}

impl RawZk {
    /// Connects and completes the handshake.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<RawZk> {
        Self::handshake_on(TcpStream::connect(addr).await?).await
    }

    /// Completes the handshake on a connected stream.
    async fn handshake_on(mut stream: TcpStream) -> anyhow::Result<RawZk> {
        stream.set_nodelay(true)?;
        stream.write_all(&handshake()).await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut stream))
            .await??
            .ok_or_else(|| anyhow::anyhow!("closed during the handshake"))?;
        anyhow::ensure!(reply.len() >= 20, "short connect response");
        Ok(RawZk { stream })
    }

    /// Reads the next reply that is not a watch event (xid -1).
    pub async fn reply(&mut self) -> anyhow::Result<(ReplyHeader, Vec<u8>)> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), read_frame(&mut self.stream))
                .await??
                .ok_or_else(|| anyhow::anyhow!("connection closed"))?;
            let header = header(&frame)?;
            if header.xid != -1 {
                return Ok((header, frame));
            }
        }
    }

    /// Sends one request and returns its reply header.
    pub async fn call(&mut self, frame: &[u8]) -> anyhow::Result<ReplyHeader> {
        self.stream.write_all(frame).await?;
        Ok(self.reply().await?.0)
    }

    /// Connects with a small socket receive buffer (so a client that does
    /// not read backs up the server quickly), then completes the handshake.
    pub async fn connect_with_receive_buffer(
        addr: SocketAddr,
        bytes: u32,
    ) -> anyhow::Result<RawZk> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(bytes)?;
        Self::handshake_on(socket.connect(addr).await?).await
    }

    /// Reads until the server closes the connection, within `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        self.drain_until_closed(limit).await.0
    }

    /// Reads until the server closes the connection or `limit` passes;
    /// returns whether it closed and how many bytes were read.
    pub async fn drain_until_closed(&mut self, limit: Duration) -> (bool, usize) {
        let mut sink = vec![0u8; 1 << 16];
        let mut total = 0;
        let closed = tokio::time::timeout(limit, async {
            loop {
                match self.stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => total += n,
                }
            }
        })
        .await
        .is_ok();
        (closed, total)
    }

    /// True if the server has closed the connection (checked without waiting
    /// for data: a reset or end of stream is reported at once by the kernel).
    pub async fn is_closed_now(&mut self) -> bool {
        let mut probe = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_millis(1), self.stream.peek(&mut probe)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}
