use super::*;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// A throwaway Solana keypair (base58 of its 64 bytes), as `solana-keygen` users paste it.
pub(super) const SOL_KEY: &str =
    "3ntviafDnYSbEApUotm2u9mHKXRbB2eaLhpeQbE4BZEm968FLATiLKfjjteFTowZKUeiANMm5i74BoBD4jtSifVa";

fn config(extra_chain: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
data_dir = "/tmp/x"
[auth]
api_key_sha256 = ["{hash}"]
[signer]
private_key = "env:RELAYER_KEY"
[[chains]]
family = "evm"
chain_id = 8453
name = "Base"
rpc_url = "http://127.0.0.1:8545"
router = "0x00000000000000000000000000000000000000aa"
tokens = [{{ address = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", symbol = "USDC", decimals = 6 }}]
{extra_chain}
"#,
        hash = "ab".repeat(32)
    )
}

fn env(name: &str) -> Option<String> {
    (name == "RELAYER_KEY").then(|| KEY.to_string())
}

fn error_of(text: &str) -> String {
    match Config::parse(text, env) {
        Ok(_) => panic!("config should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_documented_example_loads() {
    let source = include_str!("../config.rs");
    let start = source.find("//! ```toml\n").expect("example") + "//! ```toml\n".len();
    let end = start + source[start..].find("//! ```\n").expect("end of example");
    let example: String = source[start..end]
        .lines()
        .map(|l| l.strip_prefix("//! ").or_else(|| l.strip_prefix("//!")).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("<64 hex chars: sha256 of an API key, see `relayer hash-key`>", &"ab".repeat(32));
    let env = |name: &str| match name {
        "RELAYER_PRIVATE_KEY" => Some(KEY.to_string()),
        "RELAYER_SOLANA_KEY" => Some(SOL_KEY.to_string()),
        "DATABASE_URL" => Some("postgres://relayer:pw@db.internal/relayer".to_string()),
        _ => None,
    };
    let c = Config::parse(&example, env).expect("the README's config example is valid");
    assert!(matches!(c.store, StoreLocation::Postgres(..)), "the example stores in PostgreSQL");
    assert!(c.solana.is_some(), "Solana is configured");
    assert_eq!(c.chains.len(), 2);
    assert_eq!(c.chains[1].routes.len(), 1, "Arbitrum routes USDC to Base");
    assert_eq!(c.chains[0].front_caps.len(), 1, "Base fronts USDC");
    let solana = c.solana.as_ref().map(|s| s.chain.landing.spending);
    let limits =
        relayer_chain::SpendingLimits { daily_cap: Some(500_000_000), costly_above: Some(10_000_000) };
    assert_eq!(solana, Some(limits), "Solana's daily fee cap is in SOL, counted in lamports");
}

/// `[store] url`: sled in a folder, or PostgreSQL at the URL an environment variable holds. The URL
/// carries a password: a URL written in the file is refused, and neither errors nor `Debug` show it.
#[test]
fn the_store_is_sled_by_default_or_postgres_from_the_environment() {
    let sled = Config::parse(&config(""), env).expect("valid");
    assert!(matches!(&sled.store, StoreLocation::Sled(p) if p == std::path::Path::new("/tmp/x")));
    let named = Config::parse(&(config("") + "[store]\nurl = \"sled:/var/relayer\"\n"), env).expect("valid");
    assert!(matches!(&named.store, StoreLocation::Sled(p) if p == std::path::Path::new("/var/relayer")));
    let with_db = |value: &'static str| {
        move |name: &str| if name == "DB" { Some(value.to_string()) } else { env(name) }
    };
    let postgres = config("") + "[store]\nurl = \"env:DB\"\n";
    let c = Config::parse(&postgres, with_db("postgres://relayer:hunter2@db/relayer")).expect("valid");
    assert!(
        matches!(&c.store, StoreLocation::Postgres(url, lease) if *lease == Duration::from_secs(15) && url.expose() == "postgres://relayer:hunter2@db/relayer")
    );
    assert!(!format!("{c:?}").contains("hunter2"), "Debug must not print the URL");
    for (store, env_value, expected) in [
        ("url = \"postgres://relayer:hunter2@db/relayer\"", "", "must be `sled:FOLDER` or `env:VARIABLE`"),
        ("url = \"env:NOPE\"", "", "environment variable NOPE is not set"),
        ("url = \"env:DB\"", "mysql://relayer:hunter2@db", "DB must hold a postgres:// or postgresql:// URL"),
        ("url = \"sled:\"", "", "sled: needs a folder"),
    ] {
        let text = config("") + "[store]\n" + store + "\n";
        let error = match Config::parse(&text, with_db(if env_value.is_empty() { "x" } else { env_value })) {
            Ok(_) => panic!("{store} should be refused"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("store.url") && error.contains(expected), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}

#[test]
fn a_valid_config_loads_with_defaults() {
    let c = Config::parse(&config(""), env).expect("valid");
    assert_eq!(c.node.engine.session_lifetime, Duration::from_secs(3600));
    assert_eq!(c.node.engine.retry, RetryPolicy::default());
    assert_eq!(c.chains[0].confirmations, 1);
    assert_eq!(c.chains[0].tokens[0].chain_name, "Base");
    assert!(!format!("{c:?}").contains("ac0974"), "Debug must not print the key");
    assert_eq!(c.node.webhooks.egress, Egress::default(), "webhooks reach only public addresses");
    let internal = Config::parse(&(config("") + "[webhooks]\nallow_private_networks = true\n"), env);
    assert_eq!(internal.expect("valid").node.webhooks.egress, Egress { loopback: false, private: true });
}

#[test]
fn confirmation_tiers_are_parsed_with_the_tokens_decimals() {
    let text = config("").replace(
            "decimals = 6 }",
            "decimals = 6, confirmation_tiers = [{ at_least = \"1000\", confirmations = 6 }, { at_least = \"50000.5\", confirmations = 20 }] }",
        );
    let c = Config::parse(&text, env).expect("valid");
    let spec = &c.chains[0];
    let usdc = &spec.tokens[0].address;
    let other = relayer_types::ChainAddress::Evm(alloy::primitives::Address::repeat_byte(1));
    let units = |n: u64| alloy::primitives::U256::from(n);
    for (token, amount, want) in [
        (usdc, units(999_999_999), 1),
        (usdc, units(1_000_000_000), 6),
        (usdc, units(50_000_499_999), 6),
        (usdc, units(50_000_500_000), 20),
        (&other, units(u64::MAX), 1),
    ] {
        assert_eq!(spec.confirmations_for(token, amount), want, "{token} {amount}");
    }
}

#[test]
fn a_tron_chain_has_its_own_router_and_base58_tokens() {
    let without_http = "[[chains]]\nfamily = \"tron\"\nchain_id = 728126428\nname = \"Tron\"\nrpc_url = \"http://x\"\nrouter = \"0x00000000000000000000000000000000000000bb\"\ntokens = []";
    // Sent to through its node's HTTP API: a Tron entry without one is refused, naming it.
    let refused = Config::parse(&config(without_http), env).expect_err("no HTTP API");
    assert!(refused.to_string().contains("http_url"), "{refused}");
    let tron = "[[chains]]\nfamily = \"tron\"\nchain_id = 728126428\nname = \"Tron\"\nrpc_url = \"http://x\"\nhttp_url = \"http://x:8090\"\nfee_limit_trx = \"40\"\nmax_daily_fees = \"100\"\ncostly_fee = \"30\"\nrouter = \"0x00000000000000000000000000000000000000bb\"\ntokens = [{ address = \"0xa614f803b6fd780986a42c78ec9c7f77e6ded13c\", symbol = \"USDT\", decimals = 6 }]";
    // TVM's CREATE derives the factory and implementations from the deploying transaction: they are
    // configured, never derived from the router as on EVM chains.
    let refused = Config::parse(&config(tron), env).expect_err("a Tron deployment needs its addresses");
    assert!(refused.to_string().contains("chains[1].factory"), "{refused}");
    let addresses = "\nfactory = \"0x00000000000000000000000000000000000000f1\"\nreceiver_implementation = \"0x00000000000000000000000000000000000000f2\"\nexecutor_implementation = \"0x00000000000000000000000000000000000000f3\"";
    let tron = tron.replace("\ntokens =", &format!("{addresses}\ntokens ="));
    let c =
        Config::parse(&config(&tron), env).expect("a Tron chain beside an EVM one, each family its router");
    assert_eq!(c.chains[1].family, relayer_types::Family::Tron);
    assert_eq!(c.chains[1].tokens[0].address.to_string(), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    let deployment = c.chains[1].deployment;
    assert_eq!((deployment.prefix, deployment.factory), (0x41, relayer_types::Address::with_last_byte(0xf1)));
    assert_eq!(c.chains[0].deployment.prefix, 0xff, "the EVM chain's own deployment");
    let sending = c.tron.get(&728_126_428).expect("Tron is sent to through its HTTP API");
    assert_eq!((sending.node.url.as_str(), sending.fees.ceiling_sun), ("http://x:8090/", 40_000_000));
    assert!(!c.tron.contains_key(&c.chains[0].chain_id), "the EVM chain sends as an EVM chain");
    assert_eq!(
        c.chains[1].spending,
        relayer_chain::SpendingLimits { daily_cap: Some(100_000_000), costly_above: Some(30_000_000) },
        "Tron's daily fee cap is in TRX, counted in sun"
    );
}

#[test]
fn errors_name_the_offending_field() {
    let cases = [
        (config("").replace("decimals = 6", "decimals = 77"), "chains[0].tokens[0].decimals"),
        (config("").replace("env:RELAYER_KEY", "env:MISSING"), "environment variable MISSING is not set"),
        (config("").replace("env:RELAYER_KEY", KEY), "signer.private_key"),
        (config("").replace("http://127.0.0.1:8545", "ftp://x"), "chains[0].rpc_url"),
        (config("").replace(&"ab".repeat(32), "xyz"), "auth.api_key_sha256[0]"),
        (
            config("").replace("api_key_sha256 = [", "metrics_token_sha256 = \"12\"\napi_key_sha256 = ["),
            "auth.metrics_token_sha256",
        ),
        (
            config("").replace("api_key_sha256 = [", "browser_origins = [\"*\"]\napi_key_sha256 = ["),
            "auth.browser_origins[0]",
        ),
        (
            config("").replace(
                "api_key_sha256 = [",
                "browser_origins = [\"https://shop.example/pay\"]\napi_key_sha256 = [",
            ),
            "auth.browser_origins[0]",
        ),
        (
            config("").replace("name = \"Base\"", "name = \"Base\"\nconfirmations = 0"),
            "chains[0].confirmations",
        ),
        (
            config("").replace("router = \"0x00000000000000000000000000000000000000aa\"\n", ""),
            "missing field `router`",
        ),
        (config("").replace("listen", "lisen"), "unknown field `lisen`"),
        // Out-of-range tuning is refused with the field named, never silently clamped.
        (
            config("").replace("name = \"Base\"", "name = \"Base\"\npoll_interval_ms = 0"),
            "chains[0].poll_interval_ms: must be at least 10, got 0",
        ),
        (
            config("").replace("name = \"Base\"", "name = \"Base\"\nmax_block_range = 0"),
            "chains[0].max_block_range: must be at least 1, got 0",
        ),
        (
            config("").replace("name = \"Base\"", "name = \"Base\"\nrpc_timeout_ms = 5"),
            "chains[0].rpc_timeout_ms: must be at least 100, got 5",
        ),
        (config("") + "[webhooks]\ntimeout_ms = 5\n", "webhooks.timeout_ms: must be from 100 to 120000"),
        (config("") + "[webhooks]\nretry_schedule_ms = [1000, 0]\n", "webhooks.retry_schedule_ms[1]"),
        (config("") + "[webhooks]\nmax_in_flight = 0\n", "webhooks.max_in_flight"),
        (
            config("") + "[checkout]\nframe_ancestors = [\"https://shop.example/pay\"]\n",
            "checkout.frame_ancestors[0]",
        ),
        (config("") + "[checkout]\nframe_ancestors = [\"*\"]\n", "checkout.frame_ancestors[0]"),
        // Read by the CSP as a wildcard, and as the end of the directive.
        (
            config("") + "[checkout]\nframe_ancestors = [\"https://*.shop.example\"]\n",
            "checkout.frame_ancestors[0]",
        ),
        (
            config("")
                + "[checkout]\nframe_ancestors = [\"https://ok.example\", \"https://a;script-src:*\"]\n",
            "checkout.frame_ancestors[1]",
        ),
        (
            config("") + "[executor]\nbump_after_secs = 0\n",
            "executor.bump_after_secs: must be at least 1, got 0",
        ),
        (
            config("") + "[executor]\npoll_interval_ms = 1\n",
            "executor.poll_interval_ms: must be at least 10, got 1",
        ),
        (config("") + "[executor]\nmax_in_flight = 0\n", "executor.max_in_flight: must be at least 1, got 0"),
        (config("") + "[retry]\nmax_attempts = 0\n", "retry.max_attempts: must be at least 1, got 0"),
        (
            // An EVM chain's fields under a Solana entry: the Solana section refuses them.
            config("").replace("family = \"evm\"", "family = \"solana\""),
            "unknown field `chain_id`",
        ),
        (config("").replace("family = \"evm\"", "family = \"bitcoin\""), "unknown variant `bitcoin`"),
        (config("").replace("family = \"evm\"\n", ""), "every [[chains]] entry names its family"),
        (
            config("") + "[solana]\nrpc_url = \"http://x\"\n",
            "is now a [[chains]] entry with family = \"solana\"",
        ),
        (config("") + "[retry]\nfirst_delay_ms = 1\n", "retry.first_delay_ms: must be at least 10, got 1"),
        (
            config("").replace("listen = ", "session_lifetime_secs = 0\nlisten = "),
            "session_lifetime_secs: must be at least 1, got 0",
        ),
        (
            config(
                "[[chains]]\nfamily = \"evm\"\nchain_id = 1\nname = \"Ethereum\"\nrpc_url = \"http://x\"\nrouter = \"0x00000000000000000000000000000000000000bb\"\ntokens = [{ address = \"0x00000000000000000000000000000000000000cc\", symbol = \"USDC\", decimals = 6 }]",
            ),
            "chains[1].router",
        ),
    ];
    let tier = |t: &str| {
        config("").replace("decimals = 6 }", &format!("decimals = 6, confirmation_tiers = [{t}] }}"))
    };
    let cases = cases.into_iter().chain([
            (
                tier("{ at_least = \"1000.0000001\", confirmations = 12 }"),
                "chains[0].tokens[0].confirmation_tiers[0].at_least",
            ),
            (
                tier("{ at_least = \"10\", confirmations = 12 }, { at_least = \"-1\", confirmations = 20 }"),
                "chains[0].tokens[0].confirmation_tiers[1].at_least",
            ),
            (
                tier("{ at_least = \"1000\", confirmations = 1 }"),
                "chains[0].tokens[0].confirmation_tiers[0].confirmations: must be more than the chain's confirmations (1)",
            ),
        ]);
    for (text, needle) in cases {
        let message = error_of(&text);
        assert!(message.contains(needle), "{message:?} should mention {needle:?}");
    }
}

#[test]
fn a_solana_section_adds_the_cluster_and_its_key_is_read_from_the_environment() {
    let solana = "[[chains]]\nfamily = \"solana\"\nrpc_url = \"http://127.0.0.1:8899\"\nprivate_key = \"env:SOL_KEY\"\ntokens = [{ mint = \"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\", symbol = \"USDC\", decimals = 6 }]";
    let sol = SOL_KEY.to_owned();
    assert!(relayer_svm::config::parse_keypair(&sol).is_some());
    let env = |name: &str| match name {
        "RELAYER_KEY" => Some(KEY.to_owned()),
        "SOL_KEY" => Some(sol.clone()),
        _ => None,
    };
    let c = Config::parse(&format!("{}\n{solana}", config("")), env).expect("valid");
    let spec = c.solana.as_ref().expect("solana");
    assert_eq!(spec.chain.chain_id, 501);
    assert_eq!(spec.chain.tokens[0].address.to_string(), "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
    assert!(!format!("{c:?}").contains(&sol), "the Solana key is never printed");
    let missing =
        Config::parse(&format!("{}\n{solana}", config("")), |n| (n == "RELAYER_KEY").then(|| KEY.to_owned()));
    assert!(matches!(missing, Err(ConfigError::Field(f)) if f.field == "chains[1].private_key"));
    let twice = Config::parse(&format!("{}\n{solana}\n{solana}", config("")), env);
    assert!(
        matches!(&twice, Err(ConfigError::Field(f)) if f.field == "chains[2]"),
        "one Solana cluster: {:?}",
        twice.err()
    );
    // The program (built for the devnet here) bridges to receivers of the devnet's deployment; a chain it
    // bridges to with another deployment stops the node from starting (the devnet's e2e tests start
    // nodes whose deployment matches).
    let base = Config::parse(&format!("{}\n{solana}", config("")), env).expect("valid");
    let refused = crate::config::vault_deployment_matches(&base.chains, &[]).expect_err("another deployment");
    assert!(refused.to_string().contains("bridges to receivers of factory"), "{refused}");
    // A Solana route to a chain the program does not bridge to (Base Sepolia: a testnet relayer's
    // config against a program built for another cluster), even with no such chain configured.
    assert!(crate::config::vault_deployment_matches(&[], &[8453]).is_ok());
    let refused =
        crate::config::vault_deployment_matches(&[], &[84532]).expect_err("another cluster's route");
    assert!(refused.to_string().contains("a route to chain 84532"), "{refused}");
}

/// `[signer]` with a keystore: the config with `extra` lines in place of the raw key's.
fn with_signer(signer: &str) -> String {
    config("").replace("private_key = \"env:RELAYER_KEY\"", signer)
}

/// Keystores another implementation wrote (see `tests/fixtures/README.md`).
fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_keystore_is_decrypted_with_its_password_from_the_environment_or_a_file() {
    let pbkdf2_key = "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
    let pbkdf2_address = pbkdf2_key.parse::<PrivateKeySigner>().expect("key").address();
    let dir = tempfile::tempdir().expect("tempdir");
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "testpassword\n").expect("write");
    let env = |name: &str| (name == "KEYSTORE_PASSWORD").then(|| "foobar".to_owned());
    for (keystore, password, address) in [
        (
            fixture("geth-scrypt.json"),
            "env:KEYSTORE_PASSWORD".to_owned(),
            "0xf466859ead1932d743d622cb74fc058882e8648a".parse().expect("address"),
        ),
        (fixture("web3-pbkdf2.json"), format!("file:{}", password_file.display()), pbkdf2_address),
    ] {
        let signer = format!("keystore = \"{keystore}\"\npassword = \"{password}\"\naddress = \"{address}\"");
        let c = Config::parse(&with_signer(&signer), env).expect("the keystore opens");
        assert_eq!(c.signer.address(), address, "{keystore}");
    }
}

#[test]
fn a_keystore_that_cannot_be_opened_is_refused_without_showing_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"crypto\": 1}").expect("write");
    let env = |name: &str| match name {
        "PW" => Some("hunter2-not-it".to_owned()),
        "RELAYER_KEY" => Some(KEY.to_owned()),
        _ => None,
    };
    let refused = |signer: String| match Config::parse(&with_signer(&signer), env) {
        Ok(_) => panic!("{signer} should be refused"),
        Err(e) => e.to_string(),
    };
    let scrypt = fixture("geth-scrypt.json");
    let wrong = refused(format!("keystore = \"{scrypt}\"\npassword = \"env:PW\""));
    assert!(wrong.contains("signer.keystore") && wrong.contains("wrong password"), "{wrong}");
    assert!(!wrong.contains("hunter2"), "the password is never shown: {wrong}");
    let damaged = refused(format!("keystore = \"{}\"\npassword = \"env:PW\"", corrupt.display()));
    assert!(damaged.contains("is not a Web3 Secret Storage v3 keystore"), "{damaged}");
    // Key derivations that would take the machine's memory or hours are refused before they start.
    let geth = std::fs::read_to_string(&scrypt).expect("fixture");
    for (hostile, why) in [
        (geth.replace("\"n\":8,", "\"n\":4294967296,"), "asks for scrypt beyond"),
        (geth.replace("\"p\":16,", "\"p\":1048576,"), "asks for scrypt beyond"),
        (geth.replace("\"dklen\":32", "\"dklen\":16"), "another length than 32"),
        (geth.replace("aes-128-ctr", "aes-256-cbc"), "is not a Web3 Secret Storage v3 keystore"),
        (geth.replace("dfd9ee70812add5f4b8f89d0811c9158", "dfd9"), "of the wrong length"),
        // The decryption picks PBKDF2 wherever its parameters are, whatever `kdf` says.
        (
            geth.replace("\"salt\"", "\"c\":4294967295,\"prf\":\"hmac-sha256\",\"salt\""),
            "of another derivation",
        ),
        (
            std::fs::read_to_string(fixture("web3-pbkdf2.json"))
                .expect("fixture")
                .replace("262144", "4294967295"),
            "PBKDF2",
        ),
    ] {
        let path = dir.path().join("hostile.json");
        std::fs::write(&path, hostile).expect("write");
        let said = refused(format!("keystore = \"{}\"\npassword = \"env:PW\"", path.display()));
        assert!(said.contains(why), "{why}: {said}");
    }
    let endless = refused(format!("keystore = \"{scrypt}\"\npassword = \"file:/dev/zero\""));
    assert!(endless.contains("is not a regular file"), "{endless}");
    let missing = refused("keystore = \"/nonexistent/key.json\"\npassword = \"env:PW\"".to_owned());
    assert!(missing.contains("/nonexistent/key.json cannot be read"), "{missing}");
    let no_password = refused(format!("keystore = \"{scrypt}\""));
    assert!(no_password.contains("signer.password: is required"), "{no_password}");
    let unset = refused(format!("keystore = \"{scrypt}\"\npassword = \"env:UNSET\""));
    assert!(unset.contains("UNSET is not set"), "{unset}");
    let inline = refused(format!("keystore = \"{scrypt}\"\npassword = \"testpassword\""));
    assert!(inline.contains("env:VARIABLE` or `file:PATH"), "a password written in the file: {inline}");
    let both = refused(format!("private_key = \"env:RELAYER_KEY\"\nkeystore = \"{scrypt}\""));
    assert!(both.contains("not both"), "{both}");
    let stray = refused("private_key = \"env:RELAYER_KEY\"\npassword = \"env:PW\"".to_owned());
    assert!(stray.contains("goes with signer.keystore"), "{stray}");
    let other = "0x0000000000000000000000000000000000000001";
    let mismatch = refused(format!("private_key = \"env:RELAYER_KEY\"\naddress = \"{other}\""));
    assert!(mismatch.contains("signer.address") && mismatch.contains(other), "{mismatch}");
}

#[test]
fn a_kms_key_needs_the_address_its_signatures_must_recover_to_and_nothing_of_the_other_backends() {
    let env = |name: &str| (name == "PW").then(|| "pw".to_owned());
    let account = "0x00000000000000000000000000000000000000a1";
    let kms = format!("aws_kms_key = \"alias/relayer\"\naddress = \"{account}\"");
    let c = Config::parse(
        &with_signer(&format!(
            "{kms}\naws_region = \"eu-west-1\"\naws_endpoint_url = \"https://kms.example\""
        )),
        env,
    )
    .expect("a KMS key");
    assert_eq!(c.signer.address(), account.parse::<alloy::primitives::Address>().expect("address"));
    let KeySpec::AwsKms(key) = &c.signer else { panic!("{:?}", c.signer) };
    assert_eq!(
        (key.key_id.as_str(), key.region.as_deref(), key.endpoint_url.as_deref()),
        ("alias/relayer", Some("eu-west-1"), Some("https://kms.example"))
    );
    for (signer, why) in [
        ("aws_kms_key = \"alias/relayer\"".to_owned(), "signer.address: is required with signer.aws_kms_key"),
        (
            format!("{kms}\nprivate_key = \"env:PW\""),
            "give one of private_key, keystore, aws_kms_key or gcp_kms_key",
        ),
        (format!("{kms}\npassword = \"env:PW\""), "signer.password: goes with signer.keystore"),
        (
            format!("{kms}\naws_endpoint_url = \"kms.example\""),
            "signer.aws_endpoint_url: must be an http(s) URL",
        ),
        (format!("aws_kms_key = \" \"\naddress = \"{account}\""), "signer.aws_kms_key: must be a key id"),
        ("private_key = \"env:PW\"\naws_region = \"eu-west-1\"".to_owned(), "signer.aws_region: goes with"),
        (
            "private_key = \"env:PW\"\naws_endpoint_url = \"https://kms.example\"".to_owned(),
            "signer.aws_endpoint_url: goes with",
        ),
    ] {
        match Config::parse(&with_signer(&signer), env) {
            Ok(_) => panic!("{signer} should be refused"),
            Err(e) => assert!(e.to_string().contains(why), "{why}: {e}"),
        }
    }
}

/// `gcp_kms_key`: a Cloud KMS key version by its full resource name, with the account it must sign for;
/// each mistake is refused naming the field.
#[test]
fn a_cloud_kms_key_is_read_from_its_resource_name_and_needs_its_address() {
    let account = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let name = "projects/p-1/locations/europe-west1/keyRings/relayer/cryptoKeys/evm/cryptoKeyVersions/3";
    let gcp = format!("gcp_kms_key = \"{name}\"\naddress = \"{account}\"");
    let c = Config::parse(&with_signer(&format!("{gcp}\ngcp_endpoint_url = \"https://kms.example\"")), env)
        .expect("a Cloud KMS key");
    let KeySpec::GcpKms(key) = &c.signer else { panic!("{:?}", c.signer) };
    assert_eq!(
        (key.project.as_str(), key.location.as_str(), key.key_ring.as_str(), key.key.as_str(), key.version),
        ("p-1", "europe-west1", "relayer", "evm", 3)
    );
    assert_eq!(key.endpoint_url.as_deref(), Some("https://kms.example"));
    let malformed =
        "signer.gcp_kms_key: must be projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V";
    for (signer, why) in [
        (format!("gcp_kms_key = \"{name}\""), "signer.address: is required with signer.gcp_kms_key"),
        (format!("gcp_kms_key = \"{}\"\naddress = \"{account}\"", name.replace("/3", "/0")), malformed),
        (
            format!(
                "gcp_kms_key = \"{}\"\naddress = \"{account}\"",
                name.replace("/cryptoKeyVersions/3", "")
            ),
            malformed,
        ),
        (format!("gcp_kms_key = \"{}\"\naddress = \"{account}\"", name.replace("p-1", "p/1")), malformed),
        (
            format!("{gcp}\naws_kms_key = \"alias/x\""),
            "give one of private_key, keystore, aws_kms_key or gcp_kms_key",
        ),
        (format!("{gcp}\naws_region = \"eu-west-1\""), "signer.aws_region: goes with signer.aws_kms_key"),
        (format!("{gcp}\ngcp_endpoint_url = \"kms\""), "signer.gcp_endpoint_url: must be an http(s) URL"),
        (
            format!("{gcp}\ngcp_endpoint_url = \"http://kms.example\""),
            "signer.gcp_endpoint_url: must be https",
        ),
        (
            format!("{gcp}\ngcp_endpoint_url = \"https://kms.example/v1\""),
            "signer.gcp_endpoint_url: must be a scheme and host",
        ),
        (
            "private_key = \"env:PW\"\ngcp_endpoint_url = \"https://x\"".to_owned(),
            "signer.gcp_endpoint_url: goes with",
        ),
    ] {
        match Config::parse(&with_signer(&signer), env) {
            Ok(_) => panic!("{signer} should be refused"),
            Err(e) => assert!(e.to_string().contains(why), "{why}: {e}"),
        }
    }
}

#[test]
fn retiring_keys_are_resolved_like_the_current_one_and_each_is_another_account() {
    const OLD: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let env = |name: &str| match name {
        "RELAYER_KEY" => Some(KEY.to_owned()),
        "OLD_KEY" | "OLD_KEY_AGAIN" => Some(OLD.to_owned()),
        _ => None,
    };
    let retiring = |entries: &[&str]| {
        let tables: String = entries.iter().map(|e| format!("[[signer.retiring]]\n{e}\n")).collect();
        config("").replace("[[chains]]", &format!("{tables}[[chains]]"))
    };
    let c = Config::parse(&retiring(&["private_key = \"env:OLD_KEY\""]), env).expect("one retiring key");
    let old: PrivateKeySigner = OLD.parse().expect("key");
    assert_eq!(c.retiring.iter().map(KeySpec::address).collect::<Vec<_>>(), vec![old.address()]);
    for (entries, why) in [
        (vec!["private_key = \"env:RELAYER_KEY\""], "signer.retiring[0]: 0xf39F"),
        (
            vec!["private_key = \"env:OLD_KEY\"", "private_key = \"env:OLD_KEY_AGAIN\""],
            "signer.retiring[1]: 0x70997970",
        ),
        (
            vec!["private_key = \"env:MISSING\""],
            "signer.retiring[0].private_key: environment variable MISSING",
        ),
        (vec!["aws_kms_key = \"alias/old\""], "signer.retiring[0].address: is required"),
        (
            vec![
                "private_key = \"env:OLD_KEY\"\n[[signer.retiring.retiring]]\nprivate_key = \"env:OLD_KEY_AGAIN\"",
            ],
            "signer.retiring[0].retiring: only [signer] has other keys",
        ),
    ] {
        match Config::parse(&retiring(&entries), env) {
            Ok(_) => panic!("{entries:?} should be refused"),
            Err(e) => assert!(e.to_string().contains(why), "{why}: {e}"),
        }
    }
}

/// `[signer.inventory]` is resolved like `[signer]`, its errors name it, and it is another account than
/// the signer and every retiring key (one key in two roles would be sent by two executors, racing each
/// other's nonces).
#[test]
fn an_inventory_key_is_resolved_like_the_signer_and_is_another_account() {
    const INVENTORY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let env = |name: &str| match name {
        "RELAYER_KEY" => Some(KEY.to_owned()),
        "INVENTORY_KEY" => Some(INVENTORY.to_owned()),
        _ => None,
    };
    let with = |tables: &str| config("").replace("[[chains]]", &format!("{tables}\n[[chains]]"));
    let c =
        Config::parse(&with("[signer.inventory]\nprivate_key = \"env:INVENTORY_KEY\""), env).expect("config");
    let inventory: PrivateKeySigner = INVENTORY.parse().expect("key");
    assert_eq!(c.inventory.as_ref().map(KeySpec::address), Some(inventory.address()));
    assert!(format!("{c:?}").contains(&format!("{:?}", inventory.address())), "Debug names the account");
    assert!(!format!("{c:?}").contains(&INVENTORY[2..]), "never the key");
    assert!(Config::parse(&config(""), env).expect("config").inventory.is_none(), "the signer fronts");
    for (tables, why) in [
        ("[signer.inventory]\nprivate_key = \"env:RELAYER_KEY\"", "signer.inventory: 0xf39F"),
        (
            "[signer.inventory]\nprivate_key = \"env:MISSING\"",
            "signer.inventory.private_key: environment variable MISSING",
        ),
        ("[signer.inventory]\naws_kms_key = \"alias/inventory\"", "signer.inventory.address: is required"),
        ("[signer.inventory]\n", "signer.inventory: needs private_key, keystore or aws_kms_key"),
        (
            "[signer.inventory]\nprivate_key = \"env:INVENTORY_KEY\"\n[[signer.retiring]]\nprivate_key = \"env:INVENTORY_KEY\"",
            "signer.retiring[0]: 0x70997970",
        ),
        (
            "[signer.inventory]\nprivate_key = \"env:INVENTORY_KEY\"\n[[signer.inventory.retiring]]\nprivate_key = \"env:RELAYER_KEY\"",
            "signer.inventory.retiring: only [signer] has other keys",
        ),
    ] {
        match Config::parse(&with(tables), env) {
            Ok(_) => panic!("{tables} should be refused"),
            Err(e) => assert!(e.to_string().contains(why), "{why}: {e}"),
        }
    }
}

#[test]
fn an_evm_chains_native_balance_floor_is_read_in_gwei_and_only_on_evm_chains() {
    let c =
        Config::parse(&config("").replace("tokens = [", "min_native_balance = \"0.05\"\ntokens = ["), env)
            .expect("config");
    assert_eq!(c.chains[0].min_native_gwei, 50_000_000);
    assert_eq!(
        Config::parse(&config(""), env).expect("config").chains[0].min_native_gwei,
        0,
        "no floor by default"
    );
    let fine =
        error_of(&config("").replace("tokens = [", "min_native_balance = \"0.0000000001\"\ntokens = ["));
    assert!(fine.contains("chains[0].min_native_balance"), "{fine}");
}

#[test]
fn an_evm_chains_daily_fee_cap_and_costly_fee_are_read_in_gwei() {
    let limits = "max_daily_fees = \"0.5\"\ncostly_fee = \"0.001\"\ntokens = [";
    let c = Config::parse(&config("").replace("tokens = [", limits), env).expect("config");
    assert_eq!(
        c.chains[0].spending,
        relayer_chain::SpendingLimits { daily_cap: Some(500_000_000), costly_above: Some(1_000_000) }
    );
    assert_eq!(Config::parse(&config(""), env).expect("config").chains[0].spending, Default::default());
    let fine = error_of(&config("").replace("tokens = [", "max_daily_fees = \"1.0000000001\"\ntokens = ["));
    assert!(fine.contains("chains[0].max_daily_fees"), "{fine}");
    let negative = error_of(&config("").replace("tokens = [", "costly_fee = \"-1\"\ntokens = ["));
    assert!(negative.contains("chains[0].costly_fee"), "{negative}");
    let zero = error_of(&config("").replace("tokens = [", "max_daily_fees = \"0\"\ntokens = ["));
    assert!(zero.contains("chains[0].max_daily_fees: must be above 0"), "{zero}");
}
