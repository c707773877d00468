//! Solana as a [`Chain`]: receivers are vault token accounts, a watcher polls them, an executor sends
//! `settle` / `refund` with persist-before-send and reconciles after a restart.
//!
//! **Watcher.** Solana has no log index by token the way EVM chains have `Transfer` logs, so the watcher
//! polls the vault token accounts of sessions that have one (`getMultipleAccounts`, 100 per call) and,
//! for each whose balance or lamports changed since the last poll (all of them after a start), reads its
//! new transactions (`getSignaturesForAddress` down to the newest one already applied, then
//! `getTransaction`). A rise of the vault's balance is a deposit; the program's `emit_cpi!` events are
//! settlements and refunds. Reads are finalized, so nothing it reports can be rolled back; replays after
//! a restart are harmless (the engine deduplicates by event id).
//!
//! **Inbox.** Transfers bridged in from the EVM chains for Solana destinations arrive in the program's
//! inbox token account (one per mint), not in a vault. The watcher polls it like a vault and reads the
//! local bridge's `MessageReceived` records: the hook names the session's EVM receiver, so the session
//! is the one that receiver belongs to; each arrival is a deposit of that session on Solana, kept as an
//! inbound transfer until the program's `Claimed` or `SentBack` event consumes it. The inbox's history
//! is read again at every start, so the inbound transfers need no store of their own; the executor waits
//! for that first read before it runs any work.
//!
//! **Executor.** One piece of work at a time: if a transaction for the same session, action and mint is
//! on record, it is reconciled first (landed: done; still valid: sent again, same bytes, same signature;
//! its blockhash expired unlanded: it can never land, so a new one may be sent). Otherwise the vault is
//! read, the instruction simulated, and the signed transaction stored durably **before** it is sent. The
//! program makes a second delivery impossible anyway (the vault token account closes when it empties).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use relayer_chain::{
    BoxFuture, Chain, ChainEvent, ChainStats, EventSink, Inspection, Route, Stopped, Work, WorkReport,
    WorkResult,
};
use relayer_store::ChainStore;
use relayer_types::{
    Action, B256, Bridging, ChainAddress, ChainKey, Commitment, Deposit, EventId, Family, Outcome, SessionId,
    Settlement, TokenRef, TxId, U256,
};
use serde::{Deserialize, Serialize};
use solana_sdk::{
    instruction::Instruction,
    pubkey::Pubkey,
    signature::{Keypair, Signature},
    signer::Signer,
};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    client::{SendError, SvmClient, TxFailure},
    tx::{self, VaultMove},
};

/// The Anchor error a missing account raises (`AccountNotInitialized`).
const ACCOUNT_NOT_INITIALIZED: u32 = 3012;
const VAULT_ERROR: u32 = anchor_lang::error::ERROR_CODE_OFFSET;

/// How one Solana cluster is used.
#[derive(Debug, Clone)]
pub struct SvmConfig {
    /// The API's `chainId` (501).
    pub chain_id: u64,
    /// Display name; also the `chainName` of Solana sources (`solana`).
    pub name: String,
    /// Tokens (mints) accepted and delivered; the first is the one vault token accounts are watched for.
    pub tokens: Vec<TokenRef>,
    /// Pause between watcher polls (and executor reconciliations).
    pub poll: Duration,
    /// Bridge routes out of Solana (through the local bridge, its `adapter`), by destination chain.
    pub routes: Vec<(u64, Route)>,
}

/// A configured Solana cluster.
pub struct SvmChain {
    config: SvmConfig,
    client: Arc<dyn SvmClient>,
    store: Arc<dyn ChainStore>,
    signer: Keypair,
    queue: mpsc::Sender<Work>,
    jobs: Mutex<Option<mpsc::Receiver<Work>>>,
    stats: Mutex<ChainStats>,
    /// Transfers in the inbox not yet claimed or sent back: the bridge's records, by session.
    inbound: Mutex<HashMap<SessionId, Vec<Pubkey>>>,
    /// Whether the watcher has read everything there was when it started.
    caught_up: tokio::sync::watch::Sender<bool>,
}

/// A signed transaction stored before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SendRecord {
    session_id: SessionId,
    commitment: Commitment,
    action: Action,
    /// Base58 signature.
    signature: String,
    /// Hex of the wire bytes.
    raw: String,
    /// It can land up to this block height, never after.
    last_valid_block_height: u64,
}

impl SendRecord {
    fn key(session_id: &SessionId, action: Action) -> Vec<u8> {
        [&session_id.as_bytes()[..], action.name().as_bytes(), &action.token().to_bytes()].concat()
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

/// A Solana signature as a [`TxId`].
pub fn tx_id(signature: &Signature) -> TxId {
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(signature.as_ref());
    TxId::Solana(bytes)
}

fn pubkey(address: ChainAddress) -> Option<Pubkey> {
    match address {
        ChainAddress::Solana(key) => Some(Pubkey::new_from_array(key)),
        _ => None,
    }
}

/// Where a recorded transaction stands.
enum Check {
    Landed { failed: bool },
    Pending,
    Expired,
}

impl SvmChain {
    /// A chain over `client`, sending with `signer` (it pays fees and the rent of recipients' token
    /// accounts that do not exist yet), keeping its send records in `store`.
    pub fn new(
        config: SvmConfig,
        client: Arc<dyn SvmClient>,
        store: Arc<dyn ChainStore>,
        signer: Keypair,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(1024);
        Self {
            config,
            client,
            store,
            signer,
            queue,
            jobs: Mutex::new(Some(jobs)),
            stats: Mutex::default(),
            inbound: Mutex::default(),
            caught_up: tokio::sync::watch::Sender::new(false),
        }
    }

    fn inbound_mut(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Vec<Pubkey>>> {
        self.inbound.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn watched_mint(&self) -> Option<Pubkey> {
        self.config.tokens.first().and_then(|t| pubkey(t.address))
    }

    fn token_ref(&self, mint: &Pubkey) -> Option<TokenRef> {
        self.config.tokens.iter().find(|t| t.address == ChainAddress::Solana(mint.to_bytes())).cloned()
    }

    fn stats_mut(&self) -> std::sync::MutexGuard<'_, ChainStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ----- watcher -----

    async fn watch(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken) {
        // Per vault token account: its last (lamports, balance), and the newest transaction applied.
        let mut seen: HashMap<Pubkey, Option<(u64, u64)>> = HashMap::new();
        let mut newest: HashMap<Pubkey, Signature> = HashMap::new();
        loop {
            let step = tokio::select! {
                () = cancel.cancelled() => return,
                step = self.watch_step(sink.as_ref(), &mut seen, &mut newest) => step,
            };
            if let Err(error) = step {
                self.stats_mut().rpc_errors += 1;
                tracing::warn!(chain_id = self.config.chain_id, %error, "solana watcher step failed; retrying");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    async fn watch_step(
        &self,
        sink: &dyn EventSink,
        seen: &mut HashMap<Pubkey, Option<(u64, u64)>>,
        newest: &mut HashMap<Pubkey, Signature>,
    ) -> Result<(), String> {
        let slot = self.client.slot().await.map_err(|e| e.to_string())?;
        self.stats_mut().head = slot;
        // Vault token accounts belong to one session each; the inbox (no session) to whoever its records name.
        let mut receivers: Vec<(Pubkey, Option<SessionId>)> = sink
            .receivers_of(Family::Solana)
            .into_iter()
            .filter_map(|(r, id)| Some((pubkey(r)?, Some(id))))
            .collect();
        if let Some(mint) = self.watched_mint() {
            receivers.push((tx::inbox_token(&mint), None));
        }
        let mut changed = vec![];
        for chunk in receivers.chunks(100) {
            let keys: Vec<Pubkey> = chunk.iter().map(|(k, _)| *k).collect();
            let accounts = self.client.accounts(keys).await.map_err(|e| e.to_string())?;
            for ((key, session), account) in chunk.iter().zip(accounts) {
                let state = account.map(|a| (a.lamports, tx::token_account(&a.data).map_or(0, |t| t.2)));
                if seen.get(key) != Some(&state) {
                    changed.push((*key, *session, state));
                }
            }
        }
        // Per vault in chain order (signatures come newest first); vaults are independent sessions.
        let mut events: Vec<ChainEvent> = vec![];
        let mut heads = vec![];
        for (key, session, _) in &changed {
            let signatures = self
                .client
                .signatures_for(*key, newest.get(key).copied())
                .await
                .map_err(|e| e.to_string())?;
            if let Some(first) = signatures.first() {
                heads.push((*key, first.signature));
            }
            for info in signatures.iter().rev().filter(|i| !i.failed) {
                let Some(view) = self.client.transaction(info.signature).await.map_err(|e| e.to_string())?
                else {
                    return Err(format!("transaction {} not found yet", info.signature));
                };
                match session {
                    Some(session) => events.extend(self.events_of(&view, key, *session)),
                    None => events.extend(self.inbox_events(&view, key, sink)),
                }
            }
        }
        let count = events.len();
        if count > 0 {
            sink.apply(self.config.chain_id, events).await.map_err(|e| e.to_string())?;
            tracing::debug!(chain_id = self.config.chain_id, count, "solana events applied");
        }
        for (key, signature) in heads {
            newest.insert(key, signature);
        }
        for (key, _, state) in changed {
            seen.insert(key, state);
        }
        self.stats_mut().processed = slot;
        self.caught_up.send_replace(true);
        Ok(())
    }

    /// What `tx` did in the inbox token account `inbox`: transfers that arrived for a session (its
    /// deposits on Solana), and the program's claims and sends back of them (its settlements and
    /// bridgings). Keeps [`SvmChain::inbound`] current.
    fn inbox_events(
        &self,
        view: &crate::client::TxView,
        inbox: &Pubkey,
        sink: &dyn EventSink,
    ) -> Vec<ChainEvent> {
        let mut out = vec![];
        for (index, moved) in tx::inbox_moves(view) {
            // Inner instructions follow the account keys in the numbering, so ids never collide.
            let event = EventId {
                chain_id: self.config.chain_id,
                block_number: view.slot,
                tx_hash: tx_id(&view.signature),
                log_index: (view.account_keys.len() + index) as u64,
            };
            match moved {
                tx::InboxMove::Arrived { at, received } => {
                    let Some(mint) = self.watched_mint().filter(|_| received.mint_recipient == *inbox) else {
                        continue;
                    };
                    // The hook is the session's EVM receiver, a left-padded address.
                    let receiver = received
                        .hook
                        .filter(|h| h[..12] == [0u8; 12])
                        .map(|h| ChainAddress::Evm(relayer_types::Address::from_slice(&h[12..])));
                    let (Some(session), Some(token)) =
                        (receiver.and_then(|r| sink.session_for_receiver(r)), self.token_ref(&mint))
                    else {
                        tracing::warn!(chain_id = self.config.chain_id, record = %at, "a transfer in the inbox names no session of ours");
                        continue;
                    };
                    let mut inbound = self.inbound_mut();
                    let pending = inbound.entry(session).or_default();
                    if !pending.contains(&at) {
                        pending.push(at);
                    }
                    let from = ChainAddress::Solana(tx::bridge_custody(&mint).to_bytes());
                    let deposit = Deposit {
                        event,
                        block_hash: B256::ZERO,
                        from,
                        token,
                        amount: U256::from(received.amount),
                    };
                    out.push(ChainEvent::Deposit { session, deposit });
                }
                tx::InboxMove::Claimed(ref e) | tx::InboxMove::SentBack(ref e) => {
                    let Some(session) = SessionId::from_b256(B256::from(e.session_id)) else { continue };
                    let at = tx::received_record(e.source_domain, e.nonce);
                    if let Some(pending) = self.inbound_mut().get_mut(&session) {
                        pending.retain(|r| *r != at);
                    }
                    let (token, amount) = (ChainAddress::Solana(e.mint.to_bytes()), U256::from(e.amount));
                    out.push(if matches!(moved, tx::InboxMove::Claimed(_)) {
                        let settlement = Settlement {
                            event,
                            token,
                            outcome: Outcome::Delivered,
                            amount,
                            delivered: amount,
                            refunded: U256::ZERO,
                        };
                        ChainEvent::Settled { session, settlement }
                    } else {
                        let adapter = ChainAddress::Solana(tx::BRIDGE_ID.to_bytes());
                        ChainEvent::Bridged { session, bridging: Bridging { event, token, adapter, amount } }
                    });
                }
            }
        }
        out
    }

    /// Deposits into `vault_token` and the program's moves out of it in one transaction.
    fn events_of(
        &self,
        view: &crate::client::TxView,
        vault_token: &Pubkey,
        session: SessionId,
    ) -> Vec<ChainEvent> {
        let event = |log_index: usize| EventId {
            chain_id: self.config.chain_id,
            block_number: view.slot,
            tx_hash: tx_id(&view.signature),
            log_index: log_index as u64,
        };
        let mut out = vec![];
        if let Some(inflow) = tx::inflow(view, vault_token)
            && let Some(token) = self.token_ref(&inflow.mint)
        {
            let deposit = Deposit {
                event: event(inflow.index),
                block_hash: B256::ZERO,
                from: ChainAddress::Solana(inflow.from.to_bytes()),
                token,
                amount: U256::from(inflow.amount),
            };
            out.push(ChainEvent::Deposit { session, deposit });
        }
        for (index, moved) in tx::vault_moves(view) {
            let e = moved.event();
            if anchor_spl::associated_token::get_associated_token_address(&e.vault, &e.mint) != *vault_token {
                continue;
            }
            let amount = U256::from(e.amount);
            // Inner instructions follow the account keys in the numbering, so ids never collide.
            let position = view.account_keys.len() + index;
            let token = ChainAddress::Solana(e.mint.to_bytes());
            let (outcome, delivered, refunded) = match moved {
                VaultMove::Settled(_) => (Outcome::Delivered, amount, U256::ZERO),
                VaultMove::Refunded(_) => (Outcome::Refunded, U256::ZERO, amount),
                VaultMove::Bridged(_) => {
                    let adapter = ChainAddress::Solana(tx::BRIDGE_ID.to_bytes());
                    let bridging = Bridging { event: event(position), token, adapter, amount };
                    out.push(ChainEvent::Bridged { session, bridging });
                    continue;
                }
            };
            let settlement =
                Settlement { event: event(position), token, outcome, amount, delivered, refunded };
            out.push(ChainEvent::Settled { session, settlement });
        }
        out
    }

    // ----- executor -----

    async fn execute_loop(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken) {
        let Some(mut jobs) = self.jobs.lock().unwrap_or_else(PoisonError::into_inner).take() else {
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

    /// The send records whose key starts with `prefix` (all of them for an empty one).
    fn records(&self, prefix: &[u8]) -> Vec<(Vec<u8>, SendRecord)> {
        let raw = match self.store.sends(self.config.chain_id, prefix) {
            Ok(raw) => raw,
            Err(error) => {
                tracing::error!(%error, "cannot read solana send records");
                return vec![];
            }
        };
        raw.iter()
            .filter_map(|bytes| serde_json::from_slice::<SendRecord>(bytes).ok())
            .map(|r| (SendRecord::key(&r.session_id, r.action), r))
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
        for (key, record) in self.records(&[]) {
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

    fn refusal(&self, work: &Work, failure: TxFailure) -> WorkResult {
        use deposit_vault::VaultError as E;
        let code = |e: E| VAULT_ERROR + e as u32;
        match failure {
            TxFailure::Custom(c) if c == code(E::Expired) || c == code(E::TooLateToBridge) => {
                WorkResult::RefundInstead
            }
            TxFailure::Custom(c) if c == code(E::NotRefundable) => WorkResult::NotBefore {
                reason: "the program refunds a usable mint only after expiry".into(),
                at: work.commitment.expires_at + 1,
            },
            TxFailure::Custom(c) if c == code(E::NothingToMove) || c == ACCOUNT_NOT_INITIALIZED => {
                WorkResult::Done("the vault holds nothing of this mint".into())
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
        let payer = self.signer.pubkey();
        Ok(Some(match work.action {
            Action::Refund { .. } => tx::refund(payer, &params, mint),
            Action::Bridge { .. } => tx::bridge(payer, &params, mint),
            _ => tx::settle(payer, &params, mint),
        }))
    }

    /// Claims (for a refund: sends back) the session's transfers still in the inbox; `None` if it has
    /// none. Which are consumed already the chain says (their claim records exist), not the watcher's
    /// view, which may lag.
    async fn inbox_instructions(
        &self,
        work: &Work,
        mint: Pubkey,
    ) -> Result<Option<Vec<Instruction>>, String> {
        let pending = self.inbound_mut().get(&work.session_id).cloned().unwrap_or_default();
        if pending.is_empty() {
            return Ok(None);
        }
        let records = pending.iter().map(tx::claim_record).collect();
        let consumed = self.client.accounts(records).await.map_err(|e| e.to_string())?;
        let params = tx::params(&work.commitment);
        let payer = self.signer.pubkey();
        let ixs: Vec<Instruction> = pending
            .into_iter()
            .zip(consumed)
            .filter(|(_, record)| record.is_none())
            .map(|(at, _)| match work.action {
                Action::Refund { .. } => tx::send_back(payer, &params, at, mint),
                _ => tx::claim(payer, &params, at, mint),
            })
            .collect();
        Ok((!ixs.is_empty()).then_some(ixs))
    }

    async fn execute(&self, work: &Work) -> WorkResult {
        let (Action::Settle { token } | Action::Refund { token } | Action::Bridge { token, .. }) =
            work.action
        else {
            return WorkResult::Failed(format!("{} is not supported on Solana", work.action.name()));
        };
        let Some(mint) = pubkey(token) else {
            return WorkResult::Failed(format!("{token} is not a Solana mint"));
        };
        let key = SendRecord::key(&work.session_id, work.action);
        // One key, read on its own (not every record of the chain for each piece of work).
        if let Some((_, record)) = self.records(&key).into_iter().find(|(k, _)| *k == key) {
            match self.check(&record).await {
                Ok(Check::Pending) => {
                    if let Err(error) = self.client.send(record.raw()).await {
                        tracing::debug!(%error, "resend failed");
                    }
                    return WorkResult::Sent { tx_hash: record.tx_id() };
                }
                // Landed (its effect reaches the engine through the watcher), failed, or never to land:
                // the vault says what is left to do.
                Ok(Check::Landed { .. } | Check::Expired) => {
                    if let Err(e) = self.store.delete_send(self.config.chain_id, &key) {
                        return WorkResult::NotYet(e.to_string());
                    }
                }
                Err(reason) => return WorkResult::NotYet(reason),
            }
        }

        // The session's transfers in the inbox first (a session paid on an EVM chain has no other funds
        // here); otherwise its vault.
        let ixs = match self.inbox_instructions(work, mint).await {
            Err(reason) => return WorkResult::NotYet(reason),
            Ok(Some(ixs)) => ixs,
            Ok(None) => match self.vault_instruction(work, mint).await {
                Err(reason) => return WorkResult::NotYet(reason),
                Ok(None) => return WorkResult::Done("the vault holds nothing of this mint".into()),
                Ok(Some(ix)) => vec![ix],
            },
        };
        let (blockhash, last_valid_block_height) = match self.client.latest_blockhash().await {
            Ok(b) => b,
            Err(e) => return WorkResult::NotYet(e.to_string()),
        };
        let (signature, raw) = tx::signed(&ixs, &self.signer, blockhash);
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
            signature: signature.to_string(),
            raw: hex::encode(&raw),
            last_valid_block_height,
        };
        let bytes = match serde_json::to_vec(&record) {
            Ok(b) => b,
            Err(e) => return WorkResult::Failed(e.to_string()),
        };
        if let Err(e) = self.store.put_send(self.config.chain_id, &key, &bytes) {
            return WorkResult::NotYet(format!("cannot persist the transaction: {e}"));
        }
        self.stats_mut().broadcasts += 1;
        match self.client.send(raw).await {
            Ok(_) => WorkResult::Sent { tx_hash: tx_id(&signature) },
            Err(SendError::Preflight(failure)) => {
                // Never sent: forget it.
                if let Err(e) = self.store.delete_send(self.config.chain_id, &key) {
                    return WorkResult::NotYet(e.to_string());
                }
                self.refusal(work, failure)
            }
            // It may have reached the cluster: the record stays, the next try reconciles.
            Err(SendError::Transport(e)) => WorkResult::NotYet(e.to_string()),
        }
    }
}

impl Chain for SvmChain {
    fn key(&self) -> ChainKey {
        ChainKey { family: Family::Solana, chain_id: self.config.chain_id }
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    fn tokens(&self) -> &[TokenRef] {
        &self.config.tokens
    }

    fn receiver(&self, commitment: &Commitment) -> ChainAddress {
        let mint = self.watched_mint().unwrap_or_default();
        ChainAddress::Solana(tx::vault_token(commitment, &mint).to_bytes())
    }

    fn route(&self, token: &ChainAddress, to_chain_id: u64) -> Option<Route> {
        // The local bridge carries the watched mint only.
        let watched = self.watched_mint().map(|m| ChainAddress::Solana(m.to_bytes()));
        (Some(*token) == watched)
            .then(|| self.config.routes.iter().find(|(to, _)| *to == to_chain_id).map(|(_, r)| r.clone()))
            .flatten()
    }

    fn relayer_address(&self) -> Option<ChainAddress> {
        Some(ChainAddress::Solana(self.signer.pubkey().to_bytes()))
    }

    fn payment_transaction(
        &self,
        commitment: &Commitment,
        payer: ChainAddress,
        token: ChainAddress,
        amount: U256,
    ) -> BoxFuture<'_, Result<Vec<u8>, String>> {
        let commitment = commitment.clone();
        Box::pin(async move {
            let payer = pubkey(payer).ok_or("the payer is not a Solana address")?;
            let mint = pubkey(token).ok_or("the token is not a Solana mint")?;
            let decimals = self.token_ref(&mint).ok_or("the mint is not configured")?.decimals;
            let amount =
                u64::try_from(amount).map_err(|_| "the amount does not fit a Solana token amount")?;
            let (blockhash, _) = self.client.latest_blockhash().await.map_err(|e| e.to_string())?;
            let tx =
                tx::payment_transaction(&payer, &tx::vault(&commitment), &mint, decimals, amount, blockhash)?;
            Ok(tx::serialize(&tx))
        })
    }

    fn balance_of(&self, token: ChainAddress, owner: ChainAddress) -> BoxFuture<'_, Result<U256, String>> {
        Box::pin(async move {
            let (Some(mint), Some(owner)) = (pubkey(token), pubkey(owner)) else {
                return Err("not a Solana address".into());
            };
            // The owner's associated token account; none is a zero balance.
            let ata = anchor_spl::associated_token::get_associated_token_address(&owner, &mint);
            let accounts = self.client.accounts(vec![ata]).await.map_err(|e| e.to_string())?;
            let amount = accounts.into_iter().flatten().next().and_then(|a| tx::token_account(&a.data));
            Ok(U256::from(amount.map_or(0, |(_, _, amount)| amount)))
        })
    }

    fn submit(&self, work: Work) -> BoxFuture<'_, Result<(), Stopped>> {
        Box::pin(async move { self.queue.send(work).await.map_err(|_| Stopped(self.config.chain_id)) })
    }

    fn inspect(&self, _tx_hash: TxId) -> BoxFuture<'_, Inspection> {
        // The watcher polls every vault each `poll`; a hint would not be faster.
        Box::pin(async { Inspection::NotYet })
    }

    fn stats(&self) -> ChainStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start(self: Arc<Self>, sink: Arc<dyn EventSink>, cancel: CancellationToken, tasks: &TaskTracker) {
        tasks.spawn(Arc::clone(&self).watch(Arc::clone(&sink), cancel.clone()));
        tasks.spawn(self.execute_loop(sink, cancel));
    }
}
