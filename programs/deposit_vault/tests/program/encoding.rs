//! The commitment's bytes (Solidity's `abi.encode` of `DepositParams` v3), the rules that follow from the
//! params alone, the EVM receiver and the bridge's routes, the program ids.

use anchor_lang::AnchorSerialize;
use deposit_vault::{DepositParams, SOLANA_CHAIN_ID, VaultEvent, evm, u64_word};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

use super::BASE_USDC;

alloy::sol! {
    /// `DepositParams` v3 exactly as `contracts/src/libraries/DepositParamsLib.sol` declares it
    /// (`/work/notes/issue20-design.md` section 1), for alloy's independent `abi.encode`.
    struct SolDepositParams {
        bytes32 sessionId;
        uint256 toChainId;
        bytes32 toToken;
        bytes32 toAddress;
        uint256 amount;
        uint256 minAmount;
        bytes finalCall;
        bytes32 refundAddress;
        bytes32 solanaRefundAddress;
        uint64 expiresAt;
    }
}

fn sol(p: &DepositParams) -> SolDepositParams {
    use alloy::primitives::{B256, Bytes, U256};
    SolDepositParams {
        sessionId: B256::from(p.session_id),
        toChainId: U256::from_be_bytes(p.to_chain_id),
        toToken: B256::from(p.to_token),
        toAddress: B256::from(p.to_address),
        amount: U256::from_be_bytes(p.amount),
        minAmount: U256::from_be_bytes(p.min_amount),
        finalCall: Bytes::from(p.final_call.clone()),
        refundAddress: B256::from(p.refund_address),
        solanaRefundAddress: B256::from(p.solana_refund_address),
        expiresAt: p.expires_at,
    }
}

/// Params whose every field differs from every other (a swapped field changes the bytes).
fn distinct(final_call: Vec<u8>) -> DepositParams {
    DepositParams {
        session_id: [0x11; 32],
        to_chain_id: u64_word(8453),
        to_token: evm::word(&BASE_USDC),
        to_address: u64_word(0xd0d0),
        amount: u64_word(10_000_000),
        min_amount: u64_word(9_990_000),
        final_call,
        refund_address: u64_word(0xbeef),
        solana_refund_address: [0x5a; 32],
        expires_at: 1_700_003_600,
    }
}

#[test]
fn the_abi_encoding_is_soliditys_for_deposit_params_v3() {
    use alloy::sol_types::SolValue;
    let mut cases = vec![];
    for len in [0usize, 1, 4, 31, 32, 33, 36, 100] {
        cases.push(distinct((0..len).map(|i| i as u8 ^ 0xa5).collect()));
    }
    cases.push(DepositParams {
        to_chain_id: [0xff; 32],
        amount: [0xff; 32],
        min_amount: [0xff; 32],
        expires_at: u64::MAX,
        ..distinct(vec![0xff; 64])
    });
    cases.push(DepositParams {
        session_id: [0; 32],
        to_chain_id: [0; 32],
        to_token: [0; 32],
        to_address: [0; 32],
        amount: [0; 32],
        min_amount: [0; 32],
        final_call: vec![],
        refund_address: [0; 32],
        solana_refund_address: [0; 32],
        expires_at: 0,
    });
    for p in &cases {
        let want = sol(p).abi_encode();
        assert_eq!(p.abi_encode(), want, "final call of {} bytes", p.final_call.len());
        assert_eq!(p.hash(), alloy::primitives::keccak256(&want).0);
    }
    // The layout the note fixes: the tuple's offset, ten head words, the `bytes` offset 320 in the 7th.
    let p = &cases[0];
    let bytes = p.abi_encode();
    assert_eq!(bytes.len(), 32 + 10 * 32 + 32);
    assert_eq!(bytes[..32], u64_word(32));
    assert_eq!(bytes[32 + 6 * 32..32 + 7 * 32], u64_word(320));
    assert_eq!(bytes[32 + 5 * 32..32 + 6 * 32], p.min_amount);
    assert_eq!(bytes[32 + 8 * 32..32 + 9 * 32], p.solana_refund_address);
}

#[test]
fn every_field_is_committed() {
    // Attack: params that differ from the vault's in any one field would name the same vault.
    let base = distinct(vec![1, 2, 3]);
    let changed = [
        DepositParams { session_id: [0x12; 32], ..base.clone() },
        DepositParams { to_chain_id: u64_word(1), ..base.clone() },
        DepositParams { to_token: [0x13; 32], ..base.clone() },
        DepositParams { to_address: u64_word(0xd0d1), ..base.clone() },
        DepositParams { amount: u64_word(1), ..base.clone() },
        DepositParams { min_amount: u64_word(1), ..base.clone() },
        DepositParams { final_call: vec![1, 2, 4], ..base.clone() },
        DepositParams { refund_address: u64_word(0xbeee), ..base.clone() },
        DepositParams { solana_refund_address: [0x5b; 32], ..base.clone() },
        DepositParams { expires_at: base.expires_at + 1, ..base.clone() },
    ];
    for p in &changed {
        assert_ne!(p.hash(), base.hash(), "{p:?}");
        assert_ne!(p.vault(), base.vault());
    }
}

#[test]
fn the_params_hash_is_the_contracts_on_the_shared_golden_vectors() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../../contracts/test/fixtures/receivers.json")).unwrap();
    let word = |v: &serde_json::Value| -> [u8; 32] {
        hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap().try_into().unwrap()
    };
    let decimal = |v: &serde_json::Value| -> [u8; 32] {
        alloy::primitives::U256::from_str_radix(v.as_str().unwrap(), 10).unwrap().to_be_bytes()
    };
    let vectors = fixture["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    let v3 = |v: &serde_json::Value| v["params"].get("minAmount").is_some();
    if !vectors.iter().any(v3) {
        // The fixture predates DepositParams v3 (its hashes are of the v2 struct, which no longer exists
        // here). The team regenerates it from Rust once the v3 contracts land (`UPDATE_FIXTURES=1 cargo
        // test -p relayer-evm --test golden_vectors`); until then the encoding is proven against alloy's
        // `abi.encode` (`the_abi_encoding_is_soliditys_for_deposit_params_v3`).
        eprintln!("receivers.json predates DepositParams v3: its vectors are checked once it is regenerated");
        return;
    }
    for v in vectors {
        assert!(v3(v), "{}: a v3 fixture must give minAmount and solanaRefundAddress", v["name"]);
        let p = &v["params"];
        let params = DepositParams {
            session_id: word(&p["sessionId"]),
            to_chain_id: decimal(&p["toChainId"]),
            to_token: word(&p["toToken"]),
            to_address: word(&p["toAddress"]),
            amount: decimal(&p["amount"]),
            min_amount: decimal(&p["minAmount"]),
            final_call: hex::decode(p["finalCall"].as_str().unwrap().trim_start_matches("0x")).unwrap(),
            refund_address: word(&p["refundAddress"]),
            solana_refund_address: word(&p["solanaRefundAddress"]),
            expires_at: p["expiresAt"].as_str().unwrap().parse().unwrap(),
        };
        assert_eq!(params.hash(), word(&v["paramsHash"]), "{}", v["name"]);
    }
}

#[test]
fn the_evm_receiver_is_the_contracts_create2_on_the_shared_golden_vectors() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../../contracts/test/fixtures/receivers.json")).unwrap();
    let bytes = |v: &serde_json::Value| hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let factory: [u8; 20] = bytes(&fixture["deployment"]["factory"]).try_into().unwrap();
    let init: [u8; 32] = bytes(&fixture["deployment"]["receiverInitCodeHash"]).try_into().unwrap();
    for v in fixture["vectors"].as_array().unwrap() {
        let hash: [u8; 32] = bytes(&v["paramsHash"]).try_into().unwrap();
        let receiver = evm::receiver_with(&factory, &init, &hash);
        assert_eq!(receiver.to_vec(), bytes(&v["receiver"]), "{}", v["name"]);
    }
}

#[test]
fn the_bridge_serves_circles_usdc_on_each_cctp_chain_and_nothing_else() {
    use alloy::primitives::address;
    // Independently typed (checksummed) from Circle's USDC address list: a typo in the table fails here.
    let want = [
        (1, 0, address!("A0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")),
        (43114, 1, address!("B97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E")),
        (10, 2, address!("0b2C639c533813f4Aa9D7837CAf62653d097Ff85")),
        (42161, 3, address!("af88d065e77c8cC2239327C5EDb3A432268e5831")),
        (8453, 6, address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")),
        (137, 7, address!("3c499c542cEF5E3811e1192ce70d8cC03d5c3359")),
    ];
    assert_eq!(evm::ROUTES.len(), want.len());
    for (chain, domain, usdc) in want {
        let route = evm::route(&u64_word(chain)).unwrap();
        assert_eq!((route.domain, route.usdc), (domain, usdc.0.0), "chain {chain}");
        assert_eq!(evm::cctp_domain(&u64_word(chain)), Some(domain));
    }
    assert_eq!(evm::cctp_domain(&u64_word(SOLANA_CHAIN_ID)), None);
    assert_eq!(evm::cctp_domain(&u64_word(728126428)), None, "Tron: CCTP does not serve it");
    let mut high = u64_word(8453);
    high[0] = 1;
    assert_eq!(evm::cctp_domain(&high), None, "a uint256 above u64 is no chain id we serve");
    assert_eq!(evm::BRIDGED_MINT.to_string(), "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "Solana USDC");
}

/// The program is built for one cluster's deployment, read from its file (`clusters/<cluster>.toml` or
/// `DEPOSIT_VAULT_CLUSTER_FILE`): what this build compiled in is what that file says, field for field.
/// (`scripts/test` builds it once more for a second, made-up cluster and runs this test there too.)
#[test]
fn the_program_is_built_with_its_clusters_deployment() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(evm::CLUSTER_FILE);
    let file: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let hex = |v: &toml::Value| hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap();
    assert_eq!(file["bridge"].as_str(), Some("cctp-v2"));
    assert_eq!(file["cluster"].as_str(), Some(evm::CLUSTER));
    assert_eq!(evm::BRIDGED_MINT.to_string(), file["usdc_mint"].as_str().unwrap());
    assert_eq!(evm::MESSAGE_TRANSMITTER.to_string(), file["cctp"]["message_transmitter"].as_str().unwrap());
    assert_eq!(
        evm::TOKEN_MESSENGER_MINTER.to_string(),
        file["cctp"]["token_messenger_minter"].as_str().unwrap()
    );
    assert_eq!(vec![evm::CREATE2_PREFIX], hex(&file["evm"]["create2_prefix"]));
    assert_eq!(evm::FACTORY.to_vec(), hex(&file["evm"]["factory"]));
    assert_eq!(evm::RECEIVER_INIT_CODE_HASH.to_vec(), hex(&file["evm"]["receiver_init_code_hash"]));
    let routes = file["routes"].as_array().unwrap();
    assert_eq!(evm::ROUTES.len(), routes.len());
    for (built, written) in evm::ROUTES.iter().zip(routes) {
        assert_eq!(built.chain_id, written["chain_id"].as_integer().unwrap() as u64);
        assert_eq!(built.domain, written["domain"].as_integer().unwrap() as u32);
        assert_eq!(built.usdc.to_vec(), hex(&written["usdc"]));
    }
    // The receiver follows the built deployment, prefix included.
    let hash = [7u8; 32];
    let mut preimage = vec![evm::CREATE2_PREFIX];
    preimage.extend_from_slice(&evm::FACTORY);
    preimage.extend_from_slice(&hash);
    preimage.extend_from_slice(&evm::RECEIVER_INIT_CODE_HASH);
    assert_eq!(evm::receiver(&hash).to_vec(), alloy::primitives::keccak256(&preimage)[12..].to_vec());
}

#[test]
fn refund_targets_follow_the_v3_rules_per_family() {
    let key = Keypair::new().pubkey();
    let other = Keypair::new().pubkey();
    let solana = |to: [u8; 32], solana_refund: [u8; 32], refund: [u8; 32]| DepositParams {
        to_chain_id: u64_word(SOLANA_CHAIN_ID),
        to_address: to,
        refund_address: refund,
        solana_refund_address: solana_refund,
        ..distinct(vec![])
    };
    let base = |to: [u8; 32], solana_refund: [u8; 32], refund: [u8; 32]| DepositParams {
        to_address: to,
        refund_address: refund,
        solana_refund_address: solana_refund,
        ..distinct(vec![])
    };
    let zero = [0u8; 32];
    let padded = u64_word(0xbeef);
    // On Solana: the Solana refund address, else a Solana destination's recipient, else none.
    assert_eq!(solana(other.to_bytes(), key.to_bytes(), zero).solana_refund_target(), Some(key));
    assert_eq!(solana(other.to_bytes(), zero, padded).solana_refund_target(), Some(other));
    assert_eq!(
        solana(other.to_bytes(), padded, zero).solana_refund_target(),
        Some(other),
        "EVM-shaped: unusable"
    );
    assert_eq!(solana(padded, zero, padded).solana_refund_target(), None);
    assert_eq!(base(u64_word(0xd0d0), key.to_bytes(), zero).solana_refund_target(), Some(key));
    assert_eq!(base(u64_word(0xd0d0), zero, padded).solana_refund_target(), None, "an EVM payer's vault");
    // Never an EVM destination's recipient, even when it is not EVM-shaped: it names an account there.
    assert_eq!(base(other.to_bytes(), zero, zero).solana_refund_target(), None);
    // On EVM chains (the router's rules 1 and 2): the EVM refund address, else an EVM `to_address`.
    let evm = |w: u64| Some(evm::address(&u64_word(w)).unwrap());
    assert_eq!(base(u64_word(0xd0d0), zero, padded).evm_refund_target(), evm(0xbeef));
    assert_eq!(base(u64_word(0xd0d0), key.to_bytes(), zero).evm_refund_target(), evm(0xd0d0));
    assert_eq!(solana(other.to_bytes(), key.to_bytes(), padded).evm_refund_target(), evm(0xbeef));
    assert_eq!(solana(other.to_bytes(), key.to_bytes(), zero).evm_refund_target(), None);
    assert_eq!(
        solana(other.to_bytes(), zero, key.to_bytes()).evm_refund_target(),
        None,
        "a key is no EVM address"
    );
}

#[test]
fn the_minimum_is_a_uint256_and_zero_means_none() {
    let with = |min: [u8; 32]| DepositParams { min_amount: min, ..distinct(vec![]) };
    assert!(with([0; 32]).meets_minimum(0));
    assert!(with(u64_word(5)).meets_minimum(5));
    assert!(!with(u64_word(5)).meets_minimum(4));
    assert!(with(u64_word(u64::MAX)).meets_minimum(u64::MAX));
    let mut huge = u64_word(0);
    huge[0] = 1;
    assert!(!with(huge).meets_minimum(u64::MAX), "above any u64 balance");
}

#[test]
fn the_event_layouts_are_what_the_relayer_decodes() {
    // The relayer decodes `VaultEvent` by borsh after an 8-byte discriminator; a changed layout fails here.
    let event = VaultEvent {
        session_id: [1; 32],
        params_hash: [2; 32],
        vault: Pubkey::new_from_array([3; 32]),
        mint: Pubkey::new_from_array([4; 32]),
        to: Pubkey::new_from_array([5; 32]),
        amount: 6,
        rent_to: Pubkey::new_from_array([7; 32]),
        rent: 8,
    };
    let mut bytes = Vec::new();
    event.serialize(&mut bytes).unwrap();
    assert_eq!(bytes.len(), 32 * 6 + 16);
}

#[test]
fn the_program_ids_are_the_ones_anchor_toml_names_and_not_the_published_keypairs() {
    let toml = include_str!("../../../../Anchor.toml");
    let id = |name: &str| -> String {
        let line = toml.lines().find(|l| l.starts_with(&format!("{name} = "))).unwrap();
        line.split('"').nth(1).unwrap().to_owned()
    };
    assert_eq!(id("deposit_vault"), deposit_vault::ID.to_string());
    // The ids whose keypairs were committed (programs/keys/, before issue 20): anyone could deploy there.
    for published in
        ["2dnu8sNDGGAHV6vTNZ7dieMx7Zg6c7PUpbGHGuzzXp1R", "CWD9pZJd7mNZy86embWSJZqY6EGmNk5PawibmUHnGh78"]
    {
        assert_ne!(deposit_vault::ID.to_string(), published);
    }
}
