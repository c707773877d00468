//! Validation of `POST /v1/sessions`: every rule of the spec's `CreateSessionRequest`, with an error
//! naming the exact parameter. Nothing is stored unless the whole request is valid.

use std::collections::BTreeMap;

use relayer_types::{
    Address, Bytes, ChainAddress, Destination, DisplayInfo, Family, FiatMethod, PaymentOption, TokenRef,
    U256, parse_units,
};
use serde_json::{Map, Value};

use super::{
    error::ApiError,
    json::{object, only, opt_string, string},
};
use crate::engine::{Engine, NewSession, PaymentKind};

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

fn check_len(value: &str, param: &str, max: usize, non_empty: bool) -> Result<(), ApiError> {
    if non_empty && value.trim().is_empty() {
        return Err(ApiError::invalid(param, format!("{param} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(param, format!("{param} must be at most {max} characters")));
    }
    Ok(())
}

/// The destinations a deployment offers: every token of every EVM chain it serves (each [`TokenRef`]
/// names its chain), in config order.
pub fn destinations(engine: &Engine) -> Vec<TokenRef> {
    let evm = engine.chains().values().filter(|c| c.key().family == Family::Evm);
    evm.flat_map(|c| c.tokens().iter().cloned()).collect()
}

/// Validates a create-session request into a [`NewSession`], against the `offered` destination tokens
/// (see [`destinations`]). Pure: no I/O, every error names the exact parameter.
pub fn parse(body: &Map<String, Value>, offered: &[TokenRef]) -> Result<NewSession, ApiError> {
    only(body, "", &["destination", "display", "metadata", "refundAddress"])?;
    let dest = object(body, "destination", "destination")?;
    match string(dest, "type", "destination.type")? {
        "evm" => {}
        "solana" => {
            return Err(ApiError::unprocessable(
                "unsupported_destination",
                "Solana destinations are not supported on this deployment yet",
                Some("destination.type"),
            ));
        }
        other => {
            return Err(ApiError::invalid(
                "destination.type",
                format!("destination.type must be \"evm\" or \"solana\", not {other:?}"),
            ));
        }
    }
    only(dest, "destination.", &["type", "address", "chainId", "tokenAddress", "amountUnits", "calldata"])?;
    let address = evm_address(string(dest, "address", "destination.address")?, "destination.address")?;
    if address == Address::ZERO {
        return Err(ApiError::invalid(
            "destination.address",
            "destination.address must not be the zero address",
        ));
    }
    let chain_id = match dest.get("chainId") {
        None | Some(Value::Null) => return Err(ApiError::missing("destination.chainId")),
        Some(v) => v.as_u64().ok_or_else(|| {
            ApiError::invalid("destination.chainId", "destination.chainId must be a positive integer")
        })?,
    };
    let on_chain: Vec<&TokenRef> = offered.iter().filter(|t| t.chain_id == chain_id).collect();
    let Some(chain_name) = on_chain.first().map(|t| &t.chain_name) else {
        let mut supported: Vec<String> =
            offered.iter().map(|t| format!("{} ({})", t.chain_id, t.chain_name)).collect();
        supported.dedup();
        return Err(ApiError::invalid(
            "destination.chainId",
            format!("chain {chain_id} is not supported; supported: {}", supported.join(", ")),
        ));
    };
    let token_address =
        evm_address(string(dest, "tokenAddress", "destination.tokenAddress")?, "destination.tokenAddress")?;
    let Some(token) = on_chain.iter().find(|t| t.address == ChainAddress::Evm(token_address)) else {
        let supported: Vec<String> =
            on_chain.iter().map(|t| format!("{} ({})", t.address, t.symbol)).collect();
        return Err(ApiError::invalid(
            "destination.tokenAddress",
            format!("token is not supported on {chain_name}; supported: {}", supported.join(", ")),
        ));
    };
    let amount = match opt_string(dest, "amountUnits", "destination.amountUnits")? {
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
    let calldata = match opt_string(dest, "calldata", "destination.calldata")? {
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
    let refund_address = match opt_string(body, "refundAddress", "refundAddress")? {
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
        destination: Destination {
            address: address.into(),
            token: (*token).clone(),
            amount,
            calldata,
            delivery: None,
        },
        display: parse_display(object(body, "display", "display")?)?,
        metadata: parse_metadata(body.get("metadata"))?,
        refund_address: refund_address.map(ChainAddress::Evm),
    })
}

/// `paymentMethod.amountUsd` (Daimo's request shape for `tron`): what the payer is about to send, as a
/// decimal string or number with at most 6 decimals (USDT's), used in wallet links. `None` if absent.
pub fn amount_usd(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    const PARAM: &str = "paymentMethod.amountUsd";
    let Some(Value::Object(pm)) = body.get("paymentMethod") else { return Ok(None) };
    let text = match pm.get("amountUsd") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(ApiError::invalid(PARAM, format!("{PARAM} must be a decimal amount"))),
    };
    match relayer_types::parse_units(&text, 6) {
        Ok(units) if !units.is_zero() => Ok(Some(relayer_types::format_units(units, 6))),
        _ => Err(ApiError::invalid(
            PARAM,
            format!("{PARAM} must be a positive amount with at most 6 decimals, not {text:?}"),
        )),
    }
}

/// Validates a `paymentMethods` body: `{"paymentMethod": {"type", "fiatMethod"?}}`, or a bare top-level
/// `type`. `stripe` is a spec type this deployment never offers.
pub fn payment_kind(body: &Map<String, Value>) -> Result<PaymentKind, ApiError> {
    const PARAM: &str = "paymentMethod.type";
    let (kind, fiat) = if body.contains_key("paymentMethod") {
        let pm = object(body, "paymentMethod", "paymentMethod")?;
        only(pm, "paymentMethod.", &["type", "fiatMethod", "amountUsd"])?;
        (string(pm, "type", PARAM)?, opt_string(pm, "fiatMethod", "paymentMethod.fiatMethod")?)
    } else {
        (string(body, "type", PARAM)?, None)
    };
    if fiat.is_some() && kind != "fiat" {
        return Err(ApiError::invalid(
            "paymentMethod.fiatMethod",
            "paymentMethod.fiatMethod is only for type fiat",
        ));
    }
    match kind {
        "evm" => Ok(PaymentKind::Evm),
        "tron" => Ok(PaymentKind::Tron),
        "solana" => Ok(PaymentKind::Solana),
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
        "stripe" => Err(ApiError::unprocessable(
            "unsupported_payment_method",
            "payment method \"stripe\" is not supported on this deployment",
            Some(PARAM),
        )),
        other => Err(ApiError::invalid(
            PARAM,
            format!("{PARAM} must be one of evm, tron, solana, stripe, fiat; not {other:?}"),
        )),
    }
}

fn parse_display(display: &Map<String, Value>) -> Result<DisplayInfo, ApiError> {
    only(display, "display.", &["title", "verb", "themeCssUrl", "paymentOptions"])?;
    let title = string(display, "title", "display.title")?;
    check_len(title, "display.title", MAX_TITLE_CHARS, true)?;
    let verb = string(display, "verb", "display.verb")?;
    check_len(verb, "display.verb", MAX_VERB_CHARS, true)?;
    let theme_css_url = opt_string(display, "themeCssUrl", "display.themeCssUrl")?;
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
    let payment_options = match display.get("paymentOptions") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| payment_option(item, &format!("display.paymentOptions[{i}]"), true))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(ApiError::invalid(
                "display.paymentOptions",
                "display.paymentOptions must be an array",
            ));
        }
    };
    Ok(DisplayInfo {
        title: title.to_owned(),
        verb: verb.to_owned(),
        theme_css_url: theme_css_url.map(str::to_owned),
        payment_options,
    })
}

fn payment_option(item: &Value, param: &str, nested_ok: bool) -> Result<PaymentOption, ApiError> {
    match item {
        Value::String(s) if PAYMENT_OPTIONS.contains(&s.as_str()) => Ok(PaymentOption::One(s.clone())),
        Value::String(s) => Err(ApiError::invalid(param, format!("{param}: unknown payment option {s:?}"))),
        Value::Array(group) if nested_ok => {
            if group.is_empty() {
                return Err(ApiError::invalid(param, format!("{param} must not be an empty group")));
            }
            let names = group
                .iter()
                .enumerate()
                .map(|(j, v)| match payment_option(v, &format!("{param}[{j}]"), false)? {
                    PaymentOption::One(s) => Ok(s),
                    PaymentOption::Group(_) => Err(ApiError::invalid(param, "groups cannot nest")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(PaymentOption::Group(names))
        }
        _ => Err(ApiError::invalid(
            param,
            format!(
                "{param} must be a payment option name{}",
                if nested_ok { " or an array of them" } else { "" }
            ),
        )),
    }
}

fn parse_metadata(value: Option<&Value>) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let map = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ApiError::invalid("metadata", "metadata must be an object of strings"));
        }
    };
    if map.len() > MAX_METADATA_KEYS {
        return Err(ApiError::invalid(
            "metadata",
            format!("metadata can have at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let param = format!("metadata.{k}");
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(ApiError::invalid(
                param,
                format!("metadata keys must be 1 to {MAX_METADATA_KEY_CHARS} characters"),
            ));
        }
        let Value::String(v) = v else {
            return Err(ApiError::invalid(param.clone(), format!("{param} must be a string")));
        };
        check_len(v, &param, MAX_METADATA_VALUE_CHARS, false)?;
        out.insert(k.clone(), v.clone());
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The `param` of the error, or "ok".
    fn param<T>(r: Result<T, ApiError>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => e.param.unwrap_or_else(|| format!("<no param: {}>", e.message)),
        }
    }

    #[test]
    fn addresses_follow_the_spec_pattern_and_eip55() {
        let table = [
            ("0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045", "ok"),
            ("0xd8da6bf26964af9d7eed9e03e53415d37aa96045", "ok"),
            ("0xD8DA6BF26964AF9D7EED9E03E53415D37AA96045", "ok"),
            // One letter's case flipped: a typo the checksum catches.
            ("0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96046", "destination.address"),
            ("0xd8dA6bF26964aF9D7eEd9e03E53415D37aA96045", "destination.address"),
            ("d8da6bf26964af9d7eed9e03e53415d37aa96045", "destination.address"),
            ("0xd8da6bf26964af9d7eed9e03e53415d37aa9604", "destination.address"),
            ("0xzz8da6bf26964af9d7eed9e03e53415d37aa9604", "destination.address"),
            ("", "destination.address"),
        ];
        for (value, want) in table {
            assert_eq!(param(evm_address(value, "destination.address")), want, "{value:?}");
        }
    }

    #[test]
    fn display_rules_name_the_exact_parameter() {
        let long = "x".repeat(201);
        let table = [
            (json!({ "title": "Deposit", "verb": "Deposit" }), "ok"),
            (json!({ "title": "", "verb": "Deposit" }), "display.title"),
            (json!({ "title": "  ", "verb": "Deposit" }), "display.title"),
            (json!({ "title": long, "verb": "Deposit" }), "display.title"),
            (json!({ "title": "t" }), "display.verb"),
            (json!({ "title": "t", "verb": 5 }), "display.verb"),
            (
                json!({ "title": "t", "verb": "v", "themeCssUrl": "javascript:alert(1)" }),
                "display.themeCssUrl",
            ),
            (
                json!({ "title": "t", "verb": "v", "themeCssUrl": "https://a.b/c d.css" }),
                "display.themeCssUrl",
            ),
            (json!({ "title": "t", "verb": "v", "themeCssUrl": "https://a.b/t.css" }), "ok"),
            (
                json!({ "title": "t", "verb": "v", "paymentOptions": ["MetaMask", ["Coinbase", "Binance"]] }),
                "ok",
            ),
            (json!({ "title": "t", "verb": "v", "paymentOptions": ["Nope"] }), "display.paymentOptions[0]"),
            (
                json!({ "title": "t", "verb": "v", "paymentOptions": ["MetaMask", []] }),
                "display.paymentOptions[1]",
            ),
            (
                json!({ "title": "t", "verb": "v", "paymentOptions": [["MetaMask", ["Trust"]]] }),
                "display.paymentOptions[0][1]",
            ),
            (json!({ "title": "t", "verb": "v", "paymentOptions": "MetaMask" }), "display.paymentOptions"),
            (json!({ "title": "t", "verb": "v", "colour": "red" }), "display.colour"),
        ];
        for (display, want) in table {
            assert_eq!(param(parse_display(&obj(display.clone()))), want, "{display}");
        }
    }

    fn offered() -> Vec<TokenRef> {
        let token = |chain_id: u64, chain_name: &str, byte: u8, symbol: &str, decimals: u8| TokenRef {
            chain_id,
            chain_name: chain_name.into(),
            address: ChainAddress::Evm(Address::repeat_byte(byte)),
            symbol: symbol.into(),
            decimals,
        };
        vec![
            token(8453, "Base", 0x83, "USDC", 6),
            token(1, "Ethereum", 0xa0, "USDC", 6),
            token(1, "Ethereum", 0xdd, "DAI", 18),
        ]
    }

    fn request(destination: Value) -> Map<String, Value> {
        obj(json!({ "destination": destination, "display": { "title": "Deposit", "verb": "Deposit" } }))
    }

    fn evm(chain_id: u64, token: u8, amount: Option<&str>) -> Value {
        let mut d = json!({
            "type": "evm",
            "address": format!("{}", Address::repeat_byte(0xd0)),
            "chainId": chain_id,
            "tokenAddress": format!("{}", Address::repeat_byte(token)),
        });
        if let Some(a) = amount {
            d["amountUnits"] = a.into();
        }
        d
    }

    #[test]
    fn a_destination_must_be_an_offered_token_with_an_amount_in_its_decimals() {
        let ok = parse(&request(evm(1, 0xdd, Some("1.000000000000000001"))), &offered()).expect("valid");
        assert_eq!(ok.destination.token.symbol, "DAI");
        assert_eq!(ok.destination.amount, Some(U256::from(1_000_000_000_000_000_001u128)));
        assert_eq!(
            parse(&request(evm(8453, 0x83, None)), &offered()).map(|n| n.destination.amount),
            Ok(None)
        );
        let mut solana = evm(8453, 0x83, None);
        solana["type"] = "solana".into();
        let mut zero_address = evm(8453, 0x83, None);
        zero_address["address"] = format!("{}", Address::ZERO).into();
        let mut calldata_without_refund = evm(8453, 0x83, Some("1"));
        calldata_without_refund["calldata"] = "0x1234".into();
        let mut odd_calldata = evm(8453, 0x83, Some("1"));
        odd_calldata["calldata"] = "0x123".into();
        let mut string_chain = evm(8453, 0x83, None);
        string_chain["chainId"] = "8453".into();
        let table = [
            (evm(10, 0x83, None), "destination.chainId"),
            (string_chain, "destination.chainId"),
            (evm(8453, 0xa0, None), "destination.tokenAddress"),
            (evm(8453, 0x83, Some("1.0000001")), "destination.amountUnits"),
            (evm(8453, 0x83, Some("0.000")), "destination.amountUnits"),
            (evm(8453, 0x83, Some("-1")), "destination.amountUnits"),
            (evm(8453, 0x83, Some("1e6")), "destination.amountUnits"),
            (solana, "destination.type"),
            (zero_address, "destination.address"),
            (calldata_without_refund, "refundAddress"),
            (odd_calldata, "destination.calldata"),
        ];
        for (destination, want) in table {
            assert_eq!(param(parse(&request(destination.clone()), &offered())), want, "{destination}");
        }
        let mut unknown = request(evm(8453, 0x83, None));
        unknown.insert("currency".into(), "usd".into());
        assert_eq!(param(parse(&unknown, &offered())), "currency");
        let unsupported = parse(&request(evm(10, 0x83, None)), &offered()).err().map(|e| e.message);
        assert_eq!(
            unsupported.as_deref(),
            Some("chain 10 is not supported; supported: 8453 (Base), 1 (Ethereum)"),
            "the supported chains are listed once each"
        );
    }

    #[test]
    fn payment_methods_are_the_spec_types_and_fiat_rails() {
        let kind = |v: Value| payment_kind(&obj(v));
        assert_eq!(kind(json!({ "paymentMethod": { "type": "evm" } })), Ok(PaymentKind::Evm));
        assert_eq!(kind(json!({ "type": "tron" })), Ok(PaymentKind::Tron), "bare type");
        assert_eq!(kind(json!({ "paymentMethod": { "type": "solana" } })), Ok(PaymentKind::Solana));
        assert_eq!(kind(json!({ "paymentMethod": { "type": "fiat" } })), Ok(PaymentKind::Fiat(None)));
        assert_eq!(
            kind(json!({ "paymentMethod": { "type": "fiat", "fiatMethod": "apple_pay" } })),
            Ok(PaymentKind::Fiat(Some(FiatMethod::ApplePay)))
        );
        let table = [
            (
                json!({ "paymentMethod": { "type": "fiat", "fiatMethod": "cash" } }),
                "paymentMethod.fiatMethod",
            ),
            (json!({ "paymentMethod": { "type": "evm", "fiatMethod": "ach" } }), "paymentMethod.fiatMethod"),
            (json!({ "paymentMethod": { "type": "pigeon" } }), "paymentMethod.type"),
            (json!({ "paymentMethod": { "type": "stripe" } }), "paymentMethod.type"),
            (json!({ "paymentMethod": {} }), "paymentMethod.type"),
            (json!({ "paymentMethod": "evm" }), "paymentMethod"),
            (json!({ "paymentMethod": { "type": "evm", "chain": 1 } }), "paymentMethod.chain"),
            (json!({}), "paymentMethod.type"),
        ];
        for (body, want) in table {
            assert_eq!(param(payment_kind(&obj(body.clone()))), want, "{body}");
        }
    }

    #[test]
    fn metadata_rules_name_the_exact_key() {
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        let table = [
            (json!(null), "ok"),
            (json!({ "orderId": "123" }), "ok"),
            (json!({ "orderId": 123 }), "metadata.orderId"),
            (json!({ "": "x" }), "metadata."),
            (json!({ "k".repeat(41): "x" }), &*format!("metadata.{}", "k".repeat(41))),
            (json!({ "note": "x".repeat(501) }), "metadata.note"),
            (json!(["a"]), "metadata"),
            (Value::Object(many), "metadata"),
        ];
        for (metadata, want) in table {
            assert_eq!(param(parse_metadata(Some(&metadata))), want, "{metadata}");
        }
    }
}
