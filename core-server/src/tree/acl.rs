//! ACLs: permission bits, the schemes (world, auth, digest, ip, x509, sasl), the fix-up a
//! create or setACL applies to a requested list, and permission checks.
//!
//! Pure functions of the node's ACL and the caller's ids; the caller's ids
//! travel in the log entry, so every server decides the same way.

use proto::ErrorCode;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Permission bits (ZooKeeper's `ZooDefs.Perms`).
pub mod perms {
    /// getData, getChildren, exists.
    pub const READ: i32 = 1;
    /// setData.
    pub const WRITE: i32 = 2;
    /// create a child.
    pub const CREATE: i32 = 4;
    /// delete a child.
    pub const DELETE: i32 = 8;
    /// setACL.
    pub const ADMIN: i32 = 16;
    /// Everything.
    pub const ALL: i32 = 31;
}

/// One ACL entry: permissions granted to an id of a scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Acl {
    /// Permission bits.
    pub perms: i32,
    /// Scheme: world, auth, digest, ip, x509 or sasl.
    pub scheme: String,
    /// The id within the scheme.
    pub id: String,
}

impl Acl {
    /// An entry.
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }

    /// `world:anyone` with all permissions (ZooKeeper's OPEN_ACL_UNSAFE).
    pub fn open() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "world", "anyone")]
    }

    /// `world:anyone` read-only (ZooKeeper's READ_ACL_UNSAFE).
    pub fn read_only() -> Vec<Acl> {
        vec![Acl::new(perms::READ, "world", "anyone")]
    }
}

/// An identity a connection has proven (or, for `ip`, has by its address).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuthId {
    /// Scheme: digest, ip, super.
    pub scheme: String,
    /// The id.
    pub id: String,
}

impl AuthId {
    /// An id.
    pub fn new(scheme: &str, id: &str) -> AuthId {
        AuthId {
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }
}

/// The digest id of `user:password`: `user:base64(sha1(user:password))`.
pub fn digest_id(user_password: &str) -> Option<String> {
    use base64::Engine;
    use sha1::Digest;
    let user = user_password.split_once(':')?.0;
    let hash = sha1::Sha1::digest(user_password.as_bytes());
    Some(format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    ))
}

fn parse_cidr(id: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match id.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (id, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((addr, bits))
}

fn ip_matches(acl_id: &str, caller: &str) -> bool {
    let (Some((net, bits)), Ok(addr)) = (parse_cidr(acl_id), caller.parse::<IpAddr>()) else {
        return false;
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(n) & mask) == (u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            (u128::from(n) & mask) == (u128::from(a) & mask)
        }
        _ => false,
    }
}

fn is_valid(acl: &Acl) -> bool {
    match acl.scheme.as_str() {
        "world" => acl.id == "anyone",
        "digest" => acl
            .id
            .split_once(':')
            .is_some_and(|(u, h)| !u.is_empty() && !h.is_empty()),
        "ip" => parse_cidr(&acl.id).is_some(),
        // A subject DN (ZooKeeper checks it parses as an X500Principal).
        "x509" => acl.id.contains('='),
        // ZooKeeper's SASL provider: a name that parses as a Kerberos name.
        "sasl" => is_kerberos_name(&acl.id),
        _ => false,
    }
}

/// `KerberosName`'s rule: `service[/host]@REALM`, or any name without `@`.
fn is_kerberos_name(id: &str) -> bool {
    match id.split_once('@') {
        None => true,
        Some((service_host, realm)) => {
            !realm.contains(['@', '/']) && service_host.matches('/').count() <= 1
        }
    }
}

/// Schemes whose ids were proven (ZooKeeper's `isAuthenticated`): the ids an
/// `auth` entry stands for.
fn is_authenticated(scheme: &str) -> bool {
    matches!(scheme, "digest" | "x509" | "sasl")
}

/// ZooKeeper's `fixupACL`: an empty list is invalid; `auth` entries become one
/// entry per authenticated (non-ip) id of the caller (none: invalid); other
/// entries must be of a known scheme and well formed; duplicates go.
pub fn fixup(requested: &[Acl], caller: &[AuthId]) -> Result<Vec<Acl>, ErrorCode> {
    if requested.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(requested.len());
    let push = |acl: Acl, out: &mut Vec<Acl>| {
        if !out.contains(&acl) {
            out.push(acl);
        }
    };
    for acl in requested {
        if acl.perms & !perms::ALL != 0 {
            return Err(ErrorCode::InvalidAcl);
        }
        if acl.scheme == "auth" {
            let mut added = false;
            for id in caller.iter().filter(|id| is_authenticated(&id.scheme)) {
                push(
                    Acl {
                        perms: acl.perms,
                        scheme: id.scheme.clone(),
                        id: id.id.clone(),
                    },
                    &mut out,
                );
                added = true;
            }
            if !added {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if is_valid(acl) {
            push(acl.clone(), &mut out);
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// Succeeds if `acl` grants `perm` to any of the caller's ids (or the caller
/// is the super user, or the list is empty); else NoAuth.
pub fn check(acl: &[Acl], perm: i32, caller: &[AuthId], is_super: bool) -> Result<(), ErrorCode> {
    if is_super || acl.is_empty() {
        return Ok(());
    }
    let granted = acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        (a.scheme == "world" && a.id == "anyone")
            || caller.iter().any(|id| {
                id.scheme == a.scheme
                    && match a.scheme.as_str() {
                        "ip" => ip_matches(&a.id, &id.id),
                        // ZooKeeper's SASL provider: a SASL user named
                        // `super` matches every sasl entry.
                        "sasl" => id.id == a.id || id.id == "super",
                        _ => id.id == a.id,
                    }
            })
    });
    if granted {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// The list as a caller without ADMIN sees it: digest hashes replaced by `x`
/// (ZooKeeper 3.6+).
pub fn redact(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| match (a.scheme.as_str(), a.id.split_once(':')) {
            ("digest", Some((user, _))) => Acl {
                perms: a.perms,
                scheme: a.scheme.clone(),
                id: format!("{user}:x"),
            },
            _ => a.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_zookeeper() {
        // ZooKeeper's DigestAuthenticationProvider.generateDigest("super:test").
        assert_eq!(
            digest_id("super:test").as_deref(),
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        );
        assert_eq!(digest_id("nocolon"), None);
    }

    #[test]
    fn world_ip_and_digest_grant_what_they_say() {
        let acl = vec![
            Acl::new(perms::READ, "ip", "10.0.0.0/8"),
            Acl::new(perms::ALL, "digest", "bob:h"),
        ];
        let from_net = [AuthId::new("ip", "10.1.2.3")];
        assert_eq!(check(&acl, perms::READ, &from_net, false), Ok(()));
        assert_eq!(
            check(&acl, perms::WRITE, &from_net, false),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            check(&acl, perms::WRITE, &[AuthId::new("digest", "bob:h")], false),
            Ok(())
        );
        assert_eq!(
            check(&acl, perms::READ, &[AuthId::new("ip", "11.0.0.1")], false),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            check(&acl, perms::ADMIN, &[], true),
            Ok(()),
            "super bypasses"
        );
        assert_eq!(check(&Acl::open(), perms::ADMIN, &[], false), Ok(()));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_the_invalid() {
        let caller = [
            AuthId::new("ip", "127.0.0.1"),
            AuthId::new("digest", "bob:h"),
        ];
        let fixed = fixup(
            &[
                Acl::new(perms::ALL, "auth", ""),
                Acl::new(perms::ALL, "auth", ""),
            ],
            &caller,
        );
        assert_eq!(fixed, Ok(vec![Acl::new(perms::ALL, "digest", "bob:h")]));
        assert_eq!(
            fixup(&[Acl::new(perms::ALL, "auth", "")], &caller[..1]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup(&[], &caller), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fixup(&[Acl::new(perms::ALL, "nope", "x")], &caller),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[Acl::new(perms::ALL, "ip", "300.1.1.1")], &caller),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[Acl::new(64, "world", "anyone")], &caller),
            Err(ErrorCode::InvalidAcl)
        );
    }

    #[test]
    fn sasl_ids_are_checked_expanded_and_validated_as_zookeeper_does() {
        let acl = vec![Acl::new(perms::ALL, "sasl", "bob")];
        let bob = [AuthId::new("sasl", "bob")];
        assert_eq!(check(&acl, perms::READ, &bob, false), Ok(()));
        let eve = [AuthId::new("sasl", "eve"), AuthId::new("digest", "bob:h")];
        assert_eq!(
            check(&acl, perms::READ, &eve, false),
            Err(ErrorCode::NoAuth)
        );
        // SASLAuthenticationProvider.matches: the user `super` matches all.
        assert_eq!(
            check(&acl, perms::READ, &[AuthId::new("sasl", "super")], false),
            Ok(())
        );
        assert_eq!(
            fixup(&[Acl::new(perms::ALL, "auth", "")], &bob),
            Ok(acl.clone())
        );
        for valid in ["bob", "zk/host@EXAMPLE.COM", "u@R", "a/b/c"] {
            assert!(fixup(&[Acl::new(1, "sasl", valid)], &[]).is_ok(), "{valid}");
        }
        for invalid in ["a@b@c", "a/b/c@R", "u@R/x"] {
            assert!(
                fixup(&[Acl::new(1, "sasl", invalid)], &[]).is_err(),
                "{invalid}"
            );
        }
    }

    #[test]
    fn redaction_hides_digest_hashes_only() {
        let acl = vec![
            Acl::new(1, "digest", "bob:secret"),
            Acl::new(1, "ip", "1.2.3.4"),
        ];
        assert_eq!(
            redact(&acl),
            vec![Acl::new(1, "digest", "bob:x"), Acl::new(1, "ip", "1.2.3.4")]
        );
    }
}
