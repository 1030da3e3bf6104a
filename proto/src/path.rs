//! Znode path rules, as ZooKeeper's `PathUtils.validatePath` states them.
//!
//! A valid path starts with `/`, does not end with `/` (except the root), has no
//! empty, `.` or `..` segment, and contains no control characters and none of the
//! code points ZooKeeper forbids (U+0000, U+0001–U+001F, U+007F–U+009F,
//! U+D800–U+F8FF, U+FFF0–U+FFFF, and anything outside the Basic Multilingual
//! Plane, which Java would encode as surrogates).

/// Why a path is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty.
    #[error("path must not be empty")]
    Empty,
    /// The path does not start with `/`.
    #[error("path must start with /")]
    NotAbsolute,
    /// The path ends with `/`.
    #[error("path must not end with /")]
    TrailingSlash,
    /// Two consecutive slashes.
    #[error("empty segment at byte {0}")]
    EmptySegment(usize),
    /// A `.` or `..` segment.
    #[error("relative segment at byte {0}")]
    RelativeSegment(usize),
    /// A forbidden character.
    #[error("invalid character {0:?} at byte {1}")]
    InvalidChar(char, usize),
}

fn is_forbidden(c: char) -> bool {
    let cp = c as u32;
    cp == 0
        || (0x01..=0x1f).contains(&cp)
        || (0x7f..=0x9f).contains(&cp)
        || (0xd800..=0xf8ff).contains(&cp)
        || (0xfff0..=0xffff).contains(&cp)
        || cp > 0xffff
}

/// Validates a znode path.
pub fn validate(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(PathError::TrailingSlash);
    }
    if let Some((i, c)) = path.char_indices().find(|(_, c)| is_forbidden(*c)) {
        return Err(PathError::InvalidChar(c, i));
    }
    let mut offset = 1;
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err(PathError::EmptySegment(offset));
        }
        if segment == "." || segment == ".." {
            return Err(PathError::RelativeSegment(offset));
        }
        offset += segment.len() + 1;
    }
    Ok(())
}

/// Validates a path given to a sequential create: the server appends digits,
/// so a trailing `/` is allowed (the name is then just the digits), as the
/// Java client checks by appending "1" first.
pub fn validate_sequential(path: &str) -> Result<(), PathError> {
    validate(&format!("{path}1"))
}

/// The parent of a valid, non-root path (`/a/b` → `/a`, `/a` → `/`).
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// The last segment of a valid path (`/a/b` → `b`, `/` → ``).
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in ["/", "/a", "/a/b", "/a.b/..c", "/zookeeper/x", "/é"] {
            assert_eq!(validate(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn rejects_what_zookeeper_rejects() {
        assert_eq!(validate(""), Err(PathError::Empty));
        assert_eq!(validate("a"), Err(PathError::NotAbsolute));
        assert_eq!(validate("/a/"), Err(PathError::TrailingSlash));
        assert_eq!(validate("/a//b"), Err(PathError::EmptySegment(3)));
        assert_eq!(validate("/a/./b"), Err(PathError::RelativeSegment(3)));
        assert_eq!(validate("/a/.."), Err(PathError::RelativeSegment(3)));
        assert_eq!(validate("/."), Err(PathError::RelativeSegment(1)));
        assert!(matches!(
            validate("/a\u{0}"),
            Err(PathError::InvalidChar(..))
        ));
        assert!(matches!(
            validate("/a\u{1}"),
            Err(PathError::InvalidChar(..))
        ));
        assert!(matches!(
            validate("/a\u{85}"),
            Err(PathError::InvalidChar(..))
        ));
        assert!(matches!(
            validate("/a\u{e000}"),
            Err(PathError::InvalidChar(..))
        ));
        assert!(matches!(
            validate("/a\u{fff5}"),
            Err(PathError::InvalidChar(..))
        ));
        assert!(matches!(
            validate("/a\u{1f600}"),
            Err(PathError::InvalidChar(..))
        ));
    }

    #[test]
    fn sequential_paths_may_end_with_slash() {
        assert_eq!(validate_sequential("/sq/"), Ok(()));
        assert_eq!(validate_sequential("/sq/x-"), Ok(()));
        assert!(validate_sequential("/sq//").is_err());
    }

    #[test]
    fn parent_name_and_join() {
        assert_eq!(parent("/"), None);
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(name("/a/b"), "b");
        assert_eq!(name("/"), "");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
