//! Why a chain will not do a piece of work now, in one vocabulary for every family. A family maps its
//! contract's or program's refusals (the router's errors, the program's error codes) and its transport
//! failures to a [`Refusal`]; [`Refusal::result`] is the only place that says what each means for the
//! engine (wait until a time, try again later, refund instead, nothing to do, give up).

use relayer_util::redact_urls;

use crate::WorkResult;

/// Why work was refused, as the family's simulation (or a failed send) showed it. Its text is stored on
/// the session's work records (shown to API-key callers and in webhook bodies) and logged, so a URL in a
/// family's error text (an RPC provider's, with its key in the path) is cut to its host there, whichever
/// family wrote it.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
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
    #[error("the session can never use this: {}", redact_urls(.0))]
    Unusable(String),
    /// The session already started on this chain (fronting is moot).
    #[error("the session already started on this chain; nothing to front")]
    AlreadyStarted,
    /// What the work names (an inbox transfer) is not the session's.
    #[error("what this work names is not the session's")]
    NotTheSessions,
    /// The token would not move the funds (a blacklisted recipient, a paused token): worth trying later.
    #[error("the token refused to move the funds (a blacklisted recipient or a paused token): {}", redact_urls(.0))]
    TokenRefused(String),
    /// A program the transaction goes through refused it (on Solana: Circle's CCTP programs paused or at
    /// a limit, SPL Token with a frozen account): not the session's doing, worth trying again later.
    #[error("a program the transfer goes through refused it (paused, or a limit reached): {}", redact_urls(.0))]
    CalleeRefused(String),
    /// The contract or program (or the node) refused for a reason retrying cannot fix.
    #[error("{}", redact_urls(.0))]
    Permanent(String),
    /// No answer (transport failure, timeout, a node not ready): worth trying again. The text is the
    /// whole cause chain ([`causes`](crate::causes)).
    #[error("{}", redact_urls(.0))]
    Unanswered(String),
    /// Something the work needs first is on its way (an approval of the router): worth trying again.
    #[error("{}", redact_urls(.0))]
    Preparing(String),
    /// A transaction on record never landed before its last valid block: the work is rebuilt.
    #[error("it never landed before its last valid block; rebuilding it")]
    NeverLanded,
    /// The chain's fees today reached the operator's daily cap ([`crate::spending`]): nothing new is
    /// sent until `until` (the next UTC midnight, unix seconds).
    #[error("{why}")]
    DailyCapReached {
        /// What is said.
        why: String,
        /// When sending resumes.
        until: u64,
    },
}

/// The variant and its text as [`Display`](std::fmt::Display) writes it (URLs cut to their host): a
/// work result's `Debug` reaches the logs too.
impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::NothingToMove => "NothingToMove",
            Self::NotExpired => "NotExpired",
            Self::BelowMinimum => "BelowMinimum",
            Self::Expired => "Expired",
            Self::TooLateToBridge => "TooLateToBridge",
            Self::Unusable(_) => "Unusable",
            Self::AlreadyStarted => "AlreadyStarted",
            Self::NotTheSessions => "NotTheSessions",
            Self::TokenRefused(_) => "TokenRefused",
            Self::CalleeRefused(_) => "CalleeRefused",
            Self::Permanent(_) => "Permanent",
            Self::Unanswered(_) => "Unanswered",
            Self::Preparing(_) => "Preparing",
            Self::NeverLanded => "NeverLanded",
            Self::DailyCapReached { .. } => "DailyCapReached",
        };
        f.debug_tuple(name).field(&self.to_string()).finish()
    }
}

impl Refusal {
    /// What the engine is told about work on a session expiring at `expires_at`: the one mapping from a
    /// refusal to a [`WorkResult`].
    pub fn result(self, expires_at: u64) -> WorkResult {
        match self {
            Self::NothingToMove | Self::AlreadyStarted | Self::NotTheSessions => WorkResult::Done(self),
            // Both wait until just after expiry (not a retry with backoff that may give up): a refund is
            // possible then, and a settle retried then is refused as `Expired` and becomes a refund.
            Self::NotExpired | Self::BelowMinimum => {
                WorkResult::NotBefore { reason: self, at: expires_at.saturating_add(1) }
            }
            Self::Expired | Self::TooLateToBridge | Self::Unusable(_) => WorkResult::RefundInstead,
            Self::TokenRefused(_)
            | Self::CalleeRefused(_)
            | Self::Unanswered(_)
            | Self::Preparing(_)
            | Self::NeverLanded => WorkResult::NotYet(self),
            Self::Permanent(_) => WorkResult::Failed(self),
            // Not a retry that may give up: the work waits for the next day's allowance.
            Self::DailyCapReached { until, .. } => WorkResult::NotBefore { at: until, reason: self },
        }
    }

    /// No answer, for `error` and its whole cause chain.
    pub fn unanswered(error: &(dyn std::error::Error + 'static)) -> Self {
        Self::Unanswered(crate::causes(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_tells_the_engine_one_thing() {
        use WorkResult::{Done, Failed, NotBefore, NotYet, RefundInstead};
        let table = [
            (Refusal::NothingToMove, Done(Refusal::NothingToMove)),
            (Refusal::NotExpired, NotBefore { reason: Refusal::NotExpired, at: 100 }),
            (Refusal::BelowMinimum, NotBefore { reason: Refusal::BelowMinimum, at: 100 }),
            (Refusal::Expired, RefundInstead),
            (Refusal::TooLateToBridge, RefundInstead),
            (Refusal::Unusable("a final call".into()), RefundInstead),
            (Refusal::AlreadyStarted, Done(Refusal::AlreadyStarted)),
            (Refusal::NotTheSessions, Done(Refusal::NotTheSessions)),
            (Refusal::TokenRefused("paused".into()), NotYet(Refusal::TokenRefused("paused".into()))),
            (Refusal::CalleeRefused("paused".into()), NotYet(Refusal::CalleeRefused("paused".into()))),
            (Refusal::Permanent("WrongChain".into()), Failed(Refusal::Permanent("WrongChain".into()))),
            (Refusal::Unanswered("timed out".into()), NotYet(Refusal::Unanswered("timed out".into()))),
            (Refusal::Preparing("approving".into()), NotYet(Refusal::Preparing("approving".into()))),
            (Refusal::NeverLanded, NotYet(Refusal::NeverLanded)),
            (
                Refusal::DailyCapReached { why: "capped".into(), until: 86_400 },
                NotBefore {
                    reason: Refusal::DailyCapReached { why: "capped".into(), until: 86_400 },
                    at: 86_400,
                },
            ),
        ];
        for (refusal, want) in table {
            let label = format!("{refusal:?}");
            assert_eq!(refusal.result(99), want, "{label}");
        }
    }

    #[test]
    fn a_refusal_reads_as_a_sentence_with_its_causes() {
        assert_eq!(
            Refusal::BelowMinimum.to_string(),
            "less than the session's minimum is there; waiting for the rest until expiry"
        );
        let error = std::io::Error::other("connection refused");
        assert_eq!(Refusal::unanswered(&error).to_string(), "connection refused");
        // A family that puts a provider's URL in its own text (not through `causes`) does not leak it.
        let leaky = "error sending request for url (https://solana.example/v2/SECRETKEY): timed out";
        for refusal in [
            Refusal::Unanswered(leaky.into()),
            Refusal::Permanent(leaky.into()),
            Refusal::Preparing(leaky.into()),
        ] {
            assert!(!refusal.to_string().contains("SECRETKEY"), "{refusal}");
            // Debug too: a work result's Debug is what the pipeline logs.
            let result = refusal.clone().result(9);
            assert!(!format!("{result:?}").contains("SECRETKEY"), "{result:?}");
        }
    }
}
