//! The Solana executor: the family's half of the shared expiry-ordered pipeline
//! ([`relayer_chain::pipeline`]), which does the rest (a transaction on record is sent again while its
//! blockhash is valid, rebuilt once it provably never lands; persist before send; reconcile after a
//! restart). The program makes a second delivery impossible anyway (the vault token account closes
//! when it empties; a bridged transfer's claim record exists once).
//!
//! Each transfer in the inbox is claimed (or sent back) in a transaction of its own: a session's pending
//! transfers are attacker-controlled in number (anyone can burn dust naming a receiver), and several in
//! one transaction would soon pass Solana's 1,232-byte packet limit and block the real one. Transfers
//! below `min_inbox_amount` are left for whoever wants to pay the claim record's rent for them.

use std::time::Duration;

use relayer_chain::{
    BoxFuture, Refusal, SendLedger, Work,
    pipeline::{self, ExpiryOrdered, Planned, SendFailure, Signature, Signed, Standing},
};
use relayer_types::{Action, Cost, SessionId, TxId};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey};

use crate::{
    SvmChain,
    chain::{Pending, pubkey, tx_id},
    client::{SendError, TxFailure},
    tx,
};

/// The part of a transfer's record (`record`), before its address.
const RECORD_PART: &str = "record/";

/// The Anchor error a missing account raises (`AccountNotInitialized`).
const ACCOUNT_NOT_INITIALIZED: u32 = 3012;
const VAULT_ERROR: u32 = anchor_lang::error::ERROR_CODE_OFFSET;

/// The ledger key of a session's transaction for `action` (and, in the inbox, one bridged transfer):
/// session id ‖ action name ‖ mint (its 32 bytes) [‖ `/` ‖ transfer record], as records were always keyed.
pub(crate) fn record_key(session_id: &SessionId, action: Action, transfer: Option<&Pubkey>) -> Vec<u8> {
    let mut key = pipeline::work_key(session_id, action);
    if let Some(transfer) = transfer {
        key.extend_from_slice(b"/");
        key.extend_from_slice(transfer.as_ref());
    }
    key
}

/// What the program's refusal means (see the program's error table), in the shared vocabulary.
pub(crate) fn refusal(failure: TxFailure) -> Refusal {
    use deposit_vault::VaultError as E;
    let code = |e: E| VAULT_ERROR + e as u32;
    match failure {
        TxFailure::Custom(c) if c == code(E::Expired) => Refusal::Expired,
        TxFailure::Custom(c) if c == code(E::TooLateToBridge) => Refusal::TooLateToBridge,
        // The session can never use this: refunded at once.
        TxFailure::Custom(c)
            if [
                E::FinalCallUnsupported,
                E::WrongMint,
                E::NotASolanaAddress,
                E::UnsupportedChain,
                E::NotBridgedMint,
                E::NotBridgedToken,
            ]
            .into_iter()
            .any(|e| c == code(e)) =>
        {
            Refusal::Unusable(format!("the deposit-vault program refused: error {c}"))
        }
        // The program refunds a usable mint only after expiry.
        TxFailure::Custom(c) if c == code(E::NotRefundable) => Refusal::NotExpired,
        TxFailure::Custom(c) if c == code(E::BelowMinimum) => Refusal::BelowMinimum,
        // Dust Circle's minimum fee cannot be taken from (a single base unit): nothing the bridge moves.
        TxFailure::Custom(c)
            if c == code(E::NothingToMove)
                || c == ACCOUNT_NOT_INITIALIZED
                || c == code(E::BelowCircleMinimum) =>
        {
            Refusal::NothingToMove
        }
        // Circle's minimum fee above the program's cap: the bridge waits (Circle's may fall).
        TxFailure::Custom(c) if c == code(E::FeeAboveCap) => {
            Refusal::CalleeRefused("Circle's minimum fee is above the program's cap".into())
        }
        TxFailure::Custom(c) if c == code(E::NotInInbox) || c == code(E::NotThisSession) => {
            Refusal::NotTheSessions
        }
        // A record of a delivery the node does not show yet (one behind the one the watcher read).
        TxFailure::Custom(c) if c == code(E::NotDelivered) => {
            Refusal::Preparing("the node does not show the transfer delivered yet".into())
        }
        TxFailure::Custom(c) => Refusal::Permanent(format!("the deposit-vault program refused: error {c}")),
        // Circle's CCTP programs (paused, a burn limit, a remote domain not registered) or SPL Token (a
        // frozen account) refused: not the session's fault, and not final; tried again later, never read
        // as the vault's own codes (a pause there would have read as "unusable: refund").
        TxFailure::Callee { program, code } => Refusal::CalleeRefused(format!(
            "program {program}, called by the deposit-vault program, refused: error {code}"
        )),
        TxFailure::Other(reason) => Refusal::Unanswered(reason),
    }
}

/// [`refusal`], for a transaction that moves an inbox transfer (`inbox`) or not. Its transfer's record
/// was read before it was planned, so a missing account there (3012) is a node that does not show the
/// record yet (one of a pool behind another), not a transfer moved already (that is its claim record's
/// "already in use"): tried again, never read as "nothing to move", which would end the work.
pub(crate) fn refusal_of(failure: TxFailure, inbox: bool) -> Refusal {
    match failure {
        TxFailure::Custom(ACCOUNT_NOT_INITIALIZED) if inbox => {
            Refusal::Preparing("the node does not show the transfer's record yet".into())
        }
        failure => refusal(failure),
    }
}

/// The top-level instructions of the signed transaction `raw`, each its program and data (accounts left
/// out).
fn instructions_of(raw: &[u8]) -> Vec<Instruction> {
    tx::deserialize(raw).map_or_else(
        |_| vec![],
        |t| {
            t.message
                .instructions
                .iter()
                .filter_map(|ix| {
                    let program = *t.message.account_keys.get(usize::from(ix.program_id_index))?;
                    Some(Instruction { program_id: program, accounts: vec![], data: ix.data.clone() })
                })
                .collect()
        },
    )
}

/// Whether the signed transaction `raw` moves an inbox transfer.
#[cfg(test)]
fn inbox_move(raw: &[u8]) -> bool {
    tx::moves_an_inbox_transfer(&instructions_of(raw))
}

impl SvmChain {
    /// What a refusal of `instructions` means: a delivery's as [`SvmChain::delivery_refusal`] says, any
    /// other as [`refusal_of`].
    fn refusal_for(&self, instructions: &[Instruction], failure: TxFailure) -> Refusal {
        self.delivery_refusal(instructions, &failure)
            .unwrap_or_else(|| refusal_of(failure, tx::moves_an_inbox_transfer(instructions)))
    }

    /// Where a transaction the cluster knows stands: landed at the configured commitment (with what it
    /// cost, read from its own bytes), pending below it.
    fn landed_standing(&self, signed: &Signed, status: &crate::client::TxStatus) -> Standing {
        if status.confirmation < self.config.landing.commitment {
            return Standing::Pending;
        }
        let fee = tx::fee_of(&signed.raw()).unwrap_or_default();
        let cost = Cost { amount: fee.total(), decimals: 9, symbol: "SOL".into() };
        Standing::Landed { failed: status.failed, cost: Some(cost) }
    }

    /// The vault's move for `work`, if the vault holds any of `mint`.
    async fn vault_instruction(&self, work: &Work, mint: Pubkey) -> Result<Option<Instruction>, String> {
        let vault_token = tx::vault_token(&work.commitment, &mint);
        let accounts = self.client.accounts(vec![vault_token]).await.map_err(|e| e.to_string())?;
        let balance = accounts.into_iter().flatten().next().and_then(|a| tx::token_account(&a.data));
        if balance.is_none_or(|b| b.2 == 0) {
            return Ok(None);
        }
        let params = tx::params(&work.commitment);
        let payer = self.signer_pubkey();
        Ok(Some(match work.action {
            Action::Refund { .. } => tx::refund(payer, &params, mint),
            Action::Bridge { .. } => tx::bridge(payer, &params, mint),
            _ => tx::settle(payer, &params, mint),
        }))
    }

    /// The session's transfers still in the inbox that the relayer pays the claim of (at least
    /// `min_inbox_amount`), each with what it needs next: the program's record of it (from the attested
    /// message Circle's transmitter delivered) when there is none yet, else its claim (for a refund: send
    /// back). Which are recorded or consumed already the chain says (the records and claim records exist),
    /// not the watcher's view, which may lag. A transfer is never recorded and claimed in one transaction:
    /// anyone may record it first, and the claim would fail with it.
    async fn inbox_claims(
        &self,
        work: &Work,
        mint: Pubkey,
    ) -> Result<Vec<Planned<Vec<Instruction>>>, String> {
        let pending: Vec<Pending> = self.inbound_mut().get(&work.session_id).cloned().unwrap_or_default();
        let (worth, dust): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|p| p.amount >= self.config.min_inbox_amount);
        if !dust.is_empty() {
            tracing::info!(chain_id = self.config.chain_id, session_id = %work.session_id, count = dust.len(), min = self.config.min_inbox_amount, "inbox transfers below the minimum are left unclaimed");
        }
        if worth.is_empty() {
            return Ok(vec![]);
        }
        // The claim records (consumed already?) and the transfers' own records (recorded yet? the domain a
        // transfer came from, which sending it back burns towards), in one read.
        let mut keys: Vec<Pubkey> = worth.iter().map(|p| tx::claim_record(&p.at)).collect();
        keys.extend(worth.iter().map(|p| p.at));
        let mut read = self.client.accounts(keys).await.map_err(|e| e.to_string())?;
        let records = read.split_off(worth.len());
        let params = tx::params(&work.commitment);
        let payer = self.signer_pubkey();
        Ok(worth
            .into_iter()
            .zip(read.into_iter().zip(records))
            .filter(|(_, (consumed, _))| consumed.is_none())
            .filter_map(|(pending, (_, record))| {
                let part = pending.at.to_string();
                let Some(record) = record else {
                    let Some(delivery) = &pending.delivery else {
                        tracing::warn!(chain_id = self.config.chain_id, session_id = %work.session_id, record = %pending.at, "an inbox transfer without its record or its delivery; cannot claim it");
                        return None;
                    };
                    let part = format!("{RECORD_PART}{part}");
                    return Some(Planned { part: Some(part), plan: vec![tx::record(payer, delivery)], prepares: true });
                };
                let domain = tx::received_domain(&record.owner, &record.data)?;
                // Claimed only for a session that settles on Solana, and only a transfer that alone meets
                // the session's minimum (the program refuses any other); a refund, a smaller transfer and
                // a session delivering elsewhere go back to the receiver on the chain the transfer came
                // from, where the router refunds or forwards them.
                let claimable = matches!(work.action, Action::Settle { .. })
                    && params.settles(&mint)
                    && params.meets_minimum(pending.amount);
                let ix = if claimable {
                    tx::claim(payer, &params, pending.at, mint)
                } else {
                    tx::return_inbound(payer, &params, pending.at, domain, mint)
                };
                Some(Planned::doing(Some(part), vec![ix]))
            })
            .collect())
    }
}

impl ExpiryOrdered for SvmChain {
    fn spending(&self) -> Option<&relayer_chain::Spending> {
        self.spending.as_ref()
    }

    type Plan = Vec<Instruction>;

    fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    fn ledger(&self) -> &SendLedger<Signed> {
        &self.ledger
    }

    /// Work for a transfer in the inbox needs the watcher to have read the inbox first.
    fn ready(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.caught_up())
    }

    fn reconcile_every(&self) -> Duration {
        self.config.poll.max(Duration::from_millis(50)) * 2
    }

    /// A transfer's record is the same transaction whatever the work that needs it (its key names the
    /// transfer alone: a settlement and a later refund never record it twice); so is a delivery (its key
    /// names the message's nonce alone).
    fn key(&self, work: &Work, part: Option<&str>) -> Vec<u8> {
        if let Some(part) = part.filter(|p| p.starts_with(crate::arrivals::DELIVER_PART)) {
            return part.as_bytes().to_vec();
        }
        if let Some(at) =
            part.and_then(|p| p.strip_prefix(RECORD_PART)).and_then(|p| p.parse::<Pubkey>().ok())
        {
            return [RECORD_PART.as_bytes(), at.as_ref()].concat();
        }
        let transfer = part.and_then(|p| p.parse::<Pubkey>().ok());
        record_key(&work.session_id, work.action, transfer.as_ref())
    }

    /// The session's transfers in the inbox, one transaction each, and its vault: all in one run, so a
    /// transfer in the inbox (a griefer's, sent back) never holds up the payer's deposit in the vault.
    fn plan<'a>(&'a self, work: &'a Work) -> BoxFuture<'a, Result<Vec<Planned<Self::Plan>>, Refusal>> {
        Box::pin(async move {
            let (Action::Settle { token } | Action::Refund { token } | Action::Bridge { token, .. }) =
                work.action
            else {
                return Err(Refusal::Permanent(format!("{} is not supported on Solana", work.action.name())));
            };
            let mint =
                pubkey(token).ok_or_else(|| Refusal::Permanent(format!("{token} is not a Solana mint")))?;
            // Transfers bridged in that the relayer delivers itself, first: their claims follow once the
            // watcher saw them arrive.
            let deliveries = self.deliveries(work, mint).await.map_err(Refusal::Unanswered)?;
            let claims = self.inbox_claims(work, mint).await.map_err(Refusal::Unanswered)?;
            let vault = self.vault_instruction(work, mint).await.map_err(Refusal::Unanswered)?;
            Ok(deliveries
                .into_iter()
                .chain(claims)
                .chain(vault.map(|ix| Planned::doing(None, vec![ix])))
                .collect())
        })
    }

    /// Signs `plan` behind its compute budget: the price from the cluster's recent fees over the accounts
    /// it writes but the fee payer (the configured percentile, never above the ceiling; the last price known when the node
    /// does not answer), the limit from a simulation of the very instructions at the most units a
    /// transaction may ask for, unpriced (so the fee payer need not hold the fee of 1,400,000 priced
    /// units), plus the configured margin. A simulation that fails refuses the work as the pipeline's own
    /// would.
    fn sign<'a>(&'a self, plan: &'a Self::Plan) -> BoxFuture<'a, Result<Signature, Refusal>> {
        Box::pin(async move {
            let unanswered = |e: crate::client::ClientError| Refusal::Unanswered(e.to_string());
            let landing = self.config.landing;
            let price = match self
                .client
                .recent_priority_fees(tx::writable_accounts(plan, &self.signer_pubkey()))
                .await
            {
                Ok(recent) => {
                    let price =
                        tx::priority_price(&recent, landing.fee_percentile, landing.max_micro_lamports);
                    self.last_price.store(price, std::sync::atomic::Ordering::Relaxed);
                    price
                }
                Err(error) => {
                    let price = self.last_price.load(std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(chain_id = self.config.chain_id, %error, price, "no recent priority fees; paying the last price");
                    price
                }
            };
            let (blockhash, valid_until) = self.client.latest_blockhash().await.map_err(unanswered)?;
            let (_, trial) =
                tx::signed(&tx::with_budget(plan, tx::MAX_COMPUTE_UNITS, 0), &self.signer, blockhash);
            let simulation = self.client.simulate(trial).await.map_err(unanswered)?;
            if let Some(failure) = simulation.failure {
                return Err(self.refusal_for(plan, failure));
            }
            let units = tx::unit_limit(simulation.units, landing.unit_margin_percent);
            let (signature, raw) = tx::signed(&tx::with_budget(plan, units, price), &self.signer, blockhash);
            tracing::debug!(chain_id = self.config.chain_id, %signature, units, price, "signed");
            // Its fee is in its own bytes (the signatures and the compute budget it asks for).
            let most = tx::fee_of(&raw).unwrap_or_default().total();
            Ok(Signature { id: signature.to_string(), raw, valid_until, most })
        })
    }

    fn simulate<'a>(&'a self, raw: &'a [u8]) -> BoxFuture<'a, Result<(), Refusal>> {
        Box::pin(async move {
            let simulation =
                self.client.simulate(raw.to_vec()).await.map_err(|e| Refusal::Unanswered(e.to_string()))?;
            simulation.failure.map_or(Ok(()), |failure| Err(self.refusal_for(&instructions_of(raw), failure)))
        })
    }

    fn send<'a>(&'a self, raw: &'a [u8]) -> BoxFuture<'a, Result<(), SendFailure>> {
        Box::pin(async move {
            match self.client.send(raw.to_vec()).await {
                Ok(_) => Ok(()),
                Err(SendError::Preflight(failure)) => {
                    Err(SendFailure::Refused(self.refusal_for(&instructions_of(raw), failure)))
                }
                Err(SendError::Transport(e)) => Err(SendFailure::Unsure(e.to_string())),
            }
        })
    }

    /// Landed once the cluster confirmed it at the configured commitment (with what it cost, read from
    /// its own bytes); seen below that, still pending (a fork may drop it: it is sent again while
    /// its blockhash is valid); unseen past its last valid block height, by a node that had seen that far,
    /// never to land.
    fn standing<'a>(&'a self, signed: &'a Signed) -> BoxFuture<'a, Result<Standing, String>> {
        Box::pin(async move {
            let signature = signed.signature.parse().unwrap_or_default();
            let (_, status) = self.client.statuses_at(vec![signature]).await.map_err(|e| e.to_string())?;
            if let Some(Some(status)) = status.first() {
                return Ok(self.landed_standing(signed, status));
            }
            let (slot, height) = self.client.finalized_position().await.map_err(|e| e.to_string())?;
            if height <= signed.valid_until {
                return Ok(Standing::Pending);
            }
            // Never to land only in one view: asked again, after the finalized height was seen past its
            // last valid block, of a node that must have seen that finalized slot (a node of a pool that
            // lags would not know a transaction that landed, and a second one would be built). A backend
            // that does not say its slot (0: some archival proxies) leaves the height alone to decide, or
            // nothing would ever be rebuilt behind it.
            let (seen_to, status) =
                self.client.statuses_at(vec![signature]).await.map_err(|e| e.to_string())?;
            if let Some(Some(status)) = status.first() {
                return Ok(self.landed_standing(signed, status));
            }
            Ok(if seen_to >= slot || seen_to == 0 { Standing::NeverLands } else { Standing::Pending })
        })
    }

    fn tx_id(&self, id: &str) -> TxId {
        tx_id(&id.parse().unwrap_or_default())
    }

    fn count_broadcast(&self) {
        self.stats_mut().broadcasts += 1;
    }

    /// What it paid, base and priority fee, read from its own bytes.
    fn landed(&self, signed: &Signed) {
        let fee = tx::fee_of(&signed.raw()).unwrap_or_default();
        let mut stats = self.stats_mut();
        stats.fees_paid = Some(stats.fees_paid.unwrap_or(0).saturating_add(fee.total()));
        stats.priority_fees_paid = Some(stats.priority_fees_paid.unwrap_or(0).saturating_add(fee.priority));
    }
}

/// Runs the chain's pipeline (see [`pipeline::run`]).
pub(crate) async fn run(
    chain: std::sync::Arc<SvmChain>,
    sink: std::sync::Arc<dyn relayer_chain::EventSink>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let Some(jobs) = chain.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() else {
        tracing::error!(chain_id = chain.config.chain_id, "solana executor started twice");
        return;
    };
    pipeline::run(chain, jobs, sink, cancel).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A claim simulated on a node that does not show its transfer's record yet fails with a missing
    /// account: tried again (the work would otherwise end as "nothing to move", and nothing would claim the
    /// transfer until a restart). A vault's missing account is what it always was: moved already.
    #[test]
    fn a_missing_record_is_waited_for_and_a_missing_vault_is_nothing_to_move() {
        let key = solana_sdk::signature::Keypair::new();
        let payer = solana_sdk::signer::Signer::pubkey(&key);
        let params = deposit_vault::DepositParams {
            session_id: [1; 32],
            to_chain_id: deposit_vault::u64_word(deposit_vault::SOLANA_CHAIN_ID),
            to_token: deposit_vault::evm::BRIDGED_MINT.to_bytes(),
            to_address: [2; 32],
            amount: [0; 32],
            min_amount: [0; 32],
            final_call: vec![],
            refund_address: [0; 32],
            solana_refund_address: [3; 32],
            expires_at: 1,
        };
        let mint = deposit_vault::evm::BRIDGED_MINT;
        let claim = tx::claim(payer, &params, Pubkey::new_unique(), mint);
        let settle = tx::settle(payer, &params, mint);
        assert!(tx::moves_an_inbox_transfer(std::slice::from_ref(&claim)));
        assert!(!tx::moves_an_inbox_transfer(std::slice::from_ref(&settle)));
        let missing = TxFailure::Custom(ACCOUNT_NOT_INITIALIZED);
        assert!(matches!(refusal_of(missing.clone(), true), Refusal::Preparing(_)));
        assert_eq!(refusal_of(missing, false), Refusal::NothingToMove);
        let (_, raw) = tx::signed(&[claim], &key, Default::default());
        assert!(inbox_move(&raw));
        let (_, raw) = tx::signed(&[settle], &key, Default::default());
        assert!(!inbox_move(&raw));
    }
}
