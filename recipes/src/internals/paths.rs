//! Creating a recipe's parent nodes.

use crate::Result;
use client::{Client, CreateMode, CreateOptions, Error};

/// Creates `path` and its missing ancestors. Ancestors are persistent; the
/// node itself is a container when `container` (the server removes it once
/// its last child goes, so recipes leave no litter).
pub async fn ensure_path(client: &Client, path: &str, container: bool) -> Result<()> {
    if path == "/" || client.exists(path).await?.is_some() {
        return Ok(());
    }
    let mut prefix = String::new();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, segment) in segments.iter().enumerate() {
        prefix.push('/');
        prefix.push_str(segment);
        let last = i + 1 == segments.len();
        let mode = if last && container {
            CreateMode::Container
        } else {
            CreateMode::Persistent
        };
        match client.create(&prefix, b"", CreateOptions::mode(mode)).await {
            Ok(_) | Err(Error::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The sequence number at the end of a sequential node's name.
pub fn sequence_of(name: &str) -> Option<i64> {
    let digits = name.len().checked_sub(10)?;
    name.get(digits..)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_the_last_ten_digits() {
        assert_eq!(sequence_of("_c_ab-lock-0000000042"), Some(42));
        assert_eq!(sequence_of("x"), None);
        assert_eq!(sequence_of("lock-00000000zz"), None);
    }
}
