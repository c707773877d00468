//! Answers as Solana's JSON-RPC documents them (https://solana.com/docs/rpc), field for field.

use super::*;

fn parse(text: &str) -> Value {
    serde_json::from_str::<Value>(text).expect("json")["result"].clone()
}

const USDC: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const TOKEN: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";

#[test]
fn blockhash_and_simulation_answers() {
    let answer = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":2792},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":3090}},"id":1}"#,
    );
    let (hash, last) = decode_blockhash(&answer).expect("blockhash");
    assert_eq!((hash.to_string().as_str(), last), ("EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N", 3090));

    let failed = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":218},"value":{"err":{"InstructionError":[0,{"Custom":6003}]},"accounts":null,"logs":["Program 2dnu8sNDGGAHV6vTNZ7dieMx7Zg6c7PUpbGHGuzzXp1R invoke [1]"],"returnData":null,"unitsConsumed":5210}},"id":1}"#,
    );
    let sim = decode_simulation(&failed).expect("simulation");
    assert_eq!((sim.failure, sim.units), (Some(TxFailure::Custom(6003)), 5210));
    let ok = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":218},"value":{"err":null,"accounts":null,"logs":[],"returnData":null,"unitsConsumed":37223}},"id":1}"#,
    );
    assert_eq!(decode_simulation(&ok).expect("simulation").failure, None);
    let other = decode_failure(&json!("BlockhashNotFound"));
    assert_eq!(other, Some(TxFailure::Other("BlockhashNotFound".into())));
}

#[test]
fn status_account_and_signature_lists() {
    let statuses = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[{"slot":48,"confirmations":null,"err":null,"status":{"Ok":null},"confirmationStatus":"finalized"},null,{"slot":49,"confirmations":3,"err":{"InstructionError":[0,{"Custom":3012}]},"status":{"Err":{"InstructionError":[0,{"Custom":3012}]}},"confirmationStatus":"confirmed"}]},"id":1}"#,
    );
    assert_eq!(
        decode_statuses(&statuses).expect("statuses"),
        vec![
            Some(TxStatus { slot: 48, failed: false, finalized: true }),
            None,
            Some(TxStatus { slot: 49, failed: true, finalized: false }),
        ]
    );
    // A token account: 165 bytes, base64.
    let mut data = vec![0u8; 165];
    data[64..72].copy_from_slice(&7_000_000u64.to_le_bytes());
    data[108] = 1; // initialized
    let accounts = parse(&format!(
        r#"{{"jsonrpc":"2.0","result":{{"context":{{"slot":1}},"value":[{{"data":["{}","base64"],"executable":false,"lamports":2039280,"owner":"{TOKEN}","rentEpoch":18446744073709551615,"space":165}},null]}},"id":1}}"#,
        BASE64.encode(&data)
    ));
    let decoded = decode_accounts(&accounts).expect("accounts");
    assert_eq!(decoded.len(), 2);
    let first = decoded[0].as_ref().expect("account");
    assert_eq!((first.lamports, first.owner.to_string().as_str(), first.data.len()), (2_039_280, TOKEN, 165));
    assert_eq!(crate::tx::token_account(&first.data).map(|t| t.2), Some(7_000_000));
    assert_eq!(decoded[1], None);

    let signatures = parse(
        r#"{"jsonrpc":"2.0","result":[{"err":null,"memo":null,"signature":"5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv","slot":114,"blockTime":null,"confirmationStatus":"finalized"},{"err":{"InstructionError":[1,{"Custom":1}]},"memo":null,"signature":"4RPdd4FvV3qFXyQFrq5DNZS6AGGiYgfiExeNgX8mzXaoMmvj8ErjmsLbVwLHGKcggBjHSZrKq44h6ZwxFYhh7Kwk","slot":113,"blockTime":null,"confirmationStatus":"finalized"}],"id":1}"#,
    );
    let list = decode_signatures(&signatures).expect("signatures");
    assert_eq!(list.iter().map(|s| (s.slot, s.failed)).collect::<Vec<_>>(), vec![(114, false), (113, true)]);
}

#[test]
fn a_deposit_transaction_with_an_address_table_and_an_event() {
    let program = deposit_vault::ID.to_string();
    let event_data = bs58::encode([anchor_lang::event::EVENT_IX_TAG_LE, &[1, 2, 3]].concat()).into_string();
    let (payer, payer_ata, vault_ata, vault) =
        (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
    let loaded = Pubkey::new_unique();
    let answer = json!({ "jsonrpc": "2.0", "id": 1, "result": {
            "slot": 430,
            "blockTime": 1_700_000_000,
            "version": 0,
            "meta": {
                "err": null, "fee": 5000, "status": { "Ok": null },
                "preBalances": [1, 2, 3, 4, 5], "postBalances": [1, 2, 3, 4, 5],
                "preTokenBalances": [
                    { "accountIndex": 1, "mint": USDC, "owner": payer.to_string(), "programId": TOKEN,
                      "uiTokenAmount": { "amount": "25000000", "decimals": 6, "uiAmount": 25.0, "uiAmountString": "25" } }
                ],
                "postTokenBalances": [
                    { "accountIndex": 1, "mint": USDC, "owner": payer.to_string(), "programId": TOKEN,
                      "uiTokenAmount": { "amount": "15000000", "decimals": 6, "uiAmount": 15.0, "uiAmountString": "15" } },
                    { "accountIndex": 2, "mint": USDC, "owner": vault.to_string(), "programId": TOKEN,
                      "uiTokenAmount": { "amount": "10000000", "decimals": 6, "uiAmount": 10.0, "uiAmountString": "10" } }
                ],
                "innerInstructions": [
                    { "index": 0, "instructions": [
                        { "programIdIndex": 5, "accounts": [0], "data": event_data, "stackHeight": 2 }
                    ] }
                ],
                "loadedAddresses": { "writable": [], "readonly": [program] },
                "logMessages": [], "computeUnitsConsumed": 30000
            },
            "transaction": {
                "signatures": ["5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv"],
                "message": {
                    "accountKeys": [payer.to_string(), payer_ata.to_string(), vault_ata.to_string(), USDC, loaded.to_string()],
                    "header": { "numRequiredSignatures": 1, "numReadonlySignedAccounts": 0, "numReadonlyUnsignedAccounts": 2 },
                    "recentBlockhash": "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
                    "instructions": [],
                    "addressTableLookups": []
                }
            }
        }})["result"]
            .clone();
    let view = decode_transaction(&answer).expect("decode").expect("found");
    assert_eq!(view.slot, 430);
    assert_eq!(view.account_keys.len(), 6, "static keys, then the table's");
    assert_eq!(view.inner_instructions[0].program, deposit_vault::ID, "indexed past the static keys");
    assert_eq!(&view.inner_instructions[0].data[8..], &[1, 2, 3]);
    let inflow = crate::tx::inflow(&view, &vault_ata, 0, None).expect("inflow");
    assert_eq!((inflow.from, inflow.amount, inflow.index), (payer, 10_000_000, 2));
    assert_eq!(decode_transaction(&Value::Null).expect("null"), None, "not found (yet)");
}

#[test]
fn a_failed_preflight_is_told_apart_from_a_transport_failure() {
    let preflight = RpcError {
        code: -32002,
        message:
            "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1774"
                .into(),
        data: json!({ "accounts": null, "err": { "InstructionError": [0, { "Custom": 6004 }] }, "logs": [], "unitsConsumed": 4000 }),
    };
    assert_eq!(decode_send_error(&preflight), SendError::Preflight(TxFailure::Custom(6004)));
    let busy = RpcError {
        code: -32005,
        message: "Node is behind by 42 slots".into(),
        data: json!({ "numSlotsBehind": 42 }),
    };
    assert!(matches!(decode_send_error(&busy), SendError::Transport(_)));
}

/// The transport against a local server answering recorded JSON: what it asks, and how it reads.
#[tokio::test]
async fn requests_are_json_rpc_at_finalized_commitment() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let mut seen = vec![];
        for answer in [
            r#"{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":151}},"id":1}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32002,"message":"Transaction simulation failed","data":{"err":{"InstructionError":[0,{"Custom":6003}]}}},"id":1}"#,
        ] {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 65536];
            let mut len = 0;
            // Read headers and the body announced by Content-Length.
            loop {
                len += socket.read(&mut buf[len..]).await.expect("read");
                let text = String::from_utf8_lossy(&buf[..len]).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if len >= end + 4 + length {
                        seen.push(
                            serde_json::from_str::<Value>(&text[end + 4..end + 4 + length]).expect("body"),
                        );
                        break;
                    }
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await.expect("write");
        }
        seen
    });
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
    let (_, last) = client.latest_blockhash().await.expect("blockhash");
    assert_eq!(last, 151);
    let sent = client.send(vec![1, 2, 3]).await;
    assert_eq!(sent, Err(SendError::Preflight(TxFailure::Custom(6003))));
    let seen = server.await.expect("server");
    assert_eq!(seen[0]["method"], "getLatestBlockhash");
    assert_eq!(seen[0]["params"], json!([{ "commitment": "finalized" }]));
    assert_eq!(seen[1]["method"], "sendTransaction");
    assert_eq!(seen[1]["params"][0], BASE64.encode([1, 2, 3]));
    assert_eq!(seen[1]["params"][1]["encoding"], "base64");
}

#[test]
fn every_encoded_answer_decodes_to_what_it_encoded() {
    use crate::client::{InnerInstruction, TokenBalance};
    let hash = Hash::new_unique();
    assert_eq!(decode_blockhash(&encode::blockhash(&hash, 9)).expect("blockhash"), (hash, 9));
    for failure in [None, Some(TxFailure::Custom(6004)), Some(TxFailure::Other("BlockhashNotFound".into()))] {
        let sim = Simulation { failure: failure.clone(), units: 12 };
        assert_eq!(decode_simulation(&encode::simulation(&sim)).expect("simulation"), sim);
        if let Some(f) = failure {
            let error = encode::send_error(&SendError::Preflight(f.clone()));
            let rpc = RpcError { code: -32002, message: String::new(), data: error["data"].clone() };
            assert_eq!(decode_send_error(&rpc), SendError::Preflight(f));
        }
    }
    let statuses = vec![Some(TxStatus { slot: 3, failed: true, finalized: true }), None];
    assert_eq!(decode_statuses(&encode::statuses(&statuses)).expect("statuses"), statuses);
    let accounts =
        vec![None, Some(AccountView { lamports: 5, owner: Pubkey::new_unique(), data: vec![1, 2, 3] })];
    assert_eq!(decode_accounts(&encode::accounts(&accounts)).expect("accounts"), accounts);
    let signatures = vec![SignatureInfo { signature: Signature::new_unique(), slot: 4, failed: false }];
    assert_eq!(decode_signatures(&encode::signatures(&signatures)).expect("signatures"), signatures);
    let keys = vec![Pubkey::new_unique(), Pubkey::new_unique(), deposit_vault::ID];
    let balance = TokenBalance { account_index: 1, mint: Pubkey::new_unique(), owner: keys[0], amount: 77 };
    let view = TxView {
        signature: Signature::new_unique(),
        slot: 8,
        failed: false,
        account_keys: keys,
        pre_token_balances: vec![],
        post_token_balances: vec![balance],
        inner_instructions: vec![
            InnerInstruction { outer: 0, program: deposit_vault::ID, data: vec![1] },
            InnerInstruction { outer: 0, program: deposit_vault::ID, data: vec![2] },
            InnerInstruction { outer: 1, program: deposit_vault::ID, data: vec![3] },
        ],
    };
    assert_eq!(decode_transaction(&encode::transaction(Some(&view))).expect("tx"), Some(view));
    assert_eq!(decode_transaction(&encode::transaction(None)).expect("none"), None);
}
