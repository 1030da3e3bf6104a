//! Owns subtree walks, the one traversal behind `ls -R`, `tree`, `du`,
//! `deleteall` and `setAcl -R`: breadth first, one level at a time with a
//! bounded number of reads in flight.

use super::format::TreeNode;
use client::{Client, Error, Stat};
use futures::{StreamExt, TryStreamExt};
use std::collections::HashMap;

/// Reads in flight at once while walking one level of a subtree.
const WALK_CONCURRENCY: usize = 32;

/// One node met by a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visited {
    /// Its full path.
    pub path: String,
    /// Its Stat, as read with its children.
    pub stat: Stat,
    /// Its children's names, sorted.
    pub children: Vec<String>,
}

/// Every node of the subtree at `root`, breadth first (the order of zkCli's
/// `ls -R`), each with its Stat and children. The root must exist (else
/// `NoNode`); a node below it deleted during the walk is left out. Not
/// atomic: a subtree that changes meanwhile is seen partly before, partly
/// after. Cancellation-safe (it only reads).
pub async fn walk(client: &Client, root: &str) -> Result<Vec<Visited>, Error> {
    let (children, stat) = client.get_children2(root).await?;
    let mut visited = vec![Visited {
        path: root.to_string(),
        stat,
        children,
    }];
    let mut level_start = 0;
    while level_start < visited.len() {
        let paths: Vec<String> = visited[level_start..]
            .iter()
            .flat_map(|node| {
                node.children
                    .iter()
                    .map(|child| proto::path::join(&node.path, child))
            })
            .collect();
        level_start = visited.len();
        let level: Vec<Option<Visited>> = futures::stream::iter(paths)
            .map(|path| async move {
                match client.get_children2(&path).await {
                    Ok((children, stat)) => Ok(Some(Visited {
                        path,
                        stat,
                        children,
                    })),
                    Err(Error::NoNode { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(WALK_CONCURRENCY)
            .try_collect()
            .await?;
        visited.extend(level.into_iter().flatten());
    }
    Ok(visited)
}

/// The walked subtree as a [`TreeNode`] (root named by its full path), for
/// `tree`. Children that vanished during the walk are left out.
pub fn to_tree(visited: &[Visited]) -> Option<TreeNode> {
    let by_path: HashMap<&str, &Visited> = visited.iter().map(|v| (v.path.as_str(), v)).collect();
    fn build(node: &Visited, name: String, by_path: &HashMap<&str, &Visited>) -> TreeNode {
        let children = node
            .children
            .iter()
            .filter_map(|child| {
                let path = proto::path::join(&node.path, child);
                by_path
                    .get(path.as_str())
                    .map(|found| build(found, child.clone(), by_path))
            })
            .collect();
        TreeNode { name, children }
    }
    let root = visited.first()?;
    Some(build(root, root.path.clone(), &by_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(path: &str, children: &[&str]) -> Visited {
        Visited {
            path: path.into(),
            stat: Stat::default(),
            children: children.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_walk_becomes_a_tree_without_vanished_children() {
        let visited = [
            node("/", &["a", "gone", "z"]),
            node("/a", &["b"]),
            node("/z", &[]),
            node("/a/b", &[]),
        ];
        let tree = to_tree(&visited).expect("a root");
        assert_eq!(
            super::super::format::tree_lines(&tree),
            ["/", "├── a", "│   └── b", "└── z"]
        );
        assert_eq!(to_tree(&[]), None);
    }
}
