//! Daimo's own SDK against this server (issue 22): what its client sends is accepted, what it reads is
//! answered in its shapes, and its hosted-flow URL (`/webview`, which `DaimoFrame` loads) serves the
//! checkout page, telling only an allowed parent about the session.

use e2e::{API_KEY, Api, Auth, Chain, DEST, Settings, daimo, session_body};
use reqwest::Method;
use serde_json::{Value, json};

type Result = eyre::Result<()>;

const SHOP: &str = "https://shop.example";

/// Records every message the host page's window receives (what `DaimoFrame` listens to).
const LISTEN: &str = "window.__daimo = []; addEventListener('message', (e) => window.__daimo.push(e.data));";

fn id_of(session: &Value) -> String {
    session["sessionId"].as_str().unwrap_or_default().to_owned()
}

/// A relayer whose checkout may be framed by [`SHOP`] and called from it.
async fn relayer_for_shop(chain: &Chain) -> eyre::Result<(relayer_core::Node, Api, tempfile::TempDir)> {
    let data = tempfile::tempdir()?;
    let (params, key, _) = e2e::relayer_config(chain, data.path().join("db"), &Settings::default()).await?;
    let mut config = relayer_devnet::config(&params, &key)?;
    config.node.browser_origins = vec![reqwest::header::HeaderValue::from_static(SHOP)];
    config.node.checkout.frame_ancestors = vec![SHOP.to_owned()];
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://{}", node.addr));
    Ok((node, api, data))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_requests_daimos_sdk_sends_are_accepted_and_its_refusals_are_typed() -> Result {
    let chain = Chain::start().await?;
    let (node, api, _data) = relayer_for_shop(&chain).await?;
    let choose = |id: String, body: Value| {
        let api = api.clone();
        async move {
            api.json(Method::POST, &format!("/v1/sessions/{id}/paymentMethods"), &body, Auth::None).await
        }
    };

    // The SDK adds `locale` to every payment-method body; it refused every one before.
    let session = api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    let secret = session["clientSecret"].clone();
    let chosen = choose(
        id_of(&session),
        json!({ "clientSecret": secret, "paymentMethod": { "type": "evm" }, "locale": "es" }),
    )
    .await?;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert_eq!(chosen.body["session"]["paymentMethod"]["type"], "evm");
    // Its request id, where the SDK reads it (`request-id`), the same as `x-request-id`.
    assert_eq!(chosen.headers.get("request-id"), chosen.headers.get("x-request-id"));
    assert!(chosen.headers.contains_key("request-id"));

    // The SDK's other types: refused in the shape its `DaimoRequestError` reads, naming what is offered;
    // each changes nothing.
    for method in [
        json!({ "type": "exchange", "exchangeId": "Coinbase", "amountUsd": 10, "platform": "desktop" }),
        json!({ "type": "stripe", "amountUsd": 10 }),
        json!({ "type": "fiat", "fiatMethod": "sepa" }),
    ] {
        let open = api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
        let body = json!({ "clientSecret": open["clientSecret"], "paymentMethod": method, "locale": "en" });
        let refused = choose(id_of(&open), body).await?;
        let error = &refused.body["error"];
        assert_eq!(
            (refused.status, error["type"].as_str(), error["code"].as_str(), error["param"].as_str()),
            (
                400,
                Some("invalid_request_error"),
                Some("unsupported_payment_method"),
                Some("paymentMethod.type")
            ),
            "{method}: {}",
            refused.body
        );
        assert!(error["message"].as_str().is_some_and(|m| m.ends_with("it offers evm")), "{}", refused.body);
        assert_eq!(api.get(&id_of(&open)).await?["status"], "requires_payment_method");
    }

    // `check` takes a Tron transaction id as the session shows it (bare hex) as well as 0x-prefixed.
    for hash in ["ab".repeat(32), format!("0x{}", "ab".repeat(32))] {
        let hint = api
            .json(
                Method::PUT,
                &format!("/v1/sessions/{}/check", id_of(&session)),
                &json!({ "clientSecret": secret, "txHash": hash }),
                Auth::None,
            )
            .await?;
        assert_eq!(hint.status, 200, "{hash}: {}", hint.body);
    }

    // `tokenOptions`: `requiredUnits` is always a string (an open amount shows the least that starts the
    // session), and nothing the SDK's `TokenOption` lacks.
    let open = api.create(&session_body(DEST, None, None, None)).await?;
    let listed = api
        .send(
            Method::GET,
            &format!(
                "/v1/sessions/{}/tokenOptions?evmAddress={DEST}&clientSecret={}",
                id_of(&open),
                open["clientSecret"].as_str().unwrap_or_default()
            ),
            None,
            None,
            Auth::None,
        )
        .await?;
    assert_eq!(listed.status, 200, "{}", listed.body);
    for option in listed.body["options"].as_array().cloned().unwrap_or_default() {
        assert!(option["requiredUnits"].is_string(), "{option}");
        let mut keys: Vec<&str> =
            option.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["balanceUnits", "chainId", "requiredUnits", "tokenAddress", "tokenSymbol"],
            "{option}"
        );
    }

    // A browser page on the shop's origin may send the SDK's version header.
    let preflight = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/v1/sessions/{}/paymentMethods", api.base, id_of(&session)))
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-sdk-version")
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers().get("access-control-allow-headers").and_then(|v| v.to_str().ok());
    assert!(allowed.is_some_and(|h| h.to_ascii_lowercase().contains("x-sdk-version")), "{allowed:?}");
    node.shutdown().await;
    Ok(())
}

/// `GET /webview` is the checkout page at Daimo's hosted-flow URL; the page names a parent origin to
/// post to only when the deployment lets that origin frame it.
#[tokio::test(flavor = "multi_thread")]
async fn the_webview_url_serves_the_checkout_and_names_only_an_allowed_parent() -> Result {
    let chain = Chain::start().await?;
    let (node, api, _data) = relayer_for_shop(&chain).await?;
    let session = api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let (id, secret) = (id_of(&session), session["clientSecret"].as_str().unwrap_or_default().to_owned());
    let page = |query: String| {
        let api = api.clone();
        async move { api.send(Method::GET, &format!("/webview?{query}"), None, None, Auth::None).await }
    };
    let config = |html: &str| -> eyre::Result<Value> {
        let start = html.find("id=\"checkout-config\">").ok_or_else(|| eyre::eyre!("no config"))? + 21;
        let end = start + html[start..].find("</script>").ok_or_else(|| eyre::eyre!("unterminated"))?;
        Ok(serde_json::from_str(&html[start..end])?)
    };
    let framed =
        page(format!("session={id}&cs={secret}&layout=embed&parentOrigin={SHOP}&locale=es&theme=dark"))
            .await?;
    assert_eq!(framed.status, 200, "{}", framed.text);
    assert!(framed.text.contains("data-layout=\"embed\""));
    assert_eq!(config(&framed.text)?["parentOrigin"], SHOP);
    let policy =
        framed.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(policy.ends_with(&format!("frame-ancestors {SHOP}")), "{policy}");
    // An origin the deployment does not let frame the page is told nothing (it could not frame it anyway).
    for other in ["https://evil.example", "null", "*", "https://shop.example.evil.example"] {
        let answer = page(format!("session={id}&cs={secret}&parentOrigin={}", urlencode(other))).await?;
        assert_eq!(answer.status, 200);
        assert_eq!(config(&answer.text)?["parentOrigin"], Value::Null, "{other}");
    }
    // The same credentials as `/checkout/{id}`.
    assert_eq!(page(format!("session={id}&cs={}", "0".repeat(32))).await?.status, 401);
    assert_eq!(page(format!("session={}&cs={secret}", "0".repeat(32))).await?.status, 404);
    assert_eq!(page(format!("cs={secret}")).await?.status, 404);
    let alias =
        api.send(Method::GET, &format!("/checkout/{id}?cs={secret}"), None, None, Auth::Key(API_KEY)).await?;
    assert_eq!(alias.status, 200);
    node.shutdown().await;
    Ok(())
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Polls `check` through Daimo's client until the session is `succeeded`; returns every answer.
async fn check_until_succeeded(base: &str, id: &str, secret: &Value, what: &str) -> eyre::Result<Vec<Value>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut answers = vec![];
    loop {
        let args = json!({ "sessionId": id, "input": { "clientSecret": secret } });
        let answer = daimo::client(base, "check", &args).await?.map_err(|e| eyre::eyre!("check: {e}"))?;
        let done = answer["session"]["status"] == "succeeded";
        answers.push(answer);
        if done {
            return Ok(answers);
        }
        eyre::ensure!(std::time::Instant::now() < deadline, "{what}: paid but not delivered: {answers:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Daimo's published client (`createDaimoClient` from `@daimo/sdk` 1.7.0) drives sessions on the devnet
/// from payment method to delivery, for EVM, Tron and Solana, and every answer it got type-checks
/// against the SDK's own `.d.ts`.
#[tokio::test(flavor = "multi_thread")]
async fn daimos_client_pays_evm_tron_and_solana_sessions_and_its_types_accept_every_answer() -> Result {
    let dir = tempfile::tempdir()?;
    let devnet = relayer_devnet::Devnet::start(dir.path(), 0, 0).await?;
    let (api, key) = (Api::new(devnet.info.api_url.clone()), devnet.info.api_key.clone());
    let base = devnet.info.api_url.clone();
    let solana = devnet.info.solana.clone().ok_or_else(|| eyre::eyre!("the devnet runs Solana"))?;
    let mut answers: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    let usdt = relayer_devnet::multichain::BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    let mut usdt_session = session_body(DEST, Some("10.00"), None, None);
    usdt_session["destination"]["tokenAddress"] = usdt.to_checksum(None).into();
    let solana_session = json!({
        "destination": { "type": "solana", "address": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
            "tokenAddress": solana.usdc, "amountUnits": "10.00" },
        "display": { "title": "Deposit to Acme", "verb": "Deposit" }
    });
    let cases = [
        ("evm", session_body(DEST, Some("10.00"), None, None), json!({ "type": "evm" })),
        // `amountUsd` as the SDK types it: a number.
        ("tron", usdt_session, json!({ "type": "tron", "amountUsd": 10 })),
        (
            "solana",
            solana_session,
            json!({ "type": "solana", "walletAddress": solana.payer, "inputTokenMint": solana.usdc, "amountUsd": 10 }),
        ),
    ];
    for (family, body, method) in cases {
        // Sessions are created server-side with the API key (the client has no create).
        let session = api.create_with(&key, &body).await?;
        let (id, secret) = (id_of(&session), session["clientSecret"].clone());
        let retrieved = daimo::client(&base, "retrieve", &json!({ "sessionId": id })).await?;
        let retrieved = retrieved.map_err(|e| eyre::eyre!("{family}: retrieve: {e}"))?;
        assert_eq!(retrieved["session"]["status"], "requires_payment_method");
        answers.entry("RetrieveSessionResponse").or_default().push(retrieved);
        let args = json!({ "sessionId": id, "input": { "clientSecret": secret, "paymentMethod": method } });
        let chosen = daimo::client(&base, "paymentMethods.create", &args).await?;
        let chosen = chosen.map_err(|e| eyre::eyre!("{family}: paymentMethods.create: {e}"))?;
        assert_eq!(chosen["session"]["status"], "waiting_payment", "{chosen}");
        match family {
            "evm" => {
                let receiver =
                    chosen["session"]["paymentMethod"]["receiverAddress"].as_str().unwrap_or_default();
                relayer_devnet::pay(&devnet.info, "base", Some("usdc"), receiver.parse()?, "10.00").await?;
            }
            "tron" => {
                let link = &chosen["tron"]["deeplinks"]["trustWallet"];
                assert_eq!(link["label"], "USDT on Tron", "{chosen}");
                assert!(link["url"].as_str().is_some_and(|u| u.contains("amount=10.00")), "{chosen}");
                let receiver: relayer_types::ChainAddress =
                    format!("tron:{}", chosen["tron"]["receiverAddress"].as_str().unwrap_or_default())
                        .parse()?;
                let receiver = receiver.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?;
                relayer_devnet::pay(&devnet.info, "tron", None, receiver, "10.00").await?;
            }
            _ => {
                let serialized = chosen["solana"]["serializedTx"].as_str().unwrap_or_default();
                relayer_devnet::solana::pay(&solana.rpc_url, serialized).await?;
            }
        }
        answers.entry("CreatePaymentMethodResponse").or_default().push(chosen);
        let checked = check_until_succeeded(&base, &id, &secret, family).await?;
        let done = checked.last().cloned().unwrap_or_default();
        assert_eq!(done["session"]["destination"]["delivery"]["receivedUnits"], "10.00", "{done}");
        answers.entry("CheckSessionResponse").or_default().extend(checked);
        let input =
            json!({ "clientSecret": secret, "evmAddress": DEST.to_string(), "solanaAddress": solana.payer });
        let options =
            daimo::client(&base, "tokenOptions.list", &json!({ "sessionId": id, "input": input })).await?;
        answers.entry("TokenOptionsResponse").or_default().push(options.map_err(|e| eyre::eyre!("{e}"))?);
    }
    daimo::typecheck(&serde_json::to_value(&answers)?).await?;

    // A type this deployment does not offer reaches the client as its typed error, with our request id.
    let session = api.create_with(&key, &session_body(DEST, Some("1.00"), None, None)).await?;
    let args = json!({ "sessionId": id_of(&session), "input": {
        "clientSecret": session["clientSecret"], "paymentMethod": { "type": "stripe", "amountUsd": 1 } } });
    let refused = daimo::client(&base, "paymentMethods.create", &args).await?;
    let error = refused.err().ok_or_else(|| eyre::eyre!("stripe was accepted"))?;
    assert_eq!(
        (error["status"].as_u64(), error["type"].as_str(), error["code"].as_str(), error["param"].as_str()),
        (
            Some(400),
            Some("invalid_request_error"),
            Some("unsupported_payment_method"),
            Some("paymentMethod.type")
        ),
        "{error}"
    );
    assert!(error["requestId"].as_str().is_some_and(|r| r.starts_with("req_")), "{error}");
    devnet.stop("test").await;
    Ok(())
}

/// Daimo's `DaimoFrame`, on a host page of its own origin, pointed at this relayer with `baseUrl`: the
/// frame loads and sizes itself, a devnet payment fires the component's `onPaymentStarted` and
/// `onPaymentCompleted`, and a host the deployment does not let frame the page hears nothing.
#[tokio::test(flavor = "multi_thread")]
async fn daimos_frame_loads_sizes_itself_and_reports_a_payment_to_an_allowed_host_only() -> Result {
    let chain = Chain::start().await?;
    let (host, stranger) = (daimo::FrameHost::start().await?, daimo::FrameHost::start().await?);
    let data = tempfile::tempdir()?;
    let (params, key, _) = e2e::relayer_config(&chain, data.path().join("db"), &Settings::default()).await?;
    let mut config = relayer_devnet::config(&params, &key)?;
    config.node.checkout.frame_ancestors = vec![host.origin()];
    let node = relayer_node::start(config).await?;
    let api = Api::new(format!("http://{}", node.addr));
    let browser = e2e::browser::Browser::launch().await?;

    let session = api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    let (id, secret) = (id_of(&session), session["clientSecret"].as_str().unwrap_or_default().to_owned());
    let mut page = browser.page(1280, 900, false, false, LISTEN).await?;
    page.goto(&host.page(&api.base, &id, &secret)).await?;
    // Loaded: the component shows the frame once the page reported a height (it gives up after 15 s).
    page.wait_for("window.daimoFrameHeight && window.daimoFrameHeight() > 100", 30).await?;
    assert_eq!(page.eval("window.daimoFrameError()").await?, false);

    // The payer's deposit, seen by the page in the frame, reaches the host's callbacks.
    let receiver = api.set_evm(&session).await?;
    chain.pay(receiver, e2e::usdc(10)).await?;
    page.wait_for("window.daimoEvents.includes('paymentCompleted')", 60).await?;
    assert_eq!(page.eval("window.daimoEvents").await?, json!(["paymentStarted", "paymentCompleted"]));
    // Sized by the content: the frame is as tall as the page last said (after the component's 0.2 s
    // animation), and every message is in Daimo's envelope.
    page.wait_for(
        "(() => { const h = window.__daimo.filter(m => m.type === 'contentHeightChanged').pop(); \
         return h && Math.abs(window.daimoFrameHeight() - h.payload.height) < 1; })()",
        10,
    )
    .await?;
    let envelopes =
        page.eval("window.__daimo.every(m => m.source === 'daimo-pay' && m.version === 1)").await?;
    assert_eq!(envelopes, true, "{}", page.eval("JSON.stringify(window.__daimo)").await?);

    // A host the deployment does not let frame the page: the browser refuses the frame, nothing is
    // posted to it, and the component gives up.
    let other = api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let mut page = browser.page(1280, 900, false, false, LISTEN).await?;
    page.goto(&stranger.page(&api.base, &id_of(&other), other["clientSecret"].as_str().unwrap_or_default()))
        .await?;
    page.wait_for("window.daimoFrameError && window.daimoFrameError()", 30).await?;
    assert_eq!(page.eval("window.daimoEvents").await?, json!([]));
    assert_eq!(page.eval("window.__daimo").await?, json!([]), "no message reached the host");
    node.shutdown().await;
    Ok(())
}
