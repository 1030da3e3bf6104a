//! Applying one committed entry: single operations and session changes.
//!
//! Check order follows ZooKeeper's PrepRequestProcessor so the same bad request
//! gets the same error code. Every mutation is recorded in an [`Undo`] log so a
//! multi can roll back exactly (see `multi.rs`).

use super::multi::{apply_multi, Undo};
use super::quota::{self, QuotaCtx};
use super::{Applied, CreateTxn, Entry, OpResult, Txn};
use crate::tree::acl::{self, Acl};
use crate::tree::{EventKind, Node, NodeKind, StateMachine, TreeEvent, SPECIAL_PATHS};
use proto::{path, ErrorCode};

/// Applies a committed entry at `zxid`. Pure and deterministic: the same
/// entries in the same order give the same state, results and events.
///
/// # Panics
/// If `zxid` is not greater than the last applied zxid (log order broken: it
/// is better to stop than to diverge).
pub fn apply(sm: &mut StateMachine, zxid: i64, entry: &Entry) -> Applied {
    assert!(
        zxid > sm.last_zxid,
        "zxid {zxid} applied after {} (log order broken)",
        sm.last_zxid
    );
    sm.last_zxid = zxid;
    let mut events = Vec::new();
    let (txn, enforce) = match &entry.txn {
        Txn::QuotaEnforced(inner) => (inner.as_ref(), true),
        txn => (txn, false),
    };
    let mut quotas = QuotaCtx {
        enforce,
        breaches: Vec::new(),
    };
    let is_client_write = matches!(
        txn,
        Txn::Create(_)
            | Txn::Delete { .. }
            | Txn::SetData { .. }
            | Txn::SetAcl { .. }
            | Txn::Check { .. }
            | Txn::Multi(_)
    );
    if is_client_write && entry.session_id != 0 && !sm.sessions.contains_key(&entry.session_id) {
        return Applied {
            result: Err(ErrorCode::SessionExpired),
            events,
            quota_breaches: Vec::new(),
        };
    }
    let result = match txn {
        Txn::Multi(ops) => Ok(apply_multi(sm, zxid, entry, ops, &mut quotas, &mut events)),
        Txn::Check { .. } => Err(ErrorCode::Unimplemented),
        Txn::CreateSession {
            session_id,
            password,
            timeout_ms,
        } => {
            if *session_id == 0 || sm.sessions.contains_key(session_id) {
                Err(ErrorCode::BadArguments)
            } else {
                sm.sessions.insert(
                    *session_id,
                    crate::tree::SessionInfo {
                        timeout_ms: *timeout_ms,
                        password: password.clone(),
                    },
                );
                Ok(OpResult::SessionCreated)
            }
        }
        Txn::CloseSession { session_id } => close_session(sm, zxid, *session_id, &mut events),
        Txn::SetAcl { path, acl, version } => set_acl(sm, entry, path, acl, *version),
        Txn::DeleteContainer { path } => {
            delete_container(sm, zxid, entry.time_ms, path, &mut events)
        }
        single => {
            let mut undo = Vec::new();
            apply_op(sm, zxid, entry, single, &mut undo, &mut quotas, &mut events)
        }
    };
    Applied {
        result,
        events,
        quota_breaches: quotas.breaches,
    }
}

/// Applies one Create / Delete / SetData / Check, recording how to undo it.
pub(super) fn apply_op(
    sm: &mut StateMachine,
    zxid: i64,
    entry: &Entry,
    txn: &Txn,
    undo: &mut Vec<Undo>,
    quotas: &mut QuotaCtx,
    events: &mut Vec<TreeEvent>,
) -> Result<OpResult, ErrorCode> {
    match txn {
        Txn::Create(create) => apply_create(sm, zxid, entry, create, undo, quotas, events),
        Txn::Delete { path, version } => {
            if !has_basic_shape(path) || SPECIAL_PATHS.contains(&path.as_str()) {
                return Err(ErrorCode::BadArguments);
            }
            let parent = sm.nodes.get(parent_of(path)).ok_or(ErrorCode::NoNode)?;
            permit(sm, parent, acl::perms::DELETE, entry)?;
            let node = sm.nodes.get(path.as_str()).ok_or(ErrorCode::NoNode)?;
            check_version(*version, node.version)?;
            if !node.children.is_empty() {
                return Err(ErrorCode::NotEmpty);
            }
            remove(sm, zxid, path, undo, events);
            Ok(OpResult::Deleted)
        }
        Txn::SetData {
            path,
            data,
            version,
        } => {
            path::validate(path).map_err(|_| ErrorCode::BadArguments)?;
            let node = sm.nodes.get(path.as_str()).ok_or(ErrorCode::NoNode)?;
            permit(sm, node, acl::perms::WRITE, entry)?;
            let bytes_diff = quota::data_len(data.as_deref()) - quota::data_len(node.data());
            quota::check(sm, path, bytes_diff, 0, quotas)?;
            let node = sm.nodes.get_mut(path.as_str()).ok_or(ErrorCode::NoNode)?;
            check_version(*version, node.version)?;
            let old_len = node.data.as_ref().map_or(0, |d| d.len()) as u64;
            undo.push(Undo::DataSet {
                path: path.clone(),
                data: node.data.take(),
                version: node.version,
                mzxid: node.mzxid,
                mtime: node.mtime,
            });
            node.data = data.clone().map(Vec::into_boxed_slice);
            let new_len = node.data.as_ref().map_or(0, |d| d.len()) as u64;
            sm.data_bytes = (sm.data_bytes + new_len).saturating_sub(old_len);
            node.version = node.version.wrapping_add(1);
            node.mzxid = zxid;
            node.mtime = entry.time_ms;
            let (stat, node_acl) = (node.stat(), node.acl);
            quota::changed(sm, path, bytes_diff, 0, undo);
            events.push(TreeEvent {
                kind: EventKind::NodeDataChanged,
                path: path.clone(),
                acl: node_acl,
            });
            Ok(OpResult::DataSet(stat))
        }
        Txn::Check { path, version } => {
            path::validate(path).map_err(|_| ErrorCode::BadArguments)?;
            let node = sm.nodes.get(path.as_str()).ok_or(ErrorCode::NoNode)?;
            permit(sm, node, acl::perms::READ, entry)?;
            check_version(*version, node.version)?;
            Ok(OpResult::Checked)
        }
        Txn::Multi(_)
        | Txn::QuotaEnforced(_)
        | Txn::SetAcl { .. }
        | Txn::CreateSession { .. }
        | Txn::CloseSession { .. }
        | Txn::DeleteContainer { .. } => Err(ErrorCode::BadArguments),
    }
}

/// Checks the caller's permission on a node (ids carried by the entry).
fn permit(sm: &StateMachine, node: &Node, perm: i32, entry: &Entry) -> Result<(), ErrorCode> {
    acl::check(sm.acl_of(node), perm, &entry.auth, entry.is_super)
}

fn set_acl(
    sm: &mut StateMachine,
    entry: &Entry,
    p: &str,
    requested: &[Acl],
    version: i32,
) -> Result<OpResult, ErrorCode> {
    path::validate(p).map_err(|_| ErrorCode::BadArguments)?;
    let fixed = acl::fixup(requested, &entry.auth)?;
    let node = sm.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    permit(sm, node, acl::perms::ADMIN, entry)?;
    if version != -1 && version != node.aversion {
        return Err(ErrorCode::BadVersion);
    }
    let index = sm.intern_acl(fixed);
    let node = sm.nodes.get_mut(p).ok_or(ErrorCode::NoNode)?;
    node.aversion = node.aversion.wrapping_add(1);
    node.acl = index;
    Ok(OpResult::AclSet(node.stat()))
}

fn check_version(expected: i32, actual: i32) -> Result<(), ErrorCode> {
    if expected == -1 || expected == actual {
        Ok(())
    } else {
        Err(ErrorCode::BadVersion)
    }
}

/// ZooKeeper's first, weak path check (PrepRequestProcessor's
/// `validatePathForCreate` and `getParentPathAndValidate`): a `/` somewhere
/// and no NUL. A path that passes is looked up by its parent, everything
/// before its last `/` (`a/b` has the parent `a`, which never exists: NoNode).
fn has_basic_shape(p: &str) -> bool {
    p.contains('/') && !p.contains('\0')
}

/// The parent a create or delete looks up first: everything before the last
/// `/`, the root for `/name` (ZooKeeper's tree also keeps the root under
/// ``). Only for paths that [`has_basic_shape`].
fn parent_of(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

fn apply_create(
    sm: &mut StateMachine,
    zxid: i64,
    entry: &Entry,
    create: &CreateTxn,
    undo: &mut Vec<Undo>,
    quotas: &mut QuotaCtx,
    events: &mut Vec<TreeEvent>,
) -> Result<OpResult, ErrorCode> {
    let mode = create.mode;
    mode.validate_ttl(create.ttl_ms)?;
    if mode.is_ephemeral() && entry.session_id == 0 {
        return Err(ErrorCode::BadArguments);
    }
    if !has_basic_shape(&create.path) {
        return Err(ErrorCode::BadArguments);
    }
    let fixed_acl = acl::fixup(&create.acl, &entry.auth)?;
    // The parent is looked up before full validation, as ZooKeeper does, so
    // `/a//b` is NoNode while `/a/` is BadArguments (and `/` is NodeExists:
    // its parent is the root itself).
    let parent_path = parent_of(&create.path);
    let parent = sm.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
    permit(sm, parent, acl::perms::CREATE, entry)?;
    let final_path = if mode.is_sequential() {
        format!("{}{:010}", create.path, parent.stored_cversion)
    } else {
        create.path.clone()
    };
    path::validate(&final_path).map_err(|_| ErrorCode::BadArguments)?;
    if sm.nodes.contains_key(&final_path) {
        return Err(ErrorCode::NodeExists);
    }
    if parent.ephemeral_owner().is_some() {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let len = quota::data_len(create.data.as_deref());
    quota::check(sm, &final_path, len, 1, quotas)?;
    let kind = if mode.is_ephemeral() {
        NodeKind::Ephemeral(entry.session_id)
    } else if mode.is_container() {
        NodeKind::Container
    } else if mode.is_ttl() {
        NodeKind::Ttl(create.ttl_ms)
    } else {
        NodeKind::Persistent
    };
    let parent = sm.nodes.get_mut(parent_path).ok_or(ErrorCode::NoNode)?;
    let parent_acl = parent.acl;
    undo.push(Undo::Created {
        path: final_path.clone(),
        parent: parent_path.to_string(),
        parent_cversion: parent.stored_cversion,
        parent_pzxid: parent.pzxid,
    });
    parent.stored_cversion = parent.stored_cversion.wrapping_add(1);
    parent.pzxid = zxid;
    let acl_index = sm.intern_acl(fixed_acl);
    let mut node = Node::new(create.data.clone(), kind, zxid, entry.time_ms);
    node.acl = acl_index;
    let stat = node.stat();
    sm.link(&final_path, node);
    quota::created(sm, &final_path, len, undo);
    events.push(TreeEvent {
        kind: EventKind::NodeCreated,
        path: final_path.clone(),
        acl: acl_index,
    });
    events.push(TreeEvent {
        kind: EventKind::NodeChildrenChanged,
        path: parent_path.to_string(),
        acl: parent_acl,
    });
    Ok(OpResult::Created {
        path: final_path,
        stat,
    })
}

/// Removes an existing, childless node, updating its parent and recording undo.
fn remove(
    sm: &mut StateMachine,
    zxid: i64,
    p: &str,
    undo: &mut Vec<Undo>,
    events: &mut Vec<TreeEvent>,
) {
    let parent_path = path::parent(p).unwrap_or("/").to_string();
    let Some(node) = sm.unlink(p) else { return };
    let (parent_pzxid, parent_acl) = sm
        .nodes
        .get(&parent_path)
        .map_or((0, 0), |n| (n.pzxid, n.acl));
    let node_acl = node.acl;
    if let Some(parent) = sm.nodes.get_mut(&parent_path) {
        if zxid > parent.pzxid {
            parent.pzxid = zxid;
        }
    }
    let len = quota::data_len(node.data());
    undo.push(Undo::Deleted {
        path: p.to_string(),
        node,
        parent: parent_path.clone(),
        parent_pzxid,
    });
    quota::changed(sm, p, -len, -1, undo);
    events.push(TreeEvent {
        kind: EventKind::NodeDeleted,
        path: p.to_string(),
        acl: node_acl,
    });
    events.push(TreeEvent {
        kind: EventKind::NodeChildrenChanged,
        path: parent_path,
        acl: parent_acl,
    });
}

fn close_session(
    sm: &mut StateMachine,
    zxid: i64,
    session_id: i64,
    events: &mut Vec<TreeEvent>,
) -> Result<OpResult, ErrorCode> {
    if sm.sessions.remove(&session_id).is_none() {
        return Err(ErrorCode::SessionExpired);
    }
    let owned: Vec<(i64, String)> = sm
        .ephemerals
        .get(&session_id)
        .map(|s| {
            s.iter()
                .map(|p| (sm.nodes.get(p.as_str()).map_or(0, |n| n.czxid), p.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut undo = Vec::new();
    // In ZooKeeper's order, so their events come in its order too.
    for p in super::java_order::close_order(owned) {
        remove(sm, zxid, &p, &mut undo, events);
    }
    Ok(OpResult::SessionClosed)
}

fn delete_container(
    sm: &mut StateMachine,
    zxid: i64,
    now_ms: i64,
    p: &str,
    events: &mut Vec<TreeEvent>,
) -> Result<OpResult, ErrorCode> {
    let node = sm.nodes.get(p).ok_or(ErrorCode::NoNode)?;
    match node.kind() {
        NodeKind::Container | NodeKind::Ttl(_) => {}
        _ => return Err(ErrorCode::BadArguments),
    }
    if !node.children.is_empty() {
        return Err(ErrorCode::NotEmpty);
    }
    if !node.is_reapable(now_ms) {
        return Err(ErrorCode::BadArguments);
    }
    remove(sm, zxid, p, &mut Vec::new(), events);
    Ok(OpResult::Deleted)
}
