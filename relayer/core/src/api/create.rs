//! Validation of `POST /v1/sessions` and `POST /v1/sessions/{id}/paymentMethods`: their DTOs (see
//! [`super::dto`]) become the domain's types under every rule of the spec's `CreateSessionRequest`, with
//! an error naming the exact parameter. Nothing is stored unless the whole request is valid.

use std::collections::BTreeMap;

use relayer_types::{
    Address, Bytes, ChainAddress, Destination, DisplayInfo, Family, FiatMethod, PaymentOption, TokenRef,
    U256, parse_units,
};
use serde_json::{Map, Value};

use super::{
    dto::{
        BareType, CreateSessionRequest, DestinationInput, DisplayInput, PaymentMethodInput,
        PaymentOptionInput, SetPaymentMethodRequest, UsdAmount,
    },
    error::ApiError,
    json::{self, required},
};
use crate::engine::{Engine, EngineError, NewSession, PaymentRequest};

/// Every value `display.paymentOptions` accepts (the spec's enum).
pub const PAYMENT_OPTIONS: &[&str] = &[
    "AllWallets",
    "AllExchanges",
    "AllFiat",
    "AllAddresses",
    "ConnectedWallet",
    "AutoconnectInjectedWallets",
    "MetaMask",
    "Trust",
    "Phantom",
    "Rainbow",
    "BaseApp",
    "Bitget",
    "OKX",
    "Zerion",
    "Rabby",
    "Backpack",
    "Solflare",
    "Coinbase",
    "Binance",
    "Lemon",
    "MtPelerin",
    "CashApp",
    "Stripe",
    "Tron",
    "Interac",
    "ApplePay",
    "ACH",
    "SEPA",
    "JPYC",
    "ARS",
    "AccountDeposit",
    "ExternalChains",
    "Daimo",
    "World",
    "Family",
    "Farcaster",
    "MiniPay",
    "Revolut",
    "Wise",
    "MercadoPago",
    "Venmo",
    "AllPaymentApps",
    "Solana",
];

const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY_CHARS: usize = 40;
const MAX_METADATA_VALUE_CHARS: usize = 500;
const MAX_TITLE_CHARS: usize = 200;
const MAX_VERB_CHARS: usize = 50;
const MAX_URL_CHARS: usize = 2048;
const MAX_CALLDATA_BYTES: usize = 16 * 1024;

/// Parses an EVM address against the spec's pattern `^0x[0-9a-fA-F]{40}$`. Mixed case must be a
/// valid EIP-55 checksum (a typo in a mixed-case address is caught, not paid to).
pub fn evm_address(value: &str, param: &str) -> Result<Address, ApiError> {
    let hex = value.strip_prefix("0x").filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(hex) = hex else {
        return Err(ApiError::invalid(param, format!("{param} must match ^0x[0-9a-fA-F]{{40}}$")));
    };
    let address: Address =
        value.parse().map_err(|_| ApiError::invalid(param, format!("{param} is not an address")))?;
    let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    if mixed && Address::parse_checksummed(value, None).is_err() {
        return Err(ApiError::invalid(param, format!("{param} has an invalid EIP-55 checksum")));
    }
    Ok(address)
}

/// Parses a Solana address against the spec's pattern `^[1-9A-HJ-NP-Za-km-z]{32,44}$`; it must decode to
/// 32 bytes.
pub fn solana_address(value: &str, param: &str) -> Result<[u8; 32], ApiError> {
    let pattern = (32..=44).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() && !b"0OIl".contains(&b));
    let bytes = pattern.then(|| bs58::decode(value).into_vec().ok()).flatten();
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or_else(|| {
        ApiError::invalid(
            param,
            format!("{param} must be a base58 Solana address (32 bytes, ^[1-9A-HJ-NP-Za-km-z]{{32,44}}$)"),
        )
    })
}

/// The offered token of `chain_name` at `address`, or an error listing the supported ones.
fn offered_token<'a>(
    on_chain: &[&'a TokenRef],
    address: ChainAddress,
    chain_name: &str,
) -> Result<&'a TokenRef, ApiError> {
    on_chain.iter().copied().find(|t| t.address == address).ok_or_else(|| {
        let supported: Vec<String> =
            on_chain.iter().map(|t| format!("{} ({})", t.address, t.symbol)).collect();
        ApiError::invalid(
            "destination.tokenAddress",
            format!("token is not supported on {chain_name}; supported: {}", supported.join(", ")),
        )
    })
}

fn evm_destination<'a>(
    dest: &DestinationInput,
    offered: &'a [TokenRef],
) -> Result<(ChainAddress, &'a TokenRef), ApiError> {
    let address = evm_address(required(&dest.address, "destination.address")?, "destination.address")?;
    if address == Address::ZERO {
        return Err(ApiError::invalid(
            "destination.address",
            "destination.address must not be the zero address",
        ));
    }
    let chain_id = dest.chain_id.flatten().ok_or_else(|| ApiError::missing("destination.chainId"))?;
    let evm = |t: &&TokenRef| t.address.family() == Family::Evm;
    let on_chain: Vec<&TokenRef> = offered.iter().filter(evm).filter(|t| t.chain_id == chain_id).collect();
    let Some(chain_name) = on_chain.first().map(|t| &t.chain_name) else {
        let mut supported: Vec<String> =
            offered.iter().filter(evm).map(|t| format!("{} ({})", t.chain_id, t.chain_name)).collect();
        supported.dedup();
        return Err(ApiError::invalid(
            "destination.chainId",
            format!("chain {chain_id} is not supported; supported: {}", supported.join(", ")),
        ));
    };
    let token_address =
        evm_address(required(&dest.token_address, "destination.tokenAddress")?, "destination.tokenAddress")?;
    Ok((ChainAddress::Evm(address), offered_token(&on_chain, ChainAddress::Evm(token_address), chain_name)?))
}

fn solana_destination<'a>(
    dest: &DestinationInput,
    offered: &'a [TokenRef],
) -> Result<(ChainAddress, &'a TokenRef), ApiError> {
    let on_chain: Vec<&TokenRef> = offered.iter().filter(|t| t.address.family() == Family::Solana).collect();
    if on_chain.is_empty() {
        return Err(ApiError::unprocessable(
            "unsupported_destination",
            "Solana destinations are not supported on this deployment (no Solana chain is configured)",
            Some("destination.type"),
        ));
    }
    // Spec: a Solana destination names no chainId, chainName or calldata, not even as null (chainName is
    // no member of any destination: the DTO refuses it).
    for (given, param) in
        [(dest.chain_id.is_some(), "destination.chainId"), (dest.calldata.is_some(), "destination.calldata")]
    {
        if given {
            return Err(ApiError::invalid(param, format!("unknown parameter {param}")));
        }
    }
    let address = solana_address(required(&dest.address, "destination.address")?, "destination.address")?;
    let mint = solana_address(
        required(&dest.token_address, "destination.tokenAddress")?,
        "destination.tokenAddress",
    )?;
    let token = offered_token(&on_chain, ChainAddress::Solana(mint), "Solana")?;
    Ok((ChainAddress::Solana(address), token))
}

fn check_len(value: &str, param: &str, max: usize, non_empty: bool) -> Result<(), ApiError> {
    if non_empty && value.trim().is_empty() {
        return Err(ApiError::invalid(param, format!("{param} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(param, format!("{param} must be at most {max} characters")));
    }
    Ok(())
}

/// The destinations a deployment offers: every token of every EVM and Solana chain it serves (each
/// [`TokenRef`] names its chain), in config order. Tron is a source only.
pub fn destinations(engine: &Engine) -> Vec<TokenRef> {
    let dest = engine.chains().values().filter(|c| matches!(c.key().family, Family::Evm | Family::Solana));
    dest.flat_map(|c| c.tokens().iter().cloned()).collect()
}

/// Validates a create-session request body into a [`NewSession`], against the `offered` destination
/// tokens (see [`destinations`]). Pure: no I/O, every error names the exact parameter.
pub fn parse(body: &Map<String, Value>, offered: &[TokenRef]) -> Result<NewSession, ApiError> {
    new_session(json::dto(body)?, offered)
}

/// The [`NewSession`] a well-typed create-session request asks for, if every rule holds.
pub fn new_session(request: CreateSessionRequest, offered: &[TokenRef]) -> Result<NewSession, ApiError> {
    let dest = request.destination.as_ref().ok_or_else(|| ApiError::missing("destination"))?;
    let (address, token) = match required(&dest.kind, "destination.type")? {
        "evm" => evm_destination(dest, offered)?,
        "solana" => solana_destination(dest, offered)?,
        other => {
            return Err(ApiError::invalid(
                "destination.type",
                format!("destination.type must be \"evm\" or \"solana\", not {other:?}"),
            ));
        }
    };
    let amount = match dest.amount_units.as_deref() {
        None => None,
        Some(s) => match parse_units(s, token.decimals) {
            Ok(v) if v == U256::ZERO => {
                return Err(ApiError::invalid(
                    "destination.amountUnits",
                    "destination.amountUnits must be greater than zero",
                ));
            }
            Ok(v) => Some(v),
            Err(e) => {
                return Err(ApiError::invalid(
                    "destination.amountUnits",
                    format!("destination.amountUnits {e}"),
                ));
            }
        },
    };
    let calldata = match dest.calldata.as_ref().and_then(Option::as_deref) {
        None => None,
        Some(s) => {
            let hex = s.strip_prefix("0x").filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
            let bytes = hex.filter(|h| h.len() % 2 == 0).and_then(|h| hex::decode(h).ok());
            let Some(bytes) = bytes else {
                return Err(ApiError::invalid(
                    "destination.calldata",
                    "destination.calldata must be 0x-prefixed hex bytes",
                ));
            };
            if bytes.len() > MAX_CALLDATA_BYTES {
                return Err(ApiError::invalid(
                    "destination.calldata",
                    format!("destination.calldata must be at most {MAX_CALLDATA_BYTES} bytes"),
                ));
            }
            (!bytes.is_empty()).then(|| Bytes::from(bytes))
        }
    };
    let refund_address = match request.refund_address.as_deref() {
        None => None,
        Some(s) => Some(evm_address(s, "refundAddress")?),
    };
    if refund_address == Some(Address::ZERO) {
        return Err(ApiError::invalid("refundAddress", "refundAddress must not be the zero address"));
    }
    if calldata.is_some() && refund_address.is_none() {
        return Err(ApiError {
            message: "refundAddress is required when destination.calldata is set (funds go there if the call reverts)".into(),
            ..ApiError::missing("refundAddress")
        });
    }

    Ok(NewSession {
        destination: Destination { address, token: token.clone(), amount, calldata, delivery: None },
        display: parse_display(request.display.as_ref().ok_or_else(|| ApiError::missing("display"))?)?,
        metadata: parse_metadata(request.metadata)?,
        refund_address: refund_address.map(ChainAddress::Evm),
    })
}

/// `paymentMethod.amountUsd` (Daimo's request shape for `tron` and `solana`): what the payer is about
/// to send, used in wallet links and Solana transactions. A decimal string has at most 6 decimals
/// (USDT's); a JSON number is rounded to 6 (see [`UsdAmount`]). `None` if absent.
pub fn amount_usd(request: &SetPaymentMethodRequest) -> Result<Option<String>, ApiError> {
    const PARAM: &str = "paymentMethod.amountUsd";
    let Some(Some(pm)) = &request.payment_method else { return Ok(None) };
    let (units, text) = match &pm.amount_usd {
        None => return Ok(None),
        Some(UsdAmount::Text(text)) => (relayer_types::parse_units(text, 6).ok(), text),
        Some(UsdAmount::Number(text)) => (round_number(text, 6), text),
    };
    match units {
        Some(units) if !units.is_zero() => Ok(Some(relayer_types::format_units(units, 6))),
        _ => Err(ApiError::invalid(
            PARAM,
            format!("{PARAM} must be a positive amount with at most 6 decimals, not {text:?}"),
        )),
    }
}

/// A JSON number as written (`12`, `0.30000000000000004`, `1.5e-7`) in units of `decimals`, rounded
/// half up; `None` if negative or too large.
fn round_number(text: &str, decimals: u32) -> Option<relayer_types::U256> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (text, 0),
    };
    if mantissa.starts_with('-') {
        return None;
    }
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The value is `digits × 10^shift` units. (serde_json writes finite f64s only, but nothing here
    // relies on that: every step is checked.)
    let shift =
        exponent.checked_add(i64::from(decimals))?.checked_sub(i64::try_from(fraction.len()).ok()?)?;
    let ten = relayer_types::U256::from(10u8);
    let digits = relayer_types::U256::from_str_radix(&digits, 10).ok()?;
    if shift >= 0 {
        return digits.checked_mul(ten.checked_pow(relayer_types::U256::from(shift))?);
    }
    let Ok(cut) = u32::try_from(shift.unsigned_abs()) else { return Some(relayer_types::U256::ZERO) };
    let Some(divisor) = ten.checked_pow(relayer_types::U256::from(cut)) else {
        return Some(relayer_types::U256::ZERO);
    };
    let (quotient, remainder) = digits.div_rem(divisor);
    Some(if remainder >= divisor / relayer_types::U256::from(2u8) {
        quotient + relayer_types::U256::ONE
    } else {
        quotient
    })
}

/// How the payer pays, as Daimo's API names it (the wire's payment-method types).
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
    /// A type of Daimo's API this deployment never offers (`exchange`, `stripe`).
    NotOffered(&'static str),
}

impl PaymentKind {
    /// What the engine is asked for: a family's payment (fiat rails have no chain family here).
    pub fn request(self) -> Result<PaymentRequest, EngineError> {
        match self {
            Self::Evm => Ok(PaymentRequest::transfer(Family::Evm)),
            Self::Tron => Ok(PaymentRequest::transfer(Family::Tron)),
            Self::Solana { wallet, mint } => {
                Ok(PaymentRequest { family: Family::Solana, wallet: Some(wallet), token: mint })
            }
            Self::Fiat(_) => Err(EngineError::UnsupportedPaymentMethod("fiat")),
            Self::NotOffered(kind) => Err(EngineError::UnsupportedPaymentMethod(kind)),
        }
    }
}

/// Validates a `paymentMethods` request: `{"paymentMethod": {"type", "fiatMethod"?, "amountUsd"?,
/// "walletAddress"?, "inputTokenMint"?}}`, or a bare top-level `type`. `stripe` is a spec type this
/// deployment never offers. `solana` needs the paying `walletAddress` (the transaction is built for it).
pub fn payment_kind(request: &SetPaymentMethodRequest) -> Result<PaymentKind, ApiError> {
    const PARAM: &str = "paymentMethod.type";
    let bare = PaymentMethodInput::default();
    let (kind, pm) = match &request.payment_method {
        Some(None) => return Err(ApiError::missing("paymentMethod")),
        Some(Some(pm)) => (required(&pm.kind, PARAM)?, pm),
        None => match &request.kind {
            None => return Err(ApiError::missing(PARAM)),
            Some(BareType::Text(kind)) => (kind.as_str(), &bare),
            Some(BareType::Other) => {
                return Err(ApiError::invalid(PARAM, format!("{PARAM} must be a string")));
            }
        },
    };
    let fiat = pm.fiat_method.as_deref();
    let solana_only =
        [(pm.wallet_address.is_some(), "walletAddress"), (pm.input_token_mint.is_some(), "inputTokenMint")];
    for (given, member) in solana_only {
        if given && kind != "solana" {
            let param = format!("paymentMethod.{member}");
            return Err(ApiError::invalid(&param, format!("{param} is only for type solana")));
        }
    }
    if fiat.is_some() && kind != "fiat" {
        return Err(ApiError::invalid(
            "paymentMethod.fiatMethod",
            "paymentMethod.fiatMethod is only for type fiat",
        ));
    }
    let exchange_only = [(pm.exchange_id.is_some(), "exchangeId"), (pm.platform.is_some(), "platform")];
    for (given, member) in exchange_only {
        if given && kind != "exchange" {
            let param = format!("paymentMethod.{member}");
            return Err(ApiError::invalid(&param, format!("{param} is only for type exchange")));
        }
    }
    match kind {
        "evm" => Ok(PaymentKind::Evm),
        "tron" => Ok(PaymentKind::Tron),
        "solana" => {
            const WALLET: &str = "paymentMethod.walletAddress";
            let wallet = pm.wallet_address.as_ref().and_then(Option::as_deref);
            let wallet = solana_address(wallet.ok_or_else(|| ApiError::missing(WALLET))?, WALLET)?;
            let mint = (pm.input_token_mint.as_ref().and_then(Option::as_deref))
                .map(|m| solana_address(m, "paymentMethod.inputTokenMint"))
                .transpose()?;
            Ok(PaymentKind::Solana {
                wallet: ChainAddress::Solana(wallet),
                mint: mint.map(ChainAddress::Solana),
            })
        }
        "fiat" => {
            let method = fiat
                .map(|m| {
                    serde_json::from_value::<FiatMethod>(Value::String(m.into())).map_err(|_| {
                        ApiError::invalid(
                            "paymentMethod.fiatMethod",
                            format!("paymentMethod.fiatMethod must be one of interac, ach, sepa, apple_pay, jpyc, ars; not {m:?}"),
                        )
                    })
                })
                .transpose()?;
            Ok(PaymentKind::Fiat(method))
        }
        "stripe" => Ok(PaymentKind::NotOffered("stripe")),
        "exchange" => Ok(PaymentKind::NotOffered("exchange")),
        other => Err(ApiError::invalid(
            PARAM,
            format!("{PARAM} must be one of evm, tron, solana, exchange, stripe, fiat; not {other:?}"),
        )),
    }
}

fn parse_display(display: &DisplayInput) -> Result<DisplayInfo, ApiError> {
    let title = required(&display.title, "display.title")?;
    check_len(title, "display.title", MAX_TITLE_CHARS, true)?;
    let verb = required(&display.verb, "display.verb")?;
    check_len(verb, "display.verb", MAX_VERB_CHARS, true)?;
    let theme_css_url = display.theme_css_url.as_deref();
    if let Some(url) = theme_css_url {
        check_len(url, "display.themeCssUrl", MAX_URL_CHARS, true)?;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().any(char::is_whitespace)
        {
            return Err(ApiError::invalid(
                "display.themeCssUrl",
                "display.themeCssUrl must be an http(s) URL",
            ));
        }
    }
    let payment_options = (display.payment_options.as_ref())
        .map(|items| {
            let options = items.iter().enumerate();
            options.map(|(i, item)| payment_option(item, &format!("display.paymentOptions[{i}]"))).collect()
        })
        .transpose()?;
    Ok(DisplayInfo {
        title: title.to_owned(),
        verb: verb.to_owned(),
        theme_css_url: theme_css_url.map(str::to_owned),
        payment_options,
    })
}

fn payment_option(item: &PaymentOptionInput, param: &str) -> Result<PaymentOption, ApiError> {
    let known = |name: &str, param: &str| {
        PAYMENT_OPTIONS
            .contains(&name)
            .then(|| name.to_owned())
            .ok_or_else(|| ApiError::invalid(param, format!("{param}: unknown payment option {name:?}")))
    };
    match item {
        PaymentOptionInput::One(name) => known(name, param).map(PaymentOption::One),
        PaymentOptionInput::Group(group) if group.is_empty() => {
            Err(ApiError::invalid(param, format!("{param} must not be an empty group")))
        }
        PaymentOptionInput::Group(group) => {
            let names = group.iter().enumerate().map(|(j, name)| known(name, &format!("{param}[{j}]")));
            names.collect::<Result<_, _>>().map(PaymentOption::Group)
        }
    }
}

fn parse_metadata(
    metadata: Option<BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let Some(map) = metadata else { return Ok(None) };
    if map.len() > MAX_METADATA_KEYS {
        return Err(ApiError::invalid(
            "metadata",
            format!("metadata can have at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    for (k, v) in &map {
        let param = format!("metadata.{k}");
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(ApiError::invalid(
                param,
                format!("metadata keys must be 1 to {MAX_METADATA_KEY_CHARS} characters"),
            ));
        }
        check_len(v, &param, MAX_METADATA_VALUE_CHARS, false)?;
    }
    Ok(Some(map))
}

#[cfg(test)]
mod tests;
