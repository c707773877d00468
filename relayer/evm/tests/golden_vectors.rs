//! The shared golden vectors (`contracts/test/fixtures/receivers.json`): params → paramsHash →
//! receiver address for the canonical deterministic deployment. `contracts/test/GoldenVectors.t.sol`
//! checks the same file against the contracts, so Rust and Solidity cannot drift apart.
//!
//! Regenerate after an intended contract change with `UPDATE_FIXTURES=1 cargo test -p relayer-evm
//! --test golden_vectors` (every receiver address changes with the router's bytecode).

use alloy::primitives::{Address, B256, Bytes, U256, address, b256, bytes};
use relayer_evm::create2::{Deployment, DepositParams, RouterArgs, params_hash};
use serde_json::{Value, json};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/test/fixtures/receivers.json");

fn evm(a: Address) -> B256 {
    a.into_word()
}

fn vectors() -> Vec<(&'static str, DepositParams)> {
    let usdc_base = address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913");
    let dest = address!("d8dA6BF26964aF9D7eEd9e03E53415D37aA96045");
    let refund = address!("000000000000000000000000000000000000bEEF");
    let base = |id: B256| DepositParams {
        sessionId: id,
        toChainId: U256::from(8453),
        toToken: evm(usdc_base),
        toAddress: evm(dest),
        amount: U256::from(10_000_000u64),
        minAmount: U256::from(9_990_000u64),
        finalCall: Bytes::new(),
        refundAddress: evm(refund),
        solanaRefundAddress: B256::ZERO,
        expiresAt: 1_700_003_600,
    };
    vec![
        (
            "plain fixed amount",
            base(b256!("a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d400000000000000000000000000000000")),
        ),
        (
            "open amount",
            DepositParams {
                amount: U256::ZERO,
                minAmount: U256::from(1_000_000u64),
                ..base(B256::with_last_byte(2))
            },
        ),
        (
            "with final call",
            DepositParams {
                finalCall: bytes!("b6b55f250000000000000000000000000000000000000000000000000000000000000064"),
                ..base(B256::with_last_byte(3))
            },
        ),
        (
            "solana destination",
            DepositParams {
                toChainId: U256::from(501),
                toToken: b256!("c6fa7af3bedbad3a3d65f36aabc97431b1bbe4c2d2f6e0e47ca60203452f5d61"),
                toAddress: B256::repeat_byte(0x7a),
                refundAddress: B256::ZERO,
                solanaRefundAddress: B256::repeat_byte(0x5b),
                ..base(B256::with_last_byte(4))
            },
        ),
        (
            "extremes",
            DepositParams {
                toChainId: U256::MAX,
                amount: U256::MAX,
                minAmount: U256::MAX,
                solanaRefundAddress: B256::repeat_byte(0xff),
                expiresAt: u64::MAX,
                finalCall: Bytes::from(vec![0xff; 100]),
                ..base(B256::repeat_byte(0xff))
            },
        ),
    ]
}

fn params_json(p: &DepositParams) -> Value {
    json!({
        "sessionId": p.sessionId,
        "toChainId": p.toChainId.to_string(),
        "toToken": p.toToken,
        "toAddress": p.toAddress,
        "amount": p.amount.to_string(),
        "minAmount": p.minAmount.to_string(),
        "finalCall": p.finalCall,
        "refundAddress": p.refundAddress,
        "solanaRefundAddress": p.solanaRefundAddress,
        "expiresAt": p.expiresAt.to_string(),
    })
}

/// The canonical deployment the vectors are for (the Solidity test deploys the same): no adapters, the EVM
/// prefix, an empty destination table.
fn canonical() -> Deployment {
    Deployment::deterministic(
        B256::ZERO,
        &RouterArgs { adapters: vec![], prefix: 0xff, destinations: vec![] },
    )
}

fn generate() -> Value {
    let deployment = canonical();
    let vectors: Vec<Value> = vectors()
        .iter()
        .map(|(name, p)| {
            json!({
                "name": name,
                "params": params_json(p),
                "paramsHash": params_hash(p),
                "receiver": deployment.receiver(p),
                // The same session's receiver under Tron's derivation (`0x41`) with the golden factory:
                // the contracts' `Create2Lib` checks the same arithmetic.
                "receiverTron": Deployment { prefix: 0x41, ..deployment }.receiver(p),
                "executor": deployment.call_executor(p),
            })
        })
        .collect();
    json!({
        "deployment": {
            "salt": B256::ZERO,
            "adapters": [],
            "router": deployment.router,
            "factory": deployment.factory,
            "implementation": deployment.implementation,
            "executorImplementation": deployment.executor,
            "receiverInitCodeHash": deployment.receiver_init_code_hash(),
        },
        "count": vectors.len(),
        "vectors": vectors,
    })
}

#[test]
fn rust_derivation_matches_the_shared_golden_vectors() {
    let generated = generate();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        let text = serde_json::to_string_pretty(&generated).expect("serialize") + "\n";
        std::fs::write(FIXTURE, text).expect("write fixture");
    }
    let text = std::fs::read_to_string(FIXTURE).expect("read fixture");
    let stored: Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(
        stored["deployment"], generated["deployment"],
        "deterministic deployment addresses changed: an intended contract change needs UPDATE_FIXTURES=1"
    );
    let stored_vectors = stored["vectors"].as_array().expect("vectors");
    assert_eq!(stored_vectors.len(), vectors().len());
    for (stored, generated) in stored_vectors.iter().zip(generated["vectors"].as_array().expect("vectors")) {
        assert_eq!(stored, generated, "vector {} drifted", stored["name"]);
    }
}

#[test]
fn every_field_of_the_params_changes_the_receiver() {
    let deployment = canonical();
    let (_, p) = vectors().remove(0);
    let original = deployment.receiver(&p);
    let variants = [
        DepositParams { sessionId: B256::with_last_byte(9), ..p.clone() },
        DepositParams { toChainId: U256::from(1), ..p.clone() },
        DepositParams { toToken: B256::with_last_byte(1), ..p.clone() },
        DepositParams { toAddress: B256::with_last_byte(1), ..p.clone() },
        DepositParams { amount: U256::from(1), ..p.clone() },
        DepositParams { minAmount: U256::from(1), ..p.clone() },
        DepositParams { finalCall: bytes!("00"), ..p.clone() },
        DepositParams { refundAddress: B256::with_last_byte(1), ..p.clone() },
        DepositParams { solanaRefundAddress: B256::with_last_byte(1), ..p.clone() },
        DepositParams { expiresAt: 1, ..p.clone() },
    ];
    for v in variants {
        assert_ne!(deployment.receiver(&v), original, "a field is not committed: {v:?}");
    }
}
