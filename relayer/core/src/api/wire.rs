//! The API's responses as typed values: the `{"session": ...}` envelope of the session routes, with
//! the payment details a route adds to the session ([`crate::view`]). The OpenAPI document served at
//! `/openapi.json` is generated from these types and the documented request bodies, and an end-to-end
//! test validates real responses of every route against it, so the document and the wire cannot drift
//! apart. Request validation stays in pure functions over the JSON body (`create`, `json`), so that
//! every error names the exact parameter.

use relayer_types::Session;
use serde::Serialize;
use utoipa::ToSchema;

use crate::view::SessionView;

/// `{"session": ...}`: the answer of every session route.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// The session: the full object with an API key, the public info otherwise.
    pub session: SessionView,
    /// After choosing `tron`: where and how to pay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tron: Option<TronPayment>,
    /// After choosing `solana`: the transaction for the wallet to sign and send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solana: Option<SolanaPayment>,
}

/// The chain-specific fields of a `solana` payment method.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SolanaPayment {
    /// Hex of an unsigned, serialized transaction for the wallet to sign and submit: it creates the
    /// session vault's token account if missing, then `transferChecked`s the amount into it.
    pub serialized_tx: String,
}

/// The chain-specific fields of a `tron` payment method.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TronPayment {
    /// The single-use Tron address to send USDT to (base58, `T…`).
    pub receiver_address: String,
    /// Unix seconds after which it no longer delivers (the session's expiry).
    pub expires_at: u64,
    /// Wallet links for the same address and amount.
    pub deeplinks: TronDeeplinks,
}

/// Wallet links of a Tron payment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TronDeeplinks {
    /// Trust Wallet's send link (TRC-20 transfer of the token to the receiver, with the amount).
    pub trust_wallet: WalletLink,
}

/// A wallet link and what to call it (Daimo's SDK: `{url, label: "USDT on Tron"}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletLink {
    /// The link.
    pub url: String,
    /// What it pays with, for a button.
    #[schema(value_type = String, example = "USDT on Tron")]
    pub label: &'static str,
}

impl SessionResponse {
    /// `{"session": ...}` for `s`.
    pub fn of(s: &Session, full: bool) -> Self {
        Self { session: SessionView::of(s, full), tron: None, solana: None }
    }
}
