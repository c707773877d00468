//! What the API calls: creating sessions, setting payment methods, and the routes, tokens and receivers
//! a payer may pay a session with.

use std::{
    collections::BTreeSet,
    sync::{Arc, PoisonError},
};

use relayer_chain::{Chain, Inspection};
use relayer_store::{Creation, IdempotencyRecord};
use relayer_types::{
    ChainAddress, ClientSecret, Destination, DisplayInfo, Family, FiatMethod, PaymentMethod, Session,
    SessionEvent, SessionId, SessionStatus, TokenRef, TxId, U256, unix_now,
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

/// How the payer pays, as the API asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// Send tokens to the session's receiver on any configured EVM chain.
    Evm,
    /// Send tokens to the session's receiver on Tron.
    Tron,
    /// Sign and send from a Solana wallet.
    Solana {
        /// The paying wallet.
        wallet: ChainAddress,
        /// The mint it pays with (the Solana chain's first token if not given).
        mint: Option<ChainAddress>,
    },
    /// The hosted fiat flow, optionally pinned to one rail.
    Fiat(Option<FiatMethod>),
}

impl PaymentKind {
    /// The API's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Evm => "evm",
            Self::Tron => "tron",
            Self::Solana { .. } => "solana",
            Self::Fiat(_) => "fiat",
        }
    }
}

/// Why payers of `family` cannot pay `session` from a chain other than its destination's, if they
/// cannot. An EVM receiver of a Solana destination bridges, and refunds on its EVM chain what cannot be
/// bridged (late, below the route's minimum, sent back after expiry): that needs an EVM refund address
/// (the router refuses to refund to a Solana key, so the funds would sit in the receiver). A Solana vault
/// commits to the paying wallet as its Solana refund address (see `Session::commitment`): a reverted
/// final call on the EVM side could bounce nowhere.
fn cross_chain_refusal(family: Family, session: &Session) -> Option<EngineError> {
    let refusal = match family {
        Family::Evm => (session.destination.address.family() != Family::Evm
            && session.refund_address.is_none_or(|r| r.family() != Family::Evm))
        .then_some(
            "an EVM payment for a Solana destination needs the session's refundAddress (an EVM address): what cannot be bridged is refunded on the paying chain",
        ),
        // Tron bridges to EVM destinations only, and commits its refund on Tron.
        Family::Tron => None,
        Family::Solana => session.destination.calldata.is_some().then_some(
            "a session with a final call cannot be paid from Solana (a bounce on the destination chain needs an EVM refund address)",
        ),
    }?;
    Some(EngineError::NoRoute(refusal.into()))
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
        let usable = if chain_id == dest.chain_id {
            token.address == dest.address
        } else {
            self.chains
                .get(&chain_id)
                .and_then(|c| c.route(&token.address, dest.chain_id))
                .is_some_and(|r| r.to_token == dest.address)
        };
        if !usable {
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

    /// Sets the payment method. For `Evm` and `Tron` that is the session's receiver address on that
    /// family's chains; the receiver follows from fields fixed at creation, so any loaded copy of the
    /// session serves; the status check runs on the latest. For `Solana` it is the paying wallet, which
    /// the Solana vault commits to as its refund address. A method no configured chain serves is refused
    /// (fiat rails have no chain family here).
    pub fn set_payment_method(&self, session: &Session, kind: PaymentKind) -> Result<Session, EngineError> {
        let id = &session.id;
        let dest = session.destination.token.chain_id;
        self.chain(dest)?;
        let unsupported = || EngineError::UnsupportedPaymentMethod(kind.name());
        let now = unix_now();
        let method = match kind {
            PaymentKind::Evm => {
                // An EVM receiver of a Solana destination bridges, and refunds on its EVM chain what cannot
                // be bridged (late, below the route's minimum, sent back after expiry): that needs a route,
                // and an EVM refund address (the router refuses to refund to a Solana key, so the funds
                // would sit in the receiver).
                if session.destination.address.family() != Family::Evm {
                    self.route_from(Family::Evm, session)?;
                    if let Some(refusal) = cross_chain_refusal(Family::Evm, session) {
                        return Err(refusal);
                    }
                }
                PaymentMethod::Evm {
                    receiver: self.receiver_on(session, Family::Evm).ok_or_else(unsupported)?,
                    source: None,
                    created_at: now,
                }
            }
            PaymentKind::Tron => {
                let receiver = self.receiver_on(session, Family::Tron).ok_or_else(unsupported)?;
                self.route_from(Family::Tron, session)?;
                PaymentMethod::Tron { receiver, source: None, created_at: now }
            }
            PaymentKind::Solana { wallet, mint } => {
                let (chain, _) = self.solana_token(session, mint)?;
                if chain != dest {
                    self.route_from(Family::Solana, session)?;
                    if let Some(refusal) = cross_chain_refusal(Family::Solana, session) {
                        return Err(refusal);
                    }
                }
                PaymentMethod::Solana { wallet, source: None, created_at: now }
            }
            PaymentKind::Fiat(_) => return Err(unsupported()),
        };
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
    /// session at all (see [`cross_chain_refusal`]).
    pub fn token_options(&self, session: &Session) -> Vec<(Arc<dyn Chain>, relayer_types::TokenRef)> {
        let dest = &session.destination.token;
        let mut options = vec![];
        for chain in self.chains.values() {
            let same = chain.chain_id() == dest.chain_id;
            if !same && cross_chain_refusal(chain.key().family, session).is_some() {
                continue;
            }
            for token in chain.tokens() {
                let delivers = if same {
                    token.address == dest.address
                } else {
                    chain.route(&token.address, dest.chain_id).is_some_and(|r| r.to_token == dest.address)
                };
                if delivers {
                    options.push((Arc::clone(chain), token.clone()));
                }
            }
        }
        options
    }

    /// The token and chain of `family` a session can be paid with: one with a configured route to the
    /// session's destination chain that delivers its token. None is a clear error naming what is missing,
    /// before anyone pays: bridges deliver the token they carry, and swapping is not offered (yet).
    pub fn route_from(&self, family: Family, session: &Session) -> Result<(u64, ChainAddress), EngineError> {
        let dest = &session.destination.token;
        for chain in self.chains.values().filter(|c| c.key().family == family) {
            if chain.chain_id() == dest.chain_id && chain.token(dest.address).is_some() {
                return Ok((chain.chain_id(), dest.address));
            }
            for token in chain.tokens() {
                if chain.route(&token.address, dest.chain_id).is_some_and(|r| r.to_token == dest.address) {
                    return Ok((chain.chain_id(), token.address));
                }
            }
        }
        let offered: Vec<String> = self
            .chains
            .values()
            .filter(|c| c.key().family == family)
            .flat_map(|c| c.tokens().iter().map(move |t| format!("{} on {}", t.symbol, c.name())))
            .collect();
        Err(EngineError::NoRoute(format!(
            "no route delivers {} on chain {} from {} ({}): paying there would be refunded, not delivered",
            dest.symbol,
            dest.chain_id,
            family.as_str(),
            if offered.is_empty() { "nothing configured".into() } else { offered.join(", ") }
        )))
    }

    /// The session's receiver on the chains of `family` (the same on all of them: config requires one
    /// router deployment per family), if any chain of that family is configured.
    fn receiver_on(&self, session: &Session, family: Family) -> Option<ChainAddress> {
        let chain = self.chains.values().find(|c| c.key().family == family)?;
        Some(chain.receiver(&session.commitment()))
    }

    /// The Solana chain and the token a Solana wallet pays `session` with: `mint` (the first that fits
    /// when `None`), which must be one the chain watches deposits in (a payment into anything else would
    /// never be seen) and must deliver the session's token (its destination token on its own chain, or a
    /// token whose route delivers it there). Otherwise a clear error naming what Solana payments take.
    pub fn solana_token(
        &self,
        session: &Session,
        mint: Option<ChainAddress>,
    ) -> Result<(u64, relayer_types::TokenRef), EngineError> {
        let unsupported = || EngineError::UnsupportedPaymentMethod("solana");
        let chain =
            self.chains.values().find(|c| c.key().family == Family::Solana).ok_or_else(unsupported)?;
        let dest = &session.destination.token;
        let delivers = |t: &&relayer_types::TokenRef| {
            if chain.chain_id() == dest.chain_id {
                t.address == dest.address
            } else {
                chain.route(&t.address, dest.chain_id).is_some_and(|r| r.to_token == dest.address)
            }
        };
        let usable: Vec<&relayer_types::TokenRef> = chain.deposit_tokens().iter().filter(delivers).collect();
        let token = usable.iter().find(|t| mint.is_none_or(|m| t.address == m));
        let token = token.ok_or_else(|| {
            let offered: Vec<String> =
                usable.iter().map(|t| format!("{} ({})", t.address, t.symbol)).collect();
            EngineError::NoRoute(if offered.is_empty() {
                format!("no Solana mint delivers {} on chain {}", dest.symbol, dest.chain_id)
            } else {
                format!("Solana payments for this session take {}", offered.join(", "))
            })
        })?;
        Ok((chain.chain_id(), (*token).clone()))
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
