//! Queues: [`DistributedQueue`] (FIFO, each item to exactly one consumer).

mod fifo;

pub use fifo::DistributedQueue;
