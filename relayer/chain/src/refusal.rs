//! Why a chain will not do a piece of work now, in one vocabulary for every family. A family maps its
//! contract's or program's refusals (the router's errors, the program's error codes) and its transport
//! failures to a [`Refusal`]; [`Refusal::result`] is the only place that says what each means for the
//! engine (wait until a time, try again later, refund instead, nothing to do, give up).

use crate::WorkResult;

/// Why work was refused, as the family's simulation (or a failed send) showed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The receiver holds nothing of this token (another relayer moved it first, or nothing came).
    #[error("the receiver holds nothing of this token")]
    NothingToMove,
    /// A usable token is refunded only after the session expires on chain.
    #[error("the session has not expired on chain yet")]
    NotExpired,
    /// Less than the session's minimum is there: nothing starts it; more may come until expiry.
    #[error("less than the session's minimum is there; waiting for the rest until expiry")]
    BelowMinimum,
    /// The chain's clock passed the session's expiry before its funds started: only a refund remains.
    #[error("the session expired on chain before its funds started")]
    Expired,
    /// Bridged now, the funds could arrive only after expiry: they are refunded on this chain.
    #[error("too late to bridge before the session expires")]
    TooLateToBridge,
    /// The session can never use what is there (another token, a final call the family cannot run):
    /// refunded at once.
    #[error("the session can never use this: {0}")]
    Unusable(String),
    /// The session already started on this chain (fronting is moot).
    #[error("the session already started on this chain; nothing to front")]
    AlreadyStarted,
    /// What the work names (an inbox transfer) is not the session's.
    #[error("what this work names is not the session's")]
    NotTheSessions,
    /// The token would not move the funds (a blacklisted recipient, a paused token): worth trying later.
    #[error("the token refused to move the funds (a blacklisted recipient or a paused token): {0}")]
    TokenRefused(String),
    /// The contract or program (or the node) refused for a reason retrying cannot fix.
    #[error("{0}")]
    Permanent(String),
    /// No answer (transport failure, timeout, a node not ready): worth trying again.
    #[error("{0}")]
    Unanswered(String),
}

impl Refusal {
    /// What the engine is told about work on a session expiring at `expires_at`: the one mapping from a
    /// refusal to a [`WorkResult`].
    pub fn result(self, expires_at: u64) -> WorkResult {
        let reason = self.to_string();
        match self {
            Self::NothingToMove | Self::AlreadyStarted | Self::NotTheSessions => WorkResult::Done(reason),
            // Both wait until just after expiry (not a retry with backoff that may give up): a refund is
            // possible then, and a settle retried then is refused as `Expired` and becomes a refund.
            Self::NotExpired | Self::BelowMinimum => {
                WorkResult::NotBefore { reason, at: expires_at.saturating_add(1) }
            }
            Self::Expired | Self::TooLateToBridge | Self::Unusable(_) => WorkResult::RefundInstead,
            Self::TokenRefused(_) | Self::Unanswered(_) => WorkResult::NotYet(reason),
            Self::Permanent(_) => WorkResult::Failed(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_tells_the_engine_one_thing() {
        let table = [
            (Refusal::NothingToMove, WorkResult::Done("the receiver holds nothing of this token".into())),
            (
                Refusal::NotExpired,
                WorkResult::NotBefore { reason: "the session has not expired on chain yet".into(), at: 100 },
            ),
            (
                Refusal::BelowMinimum,
                WorkResult::NotBefore {
                    reason: "less than the session's minimum is there; waiting for the rest until expiry"
                        .into(),
                    at: 100,
                },
            ),
            (Refusal::Expired, WorkResult::RefundInstead),
            (Refusal::TooLateToBridge, WorkResult::RefundInstead),
            (Refusal::Unusable("a final call".into()), WorkResult::RefundInstead),
            (
                Refusal::AlreadyStarted,
                WorkResult::Done("the session already started on this chain; nothing to front".into()),
            ),
            (Refusal::NotTheSessions, WorkResult::Done("what this work names is not the session's".into())),
            (
                Refusal::TokenRefused("paused".into()),
                WorkResult::NotYet(
                    "the token refused to move the funds (a blacklisted recipient or a paused token): paused"
                        .into(),
                ),
            ),
            (
                Refusal::Permanent("the router would revert: WrongChain".into()),
                WorkResult::Failed("the router would revert: WrongChain".into()),
            ),
            (Refusal::Unanswered("timed out".into()), WorkResult::NotYet("timed out".into())),
        ];
        for (refusal, want) in table {
            let label = format!("{refusal:?}");
            assert_eq!(refusal.result(99), want, "{label}");
        }
    }
}
