//! What the relayer asks of a Solana cluster, behind one trait: the handful of JSON-RPC methods it uses
//! (`getLatestBlockhash`, `getBlockHeight`, `getSlot`, `sendTransaction`, `simulateTransaction`,
//! `getSignatureStatuses`, `getMultipleAccounts`, `getSignaturesForAddress`, `getTransaction`,
//! `getRecentPrioritizationFees`, `getBalance`, `getEpochInfo`), with
//! answers already decoded into the few fields it reads. Two transports implement it: [`crate::bank`]
//! (in-process, over solana-program-test's bank, for the devnet and tests) and a JSON-RPC client for
//! real clusters. Building and parsing transactions ([`crate::tx`]) is shared, so the transports differ
//! only in how bytes travel.

use relayer_chain::BoxFuture;
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Signature};

/// A transport failure (the cluster did not answer, or answered something unreadable): worth retrying.
/// Made with [`ClientError::new`], whose text has every URL cut to its host: an HTTP client's error
/// names the URL it failed on, and a provider's URL carries its API key; these texts are logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("solana client: {0}")]
pub struct ClientError(String);

impl ClientError {
    /// A failure described by `text` (URLs in it cut to their host).
    pub fn new(text: impl AsRef<str>) -> Self {
        Self(relayer_util::redact_urls(text.as_ref()))
    }
}

/// Why a simulated (or preflighted) transaction would fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxFailure {
    /// The deposit-vault program returned this custom error code (Anchor: 6000+ ours, 2000–3999 its
    /// constraints); also a code no log attributes to another program.
    Custom(u32),
    /// A program the transaction called through the deposit-vault program (Circle's CCTP programs, SPL
    /// Token) returned this custom error code: its numbers are not the vault's (Circle's 6001 is a pause,
    /// the vault's 6001 a final call it cannot run), so it is never read through the vault's table.
    Callee {
        /// The program that failed first (the innermost).
        program: Pubkey,
        /// Its code.
        code: u32,
    },
    /// Anything else, as the cluster described it.
    Other(String),
}

/// A simulation's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// `None` when it would succeed.
    pub failure: Option<TxFailure>,
    /// Compute units consumed.
    pub units: u64,
}

/// How far the cluster has confirmed a transaction (Solana's commitment levels, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confirmation {
    /// In a block one validator processed: a fork may still drop it.
    Processed,
    /// Voted on by a supermajority: dropped only if the cluster breaks its own rules.
    Confirmed,
    /// Rooted: never rolled back.
    Finalized,
}

impl Confirmation {
    /// The name JSON-RPC uses (`confirmationStatus`, `commitment`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Confirmed => "confirmed",
            Self::Finalized => "finalized",
        }
    }
}

/// Where a sent transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxStatus {
    /// Slot it landed in.
    pub slot: u64,
    /// It landed but failed (fees paid, nothing else changed).
    pub failed: bool,
    /// How far the cluster has confirmed it.
    pub confirmation: Confirmation,
}

/// An account's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    /// Lamports held.
    pub lamports: u64,
    /// Owning program.
    pub owner: Pubkey,
    /// Data.
    pub data: Vec<u8>,
}

/// One entry of `getSignaturesForAddress` (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The transaction.
    pub signature: Signature,
    /// Its slot.
    pub slot: u64,
    /// It failed.
    pub failed: bool,
}

/// A token account's balance before or after a transaction (`preTokenBalances` / `postTokenBalances`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBalance {
    /// Index into the transaction's account keys.
    pub account_index: usize,
    /// Mint.
    pub mint: Pubkey,
    /// Owner of the token account.
    pub owner: Pubkey,
    /// Base units.
    pub amount: u64,
}

/// An instruction a program invoked inside a transaction (`innerInstructions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerInstruction {
    /// Index of the top-level instruction it ran under.
    pub outer: usize,
    /// The program invoked.
    pub program: Pubkey,
    /// Its data.
    pub data: Vec<u8>,
}

/// One of a transaction's own (top-level) instructions: the program it calls and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopInstruction {
    /// The program called.
    pub program: Pubkey,
    /// Its data.
    pub data: Vec<u8>,
}

/// A finalized transaction with what the relayer reads of its metadata (`getTransaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxView {
    /// Its signature (the first).
    pub signature: Signature,
    /// Slot.
    pub slot: u64,
    /// It failed.
    pub failed: bool,
    /// Account keys, in message order (the fee payer first).
    pub account_keys: Vec<Pubkey>,
    /// Token balances before.
    pub pre_token_balances: Vec<TokenBalance>,
    /// Token balances after.
    pub post_token_balances: Vec<TokenBalance>,
    /// Inner instructions.
    pub inner_instructions: Vec<InnerInstruction>,
    /// Its own instructions, in order.
    pub instructions: Vec<TopInstruction>,
}

/// Statuses as a node saw them, with the slot it answered at (see [`SvmClient::statuses_at`]).
pub type StatusesAt = (u64, Vec<Option<TxStatus>>);

/// A Solana cluster as the relayer uses it. Reads are at `finalized` commitment: what a watcher reports
/// can never be rolled back.
pub trait SvmClient: Send + Sync {
    /// A recent blockhash and the last block height at which a transaction using it can land.
    fn latest_blockhash(&self) -> BoxFuture<'_, Result<(Hash, u64), ClientError>>;

    /// The current block height.
    fn block_height(&self) -> BoxFuture<'_, Result<u64, ClientError>>;

    /// The current slot.
    fn slot(&self) -> BoxFuture<'_, Result<u64, ClientError>>;

    /// Sends a signed, serialized transaction (after a preflight simulation, as `sendTransaction` does).
    fn send(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Signature, SendError>>;

    /// Simulates a signed, serialized transaction.
    fn simulate(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>>;

    /// Where each of `signatures` stands (`None`: unknown to the cluster).
    fn statuses(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>>;

    /// [`Self::statuses`], with the slot the node answered at (its context): an unknown status says
    /// only that nothing was seen up to that slot. A transport that is one view of the chain (the
    /// in-process bank) has seen everything.
    fn statuses_at(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<crate::client::StatusesAt, ClientError>> {
        Box::pin(async move { Ok((u64::MAX, self.statuses(signatures).await?)) })
    }

    /// The finalized slot and block height, read together from one node (`getEpochInfo`). A transport
    /// that is one view of the chain need not tell the slot.
    fn finalized_position(&self) -> BoxFuture<'_, Result<(u64, u64), ClientError>> {
        Box::pin(async move { Ok((0, self.block_height().await?)) })
    }

    /// The accounts at `keys` (`None`: no such account).
    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>>;

    /// One page of the finalized transactions that touched `address`, newest first (see [`Page`]). A
    /// node answers at most [`SIGNATURES_PER_PAGE`]; read a whole stretch of history with [`history`].
    fn signatures_for(
        &self,
        address: Pubkey,
        page: Page,
    ) -> BoxFuture<'_, Result<Vec<SignatureInfo>, ClientError>>;

    /// A finalized transaction.
    fn transaction(&self, signature: Signature) -> BoxFuture<'_, Result<Option<TxView>, ClientError>>;

    /// The priority fees (micro-lamports per compute unit) that landed transactions writing any of
    /// `accounts` paid in recent slots, one per slot the node remembers (`getRecentPrioritizationFees`:
    /// the lowest fee that landed in each slot; 0 where nothing competed).
    fn recent_priority_fees(&self, accounts: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<u64>, ClientError>>;

    /// The lamports `account` holds (0 if it does not exist).
    fn balance(&self, account: Pubkey) -> BoxFuture<'_, Result<u64, ClientError>>;
}

/// The most signatures a node answers per `getSignaturesForAddress` call (Solana's own limit).
pub const SIGNATURES_PER_PAGE: usize = 1000;

/// Which page of an address's history `getSignaturesForAddress` reads: newest first, starting below
/// `before` (at the newest when `None`), stopping above `until` (not included), at most `limit` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Start below this signature.
    pub before: Option<Signature>,
    /// Stop at this signature (exclusive).
    pub until: Option<Signature>,
    /// At most this many.
    pub limit: usize,
    /// The node must have reached this slot (`minContextSlot`): one behind it refuses rather than answer
    /// an older history (a load-balanced pool mixes nodes that lag).
    pub min_slot: Option<u64>,
}

impl Page {
    /// The newest page down to `until`.
    pub const fn newest(until: Option<Signature>) -> Self {
        Self { before: None, until, limit: SIGNATURES_PER_PAGE, min_slot: None }
    }
}

/// Every finalized transaction that touched `address` after `until` (its whole history when `None`),
/// newest first. A node answers one page at a time, so this pages back (`before` = the oldest seen) until
/// a page comes back short: any number of transactions in between (an attacker can make thousands that
/// merely mention an account) can delay a deposit's discovery, never hide it. A read after `until` is
/// believed only once the node shows it joins `until` (see [`reaches`]); a whole history (`until` of
/// `None`) cannot be checked so, and needs nodes that keep the whole ledger (README, "Solana").
pub async fn history(
    client: &dyn SvmClient,
    address: Pubkey,
    until: Option<Signature>,
) -> Result<Vec<SignatureInfo>, ClientError> {
    history_at(client, address, until, None).await
}

/// [`history`], from nodes that have reached `min_slot` (see [`Page::min_slot`]).
pub async fn history_at(
    client: &dyn SvmClient,
    address: Pubkey,
    until: Option<Signature>,
    min_slot: Option<u64>,
) -> Result<Vec<SignatureInfo>, ClientError> {
    let mut out: Vec<SignatureInfo> = vec![];
    loop {
        let before = out.last().map(|s| s.signature);
        // A later page comes from a node that knows where the previous one ended.
        let reached = out.last().map(|s| s.slot);
        let min_slot = min_slot.max(reached).filter(|s| *s > 0);
        let page = Page { before, until, limit: SIGNATURES_PER_PAGE, min_slot };
        // Nothing below a signature the previous page ended with: the end of the history, or a node (of
        // a load-balanced pool) that does not know that signature yet and cuts the history short; asked
        // again before it is believed.
        let page = page_tried(client, address, page, before.is_some()).await?;
        let short = page.len() < SIGNATURES_PER_PAGE;
        out.extend(page);
        if short {
            break;
        }
    }
    // Nothing read moves nothing past a gap: only a read with something in it must join.
    if let (Some(until), false) = (until, out.is_empty()) {
        reaches(client, address, until, &out).await?;
    }
    Ok(out)
}

/// One page, tried a few times (a rare failed call must not throw the pages read so far away); an
/// empty answer is asked again too when `again_if_empty`.
async fn page_tried(
    client: &dyn SvmClient,
    address: Pubkey,
    page: Page,
    again_if_empty: bool,
) -> Result<Vec<SignatureInfo>, ClientError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match client.signatures_for(address, page).await {
            Ok(found) if found.is_empty() && again_if_empty && tries < 3 => {
                tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await;
            }
            Ok(found) => return Ok(found),
            Err(error) if tries >= 3 => return Err(error),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await,
        }
    }
}

/// Whether the history read (`read`, newest first) joins the part already applied, which ends at
/// `until`: the one transaction below the oldest read must be `until` itself. A node whose ledger was
/// pruned from below (no long-term storage) answers only what it holds, without an error, and
/// `minContextSlot` does not catch it (it has reached the slot, it lacks the past); believing it would
/// skip whatever lies in the gap for good (a vault paid and emptied there shows no balance to read
/// again). A read that does not join is refused, and read again. What this cannot see: a hole *inside*
/// the range read (a node restarted from a newer snapshot over its old ledger steps over the slots it
/// lacks); see the README.
async fn reaches(
    client: &dyn SvmClient,
    address: Pubkey,
    until: Signature,
    read: &[SignatureInfo],
) -> Result<(), ClientError> {
    // No `minContextSlot`: only a node that knows the oldest entry read can answer below it (one that
    // lags answers nothing, and the read is refused), and surfpool (an RPC server we did not write) reads
    // `minContextSlot` as a filter on the entries' slots, which would leave `until` itself out.
    let probe = Page { before: read.last().map(|s| s.signature), until: None, limit: 1, min_slot: None };
    // (`read` is not empty: the probe asks below its oldest, never the newest, which may have moved.)
    let below = page_tried(client, address, probe, false).await?;
    match below.first() {
        Some(next) if next.signature == until => Ok(()),
        _ => Err(ClientError::new(format!(
            "the history of {address} read from this node does not reach back to {until}, the last \
             transaction applied (a node without that part of the ledger): read again"
        ))),
    }
}

/// Why `send` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The preflight simulation failed: the transaction was not sent.
    #[error("preflight failed: {0:?}")]
    Preflight(TxFailure),
    /// The transport failed; the transaction may or may not have reached the cluster.
    #[error(transparent)]
    Transport(#[from] ClientError),
}
