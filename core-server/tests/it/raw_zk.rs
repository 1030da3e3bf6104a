//! Bare ZooKeeper-protocol frames for tests that must control every byte
//! (split frames, pipelining, clients that never read).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const OP_CREATE: i32 = 1;
pub const OP_DELETE: i32 = 2;
pub const OP_EXISTS: i32 = 3;
pub const OP_GET_DATA: i32 = 4;
pub const OP_SET_DATA: i32 = 5;
pub const OP_GET_ACL: i32 = 6;
pub const OP_GET_CHILDREN: i32 = 8;
pub const OP_SYNC: i32 = 9;
pub const OP_GET_CHILDREN2: i32 = 12;
pub const OP_CHECK: i32 = 13;
pub const OP_MULTI: i32 = 14;
pub const OP_CREATE2: i32 = 15;
pub const OP_CHECK_WATCHES: i32 = 17;
pub const OP_CREATE_CONTAINER: i32 = 19;
pub const OP_CREATE_TTL: i32 = 21;
pub const OP_ALL_CHILDREN_NUMBER: i32 = 104;
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
    handshake_for(0, &[0u8; 16])
}

/// A ConnectRequest reattaching `session_id` (0: a new session).
pub fn handshake_for(session_id: i64, password: &[u8]) -> Vec<u8> {
    framed(
        &Body::default()
            .i32(0)
            .i64(0)
            .i32(30_000)
            .i64(session_id)
            .bytes(password)
            .bool(false)
            .0,
    )
}

/// A request frame: header, then `body`.
pub fn request(xid: i32, opcode: i32, body: Body) -> Vec<u8> {
    let mut out = Body::default().i32(xid).i32(opcode);
    out.0.extend_from_slice(&body.0);
    framed(&out.0)
}

/// A path-only body (getACL, sync, getAllChildrenNumber).
pub fn path_body(path: &str) -> Body {
    Body::default().string(path)
}

/// A path-and-watch body (exists, getData, getChildren).
pub fn watch_body(path: &str, watch: bool) -> Body {
    Body::default().string(path).bool(watch)
}

/// A CreateRequest body (a CreateTTLRequest with `ttl`), open ACL.
pub fn create_body(path: &str, data: &[u8], flags: i32, ttl: Option<i64>) -> Body {
    let body = Body::default()
        .string(path)
        .bytes(data)
        .open_acl()
        .i32(flags);
    match ttl {
        Some(ttl) => body.i64(ttl),
        None => body,
    }
}

/// A multi of `(opcode, body)` ops.
pub fn multi(xid: i32, ops: Vec<(i32, Body)>) -> Vec<u8> {
    let mut out = Body::default();
    for (opcode, body) in ops {
        out = out.i32(opcode).bool(false).i32(-1);
        out.0.extend_from_slice(&body.0);
    }
    request(xid, OP_MULTI, out.i32(-1).bool(true).i32(-1))
}

/// A multi reply's results as `(type, err)` pairs (err 0 for a success),
/// with the path of each create.
pub fn multi_results(frame: &[u8]) -> anyhow::Result<Vec<(i32, i32, String)>> {
    let mut at = 16;
    let mut take = |n: usize| -> anyhow::Result<&[u8]> {
        let bytes = frame
            .get(at..at + n)
            .ok_or_else(|| anyhow::anyhow!("short multi reply"))?;
        at += n;
        Ok(bytes)
    };
    let int = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut results = Vec::new();
    loop {
        let kind = int(take(4)?);
        let done = take(1)?[0] != 0;
        let err = int(take(4)?);
        if done {
            return Ok(results);
        }
        let mut path = String::new();
        match kind {
            -1 => {
                let code = int(take(4)?);
                results.push((kind, code, path));
                continue;
            }
            OP_CREATE | OP_CREATE2 => {
                let len = int(take(4)?) as usize;
                path = String::from_utf8_lossy(take(len)?).into_owned();
                if kind == OP_CREATE2 {
                    take(68)?;
                }
            }
            OP_SET_DATA => {
                take(68)?;
            }
            _ => {}
        }
        results.push((kind, err, path));
    }
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
    /// The session the server granted.
    pub session_id: i64,
    /// Its password.
    pub password: Vec<u8>,
}

impl RawZk {
    /// Connects and completes the handshake.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<RawZk> {
        Self::handshake_on(TcpStream::connect(addr).await?).await
    }

    /// Reattaches an existing session on a new connection; fails if the
    /// server refuses it (a zero timeout).
    pub async fn reattach(
        addr: SocketAddr,
        session_id: i64,
        password: &[u8],
    ) -> anyhow::Result<RawZk> {
        let stream = TcpStream::connect(addr).await?;
        let zk = Self::handshake_with(stream, &handshake_for(session_id, password)).await?;
        anyhow::ensure!(zk.session_id == session_id, "session not reattached");
        Ok(zk)
    }

    /// Completes the handshake on a connected stream.
    async fn handshake_on(stream: TcpStream) -> anyhow::Result<RawZk> {
        Self::handshake_with(stream, &handshake()).await
    }

    /// Connects as a client that accepts a read-only session
    /// (`canBeReadOnly`); also returns the readOnly flag of the answer.
    pub async fn connect_allowing_read_only(addr: SocketAddr) -> anyhow::Result<(RawZk, bool)> {
        let hello = framed(
            &Body::default()
                .i32(0)
                .i64(0)
                .i32(30_000)
                .i64(0)
                .bytes(&[0u8; 16])
                .bool(true)
                .0,
        );
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        stream.write_all(&hello).await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut stream))
            .await??
            .ok_or_else(|| anyhow::anyhow!("closed during the handshake"))?;
        anyhow::ensure!(reply.len() >= 36, "short connect response");
        let mut sid = [0u8; 8];
        sid.copy_from_slice(&reply[8..16]);
        let read_only = reply[reply.len() - 1] == 1;
        let zk = RawZk {
            stream,
            session_id: i64::from_be_bytes(sid),
            password: reply[20..36].to_vec(),
        };
        Ok((zk, read_only))
    }

    async fn handshake_with(mut stream: TcpStream, hello: &[u8]) -> anyhow::Result<RawZk> {
        stream.set_nodelay(true)?;
        stream.write_all(hello).await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), read_frame(&mut stream))
            .await??
            .ok_or_else(|| anyhow::anyhow!("closed during the handshake"))?;
        anyhow::ensure!(reply.len() >= 20, "short connect response");
        let timeout = i32::from_be_bytes([reply[4], reply[5], reply[6], reply[7]]);
        anyhow::ensure!(timeout > 0, "session refused (timeout 0)");
        let mut sid = [0u8; 8];
        sid.copy_from_slice(&reply[8..16]);
        let len = i32::from_be_bytes([reply[16], reply[17], reply[18], reply[19]]).max(0) as usize;
        let password = reply
            .get(20..20 + len)
            .ok_or_else(|| anyhow::anyhow!("short password"))?
            .to_vec();
        Ok(RawZk {
            stream,
            session_id: i64::from_be_bytes(sid),
            password,
        })
    }

    /// Sends one request and returns its reply header and whole frame,
    /// skipping notifications.
    pub async fn call_frame(&mut self, frame: &[u8]) -> anyhow::Result<(ReplyHeader, Vec<u8>)> {
        self.stream.write_all(frame).await?;
        self.reply().await
    }

    /// Sends one request; `None` if the server closed the connection
    /// instead of answering.
    pub async fn call_or_closed(&mut self, frame: &[u8]) -> anyhow::Result<Option<ReplyHeader>> {
        if self.stream.write_all(frame).await.is_err() {
            return Ok(None);
        }
        loop {
            let next =
                tokio::time::timeout(Duration::from_secs(30), read_frame(&mut self.stream)).await?;
            match next {
                Ok(None) | Err(_) => return Ok(None),
                Ok(Some(frame)) => {
                    let header = header(&frame)?;
                    if header.xid != -1 {
                        return Ok(Some(header));
                    }
                }
            }
        }
    }

    /// Sends one request and returns the notifications that came before its
    /// reply, and the reply's header.
    pub async fn call_with_events(
        &mut self,
        frame: &[u8],
    ) -> anyhow::Result<(Vec<Vec<u8>>, ReplyHeader)> {
        self.stream.write_all(frame).await?;
        let mut events = Vec::new();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), read_frame(&mut self.stream))
                .await??
                .ok_or_else(|| anyhow::anyhow!("connection closed"))?;
            let header = header(&frame)?;
            if header.xid == -1 {
                events.push(frame);
            } else {
                return Ok((events, header));
            }
        }
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
