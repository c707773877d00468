use relayer_evm::config::{TierConfig, TokenConfig};

use super::*;

#[test]
fn a_serialized_config_file_reads_back_as_the_same_config() {
    let mut chain = ChainConfig::new(
        8453,
        "Base",
        "http://127.0.0.1:8545",
        alloy::primitives::Address::repeat_byte(0xaa),
        vec![TokenConfig {
            confirmation_tiers: vec![TierConfig { at_least: "10000.5".into(), confirmations: 12 }],
            ..TokenConfig::new(alloy::primitives::Address::repeat_byte(0x83), "USDC", 6)
        }],
    );
    chain.start_block = Some(0);
    let file = ConfigFile {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: "/tmp/relayer \"quoted\" dir".into(),
        store: Some(StoreSection { url: "env:DATABASE_URL".into(), lease_secs: Some(9) }),
        session_lifetime_secs: 60,
        log_format: LogFormat::Json,
        auth: AuthSection {
            api_key_sha256: vec!["ab".repeat(32)],
            metrics_token_sha256: None,
            browser_origins: vec![],
        },
        signer: SignerSection {
            private_key: Some("env:K".into()),
            keystore: None,
            password: None,
            address: None,
            ..Default::default()
        },
        retry: RetrySection::default(),
        executor: ExecutorSection::default(),
        webhooks: WebhooksSection::default(),
        checkout: CheckoutSection::default(),
        chains: vec![
            ChainSection::Evm(chain.clone()),
            ChainSection::Tron(relayer_tron::config::TronChainConfig {
                chain: ChainConfig {
                    chain_id: 728_126_428,
                    factory: Some(alloy::primitives::Address::repeat_byte(0xf1)),
                    receiver_implementation: Some(alloy::primitives::Address::repeat_byte(0xf2)),
                    executor_implementation: Some(alloy::primitives::Address::repeat_byte(0xf3)),
                    ..chain
                },
                node: relayer_tron::config::TronNodeConfig::new("http://127.0.0.1:8090", "50"),
            }),
            ChainSection::Solana(relayer_svm::config::SolanaSection {
                rpc_url: "http://127.0.0.1:8899".into(),
                rpc_timeout_ms: 10_000,
                poll_interval_ms: 1_000,
                lag_budget_slots: 150,
                private_key: "env:S".into(),
                tokens: vec![relayer_svm::config::SolanaToken {
                    mint: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v".into(),
                    symbol: "USDC".into(),
                    decimals: 6,
                    min_open_amount: None,
                }],
                routes: vec![],
                min_inbox_amount: None,
                commitment: relayer_svm::client::Confirmation::Confirmed,
                priority_fee_percentile: 90,
                max_priority_fee_micro_lamports: 500_000,
                compute_unit_margin_percent: 15,
                min_sol_balance: Some("0.5".into()),
                max_daily_fees: Some("2".into()),
                costly_fee: Some("0.01".into()),
                attestation_url: Some("http://127.0.0.1:9".into()),
            }),
        ],
    };
    let text = toml::to_string(&file).expect("serialize");
    let read: ConfigFile = toml::from_str(&text).expect("parse");
    assert_eq!(read, file, "{text}");
    let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    let env = |name: &str| {
        Some(match name {
            "S" => super::tests::SOL_KEY.into(),
            "DATABASE_URL" => "postgres://relayer@db/relayer".into(),
            _ => key.into(),
        })
    };
    let config = Config::parse(&text, env).expect("valid");
    assert_eq!(
        config.chains.iter().map(|c| c.family).collect::<Vec<_>>(),
        [relayer_types::Family::Evm, relayer_types::Family::Tron]
    );
    assert!(config.solana.is_some(), "{text}");
    assert_eq!(config.chains[0].start_block, Some(0));
    assert_eq!(config.node.engine.session_lifetime, Duration::from_secs(60));
}
