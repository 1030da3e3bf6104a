//! Runs a seeded workload against one server over bare ZooKeeper frames and
//! writes its transcript: every step's outcome, then the notifications each
//! session received, probed on every session after each step. Server-chosen
//! values are made comparable: zxids by rank among the transcript's zxids,
//! times by relation (ctime to mtime), session ids by slot label, the run's
//! root as `{r}`.

use super::ops::{AclKind, Op, PathRef, Step, SubOp, Workload};
use crate::raw_zk::{self, Body, RawZk, ReplyHeader};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How long one reply may take.
const REPLY_LIMIT: Duration = Duration::from_secs(30);

/// A zxid in a line before ranks are known: `\u{1}` VALUE `\u{1}`.
fn zxid_mark(zxid: i64) -> String {
    format!("\u{1}{zxid}\u{1}")
}

/// One session slot.
struct Slot {
    zk: RawZk,
    events: Vec<String>,
}

/// What a run knows: its server, root, sessions and the names it was given.
struct Run {
    addr: SocketAddr,
    root: String,
    slots: Vec<Slot>,
    labels: HashMap<i64, usize>,
    sequential: Vec<String>,
}

/// A reply: its header and body, or the connection closed first.
enum Reply {
    Answer(ReplyHeader, Vec<u8>),
    Closed,
}

/// Reads bare jute values from a reply body.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> anyhow::Result<&[u8]> {
        anyhow::ensure!(self.0.len() >= n, "short reply");
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn i32(&mut self) -> anyhow::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> anyhow::Result<i64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(b))
    }
    fn buffer(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(len as usize)?.to_vec()))
    }
    fn string(&mut self) -> anyhow::Result<String> {
        Ok(String::from_utf8_lossy(&self.buffer()?.unwrap_or_default()).into_owned())
    }
}

impl Run {
    fn path(&self, path: &PathRef) -> String {
        match path {
            PathRef::Literal(template) => template.replace("{r}", &self.root),
            PathRef::Sequential(n) if !self.sequential.is_empty() => {
                self.sequential[n % self.sequential.len()].clone()
            }
            PathRef::Sequential(_) => self.root.clone(),
        }
    }

    fn canonical(&self, text: &str) -> String {
        let parent = self.root.rsplit_once('/').map_or("", |(parent, _)| parent);
        text.replace(&self.root, "{r}").replace(parent, "{p}")
    }

    fn label(&mut self, session_id: i64) -> usize {
        let next = self.labels.len();
        *self.labels.entry(session_id).or_insert(next)
    }

    fn stat(&self, c: &mut Cursor<'_>) -> anyhow::Result<String> {
        let (czxid, mzxid, ctime, mtime) = (c.i64()?, c.i64()?, c.i64()?, c.i64()?);
        let (version, cversion, aversion) = (c.i32()?, c.i32()?, c.i32()?);
        let owner = c.i64()?;
        let (length, children, pzxid) = (c.i32()?, c.i32()?, c.i64()?);
        // Times by relation: both servers stamp in milliseconds, so whether
        // a change fell in the same millisecond as the create is chance;
        // only an mtime before the ctime would be wrong.
        let times = if ctime <= mtime { "c<=m" } else { "c>m" };
        let owner = match owner {
            0 => "-".to_string(),
            id => self
                .labels
                .get(&id)
                .map_or("s?".to_string(), |l| format!("s{l}")),
        };
        Ok(format!(
            "[{} {} {} {times} v{version} cv{cversion} av{aversion} {owner} len{length} n{children}]",
            zxid_mark(czxid),
            zxid_mark(mzxid),
            zxid_mark(pzxid),
        ))
    }

    /// Sends `frame` on slot `slot` and waits for the reply to `xid`,
    /// keeping notifications that come first.
    async fn call(&mut self, slot: usize, xid: i32, frame: &[u8]) -> anyhow::Result<Reply> {
        let s = &mut self.slots[slot];
        if s.zk.stream.write_all(frame).await.is_err() {
            return Ok(Reply::Closed);
        }
        loop {
            let next =
                tokio::time::timeout(REPLY_LIMIT, raw_zk::read_frame(&mut s.zk.stream)).await??;
            let Some(frame) = next else {
                return Ok(Reply::Closed);
            };
            let header = raw_zk::header(&frame)?;
            if header.xid == -1 {
                let mut c = Cursor(&frame[16..]);
                let (kind, state, path) = (c.i32()?, c.i32()?, c.string()?);
                let zxid = if header.zxid == -1 { "-1" } else { "zxid" };
                let parent = self.root.rsplit_once('/').map_or("", |(p, _)| p);
                let path = path.replace(&self.root, "{r}").replace(parent, "{p}");
                s.events.push(format!("event {kind} {state} {path} {zxid}"));
                continue;
            }
            anyhow::ensure!(header.xid == xid, "reply to xid {} for {xid}", header.xid);
            return Ok(Reply::Answer(header, frame[16..].to_vec()));
        }
    }

    /// Reattaches slot `slot`'s session after its connection was closed.
    async fn reattach(&mut self, slot: usize) -> anyhow::Result<()> {
        let (id, password) = {
            let zk = &self.slots[slot].zk;
            (zk.session_id, zk.password.clone())
        };
        self.slots[slot].zk = RawZk::reattach(self.addr, id, &password).await?;
        Ok(())
    }

    async fn new_session(&mut self, slot: usize) -> anyhow::Result<()> {
        let zk = RawZk::connect(self.addr).await?;
        self.label(zk.session_id);
        self.slots[slot].zk = zk;
        Ok(())
    }
}

fn acl_body(body: Body, acl: AclKind) -> Body {
    let body = body.i32(1);
    match acl {
        AclKind::World(perms) => body.i32(perms).string("world").string("anyone"),
        AclKind::Auth => body.i32(31).string("auth").string(""),
        AclKind::Loopback => body.i32(31).string("ip").string("127.0.0.1"),
    }
}

/// The request frame of `op` (None for a close, sent on its own).
fn request(run: &Run, xid: i32, op: &Op) -> Vec<u8> {
    match op {
        Op::Create {
            opcode,
            path,
            data,
            flags,
            acl,
        } => {
            let body = Body::default()
                .string(&run.path(path))
                .bytes(&vec![b'd'; *data]);
            raw_zk::request(xid, *opcode, acl_body(body, *acl).i32(*flags))
        }
        Op::Delete(path, version) => raw_zk::request(
            xid,
            raw_zk::OP_DELETE,
            Body::default().string(&run.path(path)).i32(*version),
        ),
        Op::SetData(path, data, version) => raw_zk::request(
            xid,
            raw_zk::OP_SET_DATA,
            Body::default()
                .string(&run.path(path))
                .bytes(&vec![b'e'; *data])
                .i32(*version),
        ),
        Op::Read(opcode, path, watch) => {
            raw_zk::request(xid, *opcode, raw_zk::watch_body(&run.path(path), *watch))
        }
        Op::AllChildren(path) => raw_zk::request(
            xid,
            raw_zk::OP_ALL_CHILDREN_NUMBER,
            raw_zk::path_body(&run.path(path)),
        ),
        Op::GetAcl(path) => {
            raw_zk::request(xid, raw_zk::OP_GET_ACL, raw_zk::path_body(&run.path(path)))
        }
        Op::SetAcl(path, acl, version) => {
            let body = acl_body(Body::default().string(&run.path(path)), *acl);
            raw_zk::request(xid, 7, body.i32(*version))
        }
        Op::Sync(path) => raw_zk::request(xid, raw_zk::OP_SYNC, raw_zk::path_body(&run.path(path))),
        Op::AddAuth(user) => {
            let auth = format!("u{user}:p{user}");
            let body = Body::default()
                .i32(0)
                .string("digest")
                .bytes(auth.as_bytes());
            raw_zk::request(-4, 100, body)
        }
        Op::AddWatch(path, mode) => raw_zk::request(
            xid,
            raw_zk::OP_ADD_WATCH,
            Body::default().string(&run.path(path)).i32(*mode),
        ),
        Op::Watches(opcode, path, kind) => raw_zk::request(
            xid,
            *opcode,
            Body::default().string(&run.path(path)).i32(*kind),
        ),
        Op::Multi(ops) => {
            let ops = ops
                .iter()
                .map(|op| match op {
                    SubOp::Create(path, flags) => (
                        raw_zk::OP_CREATE,
                        raw_zk::create_body(&run.path(path), b"m", *flags, None),
                    ),
                    SubOp::Delete(path, version) => (
                        raw_zk::OP_DELETE,
                        Body::default().string(&run.path(path)).i32(*version),
                    ),
                    SubOp::SetData(path, version) => (
                        raw_zk::OP_SET_DATA,
                        Body::default()
                            .string(&run.path(path))
                            .bytes(b"n")
                            .i32(*version),
                    ),
                    SubOp::Check(path, version) => (
                        raw_zk::OP_CHECK,
                        Body::default().string(&run.path(path)).i32(*version),
                    ),
                })
                .collect();
            raw_zk::multi(xid, ops)
        }
        Op::Close => raw_zk::request(xid, -11, Body::default()),
    }
}

/// The outcome of a successful reply to `op`, as a transcript line.
fn answer(run: &mut Run, op: &Op, body: &[u8]) -> anyhow::Result<String> {
    let mut c = Cursor(body);
    Ok(match op {
        Op::Create { opcode, flags, .. } => {
            let path = c.string()?;
            if flags & 2 != 0 {
                run.sequential.push(path.clone());
            }
            let stat = if *opcode == raw_zk::OP_CREATE2 {
                run.stat(&mut c)?
            } else {
                String::new()
            };
            format!("{} {stat}", run.canonical(&path))
        }
        Op::SetData(..) | Op::SetAcl(..) => run.stat(&mut c)?,
        Op::Read(opcode, ..) => match *opcode {
            raw_zk::OP_EXISTS => run.stat(&mut c)?,
            raw_zk::OP_GET_DATA => {
                let data = c
                    .buffer()?
                    .map_or("null".to_string(), |d| d.len().to_string());
                format!("data {data} {}", run.stat(&mut c)?)
            }
            _ => {
                let count = c.i32()?.max(0);
                let mut children = BTreeSet::new();
                for _ in 0..count {
                    children.insert(c.string()?);
                }
                let stat = if *opcode == raw_zk::OP_GET_CHILDREN2 {
                    run.stat(&mut c)?
                } else {
                    String::new()
                };
                format!("{children:?} {stat}")
            }
        },
        Op::AllChildren(_) => c.i32()?.to_string(),
        Op::GetAcl(_) => {
            let count = c.i32()?.max(0);
            let mut acl = Vec::new();
            for _ in 0..count {
                let perms = c.i32()?;
                acl.push(format!("{perms} {}:{}", c.string()?, c.string()?));
            }
            format!("{acl:?} {}", run.stat(&mut c)?)
        }
        Op::Sync(_) => run.canonical(&c.string()?),
        Op::Multi(_) => multi_results(run, &mut c)?,
        Op::Delete(..) | Op::AddAuth(_) | Op::AddWatch(..) | Op::Watches(..) | Op::Close => {
            String::new()
        }
    })
}

fn multi_results(run: &mut Run, c: &mut Cursor<'_>) -> anyhow::Result<String> {
    let mut results = Vec::new();
    loop {
        let (kind, done, err) = (c.i32()?, c.take(1)?[0] != 0, c.i32()?);
        if done {
            return Ok(results.join(", "));
        }
        results.push(match kind {
            -1 => format!("err {}", c.i32()?),
            raw_zk::OP_CREATE | raw_zk::OP_CREATE2 => {
                let path = c.string()?;
                if path.rsplit('/').next().is_some_and(|last| {
                    last.len() >= 10 && last[last.len() - 10..].bytes().all(|b| b.is_ascii_digit())
                }) {
                    run.sequential.push(path.clone());
                }
                let stat = if kind == raw_zk::OP_CREATE2 {
                    run.stat(c)?
                } else {
                    String::new()
                };
                format!("create {} {stat}", run.canonical(&path))
            }
            raw_zk::OP_SET_DATA => format!("set {}", run.stat(c)?),
            other => format!("{other} {err}"),
        });
    }
}

/// Runs `workload` against `addr` under `root` and returns its transcript.
pub async fn transcript(
    addr: SocketAddr,
    root: &str,
    workload: &Workload,
) -> anyhow::Result<Vec<String>> {
    let mut run = Run {
        addr,
        root: root.to_string(),
        slots: Vec::new(),
        labels: HashMap::new(),
        sequential: Vec::new(),
    };
    for _ in 0..workload.sessions {
        let zk = RawZk::connect(addr).await?;
        run.label(zk.session_id);
        run.slots.push(Slot {
            zk,
            events: Vec::new(),
        });
    }
    let parent = root.rsplit_once('/').map_or("", |(parent, _)| parent);
    for (xid, path) in [(1, parent), (2, root)] {
        let setup = raw_zk::create(xid, path, b"");
        let made = run.call(0, xid, &setup).await?;
        anyhow::ensure!(
            matches!(made, Reply::Answer(h, _) if h.err == 0),
            "cannot create {path}"
        );
    }
    let mut lines = Vec::new();
    for (i, Step { session, op }) in workload.steps.iter().enumerate() {
        let xid = 10 + i as i32;
        let frame = request(&run, xid, op);
        let expect = if matches!(op, Op::AddAuth(_)) {
            -4
        } else {
            xid
        };
        let outcome = match run.call(*session, expect, &frame).await? {
            Reply::Closed => {
                run.reattach(*session).await?;
                "closed".to_string()
            }
            Reply::Answer(header, _) if header.err != 0 => format!("err {}", header.err),
            Reply::Answer(_, body) => format!("ok {}", answer(&mut run, op, &body)?),
        };
        if matches!(op, Op::Close) {
            run.new_session(*session).await?;
        }
        lines.push(format!("{i} s{session} {op:?}: {outcome}"));
        for slot in 0..run.slots.len() {
            let probe = raw_zk::request(
                5_000_000 + i as i32,
                raw_zk::OP_EXISTS,
                raw_zk::watch_body("/", false),
            );
            if let Reply::Closed = run.call(slot, 5_000_000 + i as i32, &probe).await? {
                run.reattach(slot).await?;
            }
            for event in std::mem::take(&mut run.slots[slot].events) {
                lines.push(format!("{i}   s{slot} {event}"));
            }
        }
    }
    for slot in 0..run.slots.len() {
        let _ = run
            .call(slot, 9, &raw_zk::request(9, -11, Body::default()))
            .await;
    }
    Ok(rank_zxids(lines))
}

/// Replaces every zxid mark by its rank among the transcript's zxids.
fn rank_zxids(lines: Vec<String>) -> Vec<String> {
    let mut zxids = BTreeSet::new();
    for line in &lines {
        for (n, part) in line.split('\u{1}').enumerate() {
            if n % 2 == 1 {
                if let Ok(z) = part.parse::<i64>() {
                    zxids.insert(z);
                }
            }
        }
    }
    let rank: HashMap<i64, usize> = zxids.into_iter().enumerate().map(|(r, z)| (z, r)).collect();
    lines
        .into_iter()
        .map(|line| {
            line.split('\u{1}')
                .enumerate()
                .map(|(n, part)| match (n % 2, part.parse::<i64>()) {
                    (1, Ok(z)) => format!("z{}", rank.get(&z).copied().unwrap_or(usize::MAX)),
                    _ => part.to_string(),
                })
                .collect()
        })
        .collect()
}
