//! What the API calls: creating sessions, setting payment methods, and the routes, tokens and receivers
//! a payer may pay a session with.

use std::{
    collections::BTreeSet,
    sync::{Arc, PoisonError},
};

use relayer_chain::{Chain, Inspection, PaysBy};
use relayer_store::{Creation, IdempotencyRecord};
use relayer_types::{
    ChainAddress, ClientSecret, Destination, DisplayInfo, Family, PaymentMethod, Session, SessionEvent,
    SessionId, SessionStatus, TokenRef, TxId, U256, unix_now,
};

use super::{Engine, EngineError, lock};

/// A validated create-session request.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Destination (no delivery yet).
    pub destination: Destination,
    /// Display settings.
    pub display: DisplayInfo,
    /// Integrator metadata.
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
    /// Refund address, if given.
    pub refund_address: Option<ChainAddress>,
}

/// How a payer wants to pay, in family-neutral terms (the API adapter turns Daimo's payment-method types
/// into it): on the chains of `family`, from `wallet` where the family's payers sign a transaction for
/// their wallet, in `token` if they chose one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The payer's chain family.
    pub family: Family,
    /// The paying wallet (families whose payers sign a transaction built for it).
    pub wallet: Option<ChainAddress>,
    /// The token it pays with (the first that fits if not given).
    pub token: Option<ChainAddress>,
}

impl PaymentRequest {
    /// A payer of `family` who sends to the session's receiver.
    pub const fn transfer(family: Family) -> Self {
        Self { family, wallet: None, token: None }
    }
}

/// Whether `token` paid on `chain_id` (configured as `chain`, if it is) delivers `dest`: the destination
/// token on its own chain, or a token a configured route delivers as it. One rule for what counts, what
/// is offered and what a payer is sent to pay with.
fn delivers(chain_id: u64, chain: Option<&Arc<dyn Chain>>, token: ChainAddress, dest: &TokenRef) -> bool {
    if chain_id == dest.chain_id {
        token == dest.address
    } else {
        chain.and_then(|c| c.route(&token, dest.chain_id)).is_some_and(|r| r.to_token == dest.address)
    }
}

impl Engine {
    /// Creates and durably stores a session (concurrent creations share the store's flushes).
    pub async fn create_session(&self, new: NewSession) -> Result<Session, EngineError> {
        let session = self.new_session(new);
        self.store.create_session(&session).await?;
        self.created(&session);
        Ok(session)
    }

    /// Creates a session under an idempotency key: `respond` renders the response to store with the key,
    /// in the same commit as the session. If the key already has a record younger than `valid_since`
    /// (unix seconds), nothing is created and that record is returned instead (`Err`), whoever wrote it:
    /// of concurrent requests with one key, exactly one creates.
    pub fn create_session_idempotent(
        &self,
        new: NewSession,
        key: String,
        request_sha256: String,
        valid_since: u64,
        respond: impl FnOnce(&Session) -> (u16, String),
    ) -> Result<Result<IdempotencyRecord, IdempotencyRecord>, EngineError> {
        let session = self.new_session(new);
        let (status, body) = respond(&session);
        let record = IdempotencyRecord { key, request_sha256, status, body, created_at: unix_now() };
        if let Some(existing) =
            self.store.create_idempotent(Creation::Session(&session), &record, valid_since)?
        {
            return Ok(Err(existing));
        }
        self.created(&session);
        Ok(Ok(record))
    }

    fn new_session(&self, new: NewSession) -> Session {
        let now = unix_now();
        let min_amount = self.min_amount_for(&new.destination);
        Session {
            min_amount,
            id: SessionId::from_bytes(crate::random_bytes()),
            client_secret: ClientSecret::from_bytes(crate::random_bytes()),
            status: SessionStatus::RequiresPaymentMethod,
            destination: new.destination,
            display: new.display,
            metadata: new.metadata,
            refund_address: new.refund_address,
            payment_method: None,
            created_at: now,
            expires_at: now + self.settings.session_lifetime.as_secs(),
            deposits: vec![],
            bridges: vec![],
            frontings: vec![],
            settlements: vec![],
            work: vec![],
        }
    }

    /// What must be at a receiver before anything starts a session delivering to `dest` (committed as its
    /// `minAmount`): a fixed amount less the worst fee any configured route into the destination token may
    /// take on the way (a payment bridged at that fee still starts it, so nobody can make a bridged payment
    /// undeliverable by bridging it at the worst fee; a payer may pay that much less); for an open amount,
    /// the destination token's configured minimum. Either way a dust transfer cannot start the session,
    /// run its final call or have it reported delivered ahead of the payer's real payment.
    fn min_amount_for(&self, dest: &Destination) -> U256 {
        let token = &dest.token;
        match dest.amount {
            Some(amount) => {
                let worst_bps = self
                    .chains
                    .values()
                    .flat_map(|c| c.tokens().iter().filter_map(|t| c.route(&t.address, token.chain_id)))
                    .filter(|r| r.to_token == token.address)
                    .map(|r| r.max_fee_bps.min(10_000))
                    .max()
                    .unwrap_or(0);
                amount - amount * U256::from(worst_bps) / U256::from(10_000u32)
            }
            None => {
                self.chains.get(&token.chain_id).map_or(U256::ZERO, |c| c.open_amount_minimum(&token.address))
            }
        }
    }

    /// How much of `amount` of `token`, arriving at a receiver on `chain_id`, a session delivering `dest`
    /// can use (in `dest`'s base units): all of it for the destination token on its chain, or for a token
    /// a configured route delivers as it; nothing otherwise (it is refunded).
    pub(super) fn usable_amount(
        &self,
        dest: &TokenRef,
        chain_id: u64,
        token: &TokenRef,
        amount: U256,
    ) -> U256 {
        if !delivers(chain_id, self.chains.get(&chain_id), token.address, dest) {
            return U256::ZERO;
        }
        relayer_types::rescale_units(amount, token.decimals, dest.decimals).unwrap_or(U256::MAX)
    }

    fn created(&self, session: &Session) {
        lock(&self.expiries).insert((session.expires_at, session.id));
        tracing::info!(session_id = %session.id, chain_id = session.destination.token.chain_id, status = session.status.as_str(), "session created");
    }

    /// The session, with expiry applied if it is due (so no read shows a stale open status).
    pub fn session(&self, id: &SessionId) -> Result<Session, EngineError> {
        self.apply(id, SessionEvent::Tick { now: unix_now() }, None)
    }

    /// Sets the payment method. Families whose payers send to an address get the session's receiver on
    /// their chains (it follows from fields fixed at creation, so any loaded copy of the session serves;
    /// the status check runs on the latest); families whose payers sign a transaction get the paying
    /// wallet, which their receivers commit to as the refund address. Refused, before anyone pays, when
    /// no chain of the family is configured, when nothing there delivers the session's token, or when the
    /// family's receivers could not refund what they cannot deliver ([`Chain::cross_chain_refusal`]).
    pub fn set_payment_method(
        &self,
        session: &Session,
        request: PaymentRequest,
    ) -> Result<Session, EngineError> {
        let id = &session.id;
        let dest = session.destination.token.chain_id;
        self.chain(dest)?;
        let family = request.family;
        let unsupported = || EngineError::UnsupportedPaymentMethod(family.as_str());
        let now = unix_now();
        let (chain_id, _) = self.payable_token(family, session, request.token)?;
        let chain = self.chain(chain_id)?;
        if chain_id != dest
            && let Some(refusal) = chain.cross_chain_refusal(session)
        {
            return Err(EngineError::NoRoute(refusal));
        }
        let payer = match chain.pays_by() {
            PaysBy::Transfer => chain.receiver(&session.commitment()),
            PaysBy::WalletTransaction => request.wallet.ok_or_else(unsupported)?,
        };
        let method = PaymentMethod::new(family, payer, now);
        // Index before the status change is visible: a deposit seen right after must find its session.
        // Every chain gets its own receiver (families derive them differently, and a Solana vault also
        // commits to the paying wallet, so the receivers are those of the session with this method). A
        // method the state machine would refuse (another one is set) indexes nothing: its receivers are
        // not the session's. (Should a concurrent request win the race anyway, events at the receivers
        // indexed here are refused by the check against the session as stored.)
        let mut with_method = session.clone();
        with_method.apply(SessionEvent::PaymentMethodSet { method: method.clone(), now })?;
        let receivers: BTreeSet<ChainAddress> =
            self.chains.values().map(|c| c.receiver(&with_method.commitment())).collect();
        for receiver in receivers {
            self.store.index_receiver(receiver, id)?;
            self.receivers.write().unwrap_or_else(PoisonError::into_inner).insert(receiver, *id);
        }
        self.apply(id, SessionEvent::PaymentMethodSet { method, now }, None)
    }

    /// Every configured chain and token a payer can pay `session` with: the destination token on its own
    /// chain, and each token whose route delivers it there, where payers of that family can pay the
    /// session at all (see [`Chain::cross_chain_refusal`]).
    pub fn token_options(&self, session: &Session) -> Vec<(Arc<dyn Chain>, relayer_types::TokenRef)> {
        let dest = &session.destination.token;
        let mut options = vec![];
        for chain in self.chains.values() {
            let same = chain.chain_id() == dest.chain_id;
            if !same && chain.cross_chain_refusal(session).is_some() {
                continue;
            }
            for token in chain.tokens() {
                if delivers(chain.chain_id(), Some(chain), token.address, dest) {
                    options.push((Arc::clone(chain), token.clone()));
                }
            }
        }
        options
    }

    /// The least a payer sends of `token` on `chain` (one of [`token_options`](Self::token_options)) to pay
    /// `session`, in `token`'s base units, rounded up: the session's amount (for an open amount, its
    /// committed minimum), and on a chain that bridges to the destination also enough that the relayer's
    /// own bridging (at the route's `own_fee_bps`) still delivers the minimum, and at least the route's
    /// `min_amount` (less is never bridged). `None` if no amount can pay it there (a route whose fee takes
    /// everything, an amount beyond 256 bits).
    ///
    /// The mistake it stops: a payer told to send an open session's bare minimum on a bridged chain would
    /// see it bridged at a fee, arrive short of the minimum, and wait for a refund at expiry.
    pub fn least_to_send(&self, session: &Session, chain: &dyn Chain, token: &TokenRef) -> Option<U256> {
        let dest = &session.destination.token;
        let least = session.destination.amount.unwrap_or(session.min_amount);
        if chain.chain_id() == dest.chain_id {
            return relayer_types::rescale_units(least, dest.decimals, token.decimals);
        }
        let route = chain.route(&token.address, dest.chain_id)?;
        let kept = 10_000u32.checked_sub(route.own_fee_bps).filter(|k| *k > 0)?;
        let grossed = session.min_amount.checked_mul(U256::from(10_000u32))?.div_ceil(U256::from(kept));
        let least = relayer_types::rescale_units(least.max(grossed), dest.decimals, token.decimals)?;
        Some(least.max(route.min_amount))
    }

    /// The chain of `family` and the token a payer pays `session` with: `token` if given (the first that
    /// fits otherwise), one the chain watches deposits in (a payment into anything else would never be
    /// seen) that delivers the session's token (its destination token on its own chain, or a token whose
    /// route delivers it there). None is a clear error naming what is missing, before anyone pays:
    /// bridges deliver the token they carry, and swapping is not offered (yet).
    pub fn payable_token(
        &self,
        family: Family,
        session: &Session,
        token: Option<ChainAddress>,
    ) -> Result<(u64, TokenRef), EngineError> {
        let dest = &session.destination.token;
        let of_family: Vec<&Arc<dyn Chain>> =
            self.chains.values().filter(|c| c.key().family == family).collect();
        if of_family.is_empty() {
            return Err(EngineError::UnsupportedPaymentMethod(family.as_str()));
        }
        let usable: Vec<(&Arc<dyn Chain>, &TokenRef)> = of_family
            .iter()
            .flat_map(|c| {
                c.deposit_tokens()
                    .iter()
                    .filter(|t| delivers(c.chain_id(), Some(c), t.address, dest))
                    .map(move |t| (*c, t))
            })
            .collect();
        if let Some((chain, t)) = usable.iter().find(|(_, t)| token.is_none_or(|m| t.address == m)) {
            return Ok((chain.chain_id(), (*t).clone()));
        }
        let offered: Vec<String> = if usable.is_empty() {
            of_family
                .iter()
                .flat_map(|c| c.deposit_tokens().iter().map(move |t| format!("{} on {}", t.symbol, c.name())))
                .collect()
        } else {
            usable.iter().map(|(c, t)| format!("{} ({}) on {}", t.address, t.symbol, c.name())).collect()
        };
        Err(EngineError::NoRoute(if usable.is_empty() {
            format!(
                "no route delivers {} on chain {} from {} ({}): paying there would be refunded, not delivered",
                dest.symbol,
                dest.chain_id,
                family.as_str(),
                if offered.is_empty() { "nothing configured".into() } else { offered.join(", ") }
            )
        } else {
            format!("{} payments for this session take {}", family.as_str(), offered.join(", "))
        }))
    }

    /// The session's receiver address on its destination chain. Fails, rather than panicking in a
    /// request handler, when that chain is not configured (a session stored before the operator removed
    /// its chain from the config).
    pub fn receiver_of(&self, session: &Session) -> Result<ChainAddress, EngineError> {
        let chain = self.chain(session.destination.token.chain_id)?;
        Ok(chain.receiver(&session.commitment()))
    }

    /// Looks at `tx_hash` right away on every chain (a `txHash` hint). The chains run it through their
    /// watchers, so it gets the same confirmations and reorg handling as everything else.
    pub async fn check_transaction(&self, tx_hash: TxId) -> Inspection {
        let mut found = Inspection::NotYet;
        if !self.is_active() {
            return found; // a standby's chains are not running: the lease holder's watchers will see it
        }
        for chain in self.chains.values() {
            // A 32-byte hash may name a transaction of any EVM-shaped family: ask each in its own terms.
            let id =
                tx_hash.evm_shaped().and_then(|h| TxId::of_family(chain.key().family, h)).unwrap_or(tx_hash);
            match chain.inspect(id).await {
                Inspection::NotYet => {}
                other => found = other,
            }
        }
        found
    }
}
