//! A scripted Corral server for protocol corners a real server only hits by
//! chance: stream events before their `WatchFrom` answer, a server that goes
//! silent, refusals on reattach. Each session stream is handed to the test's
//! script, which reads client frames and writes server frames as it likes.

use futures::future::BoxFuture;
use proto::v1::corral_server::{Corral, CorralServer};
use proto::v1::{
    client_frame, server_frame, ClientFrame, Connect, ConnectRejected, Connected, Request,
    Response, ServerFrame, WatchEvent,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Status, Streaming};

/// One session stream as the script sees it.
pub struct Conn {
    /// Which stream this is on the fake (0 for the first).
    pub n: usize,
    inbound: Streaming<ClientFrame>,
    out: mpsc::Sender<Result<ServerFrame, Status>>,
}

/// What a script does with one stream.
pub type Script = Arc<dyn Fn(Conn) -> BoxFuture<'static, ()> + Send + Sync>;

impl Conn {
    /// The next client frame; None when the client ended the stream.
    pub async fn next(&mut self) -> Option<client_frame::Frame> {
        self.inbound.message().await.ok().flatten()?.frame
    }

    /// The `Connect` frame that opens the stream.
    pub async fn connect(&mut self) -> Option<Connect> {
        match self.next().await? {
            client_frame::Frame::Connect(c) => Some(c),
            _ => None,
        }
    }

    /// The next request, answering pings on the way.
    pub async fn request(&mut self) -> Option<Request> {
        loop {
            match self.next().await? {
                client_frame::Frame::Request(r) => return Some(r),
                client_frame::Frame::Ping(_) => self.send(pong()).await,
                client_frame::Frame::Connect(_) => return None,
            }
        }
    }

    /// Sends a frame (ignored if the client is gone).
    pub async fn send(&self, frame: server_frame::Frame) {
        let _ = self.out.send(Ok(ServerFrame { frame: Some(frame) })).await;
    }

    /// Accepts the session.
    pub async fn accept(&self, session_id: i64, timeout_ms: i32, zxid: i64) {
        let connected = Connected {
            session_id,
            password: vec![7; 16],
            timeout_ms,
            zxid,
            reattached: false,
        };
        self.send(server_frame::Frame::Connected(connected)).await;
    }

    /// Refuses the connect with `code`.
    pub async fn reject(&self, code: proto::ErrorCode) {
        let rejected = ConnectRejected {
            err: code.as_i32(),
            message: "scripted".into(),
        };
        self.send(server_frame::Frame::Rejected(rejected)).await;
    }

    /// Reads frames until the client goes away, answering pings; requests
    /// get `answer`.
    pub async fn serve(mut self, answer: impl Fn(&Request) -> Response) {
        while let Some(request) = self.request().await {
            self.send(server_frame::Frame::Response(answer(&request)))
                .await;
        }
    }

    /// Reads and ignores everything (a server that went silent).
    pub async fn ignore(mut self) {
        while self.next().await.is_some() {}
    }
}

/// A pong.
pub fn pong() -> server_frame::Frame {
    server_frame::Frame::Pong(proto::v1::Pong { zxid: 0 })
}

/// A plain success for `request`.
pub fn ok(request: &Request) -> Response {
    Response {
        xid: request.xid,
        zxid: 0,
        err: 0,
        result: None,
    }
}

/// A stream event.
pub fn stream_event(stream_id: i64, zxid: i64, path: &str) -> server_frame::Frame {
    server_frame::Frame::Event(WatchEvent {
        r#type: proto::v1::EventType::NodeDataChanged as i32,
        path: path.into(),
        zxid,
        stream_id,
        err: 0,
    })
}

struct Service {
    script: Script,
    streams: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl Corral for Service {
    type SessionStream = ReceiverStream<Result<ServerFrame, Status>>;

    async fn session(
        &self,
        request: tonic::Request<Streaming<ClientFrame>>,
    ) -> Result<tonic::Response<Self::SessionStream>, Status> {
        let (out, rx) = mpsc::channel(64);
        let conn = Conn {
            n: self.streams.fetch_add(1, Ordering::SeqCst),
            inbound: request.into_inner(),
            out,
        };
        tokio::spawn((self.script)(conn));
        Ok(tonic::Response::new(ReceiverStream::new(rx)))
    }
}

/// A running fake server.
pub struct FakeServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Serves `script` on a loopback port the OS picks.
    pub async fn start(script: Script) -> anyhow::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let service = Service {
            script,
            streams: Arc::new(AtomicUsize::new(0)),
        };
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(CorralServer::new(service))
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await;
        });
        Ok(FakeServer { addr, task })
    }

    /// The address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Wraps an async closure as a [`Script`].
pub fn script<F, Fut>(f: F) -> Script
where
    F: Fn(Conn) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    Arc::new(move |conn| Box::pin(f(conn)))
}
