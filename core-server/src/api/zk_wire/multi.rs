//! multi (op 14) and multiRead (op 22): decoding their ops and encoding
//! their per-op results, as ZooKeeper 3.8 does.
//!
//! Inside a multi a create's mode comes from its flags whatever its opcode
//! (ZooKeeper's `MultiOperationRecord` builds an `Op.create` from them):
//! flag 4 makes a container even through create (1); createTTL (21) with a
//! mode that is not a TTL mode is a plain create of that mode, its TTL
//! dropped; a flag that names no mode is BadArguments in its place
//! ([`MultiOp::Invalid`]), after the ops before it. A TTL flag through
//! create, create2 or createContainer is a MarshallingError for the whole
//! request (3.8 fails to read it). Results carry ZooKeeper's result types:
//! create (1, path only) or create2 (15, path and Stat), never 19 or 21,
//! which ZooKeeper's clients cannot read in a multi response.

use super::jute::{Reader, Writer};
use super::records::{op, Body};
use crate::service::{CreateArgs, MultiOp, ReadOp, Request};
use crate::txn::OpResult;
use proto::{CreateMode, ErrorCode};

/// A create inside a multi, and the result type its success is reported as.
fn create_op(r: &mut Reader<'_>, opcode: i32) -> Result<(MultiOp, i32), ErrorCode> {
    let (path, data, acl, flags, ttl_ms) = super::records::create_fields(r, opcode)?;
    let Ok(mode) = CreateMode::from_flag(flags) else {
        return Ok((MultiOp::Invalid, op::CREATE));
    };
    let ttl_ms = match opcode {
        op::CREATE_TTL if mode.is_ttl() => ttl_ms,
        op::CREATE_TTL => 0,
        _ if mode.is_ttl() => return Err(ErrorCode::MarshallingError),
        _ => 0,
    };
    // ZooKeeper 3.8 reports a create (1) without its Stat unless the op
    // became a container or TTL create; create2 keeps its Stat, as 3.9 does
    // (ZOOKEEPER-4026).
    let kind = if opcode == op::CREATE2 || mode.is_container() || mode.is_ttl() {
        op::CREATE2
    } else {
        op::CREATE
    };
    let args = CreateArgs {
        path,
        data,
        mode,
        ttl_ms,
        acl,
    };
    Ok((MultiOp::Create(args), kind))
}

/// Decodes a multi (`reads` false) or a multiRead (`reads` true). The body
/// remembers each op's result type.
pub fn decode(r: &mut Reader<'_>, reads: bool) -> Result<(Request, Body), ErrorCode> {
    let mut writes = Vec::new();
    let mut read_ops = Vec::new();
    let mut types = Vec::new();
    loop {
        let kind = r.i32()?;
        let done = r.bool()?;
        let _err = r.i32()?;
        if done {
            break;
        }
        match (kind, reads) {
            (op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL, false) => {
                let (create, result_kind) = create_op(r, kind)?;
                writes.push(create);
                types.push(result_kind);
            }
            (op::DELETE, false) => writes.push(MultiOp::Delete {
                path: r.string()?,
                version: r.i32()?,
            }),
            (op::SET_DATA, false) => writes.push(MultiOp::SetData {
                path: r.string()?,
                data: r.buffer()?,
                version: r.i32()?,
            }),
            (op::CHECK, false) => writes.push(MultiOp::Check {
                path: r.string()?,
                version: r.i32()?,
            }),
            (op::GET_DATA, true) => {
                read_ops.push(ReadOp::GetData(r.string()?));
                r.bool()?;
            }
            (op::GET_CHILDREN, true) => {
                read_ops.push(ReadOp::GetChildren(r.string()?));
                r.bool()?;
            }
            _ => return Err(ErrorCode::MarshallingError),
        }
        if !matches!(
            kind,
            op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL
        ) {
            types.push(kind);
        }
    }
    Ok(if reads {
        (Request::MultiRead(read_ops), Body::MultiRead(types))
    } else {
        (Request::Multi(writes), Body::Multi(types))
    })
}

/// The result types ZooKeeper 3.8 gives `request`'s ops: a plain create
/// (create or create2) reports its path only, as a create (1); a create
/// that became a container or TTL create keeps create2 (15) with its Stat
/// (ZOOKEEPER-4026 gave every create2 its Stat in 3.9).
pub fn types_as_3_8(request: &Request, body: Body) -> Body {
    let (Request::Multi(ops), Body::Multi(types)) = (request, &body) else {
        return body;
    };
    let mut types = types.clone();
    for (kind, op) in types.iter_mut().zip(ops) {
        if let MultiOp::Create(create) = op {
            if !create.mode.is_container() && !create.mode.is_ttl() {
                *kind = op::CREATE;
            }
        }
    }
    Body::Multi(types)
}

/// Writes a multi's results, each under its op's result type (`types`).
pub fn encode_results(w: &mut Writer, types: &[i32], results: Vec<Result<OpResult, ErrorCode>>) {
    for (i, result) in results.into_iter().enumerate() {
        let kind = types.get(i).copied().unwrap_or(op::ERROR);
        match result {
            Ok(OpResult::Created { path, stat }) => {
                if kind == op::CREATE {
                    w.i32(op::CREATE).bool(false).i32(0).string(&path);
                } else {
                    w.i32(op::CREATE2)
                        .bool(false)
                        .i32(0)
                        .string(&path)
                        .stat(&stat);
                }
            }
            Ok(OpResult::DataSet(stat)) => {
                w.i32(kind).bool(false).i32(0).stat(&stat);
            }
            Ok(_) => {
                w.i32(kind).bool(false).i32(0);
            }
            Err(code) => {
                w.i32(op::ERROR)
                    .bool(false)
                    .i32(code.as_i32())
                    .i32(code.as_i32());
            }
        }
    }
    w.i32(-1).bool(true).i32(-1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Acl, Stat};

    fn multi_of(ops: &[(i32, i32, Option<i64>)]) -> Vec<u8> {
        let mut w = Writer::frame();
        for (i, (opcode, flags, ttl)) in ops.iter().enumerate() {
            w.i32(*opcode).bool(false).i32(-1);
            w.string(&format!("/n{i}"))
                .buffer(None)
                .acls(&Acl::open())
                .i32(*flags);
            if let Some(ttl) = ttl {
                w.i64(*ttl);
            }
        }
        w.i32(-1).bool(true).i32(-1);
        w.finish()
    }

    fn decoded(ops: &[(i32, i32, Option<i64>)]) -> Result<(Vec<MultiOp>, Vec<i32>), ErrorCode> {
        let bytes = multi_of(ops);
        match decode(&mut Reader::new(&bytes[4..]), false)? {
            (Request::Multi(ops), Body::Multi(types)) => Ok((ops, types)),
            other => panic!("not a multi: {other:?}"),
        }
    }

    fn mode_and_ttl(op: &MultiOp) -> Option<(CreateMode, i64)> {
        match op {
            MultiOp::Create(c) => Some((c.mode, c.ttl_ms)),
            _ => None,
        }
    }

    #[test]
    fn the_flags_decide_the_mode_whatever_the_opcode() {
        let (ops, types) = decoded(&[
            (op::CREATE, 4, None),
            (op::CREATE_CONTAINER, 0, None),
            (op::CREATE_TTL, 0, Some(100)),
            (op::CREATE_TTL, 4, Some(100)),
            (op::CREATE_TTL, 1, Some(5)),
            (op::CREATE_TTL, 5, Some(0)),
            (op::CREATE2, 0, None),
        ])
        .expect("decodes");
        let modes: Vec<_> = ops.iter().map(mode_and_ttl).collect();
        assert_eq!(
            modes,
            vec![
                Some((CreateMode::Container, 0)),
                Some((CreateMode::Persistent, 0)),
                Some((CreateMode::Persistent, 0)),
                Some((CreateMode::Container, 0)),
                Some((CreateMode::Ephemeral, 0)),
                Some((CreateMode::PersistentWithTtl, 0)),
                Some((CreateMode::Persistent, 0)),
            ]
        );
        assert_eq!(
            types,
            vec![
                op::CREATE2,
                op::CREATE,
                op::CREATE,
                op::CREATE2,
                op::CREATE,
                op::CREATE2,
                op::CREATE2
            ]
        );
    }

    #[test]
    fn a_flag_that_names_no_mode_fails_in_place() {
        let (ops, types) = decoded(&[
            (op::CREATE, 0, None),
            (op::CREATE, 7, None),
            (op::CREATE_TTL, 9, Some(5)),
        ])
        .expect("decodes");
        assert!(matches!(ops[0], MultiOp::Create(_)));
        assert_eq!(ops[1], MultiOp::Invalid);
        assert_eq!(ops[2], MultiOp::Invalid);
        assert_eq!(types.len(), 3);
    }

    #[test]
    fn a_ttl_flag_without_a_ttl_field_is_a_marshalling_error() {
        for opcode in [op::CREATE, op::CREATE2, op::CREATE_CONTAINER] {
            assert_eq!(
                decoded(&[(opcode, 5, None)]).err(),
                Some(ErrorCode::MarshallingError),
                "opcode {opcode}"
            );
        }
    }

    #[test]
    fn results_use_only_create_and_create2_types() {
        let created = |path: &str| {
            Ok(OpResult::Created {
                path: path.into(),
                stat: Stat::default(),
            })
        };
        let mut w = Writer::frame();
        encode_results(
            &mut w,
            &[op::CREATE, op::CREATE2],
            vec![created("/a"), created("/b")],
        );
        let bytes = w.finish();
        let mut r = Reader::new(&bytes[4..]);
        assert_eq!(
            (r.i32(), r.bool(), r.i32()),
            (Ok(op::CREATE), Ok(false), Ok(0))
        );
        assert_eq!(r.string().as_deref(), Ok("/a"));
        assert_eq!(
            (r.i32(), r.bool(), r.i32()),
            (Ok(op::CREATE2), Ok(false), Ok(0))
        );
        assert_eq!(r.string().as_deref(), Ok("/b"));
        assert_eq!(r.remaining(), 68 + 9, "a Stat, then the closing header");
    }
}
