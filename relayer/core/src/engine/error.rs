//! Why an engine operation failed.

use relayer_store::{StoreError, UpdateError};
use relayer_types::StateError;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such session.
    #[error("session not found")]
    NotFound,
    /// The state machine refused.
    #[error(transparent)]
    State(#[from] StateError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session's destination chain is not (or no longer) configured on this relayer.
    #[error("chain {0} is not configured")]
    ChainNotConfigured(u64),
    /// No configured chain takes this payment method.
    #[error("payment method {0} is not supported on this deployment")]
    UnsupportedPaymentMethod(&'static str),
    /// No route from the payment method's chains delivers the session's token (no swaps yet).
    #[error("{0}")]
    NoRoute(String),
    /// A chain event's receiver is not the session's own (recomputed from its commitment): the event
    /// is someone else's and changes nothing.
    #[error("the event's receiver is not the session's")]
    Foreign,
}

/// Why a change to a session was refused inside its compare-and-swap.
#[derive(Debug)]
pub(super) enum Refused {
    /// The state machine refused.
    State(StateError),
    /// The event is not the session's (see [`EngineError::Foreign`]).
    Foreign,
}

impl EngineError {
    /// As a chain's [`relayer_chain::SinkError`]: only a store failure may pass on a retry.
    pub(super) fn into_sink(self) -> relayer_chain::SinkError {
        let can_retry = matches!(&self, Self::Store(e) if e.can_retry());
        relayer_chain::SinkError::new(self, can_retry)
    }
}

impl From<UpdateError<Refused>> for EngineError {
    fn from(e: UpdateError<Refused>) -> Self {
        match e {
            UpdateError::Store(StoreError::NotFound(_)) => Self::NotFound,
            UpdateError::Store(s) => Self::Store(s),
            UpdateError::Rejected(Refused::State(s)) => Self::State(s),
            UpdateError::Rejected(Refused::Foreign) => Self::Foreign,
        }
    }
}

impl From<UpdateError<StateError>> for EngineError {
    fn from(e: UpdateError<StateError>) -> Self {
        match e {
            UpdateError::Store(StoreError::NotFound(_)) => Self::NotFound,
            UpdateError::Store(s) => Self::Store(s),
            UpdateError::Rejected(s) => Self::State(s),
        }
    }
}
