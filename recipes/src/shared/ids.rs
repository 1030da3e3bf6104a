//! Unique, increasing ids from sequential nodes: each id is the sequence
//! number the server gives a fresh child of `path` (then deleted). Ids never
//! repeat and grow in the order they were handed out, across all clients.
//!
//! Suspended: waits for the reconnect; an id whose answer was lost is simply
//! skipped (a gap, never a duplicate). Expired: fails; ids stay unique.

use crate::internals::paths::{ensure_path, sequence_of};
use crate::{RecipeError, Result};
use client::{Client, CreateMode, CreateOptions};

/// The next id under `path`.
pub async fn next_id(client: &Client, path: &str) -> Result<i64> {
    let path = path.trim_end_matches('/');
    ensure_path(client, path, false).await?;
    let (created, _) = client
        .create(
            &format!("{path}/id-"),
            b"",
            CreateOptions::mode(CreateMode::PersistentSequential),
        )
        .await?;
    let id = sequence_of(&created).ok_or_else(|| RecipeError::Decode(created.clone()))?;
    let _ = client.delete(&created, None).await;
    Ok(id)
}
