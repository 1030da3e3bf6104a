//! Per-connection request ordering, shared by both front ends.
//!
//! Writes are pipelined: each goes into the log in arrival order and is
//! answered when it commits, in order. Any other request first waits for the
//! connection's earlier writes (per-session FIFO and read-your-writes), as
//! ZooKeeper's CommitProcessor does. `C` is whatever the front end needs to
//! encode the answer (for example the reply's shape).

use super::{is_pipelined_write, Connection, Request, Response, Service};
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use proto::ErrorCode;
use std::future::Future;
use std::pin::Pin;

/// Most writes of one connection awaiting commit at once.
pub const MAX_PIPELINED_WRITES: usize = 256;

type Answer<'a, C> = Pin<Box<dyn Future<Output = (Response, C)> + Send + 'a>>;

/// The ordered requests of one connection.
pub struct Pipeline<'a, C> {
    service: &'a Service,
    connection: &'a Connection,
    in_flight: FuturesOrdered<Answer<'a, C>>,
}

impl<'a, C: Send + 'a> Pipeline<'a, C> {
    /// A pipeline for one connection.
    pub fn new(service: &'a Service, connection: &'a Connection) -> Self {
        Pipeline {
            service,
            connection,
            in_flight: FuturesOrdered::new(),
        }
    }

    /// True when no more requests should be read until some complete.
    pub fn is_full(&self) -> bool {
        self.in_flight.len() >= MAX_PIPELINED_WRITES
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// The next answer in order, when it is ready (cancellation-safe).
    pub async fn next(&mut self) -> Option<(Response, C)> {
        self.in_flight.next().await
    }

    /// Queues an already-decided answer (a decode error) behind the writes in flight.
    pub fn push_error(&mut self, xid: i32, code: ErrorCode, ctx: C) {
        let response = Response {
            xid,
            zxid: self.service.state().last_zxid(),
            result: Err(code),
        };
        self.in_flight
            .push_back(Box::pin(async move { (response, ctx) }));
    }

    /// Submits a request. A write returns at once (its answer comes from
    /// [`next`](Self::next)); anything else first drains the writes in flight
    /// and returns their answers followed by its own, in order.
    pub async fn submit(&mut self, xid: i32, request: Request, ctx: C) -> Vec<(Response, C)> {
        // A read-only session's writes are refused by `handle`, in order.
        if is_pipelined_write(&request) && !self.connection.read_only {
            let service = self.service;
            let arrived = service.now();
            let op = super::latency::op_index(&request);
            let connection = self.connection;
            let pending = service.submit_write(connection, xid, request).await;
            self.in_flight.push_back(Box::pin(async move {
                let response = pending.finish().await;
                service.answered(connection, op, arrived);
                (response, ctx)
            }));
            return Vec::new();
        }
        let mut ready = Vec::with_capacity(self.in_flight.len() + 1);
        while let Some(answer) = self.in_flight.next().await {
            ready.push(answer);
        }
        let response = self.service.handle(self.connection, xid, request).await;
        ready.push((response, ctx));
        ready
    }
}
