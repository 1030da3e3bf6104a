//! Barriers: [`Barrier`] (wait until someone removes it) and [`DoubleBarrier`]
//! (enter together when N have arrived, leave together when all are done).

mod barrier;
mod double;

pub use barrier::Barrier;
pub use double::DoubleBarrier;
