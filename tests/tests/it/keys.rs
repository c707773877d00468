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
        ..Default::default()
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
    delivers_one_session_as(&chain, &api, signer).await
}

/// A session paid to the running relayer behind `api` is delivered, in a transaction `signer` signed
/// (its first).
async fn delivers_one_session_as(chain: &Chain, api: &Api, signer: alloy::primitives::Address) -> Result {
    let session = api.create(&session_body(DEST, Some("3.00"), None, None)).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let receiver = api.set_evm(&session).await?;
    chain.pay(receiver, usdc(3)).await?;
    api.wait_for(&id, "succeeded", 60).await?;
    assert_eq!(chain.balance(DEST).await?, usdc(3), "delivered");
    assert_eq!(chain.nonce(signer, false).await?, 1, "signed by the configured account");
    Ok(())
}

/// A KMS-compatible server: moto's KMS (pinned in scripts/kms-requirements.txt, installed by
/// scripts/tools.sh) run by tests/kms-server.py, which makes it sign a `DIGEST` as AWS does. Stops
/// when dropped.
struct Kms {
    url: String,
    client: aws_sdk_kms::Client,
    _server: tokio::process::Child,
}

impl Kms {
    async fn start() -> eyre::Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".venv/kms/bin/python");
        eyre::ensure!(
            python.exists(),
            "the KMS server is not installed: run `bash scripts/tools.sh` (scripts/test does)"
        );
        let port = e2e::free_port()?;
        let mut server = tokio::process::Command::new(python)
            .arg(root.join("tests/kms-server.py"))
            .args(["127.0.0.1", &port.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = server.stdout.take().ok_or_else(|| eyre::eyre!("no stdout"))?;
        let mut line = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await??;
        eyre::ensure!(line.contains("kms listening"), "the KMS server did not start: {line:?}");
        let url = format!("http://127.0.0.1:{port}");
        let config = aws_sdk_kms::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_kms::config::Region::new(REGION))
            .endpoint_url(&url)
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "tests",
            ))
            .build();
        Ok(Self { url, client: aws_sdk_kms::Client::from_conf(config), _server: server })
    }

    /// A new secp256k1 key for `usage`: its id and its Ethereum address (from its public key).
    async fn create_key(
        &self,
        usage: aws_sdk_kms::types::KeyUsageType,
    ) -> eyre::Result<(String, alloy::primitives::Address)> {
        let created = self
            .client
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::EccSecgP256K1)
            .key_usage(usage)
            .send()
            .await?;
        let id =
            created.key_metadata().map(|m| m.key_id().to_owned()).ok_or_else(|| eyre::eyre!("no key id"))?;
        let signer = alloy::signers::aws::AwsSigner::new(self.client.clone(), id.clone(), None).await?;
        Ok((id, alloy::signers::Signer::address(&signer)))
    }
}

const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "AKIDKMSTESTS";
const SECRET_KEY: &str = "kms-tests-secret";

/// The relayer whose key lives in a KMS-compatible server (AWS's API, a secp256k1 key that never leaves
/// it) delivers a session, signed by the KMS key's account. Started with an address the key does not
/// have, or a key the server does not hold, it refuses to start and names the field; the AWS secret
/// is never shown. An inventory key it cannot use does not stop it: fronting is off, and it says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_relayer_whose_key_is_in_a_kms_delivers() -> Result {
    let kms = Kms::start().await?;
    use aws_sdk_kms::types::KeyUsageType;
    let (key_id, signer) = kms.create_key(KeyUsageType::SignVerify).await?;
    let (_, someone_else) = kms.create_key(KeyUsageType::SignVerify).await?;
    let (unusable, unusable_account) = kms.create_key(KeyUsageType::KeyAgreement).await?;
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut params, _, _) = e2e::relayer_config(&chain, dir.path().join("db"), &Settings::default()).await?;
    chain.fund(signer).await?;
    params.port = e2e::free_port()?;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));
    let api = Api::new(format!("http://127.0.0.1:{}", params.port));
    let config = dir.path().join("relayer.toml");
    let write = |key: &str, address| -> eyre::Result<()> {
        let mut file = relayer_devnet::config_file(&params);
        file.signer = relayer_node::config::SignerSection {
            aws_kms_key: Some(key.to_owned()),
            aws_region: Some(REGION.into()),
            aws_endpoint_url: Some(kms.url.clone()),
            address: Some(address),
            ..Default::default()
        };
        Ok(std::fs::write(&config, toml::to_string(&file)?)?)
    };
    let credentials = [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)];
    let refusal = async |key: &str, address| -> eyre::Result<String> {
        write(key, address)?;
        let run = tokio::process::Command::new(bin)
            .args(["run", "--config"])
            .arg(&config)
            .envs(credentials)
            .output()
            .await?;
        eyre::ensure!(!run.status.success(), "started with {key} as {address}");
        let said = String::from_utf8_lossy(&run.stderr).into_owned();
        eyre::ensure!(!said.contains(SECRET_KEY), "the AWS secret is never shown: {said}");
        Ok(said)
    };

    let wrong_account = refusal(&key_id, someone_else).await?;
    assert!(wrong_account.contains("signer.address") && wrong_account.contains(&key_id), "{wrong_account}");
    let missing = refusal("4f1b7a0e-0000-4000-8000-000000000000", signer).await?;
    // Its public key can be read, but it cannot sign: refused at the start, not at every send.
    let cannot_sign = refusal(&unusable, unusable_account).await?;
    assert!(cannot_sign.contains("signer.aws_kms_key: cannot sign"), "{cannot_sign}");
    assert!(missing.contains("signer.aws_kms_key"), "{missing}");

    // With a fronting cap, and an inventory key the server does not hold: the relayer starts all the same
    // (a KMS outage of the inventory key must not stop deliveries and refunds), with fronting off, and
    // says why.
    let mut file = relayer_devnet::config_file(&relayer_devnet::ConfigParams {
        front_cap: Some("100".into()),
        ..params.clone()
    });
    let kms_key = |key: &str, address| relayer_node::config::SignerSection {
        aws_kms_key: Some(key.to_owned()),
        aws_region: Some(REGION.into()),
        aws_endpoint_url: Some(kms.url.clone()),
        address: Some(address),
        ..Default::default()
    };
    file.signer = kms_key(&key_id, signer);
    file.signer.inventory = Some(Box::new(kms_key("4f1b7a0e-0000-4000-8000-000000000001", someone_else)));
    std::fs::write(&config, toml::to_string(&file)?)?;
    let _relayer =
        e2e::spawn_relayer_with(bin, &config, &credentials, &dir.path().join("relayer.log"), &api).await?;
    delivers_one_session_as(&chain, &api, signer).await?;
    let log = std::fs::read_to_string(dir.path().join("relayer.log"))?;
    assert!(log.contains("aws-kms") && !log.contains(SECRET_KEY), "the AWS secret is never logged");
    assert!(
        log.contains("the inventory key cannot be used") && log.contains("signer.inventory.aws_kms_key"),
        "{log}"
    );
    let metrics = reqwest::get(format!("{}/metrics", api.base)).await?.text().await?;
    let off = format!("relayer_fronting_off{{chain_id=\"{}\"}} 1", chain.desc.chain_id);
    assert!(metrics.contains(&off), "fronting is off, and says so:\n{metrics}");
    Ok(())
}

/// The relayer whose key lives in Google Cloud KMS (through `alloy-signer-gcp`, its gRPC API, a service
/// account's OAuth token) delivers a session signed by that key. Started with an address the key does
/// not have, or a key version the service does not hold, it refuses to start and names the field. The
/// service is a stand-in (Google ships no KMS emulator): see [`CloudKms`].
#[tokio::test(flavor = "multi_thread")]
async fn a_relayer_whose_key_is_in_cloud_kms_delivers() -> Result {
    let name = "projects/relayer-tests/locations/global/keyRings/relayer/cryptoKeys/evm/cryptoKeyVersions/1";
    let kms = CloudKms::start(name).await?;
    let chain = Chain::start().await?;
    let dir = tempfile::tempdir()?;
    let (mut params, _, _) = e2e::relayer_config(&chain, dir.path().join("db"), &Settings::default()).await?;
    chain.fund(kms.address).await?;
    params.port = e2e::free_port()?;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_relayer-under-test"));
    let api = Api::new(format!("http://127.0.0.1:{}", params.port));
    let config = dir.path().join("relayer.toml");
    let credentials = kms.credentials(dir.path())?;
    let credentials = [("GOOGLE_APPLICATION_CREDENTIALS", credentials.to_string_lossy().into_owned())];
    let write = |key: &str, address| -> eyre::Result<()> {
        let mut file = relayer_devnet::config_file(&params);
        file.signer = relayer_node::config::SignerSection {
            gcp_kms_key: Some(key.to_owned()),
            gcp_endpoint_url: Some(kms.url.clone()),
            address: Some(address),
            ..Default::default()
        };
        Ok(std::fs::write(&config, toml::to_string(&file)?)?)
    };
    let refusal = async |key: &str, address| -> eyre::Result<String> {
        write(key, address)?;
        let run = tokio::process::Command::new(bin)
            .args(["run", "--config"])
            .arg(&config)
            .envs(credentials.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .await?;
        eyre::ensure!(!run.status.success(), "started with {key} as {address}");
        Ok(String::from_utf8_lossy(&run.stderr).into_owned())
    };
    let someone_else = alloy::primitives::Address::repeat_byte(0x5e);
    let wrong_account = refusal(name, someone_else).await?;
    assert!(wrong_account.contains("signer.address") && wrong_account.contains("is not"), "{wrong_account}");
    let missing = refusal(&name.replace("Versions/1", "Versions/2"), kms.address).await?;
    assert!(missing.contains("signer.gcp_kms_key: cannot read the key's public key"), "{missing}");

    write(name, kms.address)?;
    let env: Vec<(&str, &str)> = credentials.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _relayer = e2e::spawn_relayer_with(bin, &config, &env, &dir.path().join("relayer.log"), &api).await?;
    delivers_one_session_as(&chain, &api, kms.address).await?;
    let log = std::fs::read_to_string(dir.path().join("relayer.log"))?;
    for secret in ["BEGIN PRIVATE KEY", GCP_TOKEN] {
        assert!(log.contains("gcp-kms") && !log.contains(secret), "the credentials are never logged");
        assert!(!wrong_account.contains(secret) && !missing.contains(secret), "nor shown: {secret}");
    }
    Ok(())
}

/// A Cloud KMS stand-in: Google's gRPC API (`GetPublicKey`, `AsymmetricSign`) for one secp256k1 key
/// version it holds, over HTTP/2 without TLS, and the OAuth token endpoint a service account's
/// credentials name (`token_uri`). Google offers no KMS emulator; this answers exactly as Cloud KMS
/// documents (PEM public key, DER signature of the digest as given, gRPC status in the trailers), and
/// refuses calls without the bearer token it issued or for another key.
struct CloudKms {
    url: String,
    address: alloy::primitives::Address,
    _server: tokio::task::JoinHandle<()>,
}

const GCP_TOKEN: &str = "cloud-kms-test-token";

impl CloudKms {
    async fn start(key_name: &str) -> eyre::Result<Self> {
        use alloy::signers::k256::ecdsa::SigningKey;
        let signing = SigningKey::random(&mut alloy::signers::k256::elliptic_curve::rand_core::OsRng);
        let address = alloy::signers::utils::public_key_to_address(signing.verifying_key());
        let state = std::sync::Arc::new((signing, key_name.to_owned()));
        let app = axum::Router::new()
            // A service account's JWT-bearer grant, as Google's token endpoint takes it.
            .route("/token", axum::routing::post(|body: String| async move {
                let grant = body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
                    && body.contains("assertion=ey");
                if !grant {
                    return Err(axum::http::StatusCode::BAD_REQUEST);
                }
                Ok(axum::Json(
                    serde_json::json!({ "access_token": GCP_TOKEN, "expires_in": 3600, "token_type": "Bearer" }),
                ))
            }))
            .route("/google.cloud.kms.v1.KeyManagementService/{method}", axum::routing::post(grpc))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, address, _server: server })
    }

    /// A service account whose token endpoint is this server's, in `dir`.
    fn credentials(&self, dir: &std::path::Path) -> eyre::Result<std::path::PathBuf> {
        let key = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/gcp-test-service-account.pem"
        ))?;
        let account = serde_json::json!({
            "type": "service_account",
            "project_id": "relayer-tests",
            "private_key_id": "test",
            "private_key": key,
            "client_email": "relayer@relayer-tests.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": format!("{}/token", self.url),
        });
        let path = dir.join("gcp-credentials.json");
        std::fs::write(&path, account.to_string())?;
        Ok(path)
    }
}

type KmsState = std::sync::Arc<(alloy::signers::k256::ecdsa::SigningKey, String)>;

/// One gRPC call: a 5-byte frame header then the message, answered the same way, status in trailers.
async fn grpc(
    axum::extract::State(state): axum::extract::State<KmsState>,
    axum::extract::Path(method): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
) -> axum::response::Response {
    use alloy::signers::gcp::gcloud_sdk::google::cloud::kms::v1 as kms;
    use prost::Message;
    let (signing, key_name) = (&state.0, &state.1);
    let message = body.get(5..).unwrap_or_default();
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {GCP_TOKEN}"));
    let answer: std::result::Result<Vec<u8>, (u32, &str)> = if !authorized {
        Err((16, "unauthenticated"))
    } else {
        match method.as_str() {
            "GetPublicKey" => match kms::GetPublicKeyRequest::decode(message) {
                Ok(request) if request.name == *key_name => {
                    use alloy::signers::k256::pkcs8::EncodePublicKey;
                    let pem = signing
                        .verifying_key()
                        .to_public_key_pem(alloy::signers::k256::pkcs8::LineEnding::LF)
                        .unwrap_or_default();
                    let algorithm = kms::crypto_key_version::CryptoKeyVersionAlgorithm::EcSignSecp256k1Sha256;
                    Ok(kms::PublicKey {
                        pem,
                        algorithm: algorithm as i32,
                        name: request.name,
                        ..Default::default()
                    }
                    .encode_to_vec())
                }
                Ok(_) => Err((5, "no such key version")),
                Err(_) => Err((3, "bad request")),
            },
            "AsymmetricSign" => match kms::AsymmetricSignRequest::decode(message) {
                Ok(request) if request.name == *key_name => {
                    let digest = request.digest.and_then(|d| d.digest).and_then(|d| match d {
                        kms::digest::Digest::Sha256(bytes) => Some(bytes),
                        _ => None,
                    });
                    match digest.map(|d| signing.sign_prehash_recoverable(&d)) {
                        Some(Ok((signature, _))) => Ok(kms::AsymmetricSignResponse {
                            signature: signature.to_der().as_bytes().to_vec(),
                            name: request.name,
                            ..Default::default()
                        }
                        .encode_to_vec()),
                        _ => Err((3, "a SHA-256-sized digest is required")),
                    }
                }
                Ok(_) => Err((5, "no such key version")),
                Err(_) => Err((3, "bad request")),
            },
            _ => Err((12, "unimplemented")),
        }
    };
    let (status, reason, payload) = match answer {
        Ok(payload) => (0, "", payload),
        Err((status, reason)) => (status, reason, vec![]),
    };
    let mut frames: Vec<std::result::Result<http_body::Frame<bytes::Bytes>, std::convert::Infallible>> =
        vec![];
    if status == 0 {
        let mut framed = vec![0u8];
        framed.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_be_bytes());
        framed.extend_from_slice(&payload);
        frames.push(Ok(http_body::Frame::data(bytes::Bytes::from(framed))));
    }
    let mut trailers = axum::http::HeaderMap::new();
    trailers.insert("grpc-status", status.to_string().parse().expect("status"));
    if !reason.is_empty() {
        trailers.insert("grpc-message", reason.parse().expect("reason"));
    }
    frames.push(Ok(http_body::Frame::trailers(trailers)));
    let body = http_body_util::StreamBody::new(futures::stream::iter(frames));
    axum::response::Response::builder()
        .header("content-type", "application/grpc")
        .body(axum::body::Body::new(body))
        .expect("response")
}
