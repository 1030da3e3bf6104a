//! The seeded generator's operations: what one step does, drawn from a seed
//! alone (never from a server's answers), so the same seed gives the same
//! steps against every server. Paths are symbolic where they name an
//! earlier sequential node ([`PathRef::Sequential`]): each run resolves them
//! against the names its own server gave.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Names at each level of the tree under a run's root.
const NAMES: [&str; 3] = ["a", "b", "c"];

/// Paths no ZooKeeper accepts (or accepts only for some operations).
const INVALID: [&str; 6] = ["", "a", "{r}/", "{r}//a", "{r}/./a", "{r}/a/"];

/// A path as the generator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRef {
    /// A path template: `{r}` in it stands for the run's root.
    Literal(String),
    /// The `n`-th sequential name this run's server gave (modulo how many
    /// there are; the root when there are none).
    Sequential(usize),
}

/// An ACL as the generator names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclKind {
    /// world:anyone with these permissions.
    World(i32),
    /// auth: (the session's authenticated ids), all permissions.
    Auth,
    /// ip:127.0.0.1, all permissions.
    Loopback,
}

/// One operation inside a multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubOp {
    /// create (flags 0-3).
    Create(PathRef, i32),
    /// delete with a version (-1: any).
    Delete(PathRef, i32),
    /// setData with a version.
    SetData(PathRef, i32),
    /// check with a version.
    Check(PathRef, i32),
}

/// One step's operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// create (opcode 1) or create2 (15): path, data length, flags, ACL.
    Create {
        /// Opcode 1 or 15.
        opcode: i32,
        /// Where.
        path: PathRef,
        /// Bytes of data.
        data: usize,
        /// 0-3: persistent, ephemeral, sequential, ephemeral sequential.
        flags: i32,
        /// The node's ACL.
        acl: AclKind,
    },
    /// delete with a version.
    Delete(PathRef, i32),
    /// setData: path, data length, version.
    SetData(PathRef, usize, i32),
    /// exists, getData, getChildren or getChildren2 (by opcode), with or
    /// without a watch.
    Read(i32, PathRef, bool),
    /// getAllChildrenNumber.
    AllChildren(PathRef),
    /// getACL.
    GetAcl(PathRef),
    /// setACL with an aversion.
    SetAcl(PathRef, AclKind, i32),
    /// sync.
    Sync(PathRef),
    /// addauth digest USER:PASSWORD (one of two users).
    AddAuth(u8),
    /// addWatch: mode 0 persistent, 1 persistent recursive.
    AddWatch(PathRef, i32),
    /// checkWatches (17) or removeWatches (18) of a type (1-3).
    Watches(i32, PathRef, i32),
    /// multi of these.
    Multi(Vec<SubOp>),
    /// closeSession, then a new session takes the slot.
    Close,
}

/// One step: which session slot runs which operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The session slot (0-based).
    pub session: usize,
    /// What it does.
    pub op: Op,
}

/// A seeded workload: how many session slots, and the steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Session slots (1-3).
    pub sessions: usize,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Draws `count` steps from `seed`.
pub fn workload(seed: u64, count: usize) -> Workload {
    let mut rng = StdRng::seed_from_u64(seed);
    let sessions = rng.gen_range(1..=3);
    let steps = (0..count)
        .map(|_| Step {
            session: rng.gen_range(0..sessions),
            op: op(&mut rng),
        })
        .collect();
    Workload { sessions, steps }
}

fn path(rng: &mut StdRng) -> PathRef {
    match rng.gen_range(0..100) {
        0..6 => PathRef::Literal(INVALID[rng.gen_range(0..INVALID.len())].to_string()),
        6..20 => PathRef::Sequential(rng.gen_range(0..8)),
        20..24 => PathRef::Literal("{r}".to_string()),
        _ => {
            let depth = rng.gen_range(1..=3);
            let mut p = "{r}".to_string();
            for _ in 0..depth {
                p.push('/');
                p.push_str(NAMES[rng.gen_range(0..NAMES.len())]);
            }
            PathRef::Literal(p)
        }
    }
}

fn version(rng: &mut StdRng) -> i32 {
    match rng.gen_range(0..10) {
        0..5 => -1,
        5..8 => 0,
        8 => 1,
        _ => 7,
    }
}

fn data(rng: &mut StdRng) -> usize {
    match rng.gen_range(0..200) {
        // Around the frame limit (1,048,575 bytes, the whole frame).
        0 => 1_048_575 - 60,
        1 => 1_048_576,
        2..20 => 0,
        20..150 => rng.gen_range(1..20),
        _ => rng.gen_range(100..3000),
    }
}

fn acl(rng: &mut StdRng) -> AclKind {
    match rng.gen_range(0..10) {
        0..5 => AclKind::World(31),
        5 => AclKind::World(1),
        6 => AclKind::World(2),
        7 => AclKind::World(0),
        8 => AclKind::Auth,
        _ => AclKind::Loopback,
    }
}

fn flags(rng: &mut StdRng) -> i32 {
    match rng.gen_range(0..10) {
        0..5 => 0,
        5..7 => 1,
        7..9 => 2,
        _ => 3,
    }
}

fn sub_op(rng: &mut StdRng) -> SubOp {
    match rng.gen_range(0..4) {
        0 => SubOp::Create(path(rng), flags(rng)),
        1 => SubOp::Delete(path(rng), version(rng)),
        2 => SubOp::SetData(path(rng), version(rng)),
        _ => SubOp::Check(path(rng), version(rng)),
    }
}

fn op(rng: &mut StdRng) -> Op {
    match rng.gen_range(0..100) {
        0..25 => Op::Create {
            opcode: if rng.gen_bool(0.3) { 15 } else { 1 },
            path: path(rng),
            data: data(rng),
            flags: flags(rng),
            acl: acl(rng),
        },
        25..33 => Op::Delete(path(rng), version(rng)),
        33..43 => Op::SetData(path(rng), data(rng), version(rng)),
        43..63 => {
            let opcode = [3, 4, 8, 12][rng.gen_range(0..4)];
            Op::Read(opcode, path(rng), rng.gen_bool(0.5))
        }
        63..66 => Op::AllChildren(path(rng)),
        66..70 => Op::GetAcl(path(rng)),
        70..75 => Op::SetAcl(path(rng), acl(rng), version(rng)),
        75..77 => Op::Sync(path(rng)),
        77..80 => Op::AddAuth(rng.gen_range(0..2)),
        80..84 => Op::AddWatch(path(rng), rng.gen_range(0..2)),
        84..87 => Op::Watches(
            if rng.gen_bool(0.5) { 17 } else { 18 },
            path(rng),
            rng.gen_range(1..=3),
        ),
        87..97 => {
            let n = rng.gen_range(1..=4);
            Op::Multi((0..n).map(|_| sub_op(rng)).collect())
        }
        _ => Op::Close,
    }
}

#[test]
fn a_seed_always_draws_the_same_workload() {
    assert_eq!(workload(7, 200), workload(7, 200));
    assert_ne!(workload(7, 200), workload(8, 200));
}
