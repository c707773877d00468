//! The served OpenAPI document against real responses: every route, success and error answers, from
//! a real relayer over real HTTP, each validated (JSON Schema 2020-12) against the schema the document
//! declares for that route and status. The document is generated from the handlers' own types, so this
//! fails the moment the two drift apart.

use e2e::{API_KEY, Api, Auth, Chain, DEST, Relayer, Settings, conforms, session_body, usdc};
use reqwest::Method;
use serde_json::{Value, json};

type Result = eyre::Result<()>;

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_as_the_served_document_says() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let api: &Api = &relayer.api;
    let served = api.send(Method::GET, "/openapi.json", None, None, Auth::None).await?;
    assert_eq!(served.status, 200);
    let doc = served.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "OpenAPI 3.1: {}", doc["openapi"]);

    let sessions = "/v1/sessions";
    let one = "/v1/sessions/{id}";
    let pm = "/v1/sessions/{id}/paymentMethods";
    let check = "/v1/sessions/{id}/check";

    // Create: 201, 400 (invalid; and cannot be done: a Solana destination), 401.
    let created = api
        .json(Method::POST, sessions, &session_body(DEST, Some("5.00"), None, None), Auth::Key(API_KEY))
        .await?;
    assert_eq!(created.status, 201);
    conforms(&doc, "post", sessions, &created)?;
    let session = created.body["session"].clone();
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let secret = session["clientSecret"].as_str().unwrap_or_default().to_owned();
    let bad = session_body(DEST, Some("5.0000001"), None, None);
    let invalid = api.json(Method::POST, sessions, &bad, Auth::Key(API_KEY)).await?;
    assert_eq!(invalid.status, 400);
    conforms(&doc, "post", sessions, &invalid)?;
    conforms(&doc, "post", sessions, &api.json(Method::POST, sessions, &bad, Auth::None).await?)?;
    let mut solana = session_body(DEST, Some("5.00"), None, None);
    solana["destination"]["type"] = "solana".into();
    let unsupported = api.json(Method::POST, sessions, &solana, Auth::Key(API_KEY)).await?;
    assert_eq!(unsupported.status, 400, "{}", unsupported.body);
    assert_eq!(unsupported.body["error"]["type"], "invalid_request_error");
    conforms(&doc, "post", sessions, &unsupported)?;

    // Retrieve: full, public, with the client secret; 401 and 404.
    let path = |p: &str| p.replace("{id}", &id);
    let get = |query: String, auth| async move {
        api.send(Method::GET, &format!("{}{query}", path(one)), None, None, auth).await
    };
    for (query, auth, status) in [
        (String::new(), Auth::Key(API_KEY), 200),
        (String::new(), Auth::None, 200),
        (format!("?clientSecret={secret}"), Auth::None, 200),
        (format!("?clientSecret={}", "0".repeat(32)), Auth::None, 401),
    ] {
        let answer = get(query, auth).await?;
        assert_eq!(answer.status, status, "{}", answer.body);
        conforms(&doc, "get", one, &answer)?;
    }
    let missing =
        api.send(Method::GET, &format!("/v1/sessions/{}", "0".repeat(32)), None, None, Auth::None).await?;
    assert_eq!(missing.status, 404);
    conforms(&doc, "get", one, &missing)?;

    // Payment method: 400 (unknown type; not supported yet), 200.
    for (body, status) in [
        (json!({ "clientSecret": secret, "paymentMethod": { "type": "carrier_pigeon" } }), 400),
        (json!({ "clientSecret": secret, "paymentMethod": { "type": "tron" } }), 400),
        (json!({ "clientSecret": secret, "paymentMethod": { "type": "evm" } }), 200),
    ] {
        let answer = api.json(Method::POST, &path(pm), &body, Auth::None).await?;
        assert_eq!(answer.status, status, "{}", answer.body);
        conforms(&doc, "post", pm, &answer)?;
    }
    let receiver =
        api.get(&id).await?["paymentMethod"]["receiverAddress"].as_str().unwrap_or_default().parse()?;

    // Check: 400, then a real deposit hinted; then the delivered session with its delivery attempts.
    let invalid = api
        .json(Method::PUT, &path(check), &json!({ "clientSecret": secret, "txHash": "0x12" }), Auth::None)
        .await?;
    assert_eq!(invalid.status, 400);
    conforms(&doc, "put", check, &invalid)?;
    let tx = chain.pay(receiver, usdc(5)).await?;
    let hinted = api
        .json(
            Method::PUT,
            &path(check),
            &json!({ "clientSecret": secret, "txHash": tx.to_string() }),
            Auth::None,
        )
        .await?;
    assert_eq!(hinted.status, 200);
    conforms(&doc, "put", check, &hinted)?;
    api.wait_for(&id, "succeeded", 30).await?;
    let done = get(String::new(), Auth::Key(API_KEY)).await?;
    assert!(done.body["session"]["destination"]["delivery"].is_object());
    assert_eq!(done.body["session"]["deliveryAttempts"][0]["state"], "sent");
    conforms(&doc, "get", one, &done)?;
    conforms(&doc, "get", one, &get(String::new(), Auth::None).await?)?;

    // The check can fail: a session missing a required field, or the public view carrying a secret.
    let mut broken = done.clone();
    broken.body["session"].as_object_mut().map(|s| s.remove("sessionId"));
    assert!(conforms(&doc, "get", one, &broken).is_err(), "a missing sessionId must not conform");
    let mut leaky = get(String::new(), Auth::None).await?;
    leaky.body["session"]["clientSecret"] = secret.into();
    leaky.body["session"]["metadata"] = Value::Null;
    assert!(conforms(&doc, "get", one, &leaky).is_err(), "a public view with a secret must not conform");
    relayer.node.shutdown().await;
    Ok(())
}

/// Property-based testing of the whole API: schemathesis (pinned in scripts/api-fuzz-requirements.txt,
/// installed by scripts/tools.sh) generates requests from the served document, including the stateful
/// sequences its links describe (create → paymentMethods → check → retrieve; a webhook's routes), and
/// fails on any 5xx, any status, content type or body the document does not declare, and any error
/// outside the spec's envelope (scripts/api_fuzz_hooks.py). Bounded by a case count per operation and a
/// fixed seed.
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_no_undocumented_answer_and_no_bare_error() -> Result {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join(".venv/api-fuzz/bin/schemathesis");
    eyre::ensure!(
        bin.exists(),
        "schemathesis is not installed: run `bash scripts/tools.sh` (scripts/test does)"
    );
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let reports = tempfile::tempdir()?;
    let junit = reports.path().join("junit.xml");
    let output = tokio::process::Command::new(&bin)
        .arg("run")
        .arg(format!("{}/openapi.json", relayer.api.base))
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,error_envelope"])
        .args(["--header", &format!("Authorization: Bearer {API_KEY}")])
        .args(["--max-examples", "25", "--seed", "20261123", "--workers", "2", "--no-color"])
        .args(["--generation-database", "none", "--request-timeout", "20", "--report", "junit"])
        .arg("--report-junit-path")
        .arg(&junit)
        .env("SCHEMATHESIS_HOOKS", "api_fuzz_hooks")
        .env("PYTHONPATH", root.join("scripts"))
        .current_dir(reports.path())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    // "Test cases:" then, on the next line, "<n> generated, ...".
    let cases = stdout
        .lines()
        .skip_while(|l| l.trim() != "Test cases:")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    println!("schemathesis: {cases} generated cases");
    assert!(output.status.success(), "schemathesis found problems (see above)");
    assert!(cases >= 200, "a few hundred cases at least, got {cases}");
    // scripts/test prints this after the suite, so CI's log says how much was generated.
    let summary = format!("schemathesis: {cases} generated cases, all passed (seed 20261123)\n");
    std::fs::write(root.join("target/api-fuzz-summary.txt"), summary)?;
    relayer.node.shutdown().await;
    Ok(())
}
