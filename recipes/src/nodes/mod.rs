//! Nodes a client keeps: [`GroupMember`] (membership with a live member list).

mod group;

pub use group::GroupMember;
