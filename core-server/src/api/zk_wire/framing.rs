//! Cancellation-safe framing of ZooKeeper requests: a 4-byte big-endian
//! length, then that many bytes.
//!
//! [`FrameReader::next_frame`] may be dropped at any await point (it is raced
//! against replies in the connection's `select!`) without losing a byte:
//! everything read lives in the reader's own buffer, never in the future.
//! A frame once started must arrive whole within the frame deadline, and the
//! bytes of a partly received frame are charged to a budget shared by all
//! connections, so slow or stalled senders cannot hold memory unbounded.

use crate::connection::{ByteBudget, Charge, CloseReason};
use bytes::{Buf, BytesMut};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Sleep;

/// Bytes asked of the socket per read at most.
const READ_CHUNK: usize = 64 * 1024;

/// Why no frame came.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("the connection was closed")]
    Closed,
    /// The peer closed the connection in the middle of a frame.
    #[error("the connection was closed in the middle of a frame")]
    Truncated,
    /// The length prefix was negative or over the limit.
    #[error("frame length {0} is out of range")]
    TooLarge(i64),
    /// A frame arrived whole but does not parse (a bad ConnectRequest).
    #[error("the frame does not parse")]
    Malformed,
    /// A started frame did not arrive whole in time.
    #[error("the frame did not arrive in time")]
    Timeout,
    /// The shared budget for partly received frames is used up.
    #[error("no budget left for partly received frames")]
    Budget,
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

impl FrameError {
    /// The close reason to record, if the server decided the close.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self {
            FrameError::Closed | FrameError::Truncated | FrameError::Io(_) => None,
            FrameError::TooLarge(_) => Some(CloseReason::FrameTooLarge),
            FrameError::Malformed => Some(CloseReason::Malformed),
            FrameError::Timeout => Some(CloseReason::FrameTimeout),
            FrameError::Budget => Some(CloseReason::PartialFrameBudget),
        }
    }
}

/// Reads length-prefixed frames from `R`, keeping partial frames across
/// cancellations.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    max: usize,
    charge: Charge,
    frame_timeout: Duration,
    /// Armed while a frame is partly received.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Bytes read (`corral_received_bytes_total{protocol="zookeeper"}`).
    received: metrics::Counter,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader of frames of at most `max` bytes; a started frame must finish
    /// within `frame_timeout`; buffered bytes are charged to `budget`.
    pub fn new(inner: R, max: usize, frame_timeout: Duration, budget: Arc<ByteBudget>) -> Self {
        Self {
            inner,
            buf: BytesMut::new(),
            max,
            charge: Charge::new(budget),
            frame_timeout,
            deadline: None,
            received: metrics::counter!("corral_received_bytes_total", "protocol" => "zookeeper"),
        }
    }

    /// The first four bytes of the stream without consuming them (for the
    /// four-letter words, which have no length prefix). Cancellation-safe.
    pub async fn peek_head(&mut self) -> Result<[u8; 4], FrameError> {
        while self.buf.len() < 4 {
            self.fill(4).await?;
        }
        Ok([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])
    }

    /// The next whole frame (without its length prefix). Cancellation-safe:
    /// if the future is dropped, the bytes read so far stay buffered.
    pub async fn next_frame(&mut self) -> Result<Vec<u8>, FrameError> {
        loop {
            if self.buf.len() >= 4 {
                let len = i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                if len < 0 || len as usize > self.max {
                    return Err(FrameError::TooLarge(len.into()));
                }
                let whole = 4 + len as usize;
                if self.buf.len() >= whole {
                    self.buf.advance(4);
                    let frame = self.buf.split_to(len as usize).to_vec();
                    self.settle();
                    return Ok(frame);
                }
                self.fill(whole).await?;
            } else {
                self.fill(4).await?;
            }
        }
    }

    /// True while a frame is partly received.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// After a frame is taken: re-arm the deadline for what is left and give
    /// back the budget of what was consumed.
    fn settle(&mut self) {
        self.deadline = None;
        if self.buf.is_empty() {
            // Release the memory of a large frame's buffer too.
            self.buf = BytesMut::new();
        } else {
            self.arm();
        }
        let held = self.buf.len();
        // Shrinking never fails.
        let _ = self.charge.set(held);
    }

    fn arm(&mut self) {
        if self.deadline.is_none() {
            self.deadline = Some(Box::pin(tokio::time::sleep(self.frame_timeout)));
        }
    }

    /// Reads more bytes, towards `want` buffered in all.
    async fn fill(&mut self, want: usize) -> Result<(), FrameError> {
        let room = want.saturating_sub(self.buf.len()).clamp(1, READ_CHUNK);
        self.buf.reserve(room);
        let read = match self.deadline.as_mut() {
            None => self.inner.read_buf(&mut self.buf).await?,
            Some(deadline) => {
                tokio::select! {
                    biased;
                    read = self.inner.read_buf(&mut self.buf) => read?,
                    _ = deadline.as_mut() => return Err(FrameError::Timeout),
                }
            }
        };
        self.received.increment(read as u64);
        if read == 0 {
            return Err(if self.buf.is_empty() {
                FrameError::Closed
            } else {
                FrameError::Truncated
            });
        }
        self.arm();
        if !self.charge.set(self.buf.len()) {
            return Err(FrameError::Budget);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn small_reader(
        server: tokio::io::DuplexStream,
        max: usize,
    ) -> FrameReader<tokio::io::DuplexStream> {
        FrameReader::new(
            server,
            max,
            Duration::from_secs(5),
            ByteBudget::new(1 << 20),
        )
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[tokio::test]
    async fn a_frame_survives_its_read_being_cancelled_at_every_byte() {
        let body: Vec<u8> = (0..=255u8).collect();
        let wire = [frame(&body), frame(b"second")].concat();
        for split in 1..wire.len() {
            let (mut client, server) = tokio::io::duplex(1 << 16);
            let budget = ByteBudget::new(1 << 20);
            let mut reader =
                FrameReader::new(server, 1 << 20, Duration::from_secs(5), budget.clone());
            client.write_all(&wire[..split]).await.expect("write");
            // Poll the read once; it is dropped mid-frame (cancellation).
            let early = futures::FutureExt::now_or_never(reader.next_frame());
            client.write_all(&wire[split..]).await.expect("write");
            let mut frames = Vec::new();
            if let Some(first) = early {
                frames.push(first.expect("first frame"));
            }
            while frames.len() < 2 {
                frames.push(reader.next_frame().await.expect("frame"));
            }
            assert_eq!(frames[0], body, "split at {split}");
            assert_eq!(frames[1], b"second", "split at {split}");
            assert_eq!(budget.used(), 0);
        }
    }

    #[tokio::test]
    async fn an_out_of_range_length_is_refused_without_reading_the_body() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut reader = small_reader(server, 100);
        client
            .write_all(&101i32.to_be_bytes())
            .await
            .expect("write");
        assert!(matches!(
            reader.next_frame().await,
            Err(FrameError::TooLarge(101))
        ));
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut reader = small_reader(server, 100);
        client
            .write_all(&(-1i32).to_be_bytes())
            .await
            .expect("write");
        assert!(matches!(
            reader.next_frame().await,
            Err(FrameError::TooLarge(-1))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_started_frame_that_stalls_times_out_but_an_idle_connection_does_not() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut reader = small_reader(server, 100);
        let idle = tokio::time::timeout(Duration::from_secs(60), reader.next_frame()).await;
        assert!(idle.is_err(), "no deadline between frames");
        client.write_all(&[0, 0]).await.expect("write");
        assert!(matches!(
            reader.next_frame().await,
            Err(FrameError::Timeout)
        ));
    }

    #[tokio::test]
    async fn partial_frames_are_charged_to_the_shared_budget() {
        let budget = ByteBudget::new(1000);
        let (mut a_client, a) = tokio::io::duplex(1 << 16);
        let (mut b_client, b) = tokio::io::duplex(1 << 16);
        let mut a = FrameReader::new(a, 1 << 20, Duration::from_secs(5), budget.clone());
        let mut b = FrameReader::new(b, 1 << 20, Duration::from_secs(5), budget.clone());
        a_client
            .write_all(&frame(&[7; 2000])[..900])
            .await
            .expect("write");
        assert!(futures::FutureExt::now_or_never(a.next_frame()).is_none());
        assert_eq!(budget.used(), 900);
        b_client
            .write_all(&frame(&[7; 2000])[..200])
            .await
            .expect("write");
        assert!(matches!(b.next_frame().await, Err(FrameError::Budget)));
        drop(a);
        drop(b);
        assert_eq!(budget.used(), 0, "closed readers give back what they held");
    }
}
