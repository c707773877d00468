//! The submit pipeline: how a family turns [`Work`] into transactions. Every family does the same
//! steps (dedupe by session and action, simulate, sign, persist on the [`SendLedger`] **before**
//! sending, track until final, reconcile what a previous run left on record), under one of two
//! ordering disciplines:
//!
//! - **nonce-ordered** (EVM): a signer's transactions land in nonce order; a stuck one is replaced at a
//!   higher fee under the same nonce, and a nonce a reorg emptied must be filled. This needs an actor
//!   that owns the signer's nonces (`relayer-evm`'s executor).
//! - **expiry-ordered** (Solana's recent blockhash, Tron's reference block and expiration): each
//!   transaction is valid until a block height and independent of the others. One on record is sent
//!   again (same bytes, same id) while it can still land; once the chain is past its last valid height
//!   it provably never will, and the work is rebuilt from the chain's state, never re-sent blindly.
//!   [`ExpiryOrdered`] is what a family provides; [`run`] does the rest, once for every such family.
//!
//! Both sit behind [`Chain::submit`](crate::Chain::submit): work goes into the queue [`queue`] makes,
//! and a [`WorkReport`] comes back to the sink for every piece, its reason in the one [`Refusal`]
//! vocabulary, its transactions on a [`SendLedger`]. The nonce-ordered discipline has no trait of its
//! own here: one family uses it, and its actor (which owns nonces, fee bumps and gap filling) is that
//! family's; a second nonce-ordered family would be the time to lift it into one.

use std::{sync::Arc, time::Duration};

use relayer_types::{Action, Commitment, SessionId, TxId};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    BoxFuture, EventSink, Work, WorkReport, WorkResult,
    ledger::{LedgerError, SendLedger},
    refusal::Refusal,
};

/// The queue in front of a chain's pipeline: the chain keeps the sender, the pipeline the receiver.
pub fn queue() -> (mpsc::Sender<Work>, mpsc::Receiver<Work>) {
    mpsc::channel(1024)
}

/// A signed transaction of an expiry-ordered family, on the ledger from before it is sent until it
/// landed or provably never will. (The field names are those Solana's records always had, so a store
/// written by an earlier build reads the same.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// Session acted for.
    pub session_id: SessionId,
    /// The session's commitment (to rebuild the work from after a restart).
    pub commitment: Commitment,
    /// What the transaction does.
    pub action: Action,
    /// Which of the session's funds it moves, when one piece of work needs several transactions (a
    /// Solana inbox transfer, by its bridge record).
    #[serde(default, rename = "transfer", skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// The transaction's id as the family spells it (Solana: the base58 signature).
    pub signature: String,
    /// Hex of the wire bytes.
    pub raw: String,
    /// When it can last land, as the family counts (Solana: a block height; Tron: its expiration, unix
    /// ms).
    #[serde(rename = "last_valid_block_height")]
    pub valid_until: u64,
    /// It prepares the rest of the work ([`Planned::prepares`]): its landing is not the work's (the retry
    /// its sending queued does the rest).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prepares: bool,
    /// What it counted against the daily fee cap when it was signed (the most it may cost, in the
    /// family's fee unit; 0 where no cap is set, and in records of earlier builds).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserved: u64,
    /// When it was signed (unix seconds; 0 in records of earlier builds): a reservation counts on that
    /// UTC day.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub signed_at: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
const fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Signed {
    /// The wire bytes.
    pub fn raw(&self) -> Vec<u8> {
        hex::decode(&self.raw).unwrap_or_default()
    }

    /// The work it was sent for.
    pub fn work(&self, chain_id: u64) -> Work {
        Work {
            session_id: self.session_id,
            chain_id,
            commitment: self.commitment.clone(),
            action: self.action,
        }
    }
}

/// The ledger key every expiry-ordered family starts its records' keys with: session id ‖ action name ‖
/// token (its 32-byte word). A family appends what tells its transactions for one piece of work apart
/// (Solana: the inbox transfer; Tron: a bridging's adapter).
pub fn work_key(session_id: &SessionId, action: Action) -> Vec<u8> {
    [&session_id.as_bytes()[..], action.name().as_bytes(), action.token().word().as_slice()].concat()
}

/// One transaction a piece of work needs, before it is signed.
#[derive(Debug)]
pub struct Planned<P> {
    /// Which of the session's funds it moves (see [`Signed::part`]); `None` for the only one.
    pub part: Option<String>,
    /// What the family signs.
    pub plan: P,
    /// Whether the rest of the work waits for it (on Solana: the program's record of a transfer Circle
    /// delivered, before its claim can be built): once it is sent, or while it is in flight, the work is
    /// tried again ([`Refusal::Preparing`]) instead of being left to the watcher, which reports no effect
    /// of it on the session.
    pub prepares: bool,
}

impl<P> Planned<P> {
    /// A transaction that does the work (or its `part`) itself.
    pub fn doing(part: Option<String>, plan: P) -> Self {
        Self { part, plan, prepares: false }
    }
}

/// A transaction signed against a recent block.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Its id as the family spells it.
    pub id: String,
    /// The wire bytes.
    pub raw: Vec<u8>,
    /// When it can last land (see [`Signed::valid_until`]).
    pub valid_until: u64,
    /// The most it may cost, in the family's fee unit (Tron: its `fee_limit` and the value it pays
    /// along, in sun; Solana: its fee, in lamports): what counts against the daily fee cap until it
    /// lands.
    pub most: u64,
}

/// Where a transaction on record stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// In a block (its effect reaches the engine through the watcher); `failed` if it reverted.
    Landed {
        /// It was included but failed.
        failed: bool,
        /// What it cost the relayer, where the family reads it.
        cost: Option<relayer_types::Cost>,
    },
    /// Not landed, and the chain is not yet past its last valid height: it may still land.
    Pending,
    /// Not landed, and the chain is past its last valid height: it never will.
    NeverLands,
}

/// Why a send did not go through.
#[derive(Debug)]
pub enum SendFailure {
    /// The node refused it before it went anywhere (its own preflight): it was never sent.
    Refused(Refusal),
    /// It may have reached the network (a transport failure): it stays on record.
    Unsure(String),
}

/// Sends `raw` only while this instance may sign (see [`SendLedger::may_broadcast`]): one that lost the
/// signing lease sends nothing, not even again what it sent before; its records wait for the holder.
async fn send<F: ExpiryOrdered>(family: &F, raw: &[u8]) -> Result<(), SendFailure> {
    family.ledger().may_broadcast().map_err(|e| SendFailure::Unsure(crate::causes(&e)))?;
    family.send(raw).await
}

/// What an expiry-ordered family provides to the pipeline.
pub trait ExpiryOrdered: Send + Sync + 'static {
    /// What the family signs for one transaction (Solana: its instructions).
    type Plan: Send + Sync;

    /// The chain id.
    fn chain_id(&self) -> u64;

    /// The ledger of its signed transactions.
    fn ledger(&self) -> &SendLedger<Signed>;

    /// Resolves once the family may act (Solana: its watcher read what was already in the inbox).
    fn ready(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// How often transactions on record are looked at again.
    fn reconcile_every(&self) -> Duration;

    /// The ledger key of `work`'s transaction for `part` (the family's own layout).
    fn key(&self, work: &Work, part: Option<&str>) -> Vec<u8>;

    /// The transactions `work` needs now, from the chain's state (none: nothing to move).
    fn plan<'a>(&'a self, work: &'a Work) -> BoxFuture<'a, Result<Vec<Planned<Self::Plan>>, Refusal>>;

    /// Signs `plan` against a recent block.
    fn sign<'a>(&'a self, plan: &'a Self::Plan) -> BoxFuture<'a, Result<Signature, Refusal>>;

    /// Simulates the signed bytes: what the contract or program would refuse.
    fn simulate<'a>(&'a self, raw: &'a [u8]) -> BoxFuture<'a, Result<(), Refusal>>;

    /// Sends the signed bytes.
    fn send<'a>(&'a self, raw: &'a [u8]) -> BoxFuture<'a, Result<(), SendFailure>>;

    /// Where a transaction on record stands.
    fn standing<'a>(&'a self, signed: &'a Signed) -> BoxFuture<'a, Result<Standing, String>>;

    /// The transaction id the engine records, from the family's spelling.
    fn tx_id(&self, id: &str) -> TxId;

    /// Counts a broadcast (for `/metrics`).
    fn count_broadcast(&self) {}

    /// The fees paid here against the operator's daily cap, where one is set.
    fn spending(&self) -> Option<&crate::Spending> {
        None
    }

    /// A transaction on record landed (failed or not) and its record is gone: called once per
    /// transaction, where the family counts what it paid.
    fn landed(&self, _signed: &Signed) {}
}

/// What a record under a key says about sending again.
enum OnRecord {
    /// Nothing on record (or what was is finished or can never land, and forgotten): build anew.
    Nothing,
    /// A transaction is in flight; it was announced again.
    InFlight(TxId),
}

/// Runs the pipeline of `family`: reconciles what a previous run left on record, then takes work one
/// piece at a time (reporting each to `sink`) and looks at what is on record every
/// [`ExpiryOrdered::reconcile_every`], until `cancel`. A shutdown never waits on a hung node: what
/// was sent is on record.
pub async fn run<F: ExpiryOrdered>(
    family: Arc<F>,
    mut jobs: mpsc::Receiver<Work>,
    sink: Arc<dyn EventSink>,
    cancel: CancellationToken,
) {
    tokio::select! {
        () = cancel.cancelled() => return,
        () = family.ready() => {}
    }
    reconcile(family.as_ref(), sink.as_ref()).await;
    let mut tick = tokio::time::interval(family.reconcile_every());
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            work = jobs.recv() => {
                let Some(work) = work else { return };
                let result = tokio::select! {
                    () = cancel.cancelled() => return,
                    result = execute(family.as_ref(), &work) => result,
                };
                tracing::info!(chain_id = family.chain_id(), session_id = %work.session_id, action = work.action.name(), ?result, "work");
                sink.report(WorkReport { work, result }).await;
            }
            _ = tick.tick() => {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = reconcile(family.as_ref(), sink.as_ref()) => {}
                }
            }
        }
    }
}

/// Does `work`: each transaction it needs is sent unless one for the same part is still in flight.
/// One that cannot move now does not hold up the others. The result is the first that asks for another
/// try (so the part that could not move is tried again; parts in flight are not sent twice), else the
/// first sent, else the first other.
pub async fn execute<F: ExpiryOrdered>(family: &F, work: &Work) -> WorkResult {
    let expires_at = work.commitment.expires_at;
    let planned = match family.plan(work).await {
        Ok(planned) => planned,
        Err(refusal) => return refusal.result(expires_at),
    };
    let (mut again, mut sent, mut other) = (None, None, None);
    for Planned { part, plan, prepares } in planned {
        let key = family.key(work, part.as_deref());
        let result = match on_record(family, &key).await {
            Err(result) => result,
            Ok(OnRecord::InFlight(tx_hash)) => WorkResult::Sent { tx_hash },
            Ok(OnRecord::Nothing) => send_one(family, work, &key, part, &plan, prepares).await,
        };
        let result = match result {
            WorkResult::Sent { tx_hash } if prepares => {
                WorkResult::NotYet(Refusal::Preparing(format!("{tx_hash} prepares it")))
            }
            other => other,
        };
        match result {
            WorkResult::Sent { .. } => sent.get_or_insert(result),
            WorkResult::NotYet(_)
            | WorkResult::NotBefore { .. }
            | WorkResult::Reverted { .. }
            | WorkResult::RefundInstead => again.get_or_insert(result),
            _ => other.get_or_insert(result),
        };
    }
    again.or(sent).or(other).unwrap_or_else(|| Refusal::NothingToMove.result(expires_at))
}

/// What the record under `key` says, reconciled against the chain: in flight (sent again), or nothing
/// (finished or never to land: forgotten). An unreadable record refuses the work: what it describes may
/// be in flight.
async fn on_record<F: ExpiryOrdered>(family: &F, key: &[u8]) -> Result<OnRecord, WorkResult> {
    let not_yet = |e: LedgerError| WorkResult::NotYet(Refusal::unanswered(&e));
    let Some(record) = family.ledger().get(key).map_err(not_yet)? else {
        return Ok(OnRecord::Nothing);
    };
    match family.standing(&record).await.map_err(|e| WorkResult::NotYet(Refusal::Unanswered(e)))? {
        Standing::Pending => {
            if let Err(SendFailure::Unsure(error) | SendFailure::Refused(Refusal::Unanswered(error))) =
                send(family, &record.raw()).await
            {
                tracing::debug!(%error, signature = record.signature, "resend failed");
            }
            Ok(OnRecord::InFlight(family.tx_id(&record.signature)))
        }
        // Landed (its effect reaches the engine through the watcher), or never to land: the chain's state
        // says what is left to do.
        standing @ (Standing::Landed { .. } | Standing::NeverLands) => {
            family.ledger().delete(key).map_err(not_yet)?;
            finished(family, &record, &standing);
            Ok(OnRecord::Nothing)
        }
    }
}

/// Signs, simulates, persists and sends one transaction for `work` under `key`.
async fn send_one<F: ExpiryOrdered>(
    family: &F,
    work: &Work,
    key: &[u8],
    part: Option<String>,
    plan: &F::Plan,
    prepares: bool,
) -> WorkResult {
    let expires_at = work.commitment.expires_at;
    // The daily fee cap: new work waits for the next day's allowance (what is on record still lands).
    if let Some(Err(refusal)) = family.spending().map(crate::Spending::check) {
        return refusal.result(expires_at);
    }
    let signature = match family.sign(plan).await {
        Ok(signature) => signature,
        Err(refusal) => return refusal.result(expires_at),
    };
    if let Err(refusal) = family.simulate(&signature.raw).await {
        return refusal.result(expires_at);
    }
    // Counted at its most before it is on record, checked against the cap in the same step (so work
    // sent together cannot overrun it), corrected once it lands. A record that may have been written
    // keeps its reservation (counting errs high, never low). Its time is taken first: should midnight
    // pass in between, the correction errs high too.
    let signed_at = relayer_types::unix_now();
    let reserved = match family.spending() {
        Some(spending) => match spending.try_reserve(signature.most) {
            Ok(()) => signature.most,
            Err(refusal) => return refusal.result(expires_at),
        },
        None => 0,
    };
    // Persist before sending: after a crash the record says what may be in flight.
    let record = Signed {
        session_id: work.session_id,
        commitment: work.commitment.clone(),
        action: work.action,
        part,
        signature: signature.id.clone(),
        raw: hex::encode(&signature.raw),
        valid_until: signature.valid_until,
        prepares,
        reserved,
        signed_at,
    };
    if let Err(error) = family.ledger().put(key, &record) {
        return WorkResult::NotYet(Refusal::unanswered(&error));
    }
    family.count_broadcast();
    match send(family, &signature.raw).await {
        Ok(()) => WorkResult::Sent { tx_hash: family.tx_id(&signature.id) },
        Err(SendFailure::Refused(refusal)) => {
            // Never sent: forget it (and what it reserved).
            if let Err(error) = family.ledger().delete(key) {
                return WorkResult::NotYet(Refusal::unanswered(&error));
            }
            finished(family, &record, &Standing::NeverLands);
            refusal.result(expires_at)
        }
        Err(SendFailure::Unsure(error)) => WorkResult::NotYet(Refusal::Unanswered(error)),
    }
}

/// A transaction on record is done with (`Landed`, or `NeverLands`: never sent, or never to land) and
/// its record is gone: the family counts what a landed one paid, and the daily figure is corrected from
/// what it reserved to what it cost (nothing, if it never lands; its reservation, where the family
/// cannot say). Called once per record, after its deletion, so a failed delete corrects nothing twice.
fn finished<F: ExpiryOrdered>(family: &F, record: &Signed, standing: &Standing) {
    let cost = match standing {
        Standing::Landed { cost, .. } => {
            family.landed(record);
            Some(cost.as_ref().map_or(record.reserved, |c| c.amount))
        }
        Standing::NeverLands => Some(0),
        Standing::Pending => None,
    };
    if let (Some(spending), Some(actual)) = (family.spending(), cost) {
        let now = relayer_types::unix_now();
        let same_day = record.signed_at / crate::spending::DAY_SECS == now / crate::spending::DAY_SECS;
        spending.landed(if same_day { record.reserved } else { 0 }, actual, now);
    }
}

/// Settles what is on record: landed transactions are forgotten (a failed one is reported, so the
/// engine tries again), pending ones sent again, ones that can never land forgotten and reported for a
/// retry (which rebuilds them). Unreadable records are reported by the ledger and left alone.
pub async fn reconcile<F: ExpiryOrdered>(family: &F, sink: &dyn EventSink) {
    let chain_id = family.chain_id();
    let records = match family.ledger().list(&[]) {
        Ok(listing) => listing.records,
        Err(error) => {
            tracing::error!(chain_id, error = %crate::causes(&error), "cannot read the send records");
            return;
        }
    };
    for (key, record) in records {
        let standing = family.standing(&record).await;
        let result = match standing.clone() {
            // What the rest of the work waits for: its landing is not the work's (nothing was delivered),
            // and the retry its sending queued plans the rest (a report here would count as one more
            // attempt per landed part, and many parts could end the work).
            Ok(Standing::Landed { failed: false, .. }) if record.prepares => None,
            // Its effect comes through the watcher; its cost, where the family reads one, goes on the
            // session's delivery attempt.
            Ok(Standing::Landed { failed: false, cost }) => {
                cost.map(|cost| WorkResult::Landed { tx_hash: family.tx_id(&record.signature), cost })
            }
            Ok(Standing::Landed { failed: true, .. }) => {
                Some(WorkResult::Reverted { tx_hash: family.tx_id(&record.signature) })
            }
            Ok(Standing::NeverLands) => Some(WorkResult::NotYet(Refusal::NeverLanded)),
            Ok(Standing::Pending) => {
                // Same bytes, same id: at most one of the copies can land.
                if let Err(SendFailure::Unsure(error) | SendFailure::Refused(Refusal::Unanswered(error))) =
                    send(family, &record.raw()).await
                {
                    tracing::debug!(%error, signature = record.signature, "resend failed");
                }
                continue;
            }
            Err(error) => {
                tracing::warn!(chain_id, %error, "cannot check a transaction on record");
                continue;
            }
        };
        if let Err(error) = family.ledger().delete(&key) {
            tracing::error!(chain_id, error = %crate::causes(&error), "cannot delete a send record");
            continue;
        }
        if let Ok(standing) = &standing {
            finished(family, &record, standing);
        }
        if let Some(result) = result {
            sink.report(WorkReport { work: record.work(chain_id), result }).await;
        }
    }
}
