//! Webhooks and idempotent creation, end to end: real anvil, the real relayer, a real HTTP receiver that
//! verifies both signature schemes with its own code.

use std::{collections::HashSet, time::Duration};

use e2e::{
    API_KEY, Api, Auth, Chain, DEST, REFUND, Received, Relayer, RelayerProcess, Settings, WebhookReceiver,
    session_body, usdc,
};
use reqwest::Method;
use serde_json::{Value, json};

type Result = eyre::Result<()>;

fn id_of(session: &Value) -> String {
    session["sessionId"].as_str().unwrap_or_default().to_owned()
}

/// The events received for session `id`, as `type`s in arrival order.
fn types_for(received: &[Received], id: &str) -> Vec<String> {
    received
        .iter()
        .filter(|r| r.body["data"]["session"]["sessionId"] == id)
        .map(|r| r.body["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn has(received: &[Received], id: &str, kind: &str) -> bool {
    types_for(received, id).iter().any(|t| t == kind)
}

/// `POST /v1/webhooks/{id}/test` with the API key.
async fn send_test(api: &Api, id: &str, event_type: &str) -> eyre::Result<e2e::Answer> {
    let path = format!("/v1/webhooks/{id}/test");
    api.json(Method::POST, &path, &json!({ "eventType": event_type }), Auth::Key(API_KEY)).await
}

/// A chain, a relayer with `settings`, and a receiver registered for `events`.
async fn with_receiver(
    settings: Settings,
    events: &[&str],
) -> eyre::Result<(Chain, Relayer, WebhookReceiver, Value)> {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, settings).await?;
    let receiver = WebhookReceiver::start().await?;
    let endpoint = receiver.register(&relayer.api, events).await?;
    Ok((chain, relayer, receiver, endpoint))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_type_arrives_signed_for_a_paid_a_bounced_and_an_expired_session() -> Result {
    let settings = Settings { session_lifetime_secs: 8, ..Settings::default() };
    let (chain, relayer, receiver, endpoint) = with_receiver(settings, &["*"]).await?;
    assert!(endpoint["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    assert_eq!(endpoint["events"], json!(["*"]));

    let paid = relayer.api.create(&session_body(DEST, Some("2.00"), None, None)).await?;
    let bounced = relayer.api.create(&chain.bouncing_session_body("1.00").await?.0).await?;
    let expired = relayer.api.create(&session_body(DEST, Some("1.00"), None, Some(REFUND))).await?;
    let paid_receiver = relayer.api.set_evm(&paid).await?;
    let bounced_receiver = relayer.api.set_evm(&bounced).await?;
    let expired_receiver = relayer.api.set_evm(&expired).await?;
    chain.pay(paid_receiver, usdc(2)).await?;
    chain.pay(bounced_receiver, usdc(1)).await?;

    let (p, b, e) = (id_of(&paid), id_of(&bounced), id_of(&expired));
    receiver
        .wait(40, "succeeded, bounced and expired events", |r| {
            has(r, &p, "session.succeeded") && has(r, &b, "session.bounced") && has(r, &e, "session.expired")
        })
        .await?;
    // A deposit after expiry is refunded; the integrator hears of it, and of the refund, as updates.
    chain.pay(expired_receiver, usdc(1)).await?;
    let received = receiver
        .wait(30, "the late deposit's refund", |r| {
            r.iter().any(|x| {
                x.body["type"] == "session.updated"
                    && x.body["data"]["session"]["sessionId"] == e.as_str()
                    && x.body["data"]["session"]["movements"][0]["type"] == "refunded"
            })
        })
        .await?;

    // Delivery order is not guaranteed (several attempts run at once per endpoint): compare as sets.
    let sorted = |id: &str| {
        let mut types = types_for(&received, id);
        types.sort();
        types
    };
    assert_eq!(sorted(&p), ["session.payment_method_set", "session.processing", "session.succeeded"]);
    assert_eq!(sorted(&b), ["session.bounced", "session.payment_method_set", "session.processing"]);
    let late: Vec<String> = sorted(&e).into_iter().filter(|t| t != "session.updated").collect();
    assert_eq!(late, ["session.expired", "session.payment_method_set"]);
    for r in &received {
        assert!(r.verified, "both signatures verify: {}", r.body);
        assert_eq!(r.body["id"], r.webhook_id.as_str(), "the body's id is the webhook-id");
        let session = &r.body["data"]["session"];
        assert!(session.get("clientSecret").is_none(), "events never carry the client secret");
        assert!(r.body.get("isTestEvent").is_none(), "real events are not marked as tests");
        assert!(r.body["createdAt"].as_u64().is_some());
        let status = r.body["type"].as_str().unwrap_or_default().trim_start_matches("session.");
        if !["payment_method_set", "updated"].contains(&status) {
            assert_eq!(session["status"], status, "the snapshot is the session at the transition");
        }
    }
    let ids: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "one id per event (nothing was retried here)");
    let done = received.iter().rev().find(|r| r.body["type"] == "session.succeeded").map(|r| &r.body);
    let delivery = done.map(|b| b["data"]["session"]["destination"]["delivery"]["receivedUnits"].clone());
    assert_eq!(delivery, Some(json!("2.00")));

    // The session view shows the late deposit and what became of it.
    let view = relayer.api.get(&e).await?;
    assert_eq!(view["status"], "expired");
    assert_eq!(view["deposits"][0]["amountUnits"], "1.00");
    assert_eq!(view["movements"][0]["type"], "refunded");
    assert_eq!(view["movements"][0]["refundedUnits"], "1.00");
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_endpoint_gets_the_event_after_it_recovers_with_the_same_id() -> Result {
    let (_chain, relayer, receiver, endpoint) =
        with_receiver(Settings::default(), &["session.payment_method_set"]).await?;
    receiver.answer(&[500, 503, 500]);

    let session = relayer.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    relayer.api.set_evm(&session).await?;
    let received =
        receiver.wait(30, "a 2xx after three failures", |r| r.iter().any(|x| x.answered == 200)).await?;
    assert_eq!(received.iter().map(|r| r.answered).collect::<Vec<_>>(), [500, 503, 500, 200]);
    let ids: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!(ids.len(), 1, "every retry carries the same event id");
    assert!(received.iter().all(|r| r.verified && r.body == received[0].body), "same body, fresh signatures");
    // Backoff: each retry waits longer than the one before (200, 400, 800 ms ±10%).
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps.windows(2).all(|g| g[1] > g[0]), "{gaps:?}");

    let id = endpoint["id"].as_str().unwrap_or_default();
    let path = format!("/v1/webhooks/{id}/events");
    // The receiver saw the 2xx before the relayer recorded it: wait for the record.
    let mut events = Value::Null;
    e2e::wait_until(10, "the delivery recorded", async || {
        events = relayer.api.send(Method::GET, &path, None, None, Auth::Key(API_KEY)).await?.body;
        Ok(events["events"][0]["status"] == "delivered")
    })
    .await?;
    let event = &events["events"][0];
    assert_eq!(
        (event["status"].as_str(), event["attempts"].as_array().map(Vec::len)),
        (Some("delivered"), Some(4))
    );
    assert_eq!(event["attempts"][0]["statusCode"], 500);
    assert_eq!(event["id"], received[0].webhook_id.as_str());

    let metrics = relayer.api.send(Method::GET, "/metrics", None, None, Auth::None).await?.text;
    for line in [
        "relayer_webhook_events_total{result=\"delivered\"} 1",
        "relayer_webhook_attempts_total{result=\"5xx\"} 3",
        "relayer_webhook_events_pending{} 0",
        "relayer_webhook_delivery_latency_seconds_count 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_pending_when_the_relayer_is_killed_arrives_after_the_restart_with_its_id() -> Result {
    let chain = Chain::start().await?;
    let process = RelayerProcess::prepare(&chain, &Settings::default()).await?;
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_relayer-under-test"));
    let mut child = process.spawn(&bin).await?;
    let receiver = WebhookReceiver::start().await?;
    receiver.register(&process.api, &["*"]).await?;
    receiver.answer_by_default(503);

    let session = process.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    process.api.set_evm(&session).await?;
    let first = receiver.wait(30, "a first (failed) attempt", |r| !r.is_empty()).await?;
    child.kill().await?; // SIGKILL: no shutdown, nothing flushed beyond what was committed
    receiver.answer_by_default(200);
    let before = receiver.received().len();

    let _child = process.spawn(&bin).await?;
    let received =
        receiver.wait(30, "the event after the restart", |r| r.iter().any(|x| x.answered == 200)).await?;
    let delivered = received.iter().find(|x| x.answered == 200).map(|x| x.webhook_id.clone());
    assert_eq!(delivered.as_deref(), Some(first[0].webhook_id.as_str()), "the same event, after the restart");
    assert!(received[before..].iter().all(|r| r.verified));
    assert_eq!(received[0].body["type"], "session.payment_method_set");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_answering_410_is_disabled_and_gets_nothing_more() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let gone = WebhookReceiver::start().await?;
    let live = WebhookReceiver::start().await?;
    let endpoint = gone.register(&relayer.api, &["*"]).await?;
    live.register(&relayer.api, &["*"]).await?;
    gone.answer_by_default(410);

    let first = relayer.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    relayer.api.set_evm(&first).await?;
    gone.wait(20, "the 410", |r| r.len() == 1).await?;
    let id = endpoint["id"].as_str().unwrap_or_default();
    let mut listed = vec![];
    e2e::wait_until(10, "the endpoint disabled", async || {
        let list = relayer.api.send(Method::GET, "/v1/webhooks", None, None, Auth::Key(API_KEY)).await?;
        listed = list.body["webhooks"].as_array().cloned().unwrap_or_default();
        Ok(listed.iter().any(|w| w["id"] == id && w["status"] == "disabled"))
    })
    .await?;
    assert!(listed.iter().all(|w| w.get("secret").is_none()), "a list never shows secrets");

    let second = relayer.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    relayer.api.set_evm(&second).await?;
    let s2 = id_of(&second);
    live.wait(20, "the other endpoint's event", |r| has(r, &s2, "session.payment_method_set")).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gone.received().len(), 1, "nothing more after 410");
    let test = send_test(&relayer.api, id, "session.succeeded").await?;
    assert_eq!((test.status, test.body["error"]["code"].as_str()), (400, Some("webhook_disabled")));
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn test_events_redelivery_and_endpoint_management() -> Result {
    let (_chain, relayer, receiver, endpoint) =
        with_receiver(Settings::default(), &["session.succeeded", "session.bounced"]).await?;
    let api = &relayer.api;
    let id = endpoint["id"].as_str().unwrap_or_default().to_owned();

    let test = send_test(api, &id, "session.succeeded").await?;
    assert_eq!(test.status, 200, "{}", test.body);
    let event_id = test.body["event"]["id"].as_str().unwrap_or_default().to_owned();
    let received = receiver.wait(20, "the test event", |r| r.len() == 1).await?;
    assert!(received[0].verified);
    assert_eq!(received[0].body["isTestEvent"], true);
    assert_eq!(received[0].body["type"], "session.succeeded");
    assert_eq!(received[0].body["data"]["session"]["status"], "succeeded");
    assert_eq!(received[0].webhook_id, event_id);

    let again = api
        .send(
            Method::POST,
            &format!("/v1/webhooks/{id}/events/{event_id}/redeliver"),
            None,
            None,
            Auth::Key(API_KEY),
        )
        .await?;
    assert_eq!(again.status, 200, "{}", again.body);
    let received = receiver.wait(20, "the redelivery", |r| r.len() == 2).await?;
    assert_eq!(received[1].webhook_id, event_id, "a redelivery keeps the event id");
    assert_eq!(received[1].body, received[0].body);

    // Errors use the envelope and change nothing.
    let bad = [
        (json!({"url": "http://example.com/hook"}), "url"),
        (json!({"url": "https://user:pw@example.com/hook"}), "url"),
        // Server-side request forgery: internal and metadata addresses are not receivers.
        (json!({"url": "https://10.0.0.7:8080/admin"}), "url"),
        (json!({"url": "https://169.254.169.254/latest/meta-data/"}), "url"),
        (json!({"url": "https://[::ffff:a9fe:a9fe]/"}), "url"),
        (json!({"url": receiver.url, "events": ["session.paid"]}), "events[0]"),
        (json!({"url": receiver.url, "events": []}), "events"),
        (json!({"url": receiver.url, "secret": "mine"}), "secret"),
    ];
    for (body, param) in bad {
        let a = api.json(Method::POST, "/v1/webhooks", &body, Auth::Key(API_KEY)).await?;
        assert_eq!((a.status, a.body["error"]["param"].as_str()), (400, Some(param)), "{body}");
    }
    let anonymous = api.json(Method::POST, "/v1/webhooks", &json!({"url": receiver.url}), Auth::None).await?;
    assert_eq!(anonymous.status, 401);
    let unknown_type = send_test(api, &id, "nope").await?;
    assert_eq!(unknown_type.body["error"]["param"], "eventType");
    let list = api.send(Method::GET, "/v1/webhooks", None, None, Auth::Key(API_KEY)).await?;
    assert_eq!(list.body["webhooks"].as_array().map(Vec::len), Some(1));

    let deleted =
        api.send(Method::DELETE, &format!("/v1/webhooks/{id}"), None, None, Auth::Key(API_KEY)).await?;
    assert_eq!(deleted.body, json!({"id": id, "deleted": true}));
    let gone =
        api.send(Method::DELETE, &format!("/v1/webhooks/{id}"), None, None, Auth::Key(API_KEY)).await?;
    assert_eq!((gone.status, gone.body["error"]["code"].as_str()), (404, Some("webhook_not_found")));
    relayer.node.shutdown().await;
    Ok(())
}

async fn create_keyed(api: &Api, key: &str, body: &Value) -> eyre::Result<e2e::Answer> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("idempotency-key", key.parse()?);
    api.send_with(Method::POST, "/v1/sessions", Some(body.to_string()), headers).await
}

fn sessions_stored(relayer: &Relayer) -> eyre::Result<u64> {
    Ok(relayer.node.engine.status_counts()?.values().sum())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_replays_the_first_answer_and_creates_once() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let body = session_body(DEST, Some("3.00"), None, None);

    let first = create_keyed(&relayer.api, "order-1", &body).await?;
    assert_eq!(first.status, 201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let replay = create_keyed(&relayer.api, "order-1", &body).await?;
    assert_eq!((replay.status, &replay.body), (201, &first.body), "the identical answer");
    assert_eq!(replay.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    // The same parameters in another order are the same request.
    let reordered: Value = serde_json::from_str(&format!(
        r#"{{"display":{},"destination":{}}}"#,
        body["display"], body["destination"]
    ))?;
    assert_eq!(create_keyed(&relayer.api, "order-1", &reordered).await?.body, first.body);
    assert_eq!(sessions_stored(&relayer)?, 1);

    let other = create_keyed(&relayer.api, "order-1", &session_body(DEST, Some("4.00"), None, None)).await?;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["error"]["type"], "invalid_request_error");
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(other.body["error"]["param"], "Idempotency-Key");
    assert_eq!(sessions_stored(&relayer)?, 1, "a refused request creates nothing");

    // Twenty concurrent requests with one key: one session, twenty identical answers.
    let answers =
        futures::future::join_all((0..20).map(|_| create_keyed(&relayer.api, "order-2", &body))).await;
    let bodies: HashSet<String> =
        answers.into_iter().map(|a| a.map(|a| a.body.to_string())).collect::<eyre::Result<_>>()?;
    assert_eq!(bodies.len(), 1, "every request got the same session");
    assert_eq!(sessions_stored(&relayer)?, 2);

    // Webhook registration takes a key too.
    let hook = json!({"url": "https://example.com/hook"});
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("idempotency-key", "hook-1".parse()?);
    let a =
        relayer.api.send_with(Method::POST, "/v1/webhooks", Some(hook.to_string()), headers.clone()).await?;
    let b = relayer.api.send_with(Method::POST, "/v1/webhooks", Some(hook.to_string()), headers).await?;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    let list = relayer.api.send(Method::GET, "/v1/webhooks", None, None, Auth::Key(API_KEY)).await?;
    assert_eq!(list.body["webhooks"].as_array().map(Vec::len), Some(1));
    relayer.node.shutdown().await;
    Ok(())
}
