//! The Solana executor: one piece of work at a time. If a transaction for the same session, action and
//! mint (and, in the inbox, the same bridged transfer) is on record, it is reconciled first (landed:
//! done; still valid: sent again, same bytes, same signature; its blockhash expired unlanded: it can never
//! land, so a new one may be sent). Otherwise the vault (or the inbox) is read, the instruction
//! simulated, and the signed transaction stored durably **before** it is sent. The program makes a second
//! delivery impossible anyway (the vault token account closes when it empties; a bridged transfer's claim
//! record exists once).
//!
//! Each transfer in the inbox is claimed (or sent back) in a transaction of its own: a session's pending
//! transfers are attacker-controlled in number (anyone can burn dust naming a receiver), and several in
//! one transaction would soon pass Solana's 1,232-byte packet limit and block the real one. Transfers
//! below `min_inbox_amount` are left for whoever wants to pay the claim record's rent for them.

use std::time::Duration;

use relayer_chain::{EventSink, Work, WorkReport, WorkResult};
use relayer_types::{Action, SessionId, TxId};
use serde::{Deserialize, Serialize};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Signature};

use crate::{
    SvmChain,
    chain::{pubkey, tx_id},
    client::{SendError, TxFailure},
    tx,
};

/// The Anchor error a missing account raises (`AccountNotInitialized`).
const ACCOUNT_NOT_INITIALIZED: u32 = 3012;
const VAULT_ERROR: u32 = anchor_lang::error::ERROR_CODE_OFFSET;

/// A signed transaction stored before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SendRecord {
    session_id: SessionId,
    commitment: relayer_types::Commitment,
    action: Action,
    /// The inbox transfer it claims or sends back (the bridge's record, base58), if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transfer: Option<String>,
    /// Base58 signature.
    signature: String,
    /// Hex of the wire bytes.
    raw: String,
    /// It can land up to this block height, never after.
    last_valid_block_height: u64,
}

impl SendRecord {
    fn key(session_id: &SessionId, action: Action, transfer: Option<&Pubkey>) -> Vec<u8> {
        let mut key =
            [&session_id.as_bytes()[..], action.name().as_bytes(), &action.token().to_bytes()].concat();
        if let Some(transfer) = transfer {
            key.extend_from_slice(b"/");
            key.extend_from_slice(transfer.as_ref());
        }
        key
    }

    fn own_key(&self) -> Vec<u8> {
        let transfer = self.transfer.as_deref().and_then(|t| t.parse::<Pubkey>().ok());
        Self::key(&self.session_id, self.action, transfer.as_ref())
    }

    fn signature(&self) -> Signature {
        self.signature.parse().unwrap_or_default()
    }

    fn tx_id(&self) -> TxId {
        tx_id(&self.signature())
    }

    fn raw(&self) -> Vec<u8> {
        hex::decode(&self.raw).unwrap_or_default()
    }
}

/// Where a recorded transaction stands.
enum Check {
    Landed { failed: bool },
    Pending,
    Expired,
}

/// What an existing record for a key says about sending again.
enum OnRecord {
    /// Nothing on record (or what was is finished and forgotten): build anew.
    Nothing,
    /// A transaction is in flight; it was announced again.
    InFlight(TxId),
}

impl SvmChain {
    pub(crate) async fn execute_loop(
        self: std::sync::Arc<Self>,
        sink: std::sync::Arc<dyn EventSink>,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        let Some(mut jobs) = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
        else {
            tracing::error!(chain_id = self.config.chain_id, "solana executor started twice");
            return;
        };
        // Work for a transfer in the inbox needs the watcher to have read the inbox first.
        let mut caught_up = self.caught_up.subscribe();
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = caught_up.wait_for(|done| *done) => {}
        }
        // Reconcile what a previous run left on record before anything new is sent.
        self.reconcile(sink.as_ref()).await;
        let mut reconcile = tokio::time::interval(self.config.poll.max(Duration::from_millis(200)) * 2);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                work = jobs.recv() => {
                    let Some(work) = work else { return };
                    // A shutdown never waits on a hung cluster: what was sent is on record.
                    let result = tokio::select! {
                        () = cancel.cancelled() => return,
                        result = self.execute(&work) => result,
                    };
                    tracing::info!(chain_id = self.config.chain_id, session_id = %work.session_id, action = work.action.name(), ?result, "solana work");
                    sink.report(WorkReport { work, result }).await;
                }
                _ = reconcile.tick() => {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = self.reconcile(sink.as_ref()) => {}
                    }
                }
            }
        }
    }

    /// The send records whose key starts with `prefix` (all of them for an empty one). A record that
    /// cannot be read is reported, never skipped silently: it may describe a transaction in flight.
    fn records(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, SendRecord)>, String> {
        let raw = self.store.sends(self.config.chain_id, prefix).map_err(|e| e.to_string())?;
        raw.iter()
            .map(|bytes| {
                let record: SendRecord = serde_json::from_slice(bytes)
                    .map_err(|e| format!("a solana send record cannot be read ({e}); it may be in flight"))?;
                Ok((record.own_key(), record))
            })
            .collect()
    }

    async fn check(&self, record: &SendRecord) -> Result<Check, String> {
        let status = self.client.statuses(vec![record.signature()]).await.map_err(|e| e.to_string())?;
        if let Some(Some(status)) = status.first() {
            return Ok(Check::Landed { failed: status.failed });
        }
        let height = self.client.block_height().await.map_err(|e| e.to_string())?;
        Ok(if height > record.last_valid_block_height { Check::Expired } else { Check::Pending })
    }

    /// Settles what is on record: landed transactions are forgotten (a failed one is reported, so the
    /// engine tries again), pending ones sent again, expired ones forgotten and reported for a retry.
    async fn reconcile(&self, sink: &dyn EventSink) {
        let records = match self.records(&[]) {
            Ok(records) => records,
            Err(error) => {
                tracing::error!(chain_id = self.config.chain_id, %error, "cannot read the solana send records");
                return;
            }
        };
        for (key, record) in records {
            let work = Work {
                session_id: record.session_id,
                chain_id: self.config.chain_id,
                commitment: record.commitment.clone(),
                action: record.action,
            };
            let result = match self.check(&record).await {
                Ok(Check::Landed { failed: false }) => None,
                Ok(Check::Landed { failed: true }) => Some(WorkResult::Reverted { tx_hash: record.tx_id() }),
                Ok(Check::Expired) => {
                    Some(WorkResult::NotYet("its blockhash expired before it landed".into()))
                }
                Ok(Check::Pending) => {
                    // Same bytes, same signature: at most one of the copies can land.
                    if let Err(error) = self.client.send(record.raw()).await {
                        tracing::debug!(%error, signature = record.signature, "resend failed");
                    }
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot check a solana transaction on record");
                    continue;
                }
            };
            if let Err(error) = self.store.delete_send(self.config.chain_id, &key) {
                tracing::error!(%error, "cannot delete a solana send record");
                continue;
            }
            if let Some(result) = result {
                sink.report(WorkReport { work, result }).await;
            }
        }
    }

    /// What the program's refusal of `work` means for the engine (see the program's error table).
    fn refusal(&self, work: &Work, failure: TxFailure) -> WorkResult {
        use deposit_vault::VaultError as E;
        let code = |e: E| VAULT_ERROR + e as u32;
        let after_expiry = work.commitment.expires_at + 1;
        match failure {
            TxFailure::Custom(c) if c == code(E::Expired) || c == code(E::TooLateToBridge) => {
                WorkResult::RefundInstead
            }
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
                WorkResult::RefundInstead
            }
            TxFailure::Custom(c) if c == code(E::NotRefundable) => WorkResult::NotBefore {
                reason: "the program refunds a usable mint only after expiry".into(),
                at: after_expiry,
            },
            // Nothing starts below the committed minimum: more may come; after expiry it is refunded.
            TxFailure::Custom(c) if c == code(E::BelowMinimum) => WorkResult::NotBefore {
                reason: "less than the session's minimum is there; waiting for the rest until expiry".into(),
                at: after_expiry,
            },
            TxFailure::Custom(c) if c == code(E::NothingToMove) || c == ACCOUNT_NOT_INITIALIZED => {
                WorkResult::Done("the vault holds nothing of this mint".into())
            }
            TxFailure::Custom(c) if c == code(E::NotInInbox) || c == code(E::NotThisSession) => {
                WorkResult::Done("that inbox transfer is not this session's".into())
            }
            TxFailure::Custom(c) => {
                WorkResult::Failed(format!("the deposit-vault program refused: error {c}"))
            }
            TxFailure::Other(reason) => WorkResult::NotYet(reason),
        }
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
    /// `min_inbox_amount`), each with its claim (for a refund: send back). Which are consumed already the
    /// chain says (their claim records exist), not the watcher's view, which may lag.
    async fn inbox_claims(&self, work: &Work, mint: Pubkey) -> Result<Vec<(Pubkey, Instruction)>, String> {
        let pending: Vec<(Pubkey, u64)> =
            self.inbound_mut().get(&work.session_id).cloned().unwrap_or_default();
        let (worth, dust): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(_, amount)| *amount >= self.config.min_inbox_amount);
        if !dust.is_empty() {
            tracing::info!(chain_id = self.config.chain_id, session_id = %work.session_id, count = dust.len(), min = self.config.min_inbox_amount, "inbox transfers below the minimum are left unclaimed");
        }
        if worth.is_empty() {
            return Ok(vec![]);
        }
        let records = worth.iter().map(|(at, _)| tx::claim_record(at)).collect();
        let consumed = self.client.accounts(records).await.map_err(|e| e.to_string())?;
        let params = tx::params(&work.commitment);
        let payer = self.signer_pubkey();
        Ok(worth
            .into_iter()
            .zip(consumed)
            .filter(|(_, record)| record.is_none())
            .map(|((at, amount), _)| {
                // Claimed only for a session that settles on Solana, and only a transfer that alone meets
                // the session's minimum (the program refuses any other); a refund, a smaller transfer and
                // a session delivering elsewhere go back to the receiver on the chain the transfer came
                // from, where the router refunds or forwards them.
                let claimable = matches!(work.action, Action::Settle { .. })
                    && params.settles(&mint)
                    && params.meets_minimum(amount);
                let ix = if claimable {
                    tx::claim(payer, &params, at, mint)
                } else {
                    tx::return_inbound(payer, &params, at, mint)
                };
                (at, ix)
            })
            .collect())
    }

    /// What the record at `key` says: reconciled against the chain, and forgotten once finished.
    async fn on_record(&self, key: &[u8]) -> Result<OnRecord, String> {
        let Some((_, record)) = self.records(key)?.into_iter().find(|(k, _)| k == key) else {
            return Ok(OnRecord::Nothing);
        };
        match self.check(&record).await? {
            Check::Pending => {
                if let Err(error) = self.client.send(record.raw()).await {
                    tracing::debug!(%error, "resend failed");
                }
                Ok(OnRecord::InFlight(record.tx_id()))
            }
            // Landed (its effect reaches the engine through the watcher), failed, or never to land: the
            // chain says what is left to do.
            Check::Landed { .. } | Check::Expired => {
                self.store.delete_send(self.config.chain_id, key).map_err(|e| e.to_string())?;
                Ok(OnRecord::Nothing)
            }
        }
    }

    /// Simulates, persists and sends one transaction of `ixs` for `work` under `key`.
    async fn send_one(
        &self,
        work: &Work,
        key: &[u8],
        transfer: Option<Pubkey>,
        ixs: &[Instruction],
    ) -> WorkResult {
        let (blockhash, last_valid_block_height) = match self.client.latest_blockhash().await {
            Ok(b) => b,
            Err(e) => return WorkResult::NotYet(e.to_string()),
        };
        let (signature, raw) = tx::signed(ixs, &self.signer, blockhash);
        match self.client.simulate(raw.clone()).await {
            Ok(sim) => {
                if let Some(failure) = sim.failure {
                    return self.refusal(work, failure);
                }
            }
            Err(e) => return WorkResult::NotYet(e.to_string()),
        }
        // Persist before sending: after a crash the record says what may be in flight.
        let record = SendRecord {
            session_id: work.session_id,
            commitment: work.commitment.clone(),
            action: work.action,
            transfer: transfer.map(|t| t.to_string()),
            signature: signature.to_string(),
            raw: hex::encode(&raw),
            last_valid_block_height,
        };
        let bytes = match serde_json::to_vec(&record) {
            Ok(b) => b,
            Err(e) => return WorkResult::Failed(e.to_string()),
        };
        if let Err(e) = self.store.put_send(self.config.chain_id, key, &bytes) {
            return WorkResult::NotYet(format!("cannot persist the transaction: {e}"));
        }
        self.stats_mut().broadcasts += 1;
        match self.client.send(raw).await {
            Ok(_) => WorkResult::Sent { tx_hash: tx_id(&signature) },
            Err(SendError::Preflight(failure)) => {
                // Never sent: forget it.
                if let Err(e) = self.store.delete_send(self.config.chain_id, key) {
                    return WorkResult::NotYet(e.to_string());
                }
                self.refusal(work, failure)
            }
            // It may have reached the cluster: the record stays, the next try reconciles.
            Err(SendError::Transport(e)) => WorkResult::NotYet(e.to_string()),
        }
    }

    pub(crate) async fn execute(&self, work: &Work) -> WorkResult {
        let (Action::Settle { token } | Action::Refund { token } | Action::Bridge { token, .. }) =
            work.action
        else {
            return WorkResult::Failed(format!("{} is not supported on Solana", work.action.name()));
        };
        let Some(mint) = pubkey(token) else {
            return WorkResult::Failed(format!("{token} is not a Solana mint"));
        };

        // The session's transfers in the inbox first (a session paid on an EVM chain has no other funds
        // here), one transaction each; otherwise its vault.
        let claims = match self.inbox_claims(work, mint).await {
            Ok(claims) => claims,
            Err(reason) => return WorkResult::NotYet(reason),
        };
        if !claims.is_empty() {
            let (mut sent, mut other) = (None, None);
            for (transfer, ix) in claims {
                let key = SendRecord::key(&work.session_id, work.action, Some(&transfer));
                let result = match self.on_record(&key).await {
                    Err(reason) => WorkResult::NotYet(reason),
                    Ok(OnRecord::InFlight(tx_hash)) => WorkResult::Sent { tx_hash },
                    Ok(OnRecord::Nothing) => self.send_one(work, &key, Some(transfer), &[ix]).await,
                };
                // One transfer that cannot move now does not hold up the others.
                if matches!(result, WorkResult::Sent { .. }) {
                    sent.get_or_insert(result);
                } else {
                    tracing::info!(chain_id = self.config.chain_id, session_id = %work.session_id, %transfer, ?result, "inbox transfer not moved");
                    other.get_or_insert(result);
                }
            }
            return sent.or(other).unwrap_or_else(|| WorkResult::Done("nothing in the inbox".into()));
        }

        let key = SendRecord::key(&work.session_id, work.action, None);
        match self.on_record(&key).await {
            Err(reason) => return WorkResult::NotYet(reason),
            Ok(OnRecord::InFlight(tx_hash)) => return WorkResult::Sent { tx_hash },
            Ok(OnRecord::Nothing) => {}
        }
        match self.vault_instruction(work, mint).await {
            Err(reason) => WorkResult::NotYet(reason),
            Ok(None) => WorkResult::Done("the vault holds nothing of this mint".into()),
            Ok(Some(ix)) => self.send_one(work, &key, None, &[ix]).await,
        }
    }
}
