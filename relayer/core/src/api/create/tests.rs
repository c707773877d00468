use serde_json::json;

use super::*;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A valid create-session body with `member` set to `value` (the destination, the display, metadata).
fn body_with(member: &str, value: Value) -> Map<String, Value> {
    let mut body = request(evm(8453, 0x83, None));
    body.insert(member.into(), value);
    body
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
        (json!({ "title": "t", "verb": "v", "themeCssUrl": "javascript:alert(1)" }), "display.themeCssUrl"),
        (json!({ "title": "t", "verb": "v", "themeCssUrl": "https://a.b/c d.css" }), "display.themeCssUrl"),
        (json!({ "title": "t", "verb": "v", "themeCssUrl": "https://a.b/t.css" }), "ok"),
        (json!({ "title": "t", "verb": "v", "paymentOptions": ["MetaMask", ["Coinbase", "Binance"]] }), "ok"),
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
        assert_eq!(param(parse(&body_with("display", display.clone()), &offered())), want, "{display}");
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
    assert_eq!(parse(&request(evm(8453, 0x83, None)), &offered()).map(|n| n.destination.amount), Ok(None));
    let solana = json!({ "type": "solana", "address": WALLET, "tokenAddress": MINT });
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

const WALLET: &str = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";
const MINT: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

#[test]
fn a_solana_destination_is_a_base58_owner_and_an_offered_mint_without_chain_or_calldata() {
    let mint = ChainAddress::Solana(solana_address(MINT, "m").expect("mint"));
    let mut offered = offered();
    offered.push(TokenRef {
        chain_id: 501,
        chain_name: "Solana".into(),
        address: mint,
        symbol: "USDC".into(),
        decimals: 6,
    });
    let ok = parse(
        &request(
            json!({ "type": "solana", "address": WALLET, "tokenAddress": MINT, "amountUnits": "10.00" }),
        ),
        &offered,
    )
    .expect("valid");
    assert_eq!(ok.destination.address.to_string(), WALLET);
    assert_eq!((ok.destination.token.chain_id, ok.destination.token.address), (501, mint));
    assert_eq!(ok.destination.amount, Some(U256::from(10_000_000u64)));
    assert_eq!(ok.destination.calldata, None);
    let with = |key: &str, value: Value| {
        let mut d = json!({ "type": "solana", "address": WALLET, "tokenAddress": MINT });
        d[key] = value;
        d
    };
    let table = [
        (with("chainId", 501.into()), "destination.chainId"),
        (with("chainId", Value::Null), "destination.chainId"),
        (with("calldata", "0x12".into()), "destination.calldata"),
        (with("address", "0x1234".into()), "destination.address"),
        // Base58 but 31 bytes; and a character outside the alphabet (`0`).
        (with("address", "1111111111111111111111111111111".into()), "destination.address"),
        (with("address", "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAs0".into()), "destination.address"),
        // A real mint the deployment does not offer.
        (with("tokenAddress", WALLET.into()), "destination.tokenAddress"),
        (with("amountUnits", "1.0000001".into()), "destination.amountUnits"),
    ];
    for (destination, want) in table {
        assert_eq!(param(parse(&request(destination.clone()), &offered)), want, "{destination}");
    }
}

#[test]
fn payment_methods_are_the_spec_types_and_fiat_rails() {
    let kind = |v: Value| json::dto(&obj(v)).and_then(|request| payment_kind(&request));
    assert_eq!(kind(json!({ "paymentMethod": { "type": "evm" } })), Ok(PaymentKind::Evm));
    assert_eq!(kind(json!({ "type": "tron" })), Ok(PaymentKind::Tron), "bare type");
    let wallet = ChainAddress::Solana(solana_address(WALLET, "w").expect("wallet"));
    let mint = ChainAddress::Solana(solana_address(MINT, "m").expect("mint"));
    assert_eq!(
        kind(
            json!({ "paymentMethod": { "type": "solana", "walletAddress": WALLET, "inputTokenMint": MINT } })
        ),
        Ok(PaymentKind::Solana { wallet, mint: Some(mint) })
    );
    assert_eq!(
        param(kind(json!({ "paymentMethod": { "type": "solana" } }))),
        "paymentMethod.walletAddress",
        "the transaction is built for the payer's wallet"
    );
    assert_eq!(
        param(kind(json!({ "paymentMethod": { "type": "solana", "walletAddress": "0xabc" } }))),
        "paymentMethod.walletAddress"
    );
    assert_eq!(
        param(kind(json!({ "paymentMethod": { "type": "evm", "walletAddress": WALLET } }))),
        "paymentMethod.walletAddress"
    );
    assert_eq!(kind(json!({ "paymentMethod": { "type": "fiat" } })), Ok(PaymentKind::Fiat(None)));
    assert_eq!(
        kind(json!({ "paymentMethod": { "type": "fiat", "fiatMethod": "apple_pay" } })),
        Ok(PaymentKind::Fiat(Some(FiatMethod::ApplePay)))
    );
    let table = [
        (json!({ "paymentMethod": { "type": "fiat", "fiatMethod": "cash" } }), "paymentMethod.fiatMethod"),
        (json!({ "paymentMethod": { "type": "evm", "fiatMethod": "ach" } }), "paymentMethod.fiatMethod"),
        (json!({ "paymentMethod": { "type": "pigeon" } }), "paymentMethod.type"),
        (json!({ "paymentMethod": { "type": "evm", "exchangeId": "Coinbase" } }), "paymentMethod.exchangeId"),
        (json!({ "paymentMethod": { "type": "tron", "platform": "ios" } }), "paymentMethod.platform"),
        (json!({ "paymentMethod": { "type": "evm" }, "locale": 5 }), "locale"),
        (json!({ "paymentMethod": {} }), "paymentMethod.type"),
        (json!({ "paymentMethod": "evm" }), "paymentMethod"),
        (json!({ "paymentMethod": null, "type": "evm" }), "paymentMethod"),
        (json!({ "type": 5 }), "paymentMethod.type"),
        (json!({ "paymentMethod": { "type": "evm", "walletAddress": null } }), "paymentMethod.walletAddress"),
        (json!({ "paymentMethod": { "type": "tron", "amountUsd": true } }), "paymentMethod.amountUsd"),
        (json!({ "paymentMethod": { "type": "evm", "chain": 1 } }), "paymentMethod.chain"),
        (json!({}), "paymentMethod.type"),
    ];
    for (body, want) in table {
        assert_eq!(param(kind(body.clone())), want, "{body}");
    }
    // Daimo's SDK: `locale` on every request; the types this deployment never offers are recognised (so
    // the refusal says what is offered), with their own members.
    assert_eq!(kind(json!({ "paymentMethod": { "type": "evm" }, "locale": "es" })), Ok(PaymentKind::Evm));
    assert_eq!(
        kind(json!({ "paymentMethod": { "type": "stripe", "amountUsd": 5 } })),
        Ok(PaymentKind::NotOffered("stripe"))
    );
    assert_eq!(
        kind(
            json!({ "paymentMethod": { "type": "exchange", "exchangeId": "Coinbase", "amountUsd": 5, "platform": "ios" } })
        ),
        Ok(PaymentKind::NotOffered("exchange"))
    );
}

#[test]
fn a_usd_amount_string_is_exact_and_a_number_is_rounded_to_six_decimals() {
    let usd = |v: Value| {
        json::dto(&obj(json!({ "paymentMethod": { "type": "tron", "amountUsd": v } })))
            .and_then(|request| amount_usd(&request))
    };
    // Daimo's SDK sends a JavaScript number: its binary noise is rounded away, not refused.
    let table = [
        (json!(10), Some("10.00")),
        (json!(0.1 + 0.2), Some("0.30")),
        (json!(12.3456785), Some("12.345679")),
        (json!(5e-7), Some("0.000001")),
        (json!(1.5e-7), None),
        (json!(2e3), Some("2000.00")),
        (json!("10.00"), Some("10.00")),
        (json!("0.1234567"), None),
        (json!(-1), None),
        (json!(0), None),
        (json!(1e-9), None),
        (json!("abc"), None),
    ];
    // Whatever a number's text: no panic, no overflow, no huge work.
    for text in
        ["1e9223372036854775807", "1e-9223372036854775808", "9e-9223372036854775807", &"9".repeat(200)]
    {
        let rounded = round_number(text, 6);
        assert!(rounded.is_none() || rounded == Some(relayer_types::U256::ZERO), "{text}: {rounded:?}");
    }
    assert_eq!(round_number("-0", 6), None);
    for (given, want) in table {
        let got = usd(given.clone());
        match want {
            Some(want) => assert_eq!(got, Ok(Some(want.to_owned())), "{given}"),
            None => assert_eq!(param(got), "paymentMethod.amountUsd", "{given}"),
        }
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
        assert_eq!(param(parse(&body_with("metadata", metadata.clone()), &offered())), want, "{metadata}");
    }
}
