//! The order in which ZooKeeper deletes a closed session's ephemeral nodes,
//! and so the order of their watch events.
//!
//! ZooKeeper keeps a session's ephemerals in a `java.util.HashSet<String>`;
//! closing the session copies it with `clone()` and deletes the paths in the
//! copy's iteration order (`PrepRequestProcessor`, `CloseSessionTxn`). A
//! HashSet iterates bucket by bucket, the bucket being the low bits of the
//! spread `String.hashCode`, and within a bucket in insertion order. The
//! original set starts at 16 buckets and doubles past 3/4 full; the clone is
//! sized for its entry count (JDK 17's `putMapEntries`). Insertion order is
//! creation order (czxid; creates inside one multi share it and are taken
//! by path). The original's size is taken as its largest size, which holds
//! unless the session once had more than 12 ephemerals at a time.

/// Java's `String.hashCode` (over UTF-16 code units).
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// `HashMap.hash`: the hash with its high half folded into the low half.
fn spread(text: &str) -> u32 {
    let h = java_string_hash(text) as u32;
    h ^ (h >> 16)
}

/// Buckets of a default `HashSet` after `size` insertions.
fn grown_capacity(size: usize) -> usize {
    let mut capacity = 16;
    while size > capacity / 4 * 3 {
        capacity *= 2;
    }
    capacity
}

/// Buckets of the clone of a set of `size` entries: `tableSizeFor(size /
/// 0.75 + 1)`.
fn cloned_capacity(size: usize) -> usize {
    let wanted = (size as f32 / 0.75 + 1.0) as usize;
    wanted.max(1).next_power_of_two()
}

/// The paths (with their czxid) in the order ZooKeeper deletes them.
pub fn close_order(mut paths: Vec<(i64, String)>) -> Vec<String> {
    paths.sort();
    let original = grown_capacity(paths.len()) as u32 - 1;
    let clone = cloned_capacity(paths.len()) as u32 - 1;
    // Stable sorts: the original's iteration order, then the clone's.
    paths.sort_by_key(|(_, p)| spread(p) & original);
    paths.sort_by_key(|(_, p)| spread(p) & clone);
    paths.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_is_javas() {
        // Values computed by Java's "...".hashCode().
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("/a"), 1554);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("/zookeeper/quota"), -1_414_033_946);
    }

    #[test]
    fn capacities_follow_the_jdk() {
        assert_eq!(grown_capacity(12), 16);
        assert_eq!(grown_capacity(13), 32);
        assert_eq!(
            [1, 2, 3, 5, 6, 12].map(cloned_capacity),
            [2, 4, 8, 8, 16, 32]
        );
    }

    #[test]
    fn one_or_no_path_keeps_its_order() {
        assert!(close_order(Vec::new()).is_empty());
        assert_eq!(close_order(vec![(3, "/x".into())]), vec!["/x".to_string()]);
    }

    /// Cases printed by JDK 17: a HashSet filled in the first order, and
    /// the iteration order of its clone.
    #[test]
    fn matches_the_order_of_a_cloned_java_hash_set() {
        let cases = include_str!("java_order_cases.txt");
        for line in cases.lines() {
            let (inserted, cloned) = line.split_once('|').expect("case line");
            let paths = inserted
                .split(',')
                .enumerate()
                .map(|(i, p)| (i as i64, p.to_string()))
                .collect();
            let expected: Vec<&str> = cloned.split(',').collect();
            assert_eq!(close_order(paths), expected, "{line}");
        }
        assert_eq!(cases.lines().count(), 60);
    }
}
