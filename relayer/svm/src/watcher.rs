//! The Solana watcher. Solana has no log index by token the way EVM chains have `Transfer` logs, so it
//! reads what happened to the accounts that matter, from three sources each poll:
//!
//! - **Balances.** The vault token accounts of sessions that have one (`getMultipleAccounts`, 100 per
//!   call): a vault whose balance or lamports changed since the last poll has new transactions.
//! - **The program's own transactions.** Every way out of a vault or the inbox goes through the
//!   deposit-vault program, so its signatures since the last poll name every vault something left. A
//!   vault paid and emptied between two polls (a third party settling at once) shows the same balance
//!   before and after, and is found here: its history is read like any other. At most a few hundred are
//!   read per poll (anyone can add to the program's history for a base fee), and a failure here holds up
//!   nothing else.
//! - **The inbox**, read every poll (transfers bridged in from the EVM chains arrive there; the local
//!   bridge's records name the session's EVM receiver in the hook).
//!
//! Each account found is read on its own (a failing read delays only that account; its checkpoint moves
//! once its events are applied): its transactions since the last one applied, paging back through
//! `getSignaturesForAddress` as far as it takes (a node answers 1,000 per call, and anyone can make
//! thousands of cheap transactions that merely mention an account), then `getTransaction` for each. A rise
//! of the vault's balance is a deposit; the program's `emit_cpi!` events are settlements, refunds and
//! bridgings; each is handed to the sink at the receiver the chain proves (the vault the program moved
//! funds out of; the EVM receiver a bridged transfer was burnt for, or the one the claimed params commit
//! to), never by the session id an event carries. Reads are finalized, so nothing reported rolls back;
//! replays after a restart are harmless (the engine deduplicates by event id).
//!
//! **Reconciliation.** The watcher keeps, per vault, the sum of the balance changes of the transactions
//! it applied. When that sum and the vault's balance disagree for several polls in a row (a transaction
//! it never saw), it reads the vault's whole history again.
//!
//! **Marks.** What it knows per account (the newest transaction applied, the balance changes they add
//! up to, the balance last seen), where it got to in the program's history and the inbox transfers not
//! yet claimed are kept in the store as marks ([`relayer_store::ChainStore::watch_marks`]), written after
//! the events they cover were applied. A restart reads only what changed since: accounts without a mark
//! or whose balance moved, and the program's transactions after its mark. A lost mark costs a re-read,
//! never an event.
//!
//! **Finished vaults.** The vault of a session in a terminal status whose balance was last seen empty
//! is read only every [`FINISHED_EVERY`] polls (a late deposit into it is found then, and refunded as
//! before), not every poll: a relayer with 10,000 finished sessions reads 10,000 fewer accounts per poll.
//! Anything the program moves out of any vault is still read at once (the program's transactions).

use std::collections::{HashMap, HashSet};

use relayer_chain::{ChainEvent, EventKind, EventSink};
use relayer_types::{
    Address, B256, Bridging, ChainAddress, Deposit, EventId, Family, Outcome, SessionId, Settlement, U256,
};
use solana_sdk::{pubkey::Pubkey, signature::Signature};

use crate::{
    SvmChain,
    chain::{Pending, pubkey, tx_id},
    client::{ClientError, Page, TxView, history_at},
    tx::{self, InboxMove, VaultMove},
};

/// Polls in a row a vault's balance may disagree with what its applied transactions add up to before its
/// history is read again (a transaction can land between the balance read and the history read, so one
/// disagreement alone means nothing).
const DISAGREEMENTS_BEFORE_RESCAN: u32 = 3;

/// The most program transactions read per poll. Anyone can add to the program's history for a base fee
/// (a transaction that merely lists the program): past this, the rest waits for the next poll, and the
/// balance and vault reads of this poll go on regardless.
const PROGRAM_TRANSACTIONS_PER_POLL: usize = 300;

/// Tries of one read before a poll gives up on the account it was for.
const TRIES: u32 = 3;

/// Every this many polls the empty vaults of finished sessions are read too (about a minute at the
/// default one-second poll).
pub(crate) const FINISHED_EVERY: u64 = 60;

/// Every this many polls, the sink is asked which sessions became terminal.
const TERMINAL_EVERY: u64 = 10;

/// The mark of where the program's history was read to.
const PROGRAM_MARK: &[u8] = b"program";
/// The mark of the inbox transfers not yet claimed or sent back.
const INBOUND_MARK: &[u8] = b"inbound";

/// One inbox transfer not yet claimed, as its mark keeps it (see [`Pending`]; the message and attestation
/// in hex), or as a build of the same stop kept it (a tuple, without `by_delivery`: a kept message says
/// its delivery reported it). Read both ways, so an upgrade does not read the inbox's whole history again
/// (a history read again after a transfer was claimed could report it a second time from a transaction
/// the earlier build did not read as a delivery).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
enum StoredInbound {
    Mark(InboundMark),
    Tuple(SessionId, String, u64, Option<(String, String)>),
}

impl From<StoredInbound> for InboundMark {
    fn from(stored: StoredInbound) -> Self {
        match stored {
            StoredInbound::Mark(mark) => mark,
            StoredInbound::Tuple(session, at, amount, delivery) => {
                Self { session, at, amount, by_delivery: delivery.is_some(), delivery }
            }
        }
    }
}

/// One inbox transfer not yet claimed, as its mark keeps it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct InboundMark {
    session: SessionId,
    at: String,
    amount: u64,
    by_delivery: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery: Option<(String, String)>,
}

/// Where the program's history was read to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ProgramMark {
    /// The newest program transaction looked at (`None`: the program had none).
    newest: Option<String>,
    /// Its slot.
    slot: u64,
}

/// What the watcher keeps of one account between restarts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct AccountMark {
    /// The newest transaction applied.
    newest: Option<String>,
    /// The balance changes of the applied transactions, added up.
    implied: i128,
    /// (lamports, balance) last seen; `None` while the account did not exist.
    seen: Option<(u64, u64)>,
    /// The slot of `newest`.
    #[serde(default)]
    slot: u64,
}

/// What the watcher remembers between polls; what a restart needs of it is kept as marks.
#[derive(Default)]
pub(crate) struct WatchState {
    /// Per watched token account: its last (lamports, balance), `None` while it does not exist.
    seen: HashMap<Pubkey, Option<(u64, u64)>>,
    /// Per watched token account: the newest transaction applied.
    newest: HashMap<Pubkey, Signature>,
    /// Per vault token account: the sum of the balance changes of the transactions applied.
    implied: HashMap<Pubkey, i128>,
    /// Per vault token account: polls in a row whose balance disagreed with `implied`.
    disagreements: HashMap<Pubkey, u32>,
    /// Accounts to read whatever their balance says (the program moved something out of them), kept until
    /// a read of them succeeds.
    pending: HashSet<Pubkey>,
    /// The newest deposit-vault program transaction looked at.
    program_newest: Option<Signature>,
    /// Whether `program_newest` says where the program's history stands (noted at the first poll, or
    /// loaded from its mark): until then nothing may be skipped.
    program_noted: bool,
    /// The slot of `program_newest` (a listing from a node that lags behind it is cut there).
    program_newest_slot: u64,
    /// Per vault the program moved something out of: the transaction that says so and its slot. Its read
    /// must reach that slot, or it is read again (a lagging node answers an older history).
    required: HashMap<Pubkey, (Signature, u64)>,
    /// Per watched account: the slot of the newest transaction applied.
    newest_slot: HashMap<Pubkey, u64>,
    /// Program transactions listed but not read yet, oldest first (the backlog of a long downtime is paged
    /// once, then read [`PROGRAM_TRANSACTIONS_PER_POLL`] at a time).
    program_backlog: std::collections::VecDeque<crate::client::SignatureInfo>,
    /// The program mark as last written (`None`: none written this run).
    program_written: Option<Option<Signature>>,
    /// The count of changes to the inbox transfers ([`SvmChain::inbound_changes`]) their mark was last
    /// written at.
    inbound_written: Option<u64>,
    /// Polls done since the start.
    polls: u64,
    /// The slot of the program transaction the first poll noted as the newest (0 when the marks said
    /// where to start): an account without a mark is read from a node that reached it, or a vault paid and
    /// emptied between a lagging node's view and that note would be missed.
    note_slot: u64,
    /// Sessions known to be in a terminal status (it never changes).
    terminal: HashSet<SessionId>,
    /// Accounts whose mark is behind what the state knows.
    dirty: HashSet<Pubkey>,
}

impl WatchState {
    /// The state the marks of `chain` describe (empty without marks: the first poll reads everything).
    /// A mark that cannot be read is left out: its account is read again.
    pub(crate) fn load(chain: &SvmChain) -> Self {
        let mut state = Self::default();
        let mut inbound_read = false;
        let marks = match chain.store.watch_marks(chain.config.chain_id) {
            Ok(marks) => marks,
            Err(error) => {
                tracing::warn!(chain_id = chain.config.chain_id, error = %relayer_chain::causes(&error), "cannot read the watcher's marks; reading every history again");
                return state;
            }
        };
        for (key, value) in marks {
            let read = match key.as_slice() {
                PROGRAM_MARK => serde_json::from_slice::<ProgramMark>(&value).map(|mark| {
                    state.program_newest = mark.newest.and_then(|s| s.parse().ok());
                    state.program_newest_slot = mark.slot;
                    state.program_written = Some(state.program_newest);
                    state.program_noted = true;
                }),
                INBOUND_MARK => serde_json::from_slice::<Vec<StoredInbound>>(&value).map(|list| {
                    inbound_read = true;
                    let mut inbound = chain.inbound_mut();
                    for InboundMark { session, at, amount, by_delivery, delivery } in
                        list.into_iter().map(InboundMark::from)
                    {
                        let delivery = delivery.and_then(|(m, a)| {
                            Some(tx::Delivery {
                                message: hex::decode(m).ok()?,
                                attestation: hex::decode(a).ok()?,
                            })
                        });
                        if let Ok(at) = at.parse() {
                            let pending = Pending { at, amount, by_delivery, delivery };
                            inbound.entry(session).or_default().push(pending);
                        }
                    }
                    state.inbound_written = Some(chain.inbound_changes());
                }),
                account => match <[u8; 32]>::try_from(account) {
                    Ok(account) => serde_json::from_slice::<AccountMark>(&value).map(|mark| {
                        let account = Pubkey::new_from_array(account);
                        if let Some(newest) = mark.newest.and_then(|s| s.parse().ok()) {
                            state.newest.insert(account, newest);
                            state.newest_slot.insert(account, mark.slot);
                        }
                        state.implied.insert(account, mark.implied);
                        state.seen.insert(account, mark.seen);
                    }),
                    Err(_) => Ok(()),
                },
            };
            if let Err(error) = read {
                tracing::warn!(chain_id = chain.config.chain_id, key = %hex::encode(&key), %error, "a watcher mark cannot be read; its account is read again");
            }
        }
        // The inbox's own mark stands only beside the list of its transfers not yet claimed (without it,
        // a transfer read before the restart would never be claimed): otherwise its history is read again.
        if let Some(inbox) = chain.watched_mint().map(|mint| tx::inbox_token(&mint))
            && !inbound_read
        {
            state.newest.remove(&inbox);
            state.newest_slot.remove(&inbox);
        }
        // Without a mark of where the program's history stood, what the program moved out of a vault
        // while the relayer was down is unknown: every marked account is read again from its own mark
        // (cheap: only what came after it), as the first poll reads everything.
        if !state.program_noted {
            state.pending.extend(state.seen.keys().copied());
        }
        state
    }

    /// Whether `account` was last seen empty (no account, or a zero balance).
    fn empty(&self, account: &Pubkey) -> bool {
        matches!(self.seen.get(account), Some(None | Some((_, 0))))
    }
}

/// How much `tx` changed the token balance of `account` (0 if it does not appear).
fn balance_change(view: &TxView, account: &Pubkey) -> i128 {
    let Some(index) = view.account_keys.iter().position(|k| k == account) else { return 0 };
    let of = |list: &[crate::client::TokenBalance]| {
        list.iter().find(|b| b.account_index == index).map_or(0, |b| i128::from(b.amount))
    };
    of(&view.post_token_balances) - of(&view.pre_token_balances)
}

impl SvmChain {
    /// One poll, in parts that fail on their own: the program's transactions (bounded per poll), the
    /// balances, then each account that needs reading, applied and checkpointed one by one, so a failing
    /// read delays only what it was for. `Err` only when the balances cannot be read.
    pub(crate) async fn watch_step(
        &self,
        sink: &dyn EventSink,
        state: &mut WatchState,
    ) -> Result<(), ClientError> {
        let slot = self.client.slot().await?;
        self.stats_mut().head = slot;
        let inbox = self.watched_mint().map(|mint| tx::inbox_token(&mint));
        // Receivers other instances handed out (a failure only delays them to a later step: each
        // receiver's history is read from its start the first time it is listed).
        if let Err(error) = sink.refresh_receivers() {
            tracing::warn!(error = %relayer_chain::causes(&error), "receivers of other instances not refreshed");
        }
        let receivers: Vec<(Pubkey, SessionId)> = sink
            .receivers_of(Family::Solana)
            .into_iter()
            .filter_map(|(r, id)| Some((pubkey(r)?, id)))
            .collect();
        if state.polls.is_multiple_of(TERMINAL_EVERY) {
            let unknown: Vec<SessionId> =
                receivers.iter().map(|(_, id)| *id).filter(|id| !state.terminal.contains(id)).collect();
            let answers = sink.terminal(&unknown);
            state.terminal.extend(unknown.into_iter().zip(answers).filter(|(_, t)| *t).map(|(id, _)| id));
        }
        let ours: HashSet<Pubkey> = receivers.iter().map(|(v, _)| *v).collect();
        if !state.program_noted {
            // Where the program's history stands must be known before any history is read in full, or
            // what the program moves out of a vault between this read and the next poll's would be missed.
            let page = Page { limit: 1, ..Page::newest(None) };
            let newest = self.client.signatures_for(tx::PROGRAM_ID, page);
            let newest = newest.await?.into_iter().next();
            state.program_newest = newest.as_ref().map(|i| i.signature);
            state.program_newest_slot = newest.map_or(0, |i| i.slot);
            state.note_slot = state.program_newest_slot;
            state.program_noted = true;
        } else if let Err(error) = self.scan_program(sink, state, &ours).await {
            self.stats_mut().rpc_errors += 1;
            tracing::warn!(chain_id = self.config.chain_id, %error, "reading the program's transactions failed; the rest waits for the next poll");
        }
        // Only accounts still watched can be read (a mark may name one that no longer is).
        state.pending.retain(|k| ours.contains(k) || Some(*k) == inbox);
        // A finished session's empty vault is read on the sweeps only (or when the program moved
        // something out of it, which puts it in `pending`).
        let sweep = state.polls > 0 && state.polls.is_multiple_of(FINISHED_EVERY);
        let vaults: Vec<Pubkey> = receivers
            .iter()
            .filter(|(v, id)| {
                sweep || !state.terminal.contains(id) || !state.empty(v) || state.pending.contains(v)
            })
            .map(|(v, _)| *v)
            .collect();

        let mut accounts: Vec<Pubkey> = vaults.clone();
        accounts.extend(inbox);
        let mut states: HashMap<Pubkey, Option<(u64, u64)>> = HashMap::new();
        for chunk in accounts.chunks(100) {
            let found = self.client.accounts(chunk.to_vec()).await?;
            for (key, account) in chunk.iter().zip(found) {
                let now = account.map(|a| (a.lamports, tx::token_account(&a.data).map_or(0, |t| t.2)));
                states.insert(*key, now);
            }
        }
        let rescan: Vec<Pubkey> = state
            .disagreements
            .iter()
            .filter(|(_, n)| **n >= DISAGREEMENTS_BEFORE_RESCAN)
            .map(|(k, _)| *k)
            .collect();
        for key in rescan {
            tracing::warn!(chain_id = self.config.chain_id, account = %key, "a vault's balance disagrees with the transactions read; reading its whole history again");
            state.newest.remove(&key);
            state.newest_slot.remove(&key);
            state.implied.remove(&key);
            state.disagreements.remove(&key);
            state.pending.insert(key);
        }
        for key in &accounts {
            if Some(*key) == inbox || state.seen.get(key) != states.get(key) {
                state.pending.insert(*key);
            }
        }

        let mut inbox_read = inbox.is_none();
        let due: Vec<Pubkey> = accounts.iter().filter(|k| state.pending.contains(*k)).copied().collect();
        for key in due {
            match self.read_account(sink, state, key, Some(key) == inbox).await {
                Ok(()) => {
                    state.pending.remove(&key);
                    state.dirty.insert(key);
                    inbox_read |= Some(key) == inbox;
                }
                Err(error) => {
                    self.stats_mut().rpc_errors += 1;
                    tracing::warn!(chain_id = self.config.chain_id, account = %key, %error, "reading an account's transactions failed; again next poll");
                }
            }
        }
        for key in &vaults {
            let balance = states.get(key).copied().flatten().map_or(0, |(_, b)| i128::from(b));
            if state.pending.contains(key) || state.implied.get(key).copied().unwrap_or(0) == balance {
                state.disagreements.remove(key);
            } else {
                *state.disagreements.entry(*key).or_default() += 1;
            }
        }
        // What a restart must not read again: accounts read in full or newly seen (an account whose read
        // failed keeps its old mark, so its history is read again).
        for (key, now) in &states {
            if state.seen.get(key) != Some(now) && !state.pending.contains(key) {
                state.dirty.insert(*key);
            }
        }
        state.seen.extend(states);
        self.put_marks(state);
        state.polls += 1;
        self.stats_mut().processed = slot;
        if inbox_read {
            self.caught_up.send_replace(true);
        }
        Ok(())
    }

    /// Writes the marks behind the state: the dirty accounts'; the program's when it moved and nothing it
    /// named is left to read (until then a restart must read those transactions again, or a vault paid and
    /// emptied between two polls would be missed); the inbox transfers not yet claimed whenever they
    /// changed (so the inbox's mark never goes out ahead of them). A failed write is logged and tried again
    /// next poll.
    fn put_marks(&self, state: &mut WatchState) {
        fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
            serde_json::to_vec(value).unwrap_or_default()
        }
        let mut marks: Vec<(Vec<u8>, Vec<u8>)> = vec![];
        for key in &state.dirty {
            let mark = AccountMark {
                newest: state.newest.get(key).map(ToString::to_string),
                implied: state.implied.get(key).copied().unwrap_or(0),
                seen: state.seen.get(key).copied().flatten(),
                slot: state.newest_slot.get(key).copied().unwrap_or(0),
            };
            marks.push((key.to_bytes().to_vec(), encode(&mark)));
        }
        let program = (state.program_noted
            && state.pending.is_empty()
            && state.program_written != Some(state.program_newest))
        .then_some(state.program_newest);
        if let Some(newest) = program {
            let mark = ProgramMark { newest: newest.map(|s| s.to_string()), slot: state.program_newest_slot };
            marks.push((PROGRAM_MARK.to_vec(), encode(&mark)));
        }
        // Encoded only when the list changed since it was last written (it can be long: anyone can add
        // transfers to the inbox).
        let changes = self.inbound_changes();
        let inbound = (state.inbound_written != Some(changes)).then(|| {
            let mut list: Vec<InboundMark> = self
                .inbound_mut()
                .iter()
                .flat_map(|(session, list)| {
                    list.iter().map(|p| InboundMark {
                        session: *session,
                        at: p.at.to_string(),
                        amount: p.amount,
                        by_delivery: p.by_delivery,
                        delivery: p
                            .delivery
                            .as_ref()
                            .map(|d| (hex::encode(&d.message), hex::encode(&d.attestation))),
                    })
                })
                .collect();
            list.sort();
            list
        });
        if let Some(list) = &inbound {
            marks.push((INBOUND_MARK.to_vec(), encode(list)));
        }
        if marks.is_empty() {
            return;
        }
        match self.store.put_watch_marks(self.config.chain_id, &marks) {
            Ok(()) => {
                state.dirty.clear();
                if program.is_some() {
                    state.program_written = Some(state.program_newest);
                }
                if inbound.is_some() {
                    state.inbound_written = Some(changes);
                }
            }
            Err(error) => {
                tracing::warn!(chain_id = self.config.chain_id, error = %relayer_chain::causes(&error), "cannot write the watcher's marks; again next poll");
            }
        }
    }

    /// Reads the program's transactions since the last poll, oldest first and at most
    /// [`PROGRAM_TRANSACTIONS_PER_POLL`] of them: every way out of a vault goes through the program, so
    /// they name each vault of ours something left (to be read, whatever its balance says) and, for vaults
    /// that are no receiver of ours, carry the events the sink counts as forgeries when they name one of
    /// its sessions. (The first poll reads every history in full, so it only notes where the program's
    /// history stands: see [`SvmChain::watch_step`].) Progress is kept up to the last transaction read,
    /// even when a read fails.
    async fn scan_program(
        &self,
        sink: &dyn EventSink,
        state: &mut WatchState,
        ours: &HashSet<Pubkey>,
    ) -> Result<(), ClientError> {
        let Some(mint) = self.watched_mint() else { return Ok(()) };
        // Only what came after the newest transaction listed: the backlog of a long downtime is listed once.
        let listed = state.program_backlog.back().map(|i| i.signature).or(state.program_newest);
        // From a node that knows what was listed already (else it would answer the whole history).
        let floor = state.program_backlog.back().map_or(state.program_newest_slot, |i| i.slot);
        let since =
            history_at(self.client.as_ref(), tx::PROGRAM_ID, listed, Some(floor).filter(|s| *s > 0)).await?;
        // A node that does not know `until` (it lags) answers the whole history: what is older than the
        // newest slot already listed is not listed again (the program mark never moves backwards).
        let known: HashSet<Signature> = state.program_backlog.iter().map(|i| i.signature).collect();
        state.program_backlog.extend(
            since
                .into_iter()
                .rev()
                .filter(|i| i.slot >= floor && !known.contains(&i.signature) && Some(i.signature) != listed),
        );
        let mut elsewhere: Vec<ChainEvent> = vec![];
        let (mut done, mut failed) = (0, None);
        for info in state.program_backlog.iter().take(PROGRAM_TRANSACTIONS_PER_POLL) {
            if !info.failed {
                let view = match self.view(info.signature).await {
                    Ok(view) => view,
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                };
                // Each vault's watched token account, and whether this transaction moved that very
                // account (a move of another mint does not touch it, so its history need not show it).
                let mut vault_tokens: HashMap<Pubkey, bool> = HashMap::new();
                for (_, moved) in tx::vault_moves(&view) {
                    let e = moved.event();
                    let account = anchor_spl::associated_token::get_associated_token_address(&e.vault, &mint);
                    *vault_tokens.entry(account).or_default() |= e.mint == mint;
                }
                for (vault_token, touched) in vault_tokens {
                    if ours.contains(&vault_token) {
                        state.pending.insert(vault_token);
                        if touched {
                            state.required.insert(vault_token, (info.signature, info.slot));
                        }
                    } else {
                        elsewhere.extend(
                            self.vault_events(&view, &vault_token).into_iter().filter(|e| e.named.is_some()),
                        );
                    }
                }
            }
            done += 1;
        }
        if !elsewhere.is_empty() {
            sink.apply(self.config.chain_id, elsewhere).await.map_err(|e| ClientError::new(e.to_string()))?;
        }
        // Progress is kept up to the last transaction read, even when a read failed.
        if let Some(last) = state.program_backlog.drain(..done).next_back() {
            state.program_newest = Some(last.signature);
            state.program_newest_slot = last.slot;
        }
        failed.map_or(Ok(()), Err)
    }

    /// The slot a node must have reached to answer `key`'s history (`minContextSlot`): that of the newest
    /// transaction applied (a node that lacks it would answer the whole history again), of the program
    /// transaction the read must show, and of the program transaction the first poll noted (the program's
    /// history is read only after it, so anything before it must come through the accounts' own). Only
    /// what the read needs: a pool's nodes are seldom all at the newest slot.
    fn min_slot(&self, state: &WatchState, key: &Pubkey) -> Option<u64> {
        let newest = state.newest_slot.get(key).copied().unwrap_or(0);
        let required = state.required.get(key).map_or(0, |(_, slot)| *slot);
        let slot = newest.max(required).max(state.note_slot);
        (slot > 0).then_some(slot)
    }

    /// Reads `key`'s transactions since its checkpoint, applies their events and moves the checkpoint.
    async fn read_account(
        &self,
        sink: &dyn EventSink,
        state: &mut WatchState,
        key: Pubkey,
        is_inbox: bool,
    ) -> Result<(), ClientError> {
        let since = history_at(
            self.client.as_ref(),
            key,
            state.newest.get(&key).copied(),
            self.min_slot(state, &key),
        )
        .await?;
        // The program said something left this vault in `required`: a history that does not show it comes
        // from a node that lags; nothing of it is applied, and the account is read again.
        let reached =
            since.first().map_or(0, |i| i.slot).max(state.newest_slot.get(&key).copied().unwrap_or(0));
        if let Some((required, slot)) = state.required.get(&key)
            && reached < *slot
        {
            return Err(ClientError::new(format!("the history of {key} does not reach {required} yet")));
        }
        let mut events: Vec<ChainEvent> = vec![];
        let mut delta = 0i128;
        for info in since.iter().rev().filter(|i| !i.failed) {
            let view = self.view(info.signature).await?;
            if is_inbox {
                events.extend(self.inbox_events(&view, &key, sink));
            } else {
                delta += balance_change(&view, &key);
                events.extend(self.vault_events(&view, &key));
            }
        }
        if !events.is_empty() {
            let count = events.len();
            sink.apply(self.config.chain_id, events).await.map_err(|e| ClientError::new(e.to_string()))?;
            tracing::debug!(chain_id = self.config.chain_id, account = %key, count, "solana events applied");
        }
        if let Some(first) = since.first() {
            state.newest.insert(key, first.signature);
            state.newest_slot.insert(key, first.slot);
        }
        state.required.remove(&key);
        if !is_inbox {
            *state.implied.entry(key).or_default() += delta;
        }
        Ok(())
    }

    /// A finalized transaction (it must exist: its signature was just listed), tried a few times.
    async fn view(&self, signature: Signature) -> Result<TxView, ClientError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let answer = self.client.transaction(signature).await.and_then(|v| {
                v.ok_or_else(|| ClientError::new(format!("transaction {signature} not found yet")))
            });
            match answer {
                Ok(view) => return Ok(view),
                Err(error) if tries >= TRIES => return Err(error),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(tries))).await,
            }
        }
    }

    /// What `tx` did in the inbox token account `inbox`: transfers that arrived for a session (its
    /// deposits on Solana), and the program's claims and sends back of them (its settlements and
    /// bridgings). Keeps [`SvmChain::inbound`] current.
    fn inbox_events(&self, view: &TxView, inbox: &Pubkey, sink: &dyn EventSink) -> Vec<ChainEvent> {
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
                // A delivery reports the deposit (the record, made after it, adds nothing); a record of
                // a transfer whose delivery was not seen (delivered through another program's call,
                // not a top-level instruction) reports it then.
                InboxMove::Delivered { at, received, delivery } => {
                    out.extend(self.arrived(sink, inbox, event, at, &received, Some(delivery)));
                }
                InboxMove::Recorded { at, received } => {
                    out.extend(self.arrived(sink, inbox, event, at, &received, None));
                }
                InboxMove::Claimed(ref e)
                | InboxMove::SentBack(ref e)
                | InboxMove::RefundedInbound(ref e) => {
                    // The program paid out for the params whose EVM receiver is the transfer's hook: that
                    // receiver, not the session id the caller's params carry, says whose it was.
                    let receiver = ChainAddress::Evm(Address::from(tx::vault_evm::receiver(&e.params_hash)));
                    let at = tx::received_record(&e.nonce);
                    if let Some(session) = sink.session_for_receiver(receiver)
                        && let Some(pending) = self.inbound_mut().get_mut(&session)
                    {
                        let before = pending.len();
                        pending.retain(|p| p.at != at);
                        if pending.len() != before {
                            self.inbound_changed();
                        }
                    }
                    let (token, amount) = (ChainAddress::Solana(e.mint.to_bytes()), U256::from(e.amount));
                    let kind = if matches!(moved, InboxMove::Claimed(_)) {
                        EventKind::Settled(Settlement {
                            event,
                            token,
                            outcome: Outcome::Delivered,
                            amount,
                            delivered: amount,
                            refunded: U256::ZERO,
                        })
                    } else if matches!(moved, InboxMove::RefundedInbound(_)) {
                        EventKind::Settled(Settlement {
                            event,
                            token,
                            outcome: Outcome::Refunded,
                            amount,
                            delivered: U256::ZERO,
                            refunded: amount,
                        })
                    } else {
                        // Back to the chain it came from (not towards the session's destination).
                        let adapter = ChainAddress::Solana(tx::BRIDGE_ID.to_bytes());
                        let to_chain_id = tx::chain_of_domain(e.source_domain);
                        EventKind::Bridged(Bridging {
                            event,
                            token,
                            adapter,
                            amount,
                            to_chain_id,
                            to_receiver: Some(receiver),
                            home: false,
                        })
                    };
                    out.push(ChainEvent {
                        receiver,
                        named: SessionId::from_b256(B256::from(e.session_id)),
                        kind,
                    });
                }
            }
        }
        out
    }

    /// A transfer that arrived in the inbox `inbox` (delivered, or recorded), as the deposit of the session
    /// whose EVM receiver its hook names: kept as pending for that session (with the delivery, which its
    /// claim records first) and reported under the id of the transaction that showed it. Reported again
    /// when the same transaction is read again (a poll whose events were not applied is read again: the
    /// engine takes an event once by its id), but a record of a transfer whose delivery was reported (or
    /// a delivery of one whose record was) is not another deposit. `None` for a transfer to another
    /// account or without a receiver of ours.
    fn arrived(
        &self,
        sink: &dyn EventSink,
        inbox: &Pubkey,
        event: EventId,
        at: Pubkey,
        received: &deposit_vault::Received,
        delivery: Option<tx::Delivery>,
    ) -> Option<ChainEvent> {
        let mint = self.watched_mint().filter(|_| received.mint_recipient == *inbox)?;
        // The hook is the EVM receiver the transfer was burnt for: the CCTP adapter names the receiver it
        // bridges from, and `claim` pays only params that commit to it.
        let receiver = received
            .hook
            .filter(|h| h[..12] == [0u8; 12])
            .map(|h| ChainAddress::Evm(Address::from_slice(&h[12..])))?;
        let (Some(session), Some(token)) = (sink.session_for_receiver(receiver), self.token_ref(&mint))
        else {
            tracing::debug!(chain_id = self.config.chain_id, record = %at, "a transfer in the inbox names no receiver of ours");
            return None;
        };
        {
            let mut inbound = self.inbound_mut();
            let pending = inbound.entry(session).or_default();
            let by_delivery = delivery.is_some();
            match pending.iter().find(|p| p.at == at) {
                None => {
                    // A transfer below the least the relayer claims is never recorded by it: its message
                    // is not kept (anyone can send many).
                    let delivery = delivery.filter(|_| received.amount >= self.config.min_inbox_amount);
                    pending.push(Pending { at, amount: received.amount, by_delivery, delivery });
                    self.inbound_changed();
                }
                // Reported already from the other kind of transaction (its delivery, or its record when
                // the delivery was not seen first): no second deposit. From the same kind, it is the same
                // transaction read again: the same deposit, under the same id.
                Some(known) if known.by_delivery != by_delivery => return None,
                Some(_) => {}
            }
        }
        let deposit = Deposit {
            event,
            block_hash: B256::ZERO,
            from: ChainAddress::Solana(tx::cctp_custody(&mint).to_bytes()),
            token,
            amount: U256::from(received.amount),
            counts: None,
        };
        Some(ChainEvent::at(receiver, EventKind::Deposit(deposit)))
    }

    /// Deposits into `vault_token` and the program's moves out of its vault in one transaction, at the
    /// vault's deposit address (the vault is the PDA of the params hash: the program derived it).
    fn vault_events(&self, view: &TxView, vault_token: &Pubkey) -> Vec<ChainEvent> {
        let event = |log_index: usize| EventId {
            chain_id: self.config.chain_id,
            block_number: view.slot,
            tx_hash: tx_id(&view.signature),
            log_index: log_index as u64,
        };
        let receiver = ChainAddress::Solana(vault_token.to_bytes());
        let mut out = vec![];
        let Some(mint) = self.watched_mint() else { return out };
        let moves: Vec<(usize, VaultMove)> = tx::vault_moves(view)
            .into_iter()
            .filter(|(_, m)| {
                anchor_spl::associated_token::get_associated_token_address(&m.event().vault, &mint)
                    == *vault_token
            })
            .collect();
        // What the program took out of this very account in the same transaction (a deposit paid and
        // settled at once leaves no balance to see).
        let moved_out: u64 =
            moves.iter().filter(|(_, m)| m.event().mint == mint).map(|(_, m)| m.event().amount).sum();
        if let Some(inflow) = tx::inflow(view, vault_token, moved_out, Some(mint))
            && let Some(token) = self.token_ref(&inflow.mint)
        {
            let deposit = Deposit {
                event: event(inflow.index),
                block_hash: B256::ZERO,
                from: ChainAddress::Solana(inflow.from.to_bytes()),
                token,
                amount: U256::from(inflow.amount),
                counts: None,
            };
            out.push(ChainEvent::at(receiver, EventKind::Deposit(deposit)));
        }
        for (index, moved) in moves {
            let e = moved.event();
            let amount = U256::from(e.amount);
            // Inner instructions follow the account keys in the numbering, so ids never collide.
            let at = event(view.account_keys.len() + index);
            let token = ChainAddress::Solana(e.mint.to_bytes());
            let kind = match moved {
                VaultMove::Settled(_) => EventKind::Settled(Settlement {
                    event: at,
                    token,
                    outcome: Outcome::Delivered,
                    amount,
                    delivered: amount,
                    refunded: U256::ZERO,
                }),
                VaultMove::Refunded(_) => EventKind::Settled(Settlement {
                    event: at,
                    token,
                    outcome: Outcome::Refunded,
                    amount,
                    delivered: U256::ZERO,
                    refunded: amount,
                }),
                VaultMove::Bridged(_, domain) | VaultMove::RefundedHome(_, domain) => {
                    let adapter = ChainAddress::Solana(tx::BRIDGE_ID.to_bytes());
                    let to_chain_id = tx::chain_of_domain(domain);
                    let home = matches!(moved, VaultMove::RefundedHome(..));
                    // The program sends to the EVM receiver of the vault's params (it derives it itself).
                    let to_receiver =
                        Some(ChainAddress::Evm(Address::from(tx::vault_evm::receiver(&e.params_hash))));
                    EventKind::Bridged(Bridging {
                        event: at,
                        token,
                        adapter,
                        amount,
                        to_chain_id,
                        to_receiver,
                        home,
                    })
                }
            };
            out.push(ChainEvent { receiver, named: SessionId::from_b256(B256::from(e.session_id)), kind });
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests;
