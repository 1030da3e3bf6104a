//! A bare gRPC session for tests that must send exactly what they choose
//! (malformed frames, oversized requests), without the client crate.

use proto::v1::corral_client::CorralClient;
use proto::v1::{
    client_frame::Frame, request::Op, server_frame, ClientFrame, Request, ServerFrame,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

pub struct RawSession {
    pub tx: mpsc::Sender<ClientFrame>,
    pub rx: Streaming<ServerFrame>,
    pub session_id: i64,
    pub password: Vec<u8>,
}

pub async fn grpc(addr: SocketAddr) -> anyhow::Result<CorralClient<tonic::transport::Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    Ok(CorralClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

pub async fn open(
    addr: SocketAddr,
    first: ClientFrame,
) -> anyhow::Result<(mpsc::Sender<ClientFrame>, Streaming<ServerFrame>)> {
    let mut client = grpc(addr).await?;
    let (tx, rx) = mpsc::channel(64);
    tx.send(first).await?;
    let response = client.session(ReceiverStream::new(rx)).await?;
    Ok((tx, response.into_inner()))
}

pub fn connect_frame(session_id: i64, password: Vec<u8>, timeout_ms: i32) -> ClientFrame {
    ClientFrame {
        frame: Some(Frame::Connect(proto::v1::Connect {
            session_id,
            password,
            timeout_ms,
            last_zxid_seen: 0,
        })),
    }
}

impl RawSession {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<RawSession> {
        let (tx, mut rx) = open(addr, connect_frame(0, vec![], 30_000)).await?;
        match next(&mut rx).await? {
            server_frame::Frame::Connected(c) => Ok(RawSession {
                tx,
                rx,
                session_id: c.session_id,
                password: c.password,
            }),
            other => anyhow::bail!("expected Connected, got {other:?}"),
        }
    }

    pub async fn send(&self, xid: i32, op: Option<Op>) -> anyhow::Result<()> {
        self.tx
            .send(ClientFrame {
                frame: Some(Frame::Request(Request { xid, op })),
            })
            .await?;
        Ok(())
    }

    /// Sends a request and returns its response, skipping watch events.
    pub async fn call(&mut self, xid: i32, op: Op) -> anyhow::Result<proto::v1::Response> {
        self.send(xid, Some(op)).await?;
        self.response().await
    }

    pub async fn response(&mut self) -> anyhow::Result<proto::v1::Response> {
        loop {
            if let server_frame::Frame::Response(r) = next(&mut self.rx).await? {
                return Ok(r);
            }
        }
    }
}

/// The next frame, within 10 s.
pub async fn next(rx: &mut Streaming<ServerFrame>) -> anyhow::Result<server_frame::Frame> {
    let frame = tokio::time::timeout(Duration::from_secs(10), rx.message())
        .await
        .map_err(|_| anyhow::anyhow!("no frame within 10 s"))??
        .ok_or_else(|| anyhow::anyhow!("stream ended"))?;
    frame.frame.ok_or_else(|| anyhow::anyhow!("empty frame"))
}

pub fn create(path: &str, data: &[u8]) -> Op {
    Op::Create(proto::v1::CreateOp {
        path: path.into(),
        data: Some(data.to_vec()),
        mode: 0,
        ttl_ms: 0,
        ..Default::default()
    })
}

pub fn get(path: &str) -> Op {
    Op::GetData(proto::v1::GetDataOp {
        path: path.into(),
        watch: false,
        linearizable: false,
    })
}

pub fn data_of(r: &proto::v1::Response) -> Option<Vec<u8>> {
    match &r.result {
        Some(proto::v1::response::Result::Data(d)) => d.data.clone(),
        _ => None,
    }
}

pub fn create_mode(path: &str, data: Option<&[u8]>, mode: proto::CreateMode, ttl_ms: i64) -> Op {
    Op::Create(proto::v1::CreateOp {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        mode: mode.flag(),
        ttl_ms,
        ..Default::default()
    })
}

pub fn set(path: &str, data: &[u8], version: i32) -> Op {
    Op::SetData(proto::v1::SetDataOp {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    })
}

pub fn delete(path: &str, version: i32) -> Op {
    Op::Delete(proto::v1::DeleteOp {
        path: path.into(),
        version,
    })
}

pub fn exists(path: &str, watch: bool) -> Op {
    Op::Exists(proto::v1::ExistsOp {
        path: path.into(),
        watch,
        linearizable: false,
    })
}

pub fn get_watch(path: &str) -> Op {
    Op::GetData(proto::v1::GetDataOp {
        path: path.into(),
        watch: true,
        linearizable: false,
    })
}

pub fn children(path: &str, watch: bool) -> Op {
    Op::GetChildren(proto::v1::GetChildrenOp {
        path: path.into(),
        watch,
        linearizable: false,
    })
}

/// The Stat in a response, whatever kind of result carries it.
pub fn stat_of(r: &proto::v1::Response) -> Option<proto::v1::Stat> {
    use proto::v1::response::Result as R;
    match &r.result {
        Some(R::Create(c)) => c.stat,
        Some(R::Stat(s)) => s.stat,
        Some(R::Data(d)) => d.stat,
        Some(R::Children(c)) => c.stat,
        _ => None,
    }
}

pub fn created_path(r: &proto::v1::Response) -> Option<String> {
    match &r.result {
        Some(proto::v1::response::Result::Create(c)) => Some(c.path.clone()),
        _ => None,
    }
}

pub fn children_of(r: &proto::v1::Response) -> Vec<String> {
    match &r.result {
        Some(proto::v1::response::Result::Children(c)) => c.children.clone(),
        _ => vec![],
    }
}

impl RawSession {
    /// Calls and asserts success.
    pub async fn ok(&mut self, op: Op) -> anyhow::Result<proto::v1::Response> {
        let xid = self.next_xid();
        let r = self.call(xid, op).await?;
        anyhow::ensure!(r.err == 0, "request {xid} failed with {}", r.err);
        Ok(r)
    }

    /// Calls and returns the error code (0 on success).
    pub async fn code(&mut self, op: Op) -> anyhow::Result<i32> {
        let xid = self.next_xid();
        Ok(self.call(xid, op).await?.err)
    }

    fn next_xid(&mut self) -> i32 {
        static XID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1000);
        XID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Connects with a chosen session timeout.
    pub async fn connect_with_timeout(
        addr: SocketAddr,
        timeout_ms: i32,
    ) -> anyhow::Result<RawSession> {
        let (tx, mut rx) = open(addr, connect_frame(0, vec![], timeout_ms)).await?;
        match next(&mut rx).await? {
            server_frame::Frame::Connected(c) => Ok(RawSession {
                tx,
                rx,
                session_id: c.session_id,
                password: c.password,
            }),
            other => anyhow::bail!("expected Connected, got {other:?}"),
        }
    }

    /// The next frame of any kind.
    pub async fn frame(&mut self) -> anyhow::Result<server_frame::Frame> {
        next(&mut self.rx).await
    }

    /// Waits for the next watch event (skipping pongs), within 10 s.
    pub async fn event(&mut self) -> anyhow::Result<proto::v1::WatchEvent> {
        loop {
            match self.frame().await? {
                server_frame::Frame::Event(e) => return Ok(e),
                server_frame::Frame::Pong(_) => continue,
                other => anyhow::bail!("expected an event, got {other:?}"),
            }
        }
    }
}
