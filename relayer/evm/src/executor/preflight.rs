//! Simulation before anything is signed: the router call for a piece of work, its quoted bridge fee,
//! and what a refusal means, in the shared vocabulary ([`relayer_chain::Refusal`]).

use alloy::sol_types::{SolError as _, SolInterface as _};
use relayer_chain::Refusal;

use super::*;

/// What the simulation said about a piece of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    /// It would succeed, using this much gas and paying `value` of native coin (a bridge's messaging fee,
    /// quoted by the router): send it.
    Go {
        /// Gas the simulation used.
        gas: u64,
        /// Native coin to send along.
        value: alloy::primitives::U256,
    },
    /// Anything else goes back to the engine as this result.
    Report(WorkResult),
    /// Fronting: the router may not yet take this token from the relayer; approve `amount` first.
    Approve {
        /// The token.
        token: Address,
        /// The allowance to grant.
        amount: alloy::primitives::U256,
        /// Some allowance is left: set it to zero first (USDT refuses non-zero to non-zero).
        reset_first: bool,
    },
}

alloy::sol! {
    /// Raised by `TransferOutLib` inside a receiver or an executor when a token does not move what it was
    /// asked to (it bubbles up through the router, whose ABI does not list it).
    #[derive(Debug)]
    error TransferOutFailed(address token, address to, uint256 amount);
}

/// How a failed simulation failed.
#[derive(Debug)]
pub enum SimulationError {
    /// The router reverted with one of its own errors.
    Router(DepositRouterErrors),
    /// The token refused to move the funds (`TransferOutFailed`, from a receiver or the executor: a
    /// blacklisted recipient, a paused token): worth trying again later.
    TokenRefused(String),
    /// The call reverted, but not with one of the router's errors (a token's own revert, an
    /// out-of-gas): retrying the same call cannot change that.
    Reverted(String),
    /// The node answered with an error that is no revert (a node limit, an internal error, the
    /// relayer's balance too low for the gas): it says nothing about the work; worth another try.
    Node(String),
    /// No answer: transport failure or timeout.
    Transport(String),
}

/// What a failed simulation says, in the shared vocabulary. Only the router's own errors are trusted to
/// say something about the session; another revert is a failure retrying cannot fix; a node's own
/// error and a missing answer are worth another try (bounded by the engine's attempts).
pub fn refusal(error: SimulationError) -> Refusal {
    use DepositRouterErrors as E;
    match error {
        SimulationError::Router(E::NothingToSettle(_)) => Refusal::NothingToMove,
        SimulationError::Router(E::NotExpired(_)) => Refusal::NotExpired,
        // The chain's clock passed `expiresAt` before the settle could land; the router takes only a
        // refund now.
        SimulationError::Router(E::Expired(_)) => Refusal::Expired,
        // Someone else bridged or delivered first, or the bridged funds already arrived: fronting is moot.
        SimulationError::Router(E::AlreadyStarted(_)) => Refusal::AlreadyStarted,
        // Bridged funds could arrive only after expiry: they are refunded instead, on this chain. The refund's
        // own simulation waits for expiry (`NotExpired`), so nothing is retried as a bridge that can never
        // pass.
        SimulationError::Router(E::TooLateToBridge(_)) => Refusal::TooLateToBridge,
        // Nothing starts the session below its committed minimum: more may come; after expiry it is
        // refunded (the settle's retry then answers `Expired`).
        SimulationError::Router(E::BelowMinimum(_)) => Refusal::BelowMinimum,
        SimulationError::Router(other) => Refusal::Permanent(format!("the router would revert: {other:?}")),
        SimulationError::TokenRefused(message) => Refusal::TokenRefused(message),
        SimulationError::Reverted(message) => Refusal::Permanent(message),
        SimulationError::Node(message) | SimulationError::Transport(message) => Refusal::Unanswered(message),
    }
}

/// What revert data (`data`, as a call's failure returned it) says, in the shared vocabulary: one of the
/// router's errors, a token's refusal, or another revert (final).
pub fn revert_refusal(data: &[u8]) -> Refusal {
    if let Ok(router) = DepositRouterErrors::abi_decode(data) {
        return refusal(SimulationError::Router(router));
    }
    if let Ok(refused) = TransferOutFailed::abi_decode(data) {
        return refusal(SimulationError::TokenRefused(format!("{refused:?}")));
    }
    refusal(SimulationError::Reverted(format!("the call reverted: 0x{}", alloy::hex::encode(data))))
}

/// Whether a node's error answer (`code`, `message`) to a simulation says the call reverted: code 3 (a
/// revert with data, geth and anvil alike) or a message saying so (geth's `-32000 execution reverted`
/// without data, Nethermind's and Erigon's wordings). Anything else (`-32005` limit exceeded, `-32603`
/// internal error, `insufficient funds for gas`) is the node's own trouble, not the call's.
///
/// The attack it stops: an RPC provider that answers one simulation with a rate-limit error object
/// would otherwise make the relayer give up a payer's delivery for good.
fn reverted(code: i64, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code == 3 || message.contains("revert") || message.contains("invalid opcode")
}

/// What the engine is told about a failed simulation of work on a session expiring at `expires_at`.
pub fn preflight(error: SimulationError, expires_at: u64) -> Preflight {
    Preflight::Report(refusal(error).result(expires_at))
}

/// Where the router refunds `params` on its chain (its `refundTarget`): `refundAddress` if it holds an EVM
/// address, else `toAddress` if it does, else nowhere (the session's funds can only be sent home).
pub fn refund_target(params: &crate::create2::DepositParams) -> Option<Address> {
    let evm = |word: B256| (word[..12] == [0u8; 12] && word != B256::ZERO).then(|| Address::from_word(word));
    evm(params.refundAddress).or_else(|| evm(params.toAddress))
}

/// The router's calldata for `work` on the chain `spec` describes (every EVM-shaped family sends the
/// same calls: the EVM executor, and Tron's sender in its own transactions).
pub fn router_input(spec: &crate::ChainSpec, work: &Work) -> Vec<u8> {
    let params = deposit_params(&work.commitment);
    // The family refused tokens of other families; an EVM-shaped token always has 20 bytes.
    let token = work.action.token().evm_shaped().unwrap_or_default();
    // A session without a refund address usable here (a Solana destination whose integrator gave no
    // EVM refund address) refunds by sending its destination token home, through the route to its
    // destination chain, where its own family refunds it.
    let home = match (work.action, refund_target(&params)) {
        (Action::Refund { token }, None) => spec
            .routes
            .iter()
            .find(|r| r.token == token && r.to_chain_id == work.commitment.to_chain_id)
            .and_then(|r| r.route.adapter.evm_shaped()),
        _ => None,
    };
    match work.action {
        Action::Settle { .. } => DepositRouter::settleCall { params, token }.abi_encode(),
        Action::Refund { .. } => match home {
            Some(adapter) => {
                DepositRouter::refundHomeCall { params, token, adapter, data: Bytes::new() }.abi_encode()
            }
            None => DepositRouter::refundCall { params, token }.abi_encode(),
        },
        // No adapter options: no fee, standard finality (the cheapest route for the payer).
        Action::Bridge { adapter, .. } => {
            let adapter = adapter.evm_shaped().unwrap_or_default();
            DepositRouter::bridgeCall { params, token, adapter, data: Bytes::new() }.abi_encode()
        }
        Action::FastFinish { amount, .. } => DepositRouter::fastFinishCall { params, amount }.abi_encode(),
    }
}

/// The router's `quoteBridge` call for a transaction that bridges (`bridge`, or `refundHome`), if it is one.
pub(super) fn quote_call(tx: &TransactionRequest) -> Option<Vec<u8>> {
    quote_input(tx.input.input()?)
}

/// The router's `quoteBridge` calldata for router calldata `input` that bridges (`bridge`, or
/// `refundHome`), if it does: what its native messaging fee is asked with.
pub fn quote_input(input: &[u8]) -> Option<Vec<u8>> {
    let (params, token, adapter, data) = match DepositRouter::bridgeCall::abi_decode(input) {
        Ok(call) => (call.params, call.token, call.adapter, call.data),
        Err(_) => {
            let call = DepositRouter::refundHomeCall::abi_decode(input).ok()?;
            (call.params, call.token, call.adapter, call.data)
        }
    };
    Some(DepositRouter::quoteBridgeCall { params, token, adapter, data }.abi_encode())
}

/// Simulates a transaction by estimating its gas: a revert answers with the router's error exactly as
/// `eth_call` would, and success gives the gas to send with (one call instead of two). Owns what it
/// needs, so several run while the executor sends the ones already decided.
pub(super) async fn simulate(chain: Arc<EvmChain>, tx: TransactionRequest, expires_at: u64) -> Preflight {
    let error = match chain
        .rpc(|p| {
            let tx = tx.clone();
            async move { p.estimate_gas(tx).await }
        })
        .await
    {
        Ok(gas) => return Preflight::Go { gas, value: tx.value.unwrap_or_default() },
        Err(RpcFailure::Rpc(error)) => {
            let decoded = error
                .as_error_resp()
                .and_then(|resp| resp.as_decoded_interface_error::<DepositRouterErrors>());
            let refused = error.as_error_resp().and_then(|resp| resp.as_decoded_error::<TransferOutFailed>());
            match decoded {
                Some(router) => SimulationError::Router(router),
                None if refused.is_some() => SimulationError::TokenRefused(format!("{refused:?}")),
                None => match error.as_error_resp() {
                    Some(resp) if reverted(resp.code, &resp.message) => {
                        SimulationError::Reverted(relayer_util::redact_urls(&error.to_string()))
                    }
                    Some(_) => SimulationError::Node(relayer_util::redact_urls(&error.to_string())),
                    None => SimulationError::Transport(relayer_util::redact_urls(&error.to_string())),
                },
            }
        }
        Err(timeout) => SimulationError::Transport(timeout.to_string()),
    };
    preflight(error, expires_at)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;
    use crate::bindings::DepositRouter::{
        AlreadyStarted, BelowMinimum, Expired, NotExpired, NothingToSettle, TooLateToBridge, UnusableToken,
        WrongChain,
    };

    #[test]
    fn preflight_maps_each_revert_to_what_the_engine_is_told() {
        use DepositRouterErrors as E;
        let token = Address::repeat_byte(0x83);
        let failed =
            |what: &str| WorkResult::Failed(Refusal::Permanent(format!("the router would revert: {what}")));
        let table: Vec<(SimulationError, WorkResult)> = vec![
            (
                SimulationError::Router(E::NothingToSettle(NothingToSettle { receiver: token, token })),
                WorkResult::Done(Refusal::NothingToMove),
            ),
            // A refund before expiry waits until just after it (not a retry with backoff that may give up).
            (
                SimulationError::Router(E::NotExpired(NotExpired { expiresAt: 9 })),
                // The router's `expiresAt` is the commitment's: the work's own.
                WorkResult::NotBefore { reason: Refusal::NotExpired, at: 100 },
            ),
            (
                SimulationError::Router(E::AlreadyStarted(AlreadyStarted { paramsHash: B256::ZERO })),
                WorkResult::Done(Refusal::AlreadyStarted),
            ),
            (
                SimulationError::Router(E::TooLateToBridge(TooLateToBridge {
                    arrivesBy: U256::from(20),
                    expiresAt: 9,
                })),
                WorkResult::RefundInstead,
            ),
            (SimulationError::Router(E::Expired(Expired { expiresAt: 9 })), WorkResult::RefundInstead),
            (
                SimulationError::Router(E::UnusableToken(UnusableToken { token })),
                failed(&format!("{:?}", E::UnusableToken(UnusableToken { token }))),
            ),
            (
                SimulationError::Router(E::WrongChain(WrongChain {
                    toChainId: U256::ONE,
                    chainId: U256::ZERO,
                })),
                failed(&format!(
                    "{:?}",
                    E::WrongChain(WrongChain { toChainId: U256::ONE, chainId: U256::ZERO })
                )),
            ),
            (
                SimulationError::Reverted("execution reverted".into()),
                WorkResult::Failed(Refusal::Permanent("execution reverted".into())),
            ),
            (
                SimulationError::Node("limit exceeded".into()),
                WorkResult::NotYet(Refusal::Unanswered("limit exceeded".into())),
            ),
            (
                SimulationError::Transport("timed out".into()),
                WorkResult::NotYet(Refusal::Unanswered("timed out".into())),
            ),
            // Below the committed minimum: more may come until expiry (then the retry answers `Expired`).
            (
                SimulationError::Router(E::BelowMinimum(BelowMinimum {
                    available: U256::from(1),
                    minAmount: U256::from(10),
                })),
                WorkResult::NotBefore { reason: Refusal::BelowMinimum, at: 100 },
            ),
        ];
        for (error, want) in table {
            let label = format!("{error:?}");
            assert_eq!(preflight(error, 99), Preflight::Report(want), "{label}");
        }
    }

    #[test]
    fn only_a_revert_is_the_calls_fault() {
        let table = [
            (3, "execution reverted: custom error 0x1234", true),
            (-32000, "execution reverted", true),
            (-32015, "VM execution error: Reverted 0x", true),
            (-32000, "invalid opcode: INVALID", true),
            (-32005, "limit exceeded", false),
            (-32603, "internal error", false),
            (-32000, "header not found", false),
            (-32000, "insufficient funds for gas * price + value", false),
            (429, "Too Many Requests", false),
        ];
        for (code, message, want) in table {
            assert_eq!(reverted(code, message), want, "{code} {message}");
        }
    }
}
