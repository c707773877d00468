//! A session as the wire shows it, named and shaped as the spec's schemas (`Session`,
//! `SessionPublicInfo`, `SessionDestinationEvm`, `PaymentMethodEvm`, `EvmSource`, ...): the `session`
//! of every API response ([`crate::api::wire`]) and of every webhook event body ([`crate::webhooks`]).
//! It depends on neither: both render a [`Session`] through [`SessionView::of`], so an event shows a
//! session as the API shows it to an API key (less the client secret). The OpenAPI document describes
//! these types, and an end-to-end test validates real responses against it.

use std::collections::BTreeMap;

use relayer_types::{
    Family, FiatMethod, Outcome, PaymentMethod, Session, SessionStatus, Source, U256, WorkRecord, WorkState,
    format_units,
};
use serde::Serialize;
use utoipa::ToSchema;

/// A session as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SessionView {
    /// With an API key.
    Full(SessionObject),
    /// With a client secret, or nothing.
    Public(SessionPublicInfo),
}

/// The `status` schema: every [`SessionStatus`], as the state machine spells it (one list, not a copy).
fn status_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(SessionStatus::ALL.map(SessionStatus::as_str)))
        .description(Some("Where the session stands."))
        .build()
}

/// The full session (spec: `Session`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Session)]
#[serde(rename_all = "camelCase")]
pub struct SessionObject {
    /// 32 lower-case hex characters.
    pub session_id: String,
    /// Status.
    #[schema(schema_with = status_schema)]
    pub status: SessionStatus,
    /// Where funds go.
    pub destination: DestinationView,
    /// Checkout page settings.
    pub display: SessionDisplay,
    /// How the payer pays; null until set.
    pub payment_method: Option<PaymentMethodView>,
    /// The integrator's key-value pairs.
    pub metadata: Option<BTreeMap<String, String>>,
    /// The session's client credential.
    pub client_secret: String,
    /// This relayer's delivery work (not in the spec; API key only).
    pub delivery_attempts: Vec<DeliveryAttempt>,
    /// Every confirmed transfer into the session's receivers, on any chain: the payment, and any late,
    /// extra, wrong-token or after-expiry deposit (not in the spec; API key only).
    pub deposits: Vec<DepositRecord>,
    /// What left the receivers, and what the relayer fronted: deliveries, refunds, bounces, bridgings
    /// (not in the spec; API key only). With `deposits`, it says what became of every deposit.
    pub movements: Vec<MovementRecord>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

/// The session without credentials or metadata (spec: `SessionPublicInfo`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionPublicInfo {
    /// 32 lower-case hex characters.
    pub session_id: String,
    /// Status.
    #[schema(schema_with = status_schema)]
    pub status: SessionStatus,
    /// Where funds go.
    pub destination: DestinationView,
    /// Checkout page settings.
    pub display: SessionDisplay,
    /// How the payer pays; null until set.
    pub payment_method: Option<PaymentMethodView>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Always `evm`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Evm {
    /// EVM.
    Evm,
}

/// An EVM destination (spec: `SessionDestinationEvm`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDestinationEvm {
    /// Always `evm`.
    #[serde(rename = "type")]
    pub kind: Evm,
    /// EIP-55 address.
    pub address: String,
    /// Chain id.
    pub chain_id: u64,
    /// Chain name.
    pub chain_name: String,
    /// EIP-55 token address.
    pub token_address: String,
    /// Token symbol.
    pub token_symbol: String,
    /// Fixed amount in token units, e.g. "10.00".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_units: Option<String>,
    /// Calldata of the final call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calldata: Option<String>,
    /// Set once funds are delivered (or refunded, for `bounced`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// Where the session delivers: one of the spec's destination objects, told apart by `type`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DestinationView {
    /// `evm`.
    Evm(SessionDestinationEvm),
    /// `solana`.
    Solana(SessionDestinationSolana),
}

/// A Solana destination (spec: `SessionDestinationSolana`): the mint as `tokenAddress`, no `chainId`,
/// `chainName` or `calldata`; `delivery.txHash` is a transaction signature.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDestinationSolana {
    /// Always `solana`.
    #[serde(rename = "type")]
    pub kind: SolanaType,
    /// Base58 owner address.
    pub address: String,
    /// Base58 mint.
    pub token_address: String,
    /// Token symbol.
    pub token_symbol: String,
    /// Fixed amount in token units, e.g. "10.00".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_units: Option<String>,
    /// Set once funds are delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// A landed delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The transaction that moved the funds.
    pub tx_hash: String,
    /// Amount that arrived, in token units.
    pub received_units: String,
}

/// Checkout page settings (spec: `SessionDisplay`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDisplay {
    /// Title.
    pub title: String,
    /// Verb.
    pub verb: String,
    /// Custom theme CSS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme_css_url: Option<String>,
}

/// How the payer pays: one of the spec's payment-method objects, told apart by `type`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PaymentMethodView {
    /// `evm`.
    Evm(PaymentMethodEvm),
    /// `tron`.
    Tron(PaymentMethodTron),
    /// `solana`.
    Solana(PaymentMethodSolana),
    /// `fiat`.
    Fiat(PaymentMethodFiat),
}

/// Always `tron`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TronType {
    /// Tron.
    Tron,
}

/// Always `solana`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SolanaType {
    /// Solana.
    Solana,
}

/// Always `fiat`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FiatType {
    /// Fiat.
    Fiat,
}

/// Payment to the session's receiver address on an EVM chain (spec: `PaymentMethodEvm`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMethodEvm {
    /// Always `evm`.
    #[serde(rename = "type")]
    pub kind: Evm,
    /// The single-use deposit address (EIP-55).
    pub receiver_address: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The detected deposit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<DepositSource>,
}

/// Payment to the session's receiver address on Tron (spec: `PaymentMethodTron`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMethodTron {
    /// Always `tron`.
    #[serde(rename = "type")]
    pub kind: TronType,
    /// The single-use deposit address (`T…`).
    pub receiver_address: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The detected deposit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<DepositSource>,
}

/// A Solana wallet signs and sends (spec: `PaymentMethodSolana`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMethodSolana {
    /// Always `solana`.
    #[serde(rename = "type")]
    pub kind: SolanaType,
    /// Unix seconds.
    pub created_at: u64,
    /// The detected deposit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<DepositSource>,
}

/// The hosted fiat flow (spec: `PaymentMethodFiat`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMethodFiat {
    /// Always `fiat`.
    #[serde(rename = "type")]
    pub kind: FiatType,
    /// The pinned rail: `interac`, `ach`, `sepa`, `apple_pay`, `jpyc` or `ars`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub fiat_method: Option<FiatMethod>,
    /// Unix seconds.
    pub created_at: u64,
}

/// A detected deposit (spec: `EvmSource`, `TronSource`, `SolanaSource`: one shape, each family's
/// spelling of addresses and transaction ids).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepositSource {
    /// Sender.
    pub address: String,
    /// Chain id.
    pub chain_id: u64,
    /// Chain name.
    pub chain_name: String,
    /// Token sent.
    pub token_address: String,
    /// Its symbol.
    pub token_symbol: String,
    /// Amount sent, in token units.
    pub sent_units: String,
    /// Deposit transaction.
    pub tx_hash: String,
}

/// A confirmed transfer into one of the session's receivers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepositRecord {
    /// Chain id.
    pub chain_id: u64,
    /// Chain name.
    pub chain_name: String,
    /// The transfer's transaction.
    pub tx_hash: String,
    /// Its block.
    pub block_number: u64,
    /// Sender.
    pub from: String,
    /// Token received.
    pub token_address: String,
    /// Its symbol.
    pub token_symbol: String,
    /// Amount received, in token units.
    pub amount_units: String,
}

/// Funds that left a receiver (or that a relayer fronted), as the chain recorded it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovementRecord {
    /// `delivered`, `bounced` (the final call reverted; refunded), `refunded`, `bridged` (sent on
    /// towards the destination chain, or back to the chain a transfer came from), `sent_home` (a refund
    /// through the bridge to the destination chain, whose refund address the session names), `fronted` (a
    /// relayer delivered ahead of a bridge) or `repaid` (a relayer was repaid from bridged funds).
    #[serde(rename = "type")]
    pub kind: String,
    /// Chain id.
    pub chain_id: u64,
    /// The transaction.
    pub tx_hash: String,
    /// Its block.
    pub block_number: u64,
    /// Token moved.
    pub token_address: String,
    /// Amount taken from the receiver (or fronted, or repaid), in token units.
    pub amount_units: String,
    /// Of it, what reached the destination (settlements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_units: Option<String>,
    /// Of it, what reached the refund address (settlements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded_units: Option<String>,
}

/// The decimals of `token` on `chain_id` as the session knows them (from a deposit of it, else the
/// destination token's).
fn decimals_of(s: &Session, chain_id: u64, token: &relayer_types::ChainAddress) -> u8 {
    s.deposits
        .iter()
        .find(|d| d.event.chain_id == chain_id && d.token.address == *token)
        .map_or(s.destination.token.decimals, |d| d.token.decimals)
}

fn deposits(s: &Session) -> Vec<DepositRecord> {
    s.deposits
        .iter()
        .map(|d| DepositRecord {
            chain_id: d.event.chain_id,
            chain_name: d.token.chain_name.clone(),
            tx_hash: d.event.tx_hash.to_string(),
            block_number: d.event.block_number,
            from: d.from.to_string(),
            token_address: d.token.address.to_string(),
            token_symbol: d.token.symbol.clone(),
            amount_units: format_units(d.amount, d.token.decimals),
        })
        .collect()
}

fn movements(s: &Session) -> Vec<MovementRecord> {
    let record = |kind: &str, event: &relayer_types::EventId, token: &relayer_types::ChainAddress, amount| {
        let decimals = decimals_of(s, event.chain_id, token);
        MovementRecord {
            kind: kind.into(),
            chain_id: event.chain_id,
            tx_hash: event.tx_hash.to_string(),
            block_number: event.block_number,
            token_address: token.to_string(),
            amount_units: format_units(amount, decimals),
            delivered_units: None,
            refunded_units: None,
        }
    };
    let settled = s.settlements.iter().map(|x| {
        let kind = match x.outcome {
            Outcome::Delivered => "delivered",
            Outcome::Bounced => "bounced",
            Outcome::Refunded => "refunded",
        };
        let decimals = decimals_of(s, x.event.chain_id, &x.token);
        MovementRecord {
            delivered_units: Some(format_units(x.delivered, decimals)),
            refunded_units: Some(format_units(x.refunded, decimals)),
            ..record(kind, &x.event, &x.token, x.amount)
        }
    });
    let bridged = s
        .bridges
        .iter()
        .map(|b| record(if b.home { "sent_home" } else { "bridged" }, &b.event, &b.token, b.amount));
    let fronted = s.frontings.iter().map(|f| {
        let kind = if f.still_owed.is_some() { "repaid" } else { "fronted" };
        record(kind, &f.event, &s.destination.token.address, f.amount)
    });
    let mut all: Vec<MovementRecord> = settled.chain(bridged).chain(fronted).collect();
    all.sort_by_key(|m| (m.chain_id, m.block_number));
    all
}

/// One piece of delivery work (API key only).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// Chain.
    pub chain_id: u64,
    /// `settle`, `refund`, `bridge` or `fast_finish`.
    pub action: String,
    /// Token moved.
    pub token_address: String,
    /// Tries in the current run of retries.
    pub attempts: u32,
    /// `sent`, `landed`, `done`, `retrying`, `gave_up` or `reverted`.
    pub state: String,
    /// Unix seconds.
    pub updated_at: u64,
    /// The transaction (`sent`, `landed`, `reverted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// Why (`done`, `retrying`, `gave_up`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Next try (`retrying`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
    /// What the transaction cost the relayer (`landed`, where the chain says: Tron's TRX).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostView>,
}

/// A transaction's cost: `{amountUnits, symbol}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostView {
    /// In the coin's units (`"0.3452"`).
    pub amount_units: String,
    /// The coin (`TRX`).
    pub symbol: String,
}

impl From<&WorkRecord> for DeliveryAttempt {
    fn from(w: &WorkRecord) -> Self {
        let cost = match &w.state {
            WorkState::Landed { cost: Some(cost), .. } => Some(CostView {
                amount_units: format_units(U256::from(cost.amount), cost.decimals),
                symbol: cost.symbol.clone(),
            }),
            _ => None,
        };
        let (tx_hash, reason, retry_at) = match &w.state {
            WorkState::Sent { tx_hash }
            | WorkState::Reverted { tx_hash }
            | WorkState::Landed { tx_hash, .. } => (Some(tx_hash.to_string()), None, None),
            WorkState::Done { reason } | WorkState::GaveUp { reason } => (None, Some(reason.clone()), None),
            WorkState::Retrying { reason, retry_at } => (None, Some(reason.clone()), Some(*retry_at)),
        };
        Self {
            chain_id: w.chain_id,
            action: w.action.name().into(),
            token_address: w.action.token().to_string(),
            attempts: w.attempts,
            state: w.state.name().into(),
            updated_at: w.updated_at,
            tx_hash,
            reason,
            retry_at,
            cost,
        }
    }
}

fn destination(s: &Session) -> DestinationView {
    let d = &s.destination;
    let t = &d.token;
    let amount_units = d.amount.map(|a| format_units(a, t.decimals));
    let delivery = d.delivery.as_ref().map(|x| Delivery {
        tx_hash: x.tx_hash.to_string(),
        received_units: format_units(x.received, t.decimals),
    });
    if d.address.family() == Family::Solana {
        return DestinationView::Solana(SessionDestinationSolana {
            kind: SolanaType::Solana,
            address: d.address.to_string(),
            token_address: t.address.to_string(),
            token_symbol: t.symbol.clone(),
            amount_units,
            delivery,
        });
    }
    DestinationView::Evm(SessionDestinationEvm {
        kind: Evm::Evm,
        address: d.address.to_string(),
        chain_id: t.chain_id,
        chain_name: t.chain_name.clone(),
        token_address: t.address.to_string(),
        token_symbol: t.symbol.clone(),
        amount_units,
        calldata: d.calldata.as_ref().map(ToString::to_string),
        delivery,
    })
}

fn source(src: &Source) -> DepositSource {
    // Daimo's types spell a Tron or Solana source's chain by its family (`"tron"`, `"solana"`), whatever
    // the operator named the chain; an EVM chain keeps its configured name.
    let chain_name = match src.token.address.family() {
        Family::Evm => src.token.chain_name.clone(),
        family @ (Family::Tron | Family::Solana) => family.as_str().to_owned(),
    };
    DepositSource {
        address: src.from.to_string(),
        chain_id: src.token.chain_id,
        chain_name,
        token_address: src.token.address.to_string(),
        token_symbol: src.token.symbol.clone(),
        sent_units: format_units(src.sent, src.token.decimals),
        tx_hash: src.tx_hash.to_string(),
    }
}

fn payment_method(s: &Session) -> Option<PaymentMethodView> {
    let view = match s.payment_method.as_ref()? {
        PaymentMethod::Evm { receiver, source: src, created_at } => {
            PaymentMethodView::Evm(PaymentMethodEvm {
                kind: Evm::Evm,
                receiver_address: receiver.to_string(),
                created_at: *created_at,
                source: src.as_ref().map(source),
            })
        }
        PaymentMethod::Tron { receiver, source: src, created_at } => {
            PaymentMethodView::Tron(PaymentMethodTron {
                kind: TronType::Tron,
                receiver_address: receiver.to_string(),
                created_at: *created_at,
                source: src.as_ref().map(source),
            })
        }
        PaymentMethod::Solana { source: src, created_at, .. } => {
            PaymentMethodView::Solana(PaymentMethodSolana {
                kind: SolanaType::Solana,
                created_at: *created_at,
                source: src.as_ref().map(source),
            })
        }
        PaymentMethod::Fiat { fiat_method, created_at } => PaymentMethodView::Fiat(PaymentMethodFiat {
            kind: FiatType::Fiat,
            fiat_method: *fiat_method,
            created_at: *created_at,
        }),
    };
    Some(view)
}

impl SessionView {
    /// `s` as the caller sees it: everything when `full`, else the public info.
    pub fn of(s: &Session, full: bool) -> Self {
        let display = SessionDisplay {
            title: s.display.title.clone(),
            verb: s.display.verb.clone(),
            theme_css_url: s.display.theme_css_url.clone(),
        };
        if full {
            Self::Full(SessionObject {
                session_id: s.id.to_string(),
                status: s.status,
                destination: destination(s),
                display,
                payment_method: payment_method(s),
                metadata: s.metadata.clone(),
                client_secret: s.client_secret.to_string(),
                delivery_attempts: s.work.iter().map(DeliveryAttempt::from).collect(),
                deposits: deposits(s),
                movements: movements(s),
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
        } else {
            Self::Public(SessionPublicInfo {
                session_id: s.id.to_string(),
                status: s.status,
                destination: destination(s),
                display,
                payment_method: payment_method(s),
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
        }
    }
}
