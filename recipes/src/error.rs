//! The recipes' error type.

/// What can go wrong in a recipe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipeError {
    /// The client reported an error.
    #[error(transparent)]
    Client(#[from] client::Error),
    /// The session ended while the recipe held or waited for something; what
    /// it held is gone.
    #[error("the session expired; whatever the recipe held is lost")]
    SessionLost,
    /// A wait did not finish in time.
    #[error("timed out")]
    Timeout,
    /// The recipe was closed.
    #[error("closed")]
    Closed,
    /// A value stored in a node could not be decoded.
    #[error("cannot decode node data: {0}")]
    Decode(String),
    /// The holder no longer holds (a guarded write was refused).
    #[error("no longer the holder; the write was refused")]
    NotHolder,
}

/// Results of recipe operations.
pub type Result<T, E = RecipeError> = std::result::Result<T, E>;
