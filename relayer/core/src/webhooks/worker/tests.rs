use super::*;

#[tokio::test]
async fn expired_idempotency_keys_are_pruned_when_the_workers_start() -> eyre::Result<()> {
    use relayer_store::{Creation, IdempotencyRecord, SledStore, WebhookStore};
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path())?;
    let endpoint = |id: &str| endpoint(id, "https://example.com/hook");
    let record = |key: &str, created_at| IdempotencyRecord {
        key: key.into(),
        request_sha256: "h".into(),
        status: 201,
        body: "{}".into(),
        created_at,
    };
    let now = relayer_types::unix_now();
    store.create_idempotent(Creation::Webhook(&endpoint("a")), &record("old", now - 25 * 3600), 0)?;
    store.create_idempotent(Creation::Webhook(&endpoint("b")), &record("fresh", now - 3600), 0)?;
    let (cancel, tasks) = (CancellationToken::new(), TaskTracker::new());
    let store: Arc<dyn Store> = Arc::new(store);
    let webhooks = Webhooks::new(
        Arc::clone(&store),
        WebhookSettings::default(),
        Arc::default(),
        cancel.clone(),
        tasks.clone(),
    )?;
    webhooks.start(Arc::clone(&store))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.idempotency("old")?.is_some() {
        eyre::ensure!(Instant::now() < deadline, "the expired key is still there");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.idempotency("fresh")?.is_some(), "a key within its 24 hours stays");
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// An active endpoint for every event type.
fn endpoint(id: &str, url: &str) -> WebhookEndpoint {
    WebhookEndpoint {
        id: id.into(),
        url: url.into(),
        events: vec!["*".into()],
        description: None,
        secret: relayer_util::Secret::new("whsec_x"),
        created_at: 1,
        disabled: None,
    }
}

/// A loopback listener that counts the connections made to it.
async fn counting_listener() -> eyre::Result<(u16, Arc<AtomicU64>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let connections = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    Ok((port, connections))
}

// Attack: an API-key holder registers an endpoint on an internal address (or a name that resolves
// to one) to make the relayer POST inside the operator's network. The delivery is refused before any
// connection, and the attempt says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_never_connect_to_a_destination_the_deployment_refuses() -> eyre::Result<()> {
    use relayer_store::SledStore;
    let (port, connections) = counting_listener().await?;
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path())?);
    let (cancel, tasks) = (CancellationToken::new(), TaskTracker::new());
    let settings = WebhookSettings { retry_schedule: vec![], ..WebhookSettings::default() };
    let webhooks =
        Webhooks::new(Arc::clone(&store), settings, Arc::default(), cancel.clone(), tasks.clone())?;
    webhooks.start(Arc::clone(&store))?;
    for (id, host) in [("a", "127.0.0.1"), ("b", "localhost"), ("c", "[::ffff:127.0.0.1]")] {
        let endpoint = endpoint(id, &format!("https://{host}:{port}/hook"));
        store.put_webhook(&endpoint)?;
        webhooks.endpoint_added(endpoint);
        webhooks.send_test(id, crate::webhooks::EventType::Succeeded, serde_json::json!({}))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let attempt = loop {
            let delivery = store.deliveries(id, 1)?.pop();
            if let Some(attempt) = delivery.and_then(|d| d.attempts.first().cloned()) {
                break attempt;
            }
            eyre::ensure!(Instant::now() < deadline, "no attempt to {host}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let error = attempt.error.unwrap_or_default();
        assert!(error.starts_with("refused") && error.contains("allow_loopback_http"), "{host}: {error}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing connected to the listener");
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    Ok(())
}

// The same attack through DNS: a name (here `localhost`, past the literal check) whose answer is
// internal. The client's resolver leaves nothing to connect to; where the deployment allows
// loopback, the same request does connect (so the count above could fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_client_connects_only_to_addresses_the_egress_allows() -> eyre::Result<()> {
    let (port, connections) = counting_listener().await?;
    let url = format!("http://localhost:{port}/hook");
    let closed = delivery_client(&WebhookSettings::default())?;
    let error = closed.post(&url).send().await.expect_err("refused");
    assert!(super::super::egress::refusal(&error).is_some(), "{error:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    let dev = WebhookSettings {
        egress: super::super::Egress { loopback: true, private: false },
        ..Default::default()
    };
    let _ = delivery_client(&dev)?.post(&url).send().await;
    assert!(connections.load(Ordering::SeqCst) >= 1, "allowed loopback is reached");
    Ok(())
}

#[test]
fn the_default_schedule_retries_for_about_three_days() {
    let total: Duration = WebhookSettings::default().retry_schedule.iter().sum();
    let days = total.as_secs_f64() / 86_400.0;
    assert!((2.5..=3.0).contains(&days), "{days} days");
}

#[test]
fn jitter_stays_within_ten_percent() {
    for _ in 0..1000 {
        let ms = jittered(Duration::from_secs(10));
        assert!((9_000..=11_000).contains(&ms), "{ms}");
    }
}

#[test]
fn latency_lands_in_the_first_bucket_that_holds_it() {
    let m = WebhookMetrics::default();
    for ms in [10, 50, 51, 4_000_000] {
        m.record_latency(ms);
    }
    let counts: Vec<u64> = m.latency.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!((counts[0], counts[1], counts[LATENCY_BUCKETS_MS.len()]), (2, 1, 1));
    assert_eq!(m.latency_sum_ms.load(Ordering::Relaxed), 4_000_111);
}
