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
    let other = decode_failure(&json!("BlockhashNotFound"), &Value::Null);
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
            Some(TxStatus { slot: 48, failed: false, confirmation: Confirmation::Finalized }),
            None,
            Some(TxStatus { slot: 49, failed: true, confirmation: Confirmation::Confirmed }),
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

/// A local HTTP server giving `answers` in order, one per connection (status, extra header line, body);
/// resolves to the JSON-RPC request bodies it saw.
fn serve(answers: Vec<(u16, &'static str, &'static str)>) -> (String, tokio::task::JoinHandle<Vec<Value>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let mut seen = vec![];
        for (status, header, answer) in answers {
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
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{header}content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await.expect("write");
        }
        seen
    });
    (url, server)
}

/// The transport against a local server answering recorded JSON: what it asks, and how it reads.
#[tokio::test]
async fn requests_are_json_rpc_at_finalized_commitment() {
    let (url, server) = serve(vec![
        (
            200,
            "",
            r#"{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":{"blockhash":"EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N","lastValidBlockHeight":151}},"id":1}"#,
        ),
        (
            200,
            "",
            r#"{"jsonrpc":"2.0","error":{"code":-32002,"message":"Transaction simulation failed","data":{"err":{"InstructionError":[0,{"Custom":6003}]}}},"id":1}"#,
        ),
        (200, "", r#"{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":0},"id":1}"#),
        (
            200,
            "",
            r#"{"jsonrpc":"2.0","result":[{"slot":348125,"prioritizationFee":0},{"slot":348126,"prioritizationFee":1000}],"id":1}"#,
        ),
    ]);
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
    let (_, last) = client.latest_blockhash().await.expect("blockhash");
    assert_eq!(last, 151);
    let sent = client.send(vec![1, 2, 3]).await;
    assert_eq!(sent, Err(SendError::Preflight(TxFailure::Custom(6003))));
    let payer = Pubkey::new_unique();
    assert_eq!(client.balance(payer).await.expect("balance"), 0);
    let writable: Vec<Pubkey> = (0..130).map(|_| Pubkey::new_unique()).collect();
    assert_eq!(client.recent_priority_fees(writable.clone()).await.expect("fees"), vec![0, 1000]);
    let seen = server.await.expect("server");
    assert_eq!(seen[0]["method"], "getLatestBlockhash");
    assert_eq!(seen[0]["params"], json!([{ "commitment": "finalized" }]));
    assert_eq!(seen[1]["method"], "sendTransaction");
    assert_eq!(seen[1]["params"][0], BASE64.encode([1, 2, 3]));
    assert_eq!(seen[1]["params"][1]["encoding"], "base64");
    assert_eq!(seen[2]["method"], "getBalance");
    assert_eq!(seen[2]["params"], json!([payer.to_string(), { "commitment": "finalized" }]));
    assert_eq!(seen[3]["method"], "getRecentPrioritizationFees");
    // A node takes at most 128 accounts: the first 128 are asked about.
    let asked: Vec<String> = writable.iter().take(128).map(ToString::to_string).collect();
    assert_eq!(seen[3]["params"], json!([asked]));
}

/// A read of more accounts than a node takes in one `getMultipleAccounts` (anyone can add transfers to a
/// session's inbox, each read with its claim record) is asked in requests of at most 100 keys, answered
/// in order; a node that answers another count is an error, not a shifted list.
#[tokio::test]
async fn a_read_of_many_accounts_is_split_into_requests_a_node_takes() {
    let answer = |count: usize, slot: u64| -> &'static str {
        let value: Vec<Value> = (0..count)
            .map(|i| {
                if i % 2 == 0 {
                    Value::Null
                } else {
                    json!({ "lamports": slot, "owner": deposit_vault::ID.to_string(), "data": ["", "base64"], "executable": false, "space": 0 })
                }
            })
            .collect();
        Box::leak(
            json!({ "jsonrpc": "2.0", "result": { "context": { "slot": slot }, "value": value }, "id": 1 })
                .to_string()
                .into_boxed_str(),
        )
    };
    let (url, server) =
        serve(vec![(200, "", answer(100, 1)), (200, "", answer(50, 2)), (200, "", answer(3, 3))]);
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
    let keys: Vec<Pubkey> = (0..150).map(|_| Pubkey::new_unique()).collect();
    let read = client.accounts(keys.clone()).await.expect("accounts");
    assert_eq!(read.len(), 150);
    assert_eq!(read[1].as_ref().map(|a| a.lamports), Some(1), "the first request's");
    assert_eq!(read[101].as_ref().map(|a| a.lamports), Some(2), "the second request's, in order");
    assert!(read[100].is_none());
    let short = client.accounts(keys[..4].to_vec()).await;
    assert!(short.is_err(), "3 answers for 4 keys: {short:?}");
    let seen = server.await.expect("server");
    let asked = |i: usize| seen[i]["params"][0].as_array().map(Vec::len);
    assert_eq!((asked(0), asked(1), asked(2)), (Some(100), Some(50), Some(4)));
    assert_eq!(seen[1]["params"][0][0], keys[100].to_string());
    // The second request asks for the first answer's state or newer; a first request asks for none.
    assert_eq!(seen[0]["params"][1].get("minContextSlot"), None);
    assert_eq!(seen[1]["params"][1]["minContextSlot"], 1);
    assert_eq!(seen[2]["params"][1].get("minContextSlot"), None);
}

/// A node past its rate limit answers HTTP 429: the client waits (as `Retry-After` says, else doubling
/// from the first wait) and asks again, and gives up after the configured tries with an error that says
/// why (the caller's own retry takes over).
#[tokio::test]
async fn rate_limited_answers_are_waited_out_then_given_up() {
    const LIMITED: &str = r#"{"jsonrpc":"2.0","error":{"code":429,"message":"Too many requests for a specific RPC call, contact your app developer or support@rpcpool.com."},"id":1}"#;
    const SLOT: &str = r#"{"jsonrpc":"2.0","result":1234,"id":1}"#;
    let backoff = Backoff { tries: 3, first: Duration::from_millis(20), longest: Duration::from_millis(200) };
    let (url, server) =
        serve(vec![(429, "retry-after: 0\r\n", LIMITED), (429, "", LIMITED), (200, "", SLOT)]);
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client").with_backoff(backoff);
    let started = std::time::Instant::now();
    assert_eq!(client.slot().await.expect("slot after two 429s"), 1234);
    // `Retry-After: 0`, then 2 × 20 ms: at least the second wait happened.
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert_eq!(server.await.expect("server").len(), 3);

    let (url, server) = serve(vec![(429, "", LIMITED), (429, "", LIMITED), (429, "", LIMITED)]);
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client").with_backoff(backoff);
    let error = client.slot().await.expect_err("still limited");
    assert!(error.to_string().contains("rate limited (HTTP 429) 3 times"), "{error}");
    assert_eq!(server.await.expect("server").len(), 3, "no fourth try");

    // Waits: doubling from the first, `Retry-After` when given, never past the longest.
    let b = Backoff { tries: 9, first: Duration::from_millis(250), longest: Duration::from_secs(10) };
    let waits: Vec<u128> = (1..=7).map(|n| b.wait(n, None).as_millis()).collect();
    assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 10_000]);
    assert_eq!(b.wait(1, Some(3)), Duration::from_secs(3));
    assert_eq!(b.wait(1, Some(3600)), Duration::from_secs(10));
    assert_eq!(b.wait(40, None), Duration::from_secs(10), "no overflow");
}

/// Answers of the other methods the client calls, as the documentation records them, and the status
/// shapes of older nodes (no `confirmationStatus`).
#[test]
fn slot_height_fees_balance_and_older_status_answers() {
    assert_eq!(u64_of(&parse(r#"{"jsonrpc":"2.0","result":1234,"id":1}"#)).expect("slot"), 1234);
    let fees = parse(
        r#"{"jsonrpc":"2.0","result":[{"slot":348125,"prioritizationFee":0},{"slot":348126,"prioritizationFee":1000},{"slot":348127,"prioritizationFee":500},{"slot":348127,"prioritizationFee":0},{"slot":348128,"prioritizationFee":1234}],"id":1}"#,
    );
    assert_eq!(decode_priority_fees(&fees).expect("fees"), vec![0, 1000, 500, 0, 1234]);
    assert!(decode_priority_fees(&json!({ "value": [] })).is_err(), "not a list");
    assert_eq!(
        decode_balance(&parse(r#"{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":2039280},"id":1}"#)),
        Ok(2_039_280)
    );
    let old = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[{"slot":72,"confirmations":10,"err":null,"status":{"Ok":null}},{"slot":48,"confirmations":null,"err":null,"status":{"Ok":null}},{"slot":80,"confirmations":0,"err":null,"status":{"Ok":null},"confirmationStatus":"processed"}]},"id":1}"#,
    );
    let confirmations: Vec<Confirmation> =
        decode_statuses(&old).expect("statuses").into_iter().flatten().map(|s| s.confirmation).collect();
    assert_eq!(confirmations, [Confirmation::Processed, Confirmation::Finalized, Confirmation::Processed]);
    let odd = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[{"slot":72,"confirmations":null,"err":null,"confirmationStatus":"rooted"}]},"id":1}"#,
    );
    assert!(decode_statuses(&odd).is_err(), "an unknown status is not guessed at");
    let trimmed = parse(
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[{"slot":72,"err":null}]},"id":1}"#,
    );
    assert_eq!(
        decode_statuses(&trimmed).expect("statuses")[0].as_ref().map(|s| s.confirmation),
        Some(Confirmation::Processed),
        "a status that says neither how far nor `confirmations: null` is not taken as rooted"
    );
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
    let statuses = vec![
        Some(TxStatus { slot: 3, failed: true, confirmation: Confirmation::Finalized }),
        Some(TxStatus { slot: 4, failed: false, confirmation: Confirmation::Processed }),
        None,
    ];
    assert_eq!(decode_statuses(&encode::statuses(&statuses)).expect("statuses"), statuses);
    assert_eq!(decode_priority_fees(&encode::priority_fees(&[0, 7])).expect("fees"), vec![0, 7]);
    assert_eq!(decode_balance(&encode::balance(42)), Ok(42));
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
        instructions: vec![TopInstruction { program: deposit_vault::ID, data: vec![4, 5] }],
    };
    assert_eq!(decode_transaction(&encode::transaction(Some(&view))).expect("tx"), Some(view));
    assert_eq!(decode_transaction(&encode::transaction(None)).expect("none"), None);
}

/// Simulations and preflights read state at the commitment the relayer's transactions land at (a
/// transaction counted landed at `confirmed` is seen by the next simulation, so none is sent after it to
/// fail on chain); the default is `finalized`.
#[tokio::test]
async fn simulations_and_preflights_read_at_the_landing_commitment() {
    const SIMULATED: &str =
        r#"{"jsonrpc":"2.0","result":{"context":{"slot":1},"value":{"err":null,"unitsConsumed":7}},"id":1}"#;
    const SENT: &str = r#"{"jsonrpc":"2.0","result":"5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW","id":1}"#;
    for (commitment, expected) in [(None, "finalized"), (Some(Confirmation::Confirmed), "confirmed")] {
        let (url, server) = serve(vec![(200, "", SIMULATED), (200, "", SENT)]);
        let mut client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
        if let Some(commitment) = commitment {
            client = client.with_send_commitment(commitment);
        }
        assert_eq!(client.simulate(vec![1]).await.expect("simulation").units, 7);
        client.send(vec![1]).await.expect("sent");
        let seen = server.await.expect("server");
        assert_eq!(seen[0]["params"][1]["commitment"], expected);
        assert_eq!(seen[1]["params"][1]["preflightCommitment"], expected);
    }
}

/// A history read that must come from a node at least at a slot says so (`minContextSlot`); the
/// refusal of a node behind it is an error to retry, not an empty history.
#[tokio::test]
async fn a_history_read_names_the_slot_its_node_must_have_reached() {
    const BEHIND: &str = r#"{"jsonrpc":"2.0","error":{"code":-32016,"message":"Minimum context slot has not been reached","data":{"contextSlot":99}},"id":1}"#;
    const EMPTY: &str = r#"{"jsonrpc":"2.0","result":[],"id":1}"#;
    let (url, server) = serve(vec![(200, "", BEHIND), (200, "", EMPTY)]);
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
    let address = Pubkey::new_unique();
    let page = Page { min_slot: Some(120), ..Page::newest(None) };
    let refused = client.signatures_for(address, page).await.expect_err("behind the slot");
    assert!(refused.to_string().contains("-32016"), "{refused}");
    assert_eq!(client.signatures_for(address, Page::newest(None)).await.expect("answered"), vec![]);
    let seen = server.await.expect("server");
    assert_eq!(seen[0]["params"][1]["minContextSlot"], 120);
    assert!(seen[1]["params"][1].get("minContextSlot").is_none(), "only when asked");
}

/// A provider's key in the URL's path or query never reaches an error's text (errors are logged): an
/// unreachable node and one answering 401 both fail naming only the host.
#[tokio::test]
async fn errors_never_carry_the_providers_key_from_the_url() {
    let unreachable =
        RpcClient::new("http://127.0.0.1:9/v2/SECRETKEY?api-key=SECRETKEY", Duration::from_secs(2))
            .expect("client");
    let error = unreachable.slot().await.expect_err("nothing listens on port 9");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("SECRETKEY") && text.contains("127.0.0.1"), "{text}");
    }
    let (url, server) = serve(vec![(401, "", r#"{"error":"unauthorized"}"#)]);
    let refused = RpcClient::new(format!("{url}/SECRETKEY"), Duration::from_secs(5)).expect("client");
    let error = refused.slot().await.expect_err("401");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("SECRETKEY"), "{text}");
    }
    server.abort();
}

/// A "never lands" verdict needs one view: `getEpochInfo` gives the finalized slot and height together,
/// and a status answer says the slot its node stood at (Solana's documented answers).
#[tokio::test]
async fn the_finalized_position_and_a_status_answers_slot_are_read_from_the_documented_answers() {
    const EPOCH: &str = r#"{"jsonrpc":"2.0","result":{"absoluteSlot":166598,"blockHeight":166500,"epoch":27,"slotIndex":2790,"slotsInEpoch":8192,"transactionCount":22661093},"id":1}"#;
    const STATUSES: &str = r#"{"jsonrpc":"2.0","result":{"context":{"slot":82},"value":[{"slot":48,"confirmations":null,"err":null,"status":{"Ok":null},"confirmationStatus":"finalized"},null]},"id":1}"#;
    let (url, server) = serve(vec![(200, "", EPOCH), (200, "", STATUSES)]);
    let client = RpcClient::new(url, Duration::from_secs(5)).expect("client");
    assert_eq!(client.finalized_position().await.expect("epoch info"), (166_598, 166_500));
    let (slot, list) = client
        .statuses_at(vec![
            solana_sdk::signature::Signature::default(),
            solana_sdk::signature::Signature::default(),
        ])
        .await
        .expect("statuses");
    assert_eq!(slot, 82);
    assert_eq!(list.len(), 2);
    assert!(list[0].as_ref().is_some_and(|s| s.slot == 48 && !s.failed) && list[1].is_none());
    let asked = server.await.expect("server");
    assert_eq!(asked[0]["method"], "getEpochInfo");
    assert_eq!(asked[0]["params"][0]["commitment"], "finalized");
    assert_eq!(asked[1]["method"], "getSignatureStatuses");
}

/// Circle's programs number their errors from 6000 as the vault does: a pause of Circle's transmitter
/// (its 6001) read through the vault's table was "a final call it cannot run", so a bridging became a
/// refund, and Anchor's "account not initialized" (3012) raised inside Circle's messenger was "nothing
/// to move", so the work ended while the vault still held the funds. The logs say which program failed
/// first (the innermost); only the vault's own codes go through its table.
#[test]
fn a_called_programs_error_is_never_read_as_the_vaults() {
    let (vault, tmm) = (deposit_vault::ID, deposit_vault::evm::TOKEN_MESSENGER_MINTER);
    let answer = |code: u32, logs: Vec<String>| {
        json!({ "context": { "slot": 9 }, "value": {
            "err": { "InstructionError": [2, { "Custom": code }] },
            "logs": logs, "accounts": null, "returnData": null, "unitsConsumed": 41_000 } })
    };
    let through_circle = |code: u32| {
        vec![
            format!("Program {vault} invoke [1]"),
            "Program log: Instruction: Bridge".to_owned(),
            format!("Program {tmm} invoke [2]"),
            "Program log: AnchorError occurred. Error Code: ProgramPaused.".to_owned(),
            format!("Program {tmm} consumed 9000 of 180000 compute units"),
            crate::tx::failed_line(&tmm, code),
            format!("Program {vault} consumed 21000 of 200000 compute units"),
            crate::tx::failed_line(&vault, code),
        ]
    };
    for code in [6001, 6002, 6007, 3012] {
        let failure = decode_simulation(&answer(code, through_circle(code))).expect("simulation").failure;
        assert_eq!(failure, Some(TxFailure::Callee { program: tmm, code }));
        let refusal = crate::executor::refusal(failure.expect("a failure"));
        assert!(matches!(refusal, relayer_chain::Refusal::CalleeRefused(_)), "{code}: {refusal:?}");
    }
    // The vault's own refusal stays the vault's (its line is the first to fail), and so does a code no
    // log attributes.
    let own = vec![format!("Program {vault} invoke [1]"), crate::tx::failed_line(&vault, 6001)];
    let failure = decode_simulation(&answer(6001, own)).expect("simulation").failure;
    assert_eq!(failure, Some(TxFailure::Custom(6001)));
    assert!(matches!(
        crate::executor::refusal(failure.expect("a failure")),
        relayer_chain::Refusal::Unusable(_)
    ));
    let bare = decode_simulation(&answer(6011, vec![])).expect("simulation").failure;
    assert_eq!(bare, Some(TxFailure::Custom(6011)));
    // The devnet's server says the same (its logs carry the runtime's line for a called program).
    let served = encode::simulation(&Simulation {
        failure: Some(TxFailure::Callee { program: tmm, code: 6001 }),
        units: 7,
    });
    assert_eq!(
        decode_simulation(&served).expect("a simulation").failure,
        Some(TxFailure::Callee { program: tmm, code: 6001 })
    );
}
