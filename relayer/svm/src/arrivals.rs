//! Transfers bridged into Solana that the relayer delivers itself.
//!
//! On an EVM chain, Circle's CCTP v2 messages for EVM destinations are delivered by whoever wants them;
//! for Solana nobody calls Circle's transmitter but someone who wants the transfer (the CCTP adapter's
//! Solana route sends a plain hook, not a request to Circle's forwarding service). So when the engine sees
//! a session's own funds bridged towards Solana ([`relayer_chain::Chain::arriving`]), the chain asks
//! Circle's attestation service (Iris: `GET /v2/messages/{sourceDomain}?transactionHash=`) for the
//! transaction's messages until they are attested, keeps those that pay the program's inbox for that very
//! session, and hands the session's work to its own pipeline, whose plan delivers each one not delivered
//! yet (`receive_message`, a part of its own keyed by the message's nonce: persisted before it is sent,
//! sent again while its blockhash is valid, rebuilt once it provably never lands). The watcher then sees
//! the delivery in the inbox's history like anyone's, and the claim follows.
//!
//! What each guard stops:
//! - Only messages whose hook names a receiver of the announcing session, that pay the inbox token
//!   account, burn the source domain's USDC there and carry at least `min_inbox_amount` are delivered: a
//!   bridging transaction can carry other burns (anyone may call the messenger in the same transaction),
//!   and each delivery costs the relayer a fee and the rent of Circle's used-nonce account. A transfer the
//!   relayer would not claim is not worth delivering either. Every one that passes is delivered, with no
//!   cap: each cost whoever burnt it at least `min_inbox_amount` (now the session's), and a cap would let
//!   decoys burnt ahead of the session's own payment in the same transaction crowd it out.
//! - Circle's transmitter refuses a forged or altered message (the attestation is checked on chain), and
//!   a message delivered once (the used-nonce account exists): a lying attestation service can make the
//!   relayer simulate for nothing and wait, never move funds or end an arrival (a refused attestation is
//!   dropped and the service asked again; an answer without the session's message is asked again); a
//!   delivery made by someone else first ends the work. An arrival ends only when the chain shows each
//!   of the session's messages delivered.
//! - Nothing here is a record of money: what was delivered is read from the chain by the watcher. Each
//!   arrival is recorded in the chain's store before the announcement returns (so before the source
//!   chain's watcher moves past its event) and removed once delivered: a crash or a restart loses none,
//!   and none is given up (one never attested is asked for every ten minutes after six hours). The engine
//!   also announces them again at every start while the session awaits them by its events
//!   ([`relayer_types::Session::awaits_arrival`]), for stores written before these records.
//! - Asks are limited per poll and taken in turns by session, each session's due longest first: no
//!   number of bridgings, fresh or old, from other sessions holds one back for long.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use relayer_chain::{EventSink, Refusal, Work, pipeline::Planned};
use relayer_types::{Action, ChainAddress, Commitment, SessionId};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey};
use tokio_util::sync::CancellationToken;

use crate::{
    client::TxFailure,
    tx::{self, Delivery},
};

/// The ledger part of a delivery, before the message's nonce (hex).
pub(crate) const DELIVER_PART: &str = "deliver/";
/// The most asks of the attestation service in one poll, the arrivals waiting longest first: a flood of
/// pending bridgings delays the others by its share, never starves them (and the relayer stays well below
/// Circle's rate limit of 35 requests a second).
const ASKS_PER_POLL: usize = 16;
/// After this long without being attested, a bridging is asked for only every [`SLOW_BACKOFF`] (a
/// bridging a reorganisation removed, or an outage of the attestation service): never given up.
const SLOW_AFTER: Duration = Duration::from_secs(6 * 3600);
const SLOW_BACKOFF: Duration = Duration::from_secs(600);
/// Refused attestations remembered per arrival (never taken again while remembered).
const MAX_REFUSED: usize = 16;
/// The first pause before asking the attestation service again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest pause between two asks for one transaction (a standard transfer takes 15–20 minutes
/// on Ethereum).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Circle blocks a caller past its rate limit for five minutes (HTTP 429).
const RATE_LIMITED: Duration = Duration::from_secs(300);
/// How long after handing a session's deliveries to the pipeline they are handed again while still
/// undelivered (the engine's retries usually finish them first; this covers work that gave up).
const RESUBMIT_AFTER: Duration = Duration::from_secs(60);

/// What the attestation service said about a transaction's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    /// The transaction is not seen yet (HTTP 404, no message): ask again later.
    Pending,
    /// Its messages in log order, each attested or not yet.
    Answered(Vec<Entry>),
    /// Too many requests (HTTP 429): Circle blocks the caller for five minutes.
    RateLimited,
}

/// One message of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its bytes, when the service shows them (before attestation its nonce and executed fee are not
    /// filled in, but whom it pays and its hook are).
    pub message: Option<Vec<u8>>,
    /// Its attestation, once `complete` (`None` while `pending_confirmations` or `PENDING`).
    pub attestation: Option<Vec<u8>>,
}

impl Entry {
    /// The message and its attestation, once attested.
    pub fn attested(&self) -> Option<Delivery> {
        Some(Delivery { message: self.message.clone()?, attestation: self.attestation.clone()? })
    }
}

/// Reads the attestation service's answer (`status`, `body`) to
/// `GET /v2/messages/{sourceDomain}?transactionHash=` (Circle's documented shape: `{"messages":
/// [{"message": "0x…", "attestation": "0x…" | "PENDING", "status": "complete" |
/// "pending_confirmations", …}]}`).
pub fn read_attested(status: u16, body: &str) -> Result<Attested, String> {
    match status {
        404 => return Ok(Attested::Pending),
        429 => return Ok(Attested::RateLimited),
        200..=299 => {}
        other => return Err(format!("the attestation service answered HTTP {other}")),
    }
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the attestation service's answer is not JSON: {e}"))?;
    let messages = value
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .ok_or("the attestation service's answer has no `messages`")?;
    if messages.is_empty() {
        return Ok(Attested::Pending);
    }
    let hex_field = |entry: &serde_json::Value, name: &str| {
        let text = entry.get(name).and_then(serde_json::Value::as_str)?;
        hex::decode(text.strip_prefix("0x")?).ok().filter(|bytes| !bytes.is_empty())
    };
    Ok(Attested::Answered(
        messages
            .iter()
            .map(|entry| {
                let complete = entry.get("status").and_then(serde_json::Value::as_str) == Some("complete");
                Entry {
                    message: hex_field(entry, "message"),
                    attestation: hex_field(entry, "attestation").filter(|_| complete),
                }
            })
            .collect(),
    ))
}

/// Asks the attestation service at `base` for the messages of `tx_hash` sent on CCTP domain `domain`.
pub async fn fetch_attested(
    http: &reqwest::Client,
    base: &str,
    domain: u32,
    tx_hash: &[u8; 32],
) -> Result<Attested, String> {
    let url = format!(
        "{}/v2/messages/{domain}?transactionHash=0x{}",
        base.trim_end_matches('/'),
        hex::encode(tx_hash)
    );
    let response = http.get(&url).send().await.map_err(|e| format!("the attestation service: {e}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("the attestation service: {e}"))?;
    read_attested(status, &body)
}

/// Whether an attested `message` is one the relayer delivers for the session whose receivers
/// `owner_of` knows: a burn of `domain`'s USDC for Solana's token messenger, paying `inbox`, at least
/// `min_amount` after Circle's fee, with a one-word hook naming an EVM receiver of `session`.
pub fn delivers_for(
    message: &[u8],
    domain: u32,
    inbox: &Pubkey,
    min_amount: u64,
    session: &SessionId,
    owner_of: impl Fn(ChainAddress) -> Option<SessionId>,
) -> bool {
    let Some(received) = tx::bridged_in(message) else { return false };
    // A burn of another of Circle's tokens would be refused by the token messenger's token pair, for ever.
    let usdc = deposit_vault::evm::ROUTES.iter().find(|r| r.domain == domain).map(|r| r.usdc);
    let burnt = message_transmitter_v2::message::MessageV2::parse(message)
        .and_then(|m| message_transmitter_v2::message::BurnMessageV2::parse(&m.body))
        .map(|b| b.burn_token);
    if usdc.zip(burnt).is_none_or(|(usdc, burnt)| burnt[..12] != [0u8; 12] || burnt[12..] != usdc) {
        return false;
    }
    names_session(message, domain, inbox, session, owner_of)
        && received.amount >= min_amount
        && received.amount > 0
}

/// Whether `message` is a burn from `domain` paying `inbox` whose one-word hook names an EVM receiver of
/// `session` (what it burns and how much aside): the session's own, worth delivering or not.
pub fn names_session(
    message: &[u8],
    domain: u32,
    inbox: &Pubkey,
    session: &SessionId,
    owner_of: impl Fn(ChainAddress) -> Option<SessionId>,
) -> bool {
    let Some(received) = tx::bridged_in(message) else { return false };
    let Some(hook) = received.hook.filter(|word| word[..12] == [0u8; 12]) else { return false };
    received.source_domain == domain
        && received.mint_recipient == *inbox
        && owner_of(ChainAddress::Evm(relayer_types::Address::from_slice(&hook[12..]))) == Some(*session)
}

/// A bridging towards Solana the relayer follows until its messages are delivered.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    /// The session whose funds travel.
    pub(crate) session_id: SessionId,
    /// Its commitment (the pipeline's work names it).
    pub(crate) commitment: Commitment,
    /// The CCTP domain it left.
    pub(crate) domain: u32,
    /// The transaction that burnt it there.
    pub(crate) tx_hash: [u8; 32],
    /// When it was first followed.
    since: Instant,
    /// Its messages for the session attested and checked so far.
    pub(crate) messages: Vec<Delivery>,
    /// Whether the attestation service is still asked (a message that may be the session's is not
    /// attested yet).
    pub(crate) asking: bool,
    /// Asks so far without an answer that settles it.
    tries: u32,
    /// When to look at it again.
    pub(crate) next: Instant,
    /// When its deliveries were last handed to the pipeline.
    pub(crate) handed: Option<Instant>,
    /// Messages Circle's programs refused, with the attestation refused: the same bytes are not taken
    /// again (a fresh attestation of the message is).
    refused: Vec<Delivery>,
}

/// Which arrival: source domain, transaction, session (one transaction may bridge several sessions: anyone
/// can call the router's `bridge` for many params in one transaction).
pub(crate) type Key = (u32, [u8; 32], SessionId);

/// The bridgings towards Solana being followed.
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    followed: Mutex<BTreeMap<Key, Arrival>>,
    /// No ask before this (the attestation service rate-limits the relayer as a whole, not per
    /// transaction: asking on for the others would only prolong the block).
    quiet_until: Mutex<Option<Instant>>,
}

impl Arrivals {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Arrival>> {
        self.followed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Follows the bridging `key` (domain, transaction, session) of the session committed to as
    /// `commitment` (once: a second announcement of it changes nothing; `false` then). Nothing is refused
    /// for lack of room: each arrival is a bridging of at least `min_inbox_amount` on its way, which
    /// whoever made it paid for.
    pub(crate) fn follow(&self, key: Key, commitment: Commitment, since: u64) -> bool {
        let (domain, tx_hash, session_id) = key;
        let mut followed = self.lock();
        if followed.contains_key(&key) {
            return false;
        }
        let arrival = Arrival {
            session_id,
            commitment,
            domain,
            tx_hash,
            // Its age counts from when it was first followed, across restarts.
            since: Instant::now()
                .checked_sub(Duration::from_secs(relayer_types::unix_now().saturating_sub(since)))
                .unwrap_or_else(Instant::now),
            refused: vec![],
            messages: vec![],
            asking: true,
            tries: 0,
            next: Instant::now(),
            handed: None,
        };
        followed.insert(key, arrival);
        true
    }

    /// Whether the arrival `key` is followed.
    pub(crate) fn is_followed(&self, key: &Key) -> bool {
        self.lock().contains_key(key)
    }

    /// The arrivals due at `now`, in turns by session (each session's first, then each one's second, …),
    /// within a turn and a session those due longest first: however many bridgings one session has (a
    /// flood), another session's is among the next asked for, and fresh ones from many sessions never
    /// pass one that has been due for longer.
    pub(crate) fn due(&self, now: Instant) -> Vec<Arrival> {
        let mut due: Vec<Arrival> = self.lock().values().filter(|a| a.next <= now).cloned().collect();
        due.sort_by_key(|a| a.next);
        let mut turns: std::collections::HashMap<SessionId, usize> = std::collections::HashMap::new();
        let mut ranked: Vec<(usize, Arrival)> = due
            .into_iter()
            .map(|a| {
                let turn = turns.entry(a.session_id).or_default();
                *turn += 1;
                (*turn, a)
            })
            .collect();
        ranked.sort_by_key(|(turn, _)| *turn);
        ranked.into_iter().map(|(_, a)| a).collect()
    }

    /// Looks at `arrival` again after a pause that doubles with each try (at most a minute; ten once it
    /// waited six hours), and at least `at_least`.
    pub(crate) fn later(&self, arrival: &Arrival, at_least: Duration) {
        if let Some(a) = self.lock().get_mut(&key_of(arrival)) {
            back_off(a, at_least);
        }
    }

    /// Backs off for the attestation service's rate limit: no ask at all for five minutes.
    pub(crate) fn rate_limited(&self, arrival: &Arrival) {
        *self.quiet_until.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Instant::now() + RATE_LIMITED);
        self.later(arrival, RATE_LIMITED);
    }

    /// How long asking must still wait for the rate limit, if it must.
    pub(crate) fn quiet_for(&self, now: Instant) -> Option<Duration> {
        let until = (*self.quiet_until.lock().unwrap_or_else(PoisonError::into_inner))?;
        (until > now).then(|| until - now)
    }

    /// Adds the attested `messages` of `arrival` it did not have (and whose bytes were not refused); how
    /// many were added (to hand to the pipeline now), and whether the service is still to be asked
    /// (`waiting` for a message that may be the session's, or none of the session's yet).
    pub(crate) fn attested(
        &self,
        arrival: &Arrival,
        messages: Vec<Delivery>,
        waiting: bool,
    ) -> (usize, bool) {
        let mut followed = self.lock();
        let Some(a) = followed.get_mut(&key_of(arrival)) else { return (0, false) };
        let before = a.messages.len();
        for d in messages {
            let nonce = tx::nonce_of(&d.message);
            if !a.messages.iter().any(|m| tx::nonce_of(&m.message) == nonce) && !a.refused.contains(&d) {
                a.messages.push(d);
            }
        }
        let added = a.messages.len() - before;
        // Still asked while a message that may be the session's is not attested, or while it has none.
        a.asking = waiting || a.messages.is_empty();
        if added > 0 {
            a.handed = Some(Instant::now());
        }
        (added, a.asking)
    }

    /// Whether `arrival`'s deliveries are due to be handed to the pipeline again (and notes they are).
    pub(crate) fn hand_again(&self, arrival: &Arrival) -> bool {
        let mut followed = self.lock();
        let Some(a) = followed.get_mut(&key_of(arrival)) else { return false };
        // Read on chain ever less often while it waits (a delivery nobody can record would be read every
        // poll for ever).
        back_off(a, Duration::ZERO);
        if a.handed.is_some_and(|at| at.elapsed() < RESUBMIT_AFTER) {
            return false;
        }
        a.handed = Some(Instant::now());
        true
    }

    /// Stops following `arrival` (delivered, or nothing in it for the session).
    pub(crate) fn done(&self, arrival: &Arrival) {
        self.lock().remove(&key_of(arrival));
    }

    /// Drops `delivery` (these very bytes: a message and the attestation refused) from whichever arrival
    /// holds it: Circle's programs refuse it for good.
    pub(crate) fn refused(&self, delivery: &Delivery) {
        for arrival in self.lock().values_mut() {
            let before = arrival.messages.len();
            arrival.messages.retain(|d| d != delivery);
            if arrival.messages.len() < before {
                // Asked for again, ever slower: an attestation refused (a lying service's, one signed before
                // Circle rotated its attesters) may be followed by a fresh one that lands; the same bytes are
                // never taken again (the last few remembered: more would only cost simulations).
                arrival.refused.push(delivery.clone());
                if arrival.refused.len() > MAX_REFUSED {
                    arrival.refused.remove(0);
                }
                arrival.asking = true;
                back_off(arrival, Duration::ZERO);
            }
        }
    }

    /// The attested messages of `session`'s arrivals.
    pub(crate) fn messages_of(&self, session: &SessionId) -> Vec<Delivery> {
        self.lock()
            .values()
            .filter(|a| a.session_id == *session)
            .flat_map(|a| a.messages.iter().cloned())
            .collect()
    }

    /// How many are followed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl crate::SvmChain {
    /// Follows the announced bridgings until `cancel` (when an attestation service is configured): every
    /// poll, those due are asked for, checked, handed to the pipeline, and forgotten once delivered.
    pub(crate) async fn follow_arrivals(
        self: std::sync::Arc<Self>,
        sink: std::sync::Arc<dyn EventSink>,
        cancel: CancellationToken,
    ) {
        let Some(url) = self.config.attestation_url.clone() else { return };
        let mut loaded = false;
        loop {
            // The recorded ones first, until the store answers (a failed read is not the end of them).
            loaded = loaded || self.load_arrivals();
            // Arrivals no longer asked for are only read on chain; each of the others costs an ask.
            let (mut asks, due) = (0, self.arrivals.due(Instant::now()));
            for arrival in due {
                if arrival.asking {
                    asks += 1;
                    if asks > ASKS_PER_POLL {
                        break;
                    }
                }
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = self.follow_one(&url, sink.as_ref(), &arrival) => {}
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// One look at `arrival`: its messages asked for until those that may be the session's are attested
    /// (each handed to the pipeline as soon as it is), then watched until delivered.
    async fn follow_one(&self, url: &str, sink: &dyn EventSink, arrival: &Arrival) {
        let chain_id = self.config.chain_id;
        let session_id = arrival.session_id;
        let tx_hash = hex::encode(arrival.tx_hash);
        let Some(mint) = self.watched_mint() else { return };
        if arrival.asking {
            if let Some(wait) = self.arrivals.quiet_for(Instant::now()) {
                self.arrivals.later(arrival, wait);
                return;
            }
            match fetch_attested(&self.http, url, arrival.domain, &arrival.tx_hash).await {
                Ok(Attested::Pending) => self.arrivals.later(arrival, Duration::ZERO),
                Ok(Attested::RateLimited) => {
                    tracing::warn!(chain_id, %session_id, "the attestation service rate-limits the relayer; asking again in five minutes");
                    self.arrivals.rate_limited(arrival);
                }
                Err(error) => {
                    tracing::warn!(chain_id, %session_id, %error, "cannot ask the attestation service; asking again later");
                    self.arrivals.later(arrival, Duration::ZERO);
                }
                Ok(Attested::Answered(entries)) => {
                    let inbox = tx::inbox_token(&mint);
                    let count = entries.len();
                    let owner_of = |receiver| sink.session_for_receiver(receiver);
                    let min = self.config.min_inbox_amount;
                    let ours = |m: &[u8]| delivers_for(m, arrival.domain, &inbox, min, &session_id, owner_of);
                    // Another's burn, attested or not, is passed over: only one that is (or, unreadable
                    // yet, may be) the session's is waited for.
                    let waiting = entries.iter().any(|e| {
                        e.attestation.is_none()
                            && e.message.as_deref().is_none_or(|m| tx::bridged_in(m).is_none() || ours(m))
                    });
                    let mine: Vec<Delivery> =
                        entries.iter().filter_map(Entry::attested).filter(|d| ours(&d.message)).collect();
                    // The session's own burn, attested, that the relayer does not deliver (less than it claims
                    // once Circle's fee is taken, another token): nothing to wait for.
                    let not_deliverable = entries.iter().filter_map(Entry::attested).any(|d| {
                        names_session(&d.message, arrival.domain, &inbox, &session_id, owner_of)
                            && !ours(&d.message)
                    });
                    let (added, asking) = self.arrivals.attested(arrival, mine, waiting);
                    if added > 0 {
                        tracing::info!(chain_id, %session_id, tx_hash, count = added, "attested; delivering");
                        self.hand_over(arrival, &mint);
                    }
                    // An answer with nothing of the session's to deliver ends nothing (the service is not
                    // checked: a stale or lying answer must not end an arrival): asked again, ever slower,
                    // and every ten minutes at once when it shows the session's burn is one the relayer does
                    // not deliver (below what it claims after Circle's fee, another token).
                    if asking && !waiting && not_deliverable {
                        tracing::info!(chain_id, %session_id, tx_hash, "the session's bridged transfer is not one the relayer delivers (below what it claims, or another token); asking again rarely");
                        self.arrivals.later(arrival, SLOW_BACKOFF);
                    } else if asking {
                        if !waiting {
                            tracing::warn!(chain_id, %session_id, tx_hash, count, "the attestation service shows nothing of the session's in its bridging's transaction; asking again");
                        }
                        self.arrivals.later(arrival, Duration::ZERO);
                    }
                }
            }
            return;
        }
        // Done once the chain shows each message delivered and recorded by the program as what it says:
        // the vault's record of its nonce (made only for a message whose attestation the program checked
        // against Circle's attesters) pays the same account the same amount for the same hook. A used nonce
        // alone is not enough: a lying attestation service could name a nonce someone else's delivery used.
        let messages = arrival.messages.clone();
        let keys: Vec<Pubkey> = messages
            .iter()
            .flat_map(|d| [tx::delivered_marker(&d.message), tx::received_record(&tx::nonce_of(&d.message))])
            .collect();
        match self.client.accounts(keys).await {
            Err(error) => {
                self.stats_mut().rpc_errors += 1;
                tracing::warn!(chain_id, %session_id, error = %relayer_chain::causes(&error), "cannot read whether a transfer was delivered");
                self.arrivals.later(arrival, Duration::ZERO);
            }
            Ok(found) => {
                let record_of = |pair: &[Option<crate::client::AccountView>]| {
                    let [Some(_), Some(record)] = pair else { return None };
                    tx::received(&record.owner, &record.data)
                };
                let recorded = |(d, pair): (&Delivery, &[Option<crate::client::AccountView>])| {
                    record_of(pair).is_some_and(|r| Some(r) == tx::bridged_in(&d.message))
                };
                // A message whose nonce the program recorded as another transfer is not what the service
                // said: refused, and the service asked again.
                for (d, pair) in messages.iter().zip(found.chunks(2)) {
                    if record_of(pair).is_some_and(|r| Some(r) != tx::bridged_in(&d.message)) {
                        tracing::error!(chain_id, %session_id, tx_hash, nonce = hex::encode(tx::nonce_of(&d.message)), "the attestation service named a nonce the program recorded as another transfer; asking again");
                        self.arrivals.refused(d);
                        return;
                    }
                }
                if !messages.is_empty() && messages.iter().zip(found.chunks(2)).all(recorded) {
                    tracing::info!(chain_id, %session_id, tx_hash, "bridged transfer delivered and recorded");
                    self.arrival_done(arrival);
                } else if self.arrivals.hand_again(arrival) {
                    // Undelivered, or delivered and not recorded yet: the session's work does both.
                    self.hand_over(arrival, &mint);
                }
            }
        }
    }

    /// Hands `arrival`'s session to the pipeline, whose plan delivers what is not delivered yet (a full
    /// queue: handed again later).
    fn hand_over(&self, arrival: &Arrival, mint: &Pubkey) {
        let work = Work {
            session_id: arrival.session_id,
            chain_id: self.config.chain_id,
            commitment: arrival.commitment.clone(),
            action: Action::Settle { token: ChainAddress::Solana(mint.to_bytes()) },
        };
        if self.queue.try_send(work).is_err() {
            tracing::warn!(chain_id = self.config.chain_id, session_id = %arrival.session_id, "the pipeline's queue is full; the delivery is handed over later");
        }
    }

    /// The deliveries `work`'s session still needs: each attested message of its arrivals whose used-nonce
    /// account does not exist yet, one transaction each (its ledger key is the message's nonce alone, so
    /// whatever work plans it, it is one transaction), preparing the rest of the work.
    pub(crate) async fn deliveries(
        &self,
        work: &Work,
        mint: Pubkey,
    ) -> Result<Vec<Planned<Vec<Instruction>>>, String> {
        let messages = self.arrivals.messages_of(&work.session_id);
        if messages.is_empty() {
            return Ok(vec![]);
        }
        // Each message's used-nonce account, and the token messenger's state (whose fee recipient every
        // delivery must name: Circle's, which Circle may change), in one read.
        let mut keys: Vec<Pubkey> = messages.iter().map(|d| tx::delivered_marker(&d.message)).collect();
        keys.push(tx::token_messenger_state());
        let mut found = self.client.accounts(keys).await.map_err(|e| e.to_string())?;
        let state = found.pop().flatten();
        let fee_recipient = state
            .as_ref()
            .and_then(tx::fee_recipient)
            .ok_or("Circle's token messenger state is missing or unreadable")?;
        let payer = self.signer_pubkey();
        Ok(messages
            .into_iter()
            .zip(found)
            .filter(|(_, marker)| marker.is_none())
            .filter_map(|(d, _)| {
                let part = format!("{DELIVER_PART}{}", hex::encode(tx::nonce_of(&d.message)));
                let ix = tx::receive_message(payer, mint, fee_recipient, d.message, d.attestation)?;
                Some(Planned { part: Some(part), plan: vec![ix], prepares: true })
            })
            .collect())
    }

    /// What Circle's programs' refusal of a delivery in `instructions` means: a message they refuse for
    /// good is dropped (nothing the relayer can move), one delivered meanwhile is done, anything else is
    /// tried again. `None` when `instructions` deliver nothing.
    pub(crate) fn delivery_refusal(
        &self,
        instructions: &[Instruction],
        failure: &TxFailure,
    ) -> Option<Refusal> {
        let delivery = instructions.iter().find_map(tx::delivered_by)?;
        let nonce = tx::nonce_of(&delivery.message);
        Some(match failure {
            // The message itself (its attestation, format, expiry): no delivery of it can ever land.
            TxFailure::Callee { program, code } if tx::cctp_refuses_for_good(program, *code) => {
                tracing::error!(chain_id = self.config.chain_id, %program, code, nonce = hex::encode(nonce), "Circle's programs refuse a bridged transfer for good; not delivered");
                self.arrivals.refused(&delivery);
                Refusal::NothingToMove
            }
            // An account the relayer named (the inbox was checked before: Circle's fee recipient, a
            // cluster whose accounts moved): the relayer's to fix, never the transfer's end.
            TxFailure::Callee { program, code } if tx::refuses_the_account(program, *code) => {
                tracing::error!(chain_id = self.config.chain_id, %program, code, nonce = hex::encode(nonce), "Circle's programs refuse an account of a delivery; trying again");
                Refusal::CalleeRefused(format!(
                    "Circle's programs refuse an account of the delivery: error {code}"
                ))
            }
            // The used-nonce account exists: someone delivered it first.
            TxFailure::Callee { program, code: 0 } if *program == anchor_lang::system_program::ID => {
                Refusal::NothingToMove
            }
            failure => {
                Refusal::CalleeRefused(format!("Circle's transmitter refused a delivery: {failure:?}"))
            }
        })
    }
}

/// Puts `a` off by a pause that doubles with each try (at most a minute; ten once it waited six hours),
/// and at least `at_least`.
fn back_off(a: &mut Arrival, at_least: Duration) {
    let backoff = if a.since.elapsed() > SLOW_AFTER {
        SLOW_BACKOFF
    } else {
        FIRST_BACKOFF.saturating_mul(1 << a.tries.min(6)).min(MAX_BACKOFF)
    };
    a.tries = a.tries.saturating_add(1);
    a.next = Instant::now() + backoff.max(at_least);
}

fn key_of(arrival: &Arrival) -> Key {
    (arrival.domain, arrival.tx_hash, arrival.session_id)
}

/// An arrival as the chain's store keeps it (what a restart follows again).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    session_id: SessionId,
    commitment: Commitment,
    domain: u32,
    tx_hash: String,
    /// When it was first followed (unix seconds).
    #[serde(default)]
    since: u64,
}

/// The store key of an arrival: `arrival/` ‖ domain ‖ transaction ‖ session.
fn record_key((domain, tx_hash, session): Key) -> Vec<u8> {
    [&b"arrival/"[..], &domain.to_be_bytes(), &tx_hash, session.as_bytes()].concat()
}

impl crate::SvmChain {
    /// Follows a session's bridging (see [`Arrivals::follow`]) and records it in the chain's store first,
    /// durably: the source chain's watcher moves past the event once the announcement returns.
    pub(crate) fn follow_arrival(
        &self,
        key: Key,
        commitment: Commitment,
    ) -> Result<bool, relayer_store::StoreError> {
        let (domain, tx_hash, session_id) = key;
        if self.arrivals.is_followed(&key) {
            return Ok(false);
        }
        let since = relayer_types::unix_now();
        let stored = Stored {
            session_id,
            commitment: commitment.clone(),
            domain,
            tx_hash: hex::encode(tx_hash),
            since,
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| relayer_store::StoreError::codec(format!("an arrival: {e}"), None))?;
        // Not followed unless recorded: the announcement fails, and comes again with its event.
        self.store.put_record(self.config.chain_id, &record_key(key), &bytes)?;
        Ok(self.arrivals.follow(key, commitment, since))
    }

    /// Follows again the arrivals the chain's store records (after a restart); `false` when the store
    /// could not be read (tried again at the next poll).
    pub(crate) fn load_arrivals(&self) -> bool {
        let records = match self.store.records(self.config.chain_id) {
            Ok(records) => records,
            Err(error) => {
                tracing::error!(chain_id = self.config.chain_id, error = %relayer_chain::causes(&error), "cannot read the recorded bridgings towards Solana; trying again");
                return false;
            }
        };
        let mut count = 0usize;
        for (key, bytes) in records.iter().filter(|(key, _)| key.starts_with(b"arrival/")) {
            let stored: Option<Stored> = serde_json::from_slice(bytes).ok();
            let tx_hash =
                stored.as_ref().and_then(|s| <[u8; 32]>::try_from(hex::decode(&s.tx_hash).ok()?).ok());
            let (Some(stored), Some(tx_hash)) = (stored, tx_hash) else {
                tracing::error!(
                    chain_id = self.config.chain_id,
                    key = hex::encode(key),
                    "an unreadable record of a bridging towards Solana; left as it is"
                );
                continue;
            };
            let key = (stored.domain, tx_hash, stored.session_id);
            let since = if stored.since == 0 { relayer_types::unix_now() } else { stored.since };
            count += usize::from(self.arrivals.follow(key, stored.commitment, since));
        }
        if count > 0 {
            tracing::info!(
                chain_id = self.config.chain_id,
                count,
                "following the recorded bridgings towards Solana again"
            );
        }
        true
    }

    /// Stops following `arrival`, and forgets its record.
    fn arrival_done(&self, arrival: &Arrival) {
        if let Err(error) = self.store.delete_record(self.config.chain_id, &record_key(key_of(arrival))) {
            tracing::warn!(chain_id = self.config.chain_id, error = %relayer_chain::causes(&error), "cannot forget a delivered bridging's record; asked for again after a restart");
        }
        self.arrivals.done(arrival);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Circle's answers as its API reference and troubleshooting guide show them: attested, still
    /// pending (the attestation reads `PENDING`), not seen yet (404), rate-limited (429), and a failure.
    #[test]
    fn the_attestation_services_answers_are_read_as_documented() {
        let entry = |message: &[u8], attestation: Option<&[u8]>| Entry {
            message: Some(message.to_vec()),
            attestation: attestation.map(<[u8]>::to_vec),
        };
        let complete = r#"{"messages":[{"attestation":"0xdead","message":"0x0001","eventNonce":"0x01","cctpVersion":2,"status":"complete","decodedMessage":null,"delayReason":null}]}"#;
        let attested = entry(&[0, 1], Some(&[0xde, 0xad]));
        assert_eq!(read_attested(200, complete), Ok(Attested::Answered(vec![attested.clone()])));
        assert_eq!(
            attested.attested(),
            Some(Delivery { message: vec![0, 1], attestation: vec![0xde, 0xad] })
        );
        let pending = r#"{"messages":[{"attestation":"PENDING","message":"0x0001","eventNonce":"0x01","cctpVersion":2,"status":"pending_confirmations"}]}"#;
        assert_eq!(read_attested(200, pending), Ok(Attested::Answered(vec![entry(&[0, 1], None)])));
        // Each message as it stands: one attested, one not yet (and a pending one never counts as attested,
        // whatever its attestation field says).
        let half = r#"{"messages":[{"attestation":"0xdead","message":"0x01","status":"complete"},{"attestation":"0xbeef","message":"0x02","status":"pending_confirmations"}]}"#;
        assert_eq!(
            read_attested(200, half),
            Ok(Attested::Answered(vec![entry(&[1], Some(&[0xde, 0xad])), entry(&[2], None)]))
        );
        assert_eq!(entry(&[2], None).attested(), None);
        assert_eq!(read_attested(200, r#"{"messages":[]}"#), Ok(Attested::Pending));
        assert_eq!(read_attested(404, r#"{"error":"Message hash not found"}"#), Ok(Attested::Pending));
        assert_eq!(read_attested(429, ""), Ok(Attested::RateLimited));
        assert!(read_attested(500, "oops").is_err());
        assert!(read_attested(200, "not json").is_err());
        assert!(read_attested(200, r#"{"data":{}}"#).is_err());
    }

    /// An arrival is followed once however often it is announced; its pause doubles, and rate limiting
    /// waits Circle's five minutes.
    #[test]
    fn arrivals_are_followed_once_and_asked_less_often() {
        let arrivals = Arrivals::default();
        let commitment = Commitment {
            session_id: relayer_types::B256::repeat_byte(1),
            to_chain_id: 501,
            to_token: relayer_types::B256::repeat_byte(2),
            to_address: relayer_types::B256::repeat_byte(3),
            amount: relayer_types::U256::from(10_000_000u64),
            min_amount: relayer_types::U256::ZERO,
            final_call: relayer_types::Bytes::new(),
            refund_address: relayer_types::B256::ZERO,
            solana_refund_address: relayer_types::B256::ZERO,
            expires_at: 99,
        };
        let session = SessionId::from_bytes([1; 16]);
        assert!(arrivals.follow((3, [7; 32], session), commitment.clone(), relayer_types::unix_now()));
        assert!(
            !arrivals.follow((3, [7; 32], session), commitment.clone(), relayer_types::unix_now()),
            "followed already"
        );
        assert_eq!(arrivals.len(), 1);
        // Another session bridged in the same transaction is another arrival.
        let other = SessionId::from_bytes([2; 16]);
        assert!(arrivals.follow((3, [7; 32], other), commitment, relayer_types::unix_now()));
        assert_eq!(arrivals.len(), 2);
        arrivals
            .done(&arrivals.due(Instant::now()).into_iter().find(|a| a.session_id == other).expect("due"));
        let now = Instant::now();
        let arrival = arrivals.due(now).pop().expect("due at once");
        arrivals.later(&arrival, Duration::ZERO);
        assert!(arrivals.due(now + FIRST_BACKOFF / 2).is_empty());
        assert_eq!(arrivals.due(Instant::now() + FIRST_BACKOFF).len(), 1);
        arrivals.rate_limited(&arrival);
        assert!(arrivals.due(Instant::now() + RATE_LIMITED / 2).is_empty());
        // Nothing else is asked meanwhile either: the limit is the relayer's, not the transaction's.
        assert!(arrivals.quiet_for(Instant::now()).is_some_and(|w| w > RATE_LIMITED / 2));
        assert_eq!(arrivals.quiet_for(Instant::now() + RATE_LIMITED), None);
        arrivals.done(&arrival);
        assert_eq!(arrivals.len(), 0);
    }

    /// Only a burn of the announcing session's own, to the inbox, from the bridging's domain and worth
    /// claiming is delivered: anything else in the bridging's transaction (an attacker's burns beside
    /// the router's call) would cost the relayer a fee and a used-nonce account's rent each.
    #[test]
    fn only_the_sessions_own_burns_to_the_inbox_are_delivered() {
        use crate::watcher::tests::burn_for_the_inbox;
        let inbox = Pubkey::new_unique();
        let session = SessionId::from_bytes([1; 16]);
        let receiver = relayer_types::Address::repeat_byte(0xaa);
        let word = |a: relayer_types::Address| a.into_word().0;
        let owner_of = |r: ChainAddress| (r == ChainAddress::Evm(receiver)).then_some(session);
        let messenger = deposit_vault::evm::TOKEN_MESSENGER_MINTER;
        // Base's USDC from Base (domain 6), 100 of Circle's fee taken.
        let usdc = deposit_vault::evm::ROUTES.iter().find(|r| r.domain == 6).expect("Base").usdc;
        let burning = |token: [u8; 20], message: Vec<u8>| {
            use message_transmitter_v2::message::{BurnMessageV2, MessageV2};
            let mut header = MessageV2::parse(&message).expect("a message");
            let mut body = BurnMessageV2::parse(&header.body).expect("a burn");
            body.burn_token = [[0u8; 12].as_slice(), &token].concat().try_into().expect("a word");
            header.body = body.encode();
            header.encode()
        };
        let burn = |to: &Pubkey, hook: [u8; 32], amount: u64| {
            burning(usdc, burn_for_the_inbox(to, hook, 1, messenger, amount))
        };
        let ok = |m: &[u8]| delivers_for(m, 6, &inbox, 1_000_000, &session, owner_of);
        assert!(ok(&burn(&inbox, word(receiver), 1_000_100)));
        // Another session's receiver, or nobody's; another session announcing it.
        assert!(!ok(&burn(&inbox, word(relayer_types::Address::repeat_byte(0xbb)), 10_000_000)));
        let theirs = SessionId::from_bytes([2; 16]);
        assert!(!delivers_for(&burn(&inbox, word(receiver), 10_000_000), 6, &inbox, 0, &theirs, owner_of));
        // Paying another account, announced from another domain, below the claim minimum once Circle's
        // fee is taken, a hook that is no address, a message for another program.
        assert!(!ok(&burn(&Pubkey::new_unique(), word(receiver), 10_000_000)));
        assert!(!delivers_for(&burn(&inbox, word(receiver), 10_000_000), 3, &inbox, 0, &session, owner_of));
        assert!(!ok(&burn(&inbox, word(receiver), 1_000_099)));
        assert!(!ok(&burn(&inbox, [0xff; 32], 10_000_000)));
        // Another token of Circle's burnt there: its token pair here would refuse it for ever.
        let other_token =
            burning([0x42; 20], burn_for_the_inbox(&inbox, word(receiver), 1, messenger, 10_000_000));
        assert!(!ok(&other_token));
        let elsewhere =
            burning(usdc, burn_for_the_inbox(&inbox, word(receiver), 1, Pubkey::new_unique(), 10_000_000));
        assert!(!ok(&elsewhere));
        assert!(!ok(b"not a message"));
    }
}
