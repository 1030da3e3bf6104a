//! Owns the shell's ACL notation, as zkCli writes it: `scheme:id:perms`
//! entries separated by commas (`digest:bob:HASH:cdrwa,world:anyone:r`), the
//! permission letters `cdrwa`, and the two-line form `getAcl` prints.

use client::{perms, Acl};

/// Why an ACL argument cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// An entry is not `scheme:id:perms`.
    #[error("{0} does not have the form scheme:id:perm")]
    Form(String),
    /// A permission letter outside `cdrwa`.
    #[error("Unknown perm type: {0}")]
    UnknownPerm(char),
    /// Nothing was given.
    #[error("the ACL is empty")]
    Empty,
}

/// Permission letters in the order zkCli prints them, with their bits.
const LETTERS: [(char, i32); 5] = [
    ('c', perms::CREATE),
    ('d', perms::DELETE),
    ('r', perms::READ),
    ('w', perms::WRITE),
    ('a', perms::ADMIN),
];

/// Parses permission letters (`cdrwa`, any order) into bits.
pub fn parse_perms(letters: &str) -> Result<i32, AclError> {
    letters.chars().try_fold(0, |bits, letter| {
        LETTERS
            .iter()
            .find(|(l, _)| *l == letter.to_ascii_lowercase())
            .map(|(_, bit)| bits | bit)
            .ok_or(AclError::UnknownPerm(letter))
    })
}

/// Permission bits as zkCli prints them (`cdrwa` for all).
pub fn perms_string(bits: i32) -> String {
    LETTERS
        .iter()
        .filter(|(_, bit)| bits & bit != 0)
        .map(|(letter, _)| *letter)
        .collect()
}

/// Parses `scheme:id:perms[,scheme:id:perms...]`. The id is everything
/// between the first and the last colon, so digest ids (`bob:HASH`) and
/// IPv6 addresses keep theirs, as in zkCli.
pub fn parse_acl(text: &str) -> Result<Vec<Acl>, AclError> {
    let mut acl = Vec::new();
    for entry in text.split(',').filter(|e| !e.is_empty()) {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            return Err(AclError::Form(entry.to_string()));
        };
        if first == last {
            return Err(AclError::Form(entry.to_string()));
        }
        let perms = parse_perms(&entry[last + 1..])?;
        acl.push(Acl::new(perms, &entry[..first], &entry[first + 1..last]));
    }
    if acl.is_empty() {
        return Err(AclError::Empty);
    }
    Ok(acl)
}

/// The lines `getAcl` prints for one entry: `'scheme,'id` and `: perms`.
pub fn acl_lines(acl: &Acl) -> [String; 2] {
    [
        format!("'{},'{}", acl.scheme, acl.id),
        format!(": {}", perms_string(acl.perms)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_print_in_zkclis_order_whatever_the_input_order() {
        assert_eq!(perms_string(perms::ALL), "cdrwa");
        assert_eq!(perms_string(perms::READ), "r");
        assert_eq!(parse_perms("awrdc"), Ok(perms::ALL));
        assert_eq!(parse_perms(""), Ok(0));
        assert_eq!(parse_perms("rx"), Err(AclError::UnknownPerm('x')));
    }

    #[test]
    fn digest_ids_keep_their_inner_colon() {
        let acl = parse_acl("digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdrwa,world:anyone:r");
        assert_eq!(
            acl,
            Ok(vec![
                Acl::new(perms::ALL, "digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="),
                Acl::new(perms::READ, "world", "anyone"),
            ])
        );
        assert_eq!(
            parse_acl("auth::cdrwa"),
            Ok(vec![Acl::new(perms::ALL, "auth", "")])
        );
    }

    #[test]
    fn malformed_entries_are_refused_with_zkclis_words() {
        let err = parse_acl("bogus").expect_err("no colon");
        assert_eq!(
            err.to_string(),
            "bogus does not have the form scheme:id:perm"
        );
        assert_eq!(
            parse_acl("world:anyone"),
            Err(AclError::Form("world:anyone".into()))
        );
        assert_eq!(parse_acl(""), Err(AclError::Empty));
    }

    #[test]
    fn get_acl_lines_look_like_zkclis() {
        let lines = acl_lines(&Acl::new(perms::ALL, "world", "anyone"));
        assert_eq!(lines, ["'world,'anyone".to_string(), ": cdrwa".to_string()]);
    }
}
