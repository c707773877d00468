//! Where the relayer's key comes from, end to end: the real relayer binary, its config file, a real anvil.

use e2e::{Api, Chain, DEST, Settings, session_body, usdc};

type Result = eyre::Result<()>;

/// A keystore go-ethereum wrote (`accounts/keystore/testdata/keystore/aaa`; password `foobar`).
const GETH_KEYSTORE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../relayer/node/tests/fixtures/geth-scrypt.json");
const GETH_ADDRESS: &str = "0xf466859ead1932d743d622cb74fc058882e8648a";

/// The relayer started with its key in a JSON keystore (written by geth, not by us) and the password in
/// a file delivers a session: the delivery is signed by the keystore's account. Started with the wrong
/// password, it refuses to start and says why, without the password.
#[tokio::test(flavor = "multi_thread")]
async fn a_relayer_whose_key_is_in_a_keystore_delivers() -> Result {
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut params, _, _) = e2e::relayer_config(&chain, dir.path().join("db"), &Settings::default()).await?;
    let signer: alloy::primitives::Address = GETH_ADDRESS.parse()?;
    chain.fund(signer).await?;
    params.port = e2e::free_port()?;
    let password = dir.path().join("password");
    let mut file = relayer_devnet::config_file(&params);
    file.signer = relayer_node::config::SignerSection {
        private_key: None,
        keystore: Some(GETH_KEYSTORE.into()),
        password: Some(format!("file:{}", password.display())),
        address: Some(signer),
    };
    let config = dir.path().join("relayer.toml");
    std::fs::write(&config, toml::to_string(&file)?)?;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));
    let api = Api::new(format!("http://127.0.0.1:{}", params.port));
    let log = dir.path().join("relayer.log");

    std::fs::write(&password, "not-the-password\n")?;
    let refused = tokio::process::Command::new(bin).args(["run", "--config"]).arg(&config).output().await?;
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a wrong password stops the start");
    assert!(said.contains("signer.keystore") && said.contains("wrong password"), "{said}");
    assert!(!said.contains("not-the-password"), "the password is never shown: {said}");

    std::fs::write(&password, "foobar\n")?;
    let _relayer = e2e::spawn_relayer_with(bin, &config, &[], &log, &api).await?;
    let session = api.create(&session_body(DEST, Some("3.00"), None, None)).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let receiver = api.set_evm(&session).await?;
    chain.pay(receiver, usdc(3)).await?;
    api.wait_for(&id, "succeeded", 60).await?;
    assert_eq!(chain.balance(DEST).await?, usdc(3), "delivered");
    assert_eq!(chain.nonce(signer, false).await?, 1, "signed by the keystore's account");
    Ok(())
}
