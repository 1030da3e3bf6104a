//! Machinery every recipe shares, written once: the sequential-node contender
//! (protected create, line order, whose turn it is, waiting on the blocker
//! only), the waiting driver every recipe's waits run on, the hold state of
//! anything a recipe holds, fencing tokens with guarded writes, and path
//! helpers.

pub mod contender;
pub mod fencing;
pub mod held;
pub mod hold;
pub mod paths;
pub mod wait;

pub use contender::{Contender, Ticket, Turn};
pub use fencing::FencingToken;
pub use held::HeldNode;
pub use hold::{Hold, HoldWatch};
pub use wait::{Step, Waiter, Wake};
