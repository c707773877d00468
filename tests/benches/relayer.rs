//! `cargo bench -p e2e`: figures for the README, measured against a running relayer on a local devnet
//! (anvil with 1-second blocks, the real contracts, the real relayer over HTTP).
//! - session creations and `check` calls per second, each next to a bare axum handler of the same shape
//!   measured in the same run (parse the JSON body, answer a session-sized object, no storage), and the
//!   ratio of the two: the machine's noise cancels out of the ratio. The load comes from one client
//!   thread keeping 32 requests in flight, as a new user would measure it;
//! - deposit-to-delivery latency over 50 sessions, in blocks and seconds (p50 / p99), and the latency of
//!   their 150 webhook events from each transition to the receiver's 2xx (p50 / p99 of the newest 100),
//! - the watcher's matching cost per log with few and with many open receivers (it must not grow);
//! - the same store and HTTP figures with the store in PostgreSQL (a throwaway server the bench starts,
//!   with `fsync` on like a production server),
//!   with one relayer instance and with two sharing the database, as ratios to sled's of the same run.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{primitives::Address, providers::Provider};
use e2e::{API_KEY, Api, Auth, Chain, Relayer, Settings, session_body, usdc};
use futures::{StreamExt, stream};
use relayer_devnet::bindings::TestUSDC;
use reqwest::Method;
use serde_json::{Value, json};

const CREATIONS: usize = 3000;
const CHECKS: usize = 10_000;
const CONNECTIONS: usize = 32;
const LATENCY_SESSIONS: usize = 50;

/// One request of a load: method, path, body, whether it carries the API key.
type Request = (Method, String, String, bool);

/// Requests per second of `requests` requests made by `make`, from one client thread (its own
/// single-threaded runtime) keeping `CONNECTIONS` in flight; every answer must have status `expect`.
fn load(
    base: String,
    requests: usize,
    expect: u16,
    make: Arc<dyn Fn(usize) -> Request + Send + Sync>,
) -> eyre::Result<f64> {
    std::thread::spawn(move || -> eyre::Result<f64> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let api = Api::new(base);
            let run = |n: usize| {
                let (api, make) = (&api, &make);
                stream::iter(0..n)
                    .map(move |i| async move {
                        let (method, path, body, keyed) = make(i);
                        let auth = if keyed { Auth::Key(API_KEY) } else { Auth::None };
                        let answer =
                            api.send(method, &path, Some(body), Some("application/json"), auth).await;
                        answer.map(|a| a.status).unwrap_or(0)
                    })
                    .buffer_unordered(CONNECTIONS)
                    .collect::<Vec<u16>>()
            };
            run(CONNECTIONS * 4).await; // open the connections first
            let started = Instant::now();
            let statuses = run(requests).await;
            let rate = requests as f64 / started.elapsed().as_secs_f64();
            let bad = statuses.iter().filter(|s| **s != expect).count();
            eyre::ensure!(bad == 0, "{bad} of {requests} requests did not answer {expect}");
            Ok(rate)
        })
    })
    .join()
    .map_err(|_| eyre::eyre!("the load thread panicked"))?
}

/// The baseline: an axum server with a handler of the same shape as create and check (parse the JSON
/// body, answer `{"session": ...}` with a real session's JSON), and nothing else.
async fn bare_server(session: Value) -> eyre::Result<SocketAddr> {
    use axum::{
        Json,
        http::StatusCode,
        routing::{post, put},
    };
    let answer = Arc::new(json!({ "session": session }));
    let (created, checked) = (Arc::clone(&answer), answer);
    let app = axum::Router::new()
        .route(
            "/v1/sessions",
            post(move |Json(body): Json<Value>| async move {
                drop(body);
                (StatusCode::CREATED, Json((*created).clone()))
            }),
        )
        .route(
            "/v1/sessions/{id}/check",
            put(move |Json(body): Json<Value>| async move {
                drop(body);
                Json((*checked).clone())
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Receivers the matching benchmark knows; lookups go through the sink like in the relayer.
struct Receivers(std::collections::HashMap<relayer_types::ChainAddress, relayer_types::SessionId>);

impl relayer_chain::EventSink for Receivers {
    fn session_for_receiver(
        &self,
        receiver: relayer_types::ChainAddress,
    ) -> Option<relayer_types::SessionId> {
        self.0.get(&receiver).copied()
    }
    fn receivers_of(
        &self,
        family: relayer_types::Family,
    ) -> Vec<(relayer_types::ChainAddress, relayer_types::SessionId)> {
        self.0.iter().filter(|(r, _)| r.family() == family).map(|(r, id)| (*r, *id)).collect()
    }
    fn apply(
        &self,
        _: u64,
        _: Vec<relayer_chain::ChainEvent>,
    ) -> relayer_chain::BoxFuture<'_, Result<(), relayer_chain::SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn reorg(&self, _: u64, _: u64) -> relayer_chain::BoxFuture<'_, Result<(), relayer_chain::SinkError>> {
        Box::pin(async { Ok(()) })
    }
    fn report(&self, _: relayer_chain::WorkReport) -> relayer_chain::BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Webhook latencies (ms) of the newest 100 events delivered to `endpoint`, from each transition's
/// commit to the relayer recording the receiver's 2xx (the events list says both), once all 150 have
/// arrived; and, as a baseline from the same run, 100 bare POSTs of an event body to the same receiver.
async fn webhook_latency(
    api: &Api,
    receiver: &e2e::WebhookReceiver,
    endpoint: &Value,
) -> eyre::Result<(Vec<f64>, Vec<f64>)> {
    let want = LATENCY_SESSIONS * 3;
    receiver.wait(60, "every webhook", |r| r.len() >= want).await?;
    let path = format!("/v1/webhooks/{}/events?limit=100", endpoint["id"].as_str().unwrap_or_default());
    let mut events = Value::Null;
    e2e::wait_until(30, "deliveries recorded", async || {
        events = api.send(Method::GET, &path, None, None, Auth::Key(API_KEY)).await?.body;
        let list = events["events"].as_array().cloned().unwrap_or_default();
        Ok(list.len() == 100 && list.iter().all(|e| e["status"] == "delivered"))
    })
    .await?;
    let mut latencies: Vec<f64> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e["finishedAtMs"].as_u64()?.saturating_sub(e["createdAtMs"].as_u64()?) as f64))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let client = reqwest::Client::new();
    let body = receiver.received()[0].body.to_string();
    let mut bare = vec![];
    for _ in 0..100 {
        let started = Instant::now();
        client
            .post(&receiver.url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        bare.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    bare.sort_by(f64::total_cmp);
    Ok((latencies, bare))
}

/// Nanoseconds per log for `decode_logs` over 20,000 Transfer logs (1 in 100 to a known receiver), with
/// `open` receivers known.
fn matching_ns_per_log(open: usize) -> eyre::Result<f64> {
    use alloy::{primitives::LogData, rpc::types::Log};
    use relayer_evm::watcher::{Transfer, decode_logs};
    let usdc = relayer_devnet::BASE_USDC;
    let dir = tempfile::tempdir()?;
    let store: std::sync::Arc<dyn relayer_store::ChainStore> =
        std::sync::Arc::new(relayer_store::SledStore::open(dir.path())?);
    let sender = relayer_evm::Sender {
        signer: alloy::signers::local::PrivateKeySigner::random().into(),
        inventory: None,
        inventory_unusable: None,
        retiring: vec![],
        unusable: vec![],
        config: Default::default(),
    };
    let chain = relayer_evm::EvmChain::connect(
        {
            use relayer_evm::config::{ChainConfig, TokenConfig};
            let token = TokenConfig::new(usdc, "USDC", 6);
            let mut config =
                ChainConfig::new(8453, "Base", "http://127.0.0.1:1", Address::repeat_byte(0x11), vec![token]);
            config.rpc_timeout_ms = 1000;
            config.validate(relayer_types::Family::Evm, "chains[0]").map_err(|e| eyre::eyre!(e))?
        },
        store,
        sender,
    )
    .map_err(|e| eyre::eyre!(e))?;
    let address = |i: usize| Address::left_padding_from(&(i as u64).to_be_bytes());
    let sink = Receivers(
        (0..open).map(|i| (address(i).into(), relayer_types::SessionId::from_bytes([1; 16]))).collect(),
    );
    let logs: Vec<Log> = (0..20_000usize)
        .map(|i| {
            let to = if i % 100 == 0 { address(i % open) } else { Address::repeat_byte(0xee) };
            let event = Transfer {
                from: Address::repeat_byte(0xaa),
                to,
                value: alloy::primitives::U256::from(i + 1),
            };
            Log {
                inner: alloy::primitives::Log { address: usdc, data: LogData::from(&event) },
                block_hash: Some(alloy::primitives::B256::repeat_byte(1)),
                block_number: Some(1),
                transaction_hash: Some(alloy::primitives::B256::repeat_byte(2)),
                log_index: Some(i as u64),
                ..Default::default()
            }
        })
        .collect();
    let rounds = 20;
    let started = Instant::now();
    let mut matched = 0;
    for _ in 0..rounds {
        matched += decode_logs(&chain, &sink, &logs).len();
    }
    eyre::ensure!(matched == rounds * 200, "matched {matched}");
    Ok(started.elapsed().as_nanos() as f64 / (rounds * logs.len()) as f64)
}

/// Microseconds per durable session creation straight on the store (no HTTP): one at a time with
/// `insert_session` (a flush each), and `CONNECTIONS` at a time with `create_session` (shared flushes).
async fn store_us_per_creation(store: Arc<dyn relayer_store::Store>) -> eyre::Result<(f64, f64)> {
    let session = |i: u32| {
        let mut s = relayer_store::conformance::session(1);
        let mut id = [0xeeu8; 16];
        id[..4].copy_from_slice(&i.to_be_bytes());
        s.id = relayer_types::SessionId::from_bytes(id);
        s
    };
    let started = Instant::now();
    for i in 0..500 {
        store.insert_session(&session(i))?;
    }
    let one_at_a_time = started.elapsed().as_secs_f64() * 1e6 / 500.0;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONNECTIONS as u32 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            for i in 0..100 {
                store.create_session(&session(1000 + worker * 1000 + i)).await?;
            }
            Ok::<_, relayer_store::StoreError>(())
        });
    }
    for result in tasks.join_all().await {
        result?;
    }
    let shared = started.elapsed().as_secs_f64() * 1e6 / (CONNECTIONS * 100) as f64;
    Ok((one_at_a_time, shared))
}

/// Requests per second of two loads of `requests` each run at once against `a` and `b` (two instances
/// sharing one database), summed.
fn load_two(
    a: String,
    b: String,
    requests: usize,
    expect: u16,
    make: &Arc<dyn Fn(usize) -> Request + Send + Sync>,
) -> eyre::Result<f64> {
    std::thread::scope(|scope| {
        let first = scope.spawn(|| load(a, requests, expect, Arc::clone(make)));
        let second = scope.spawn(|| load(b, requests, expect, Arc::clone(make)));
        let joined = |h: std::thread::ScopedJoinHandle<'_, eyre::Result<f64>>| {
            h.join().map_err(|_| eyre::eyre!("a load thread panicked"))?
        };
        Ok(joined(first)? + joined(second)?)
    })
}

/// The PostgreSQL figures: store alone (µs per creation, one at a time and with `CONNECTIONS` in flight),
/// creations and checks per second over HTTP with one instance and with two sharing the database.
struct PgFigures {
    store_one: f64,
    store_shared: f64,
    creations: [f64; 2],
    checks: [f64; 2],
}

async fn postgres_figures(
    chain: &Chain,
    create: &Arc<dyn Fn(usize) -> Request + Send + Sync>,
    body: &Value,
) -> eyre::Result<PgFigures> {
    let server = tokio::task::spawn_blocking(|| {
        let server = relayer_store::local_postgres::LocalPostgres::start_durable()?;
        server.create_database("store")?;
        server.create_database("relayer")?;
        eyre::Ok(server)
    })
    .await??;
    let url = server.url("store");
    let store = tokio::task::spawn_blocking(move || relayer_store::PgStore::connect(&url)).await??;
    let (store_one, store_shared) = store_us_per_creation(Arc::new(store)).await?;
    let settings = Settings { database_url: Some(server.url("relayer")), ..Settings::default() };
    let first = Relayer::start(chain, settings.clone()).await?;
    let target = first.api.create(body).await?;
    let check_path = format!("/v1/sessions/{}/check", target["sessionId"].as_str().unwrap_or_default());
    let check_body = json!({ "clientSecret": target["clientSecret"] }).to_string();
    let check: Arc<dyn Fn(usize) -> Request + Send + Sync> =
        Arc::new(move |_| (Method::PUT, check_path.clone(), check_body.clone(), false));
    let one_creations = load(first.api.base.clone(), CREATIONS, 201, Arc::clone(create))?;
    let one_checks = load(first.api.base.clone(), CHECKS, 200, Arc::clone(&check))?;
    let second = Relayer::start(chain, settings).await?;
    let (a, b) = (first.api.base.clone(), second.api.base.clone());
    let two_creations = load_two(a.clone(), b.clone(), CREATIONS / 2, 201, create)?;
    let two_checks = load_two(a, b, CHECKS / 2, 200, &check)?;
    second.node.shutdown().await;
    first.node.shutdown().await;
    drop(server);
    Ok(PgFigures {
        store_one,
        store_shared,
        creations: [one_creations, two_creations],
        checks: [one_checks, two_checks],
    })
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let dir = tempfile::tempdir()?;
    let sled = Arc::new(relayer_store::SledStore::open(dir.path())?);
    let (store_one, store_shared) = store_us_per_creation(sled).await?;
    let few = matching_ns_per_log(10)?;
    let many = matching_ns_per_log(100_000)?;
    let chain = Chain::start_with_block_time(Some(1)).await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let api = relayer.api.clone();
    let body = session_body(Address::repeat_byte(0xd0), Some("1.00"), None, None);
    let target = api.create(&body).await?;
    let bare = format!("http://{}", bare_server(target.clone()).await?);

    let create_body = body.to_string();
    let create: Arc<dyn Fn(usize) -> Request + Send + Sync> =
        Arc::new(move |_| (Method::POST, "/v1/sessions".into(), create_body.clone(), true));
    let check_path = format!("/v1/sessions/{}/check", target["sessionId"].as_str().unwrap_or_default());
    let check_body = json!({ "clientSecret": target["clientSecret"] }).to_string();
    let check: Arc<dyn Fn(usize) -> Request + Send + Sync> =
        Arc::new(move |_| (Method::PUT, check_path.clone(), check_body.clone(), false));
    let bare_creations = load(bare.clone(), CREATIONS, 201, Arc::clone(&create))?;
    let creations = load(api.base.clone(), CREATIONS, 201, Arc::clone(&create))?;
    let bare_checks = load(bare, CHECKS, 200, Arc::clone(&check))?;
    let checks = load(api.base.clone(), CHECKS, 200, check)?;
    let pg = postgres_figures(&chain, &create, &body).await?;

    // Latency: pay 50 sessions at once, then watch each one reach `succeeded`. A webhook receiver hears
    // every transition (3 per session: 150 events).
    let receiver = e2e::WebhookReceiver::start().await?;
    let endpoint = receiver.register(&api, &["*"]).await?;
    let mut sessions = vec![];
    for _ in 0..LATENCY_SESSIONS {
        let s = api.create(&body).await?;
        let receiver = api.set_evm(&s).await?;
        sessions.push((s["sessionId"].as_str().unwrap_or_default().to_owned(), receiver));
    }
    let token = TestUSDC::new(chain.usdc, &chain.payer);
    token.mint(chain.payer_address, usdc(LATENCY_SESSIONS as u64)).send().await?.get_receipt().await?;
    let mut pending = vec![];
    for (_, receiver) in &sessions {
        pending.push(token.transfer(*receiver, usdc(1)).send().await?);
    }
    let mut deposits = vec![];
    for p in pending {
        let receipt = p.get_receipt().await?;
        deposits.push((receipt.block_number.unwrap_or_default(), Instant::now()));
    }
    let mut blocks = vec![];
    let mut seconds = vec![];
    let mut open: Vec<usize> = (0..sessions.len()).collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !open.is_empty() {
        eyre::ensure!(Instant::now() < deadline, "sessions did not finish");
        let mut still = vec![];
        for i in open {
            let s = api.get(&sessions[i].0).await?;
            if s["status"] == "succeeded" {
                let tx = s["destination"]["delivery"]["txHash"].as_str().unwrap_or_default().parse()?;
                let receipt = chain
                    .deployer
                    .get_transaction_receipt(tx)
                    .await?
                    .ok_or_else(|| eyre::eyre!("no receipt"))?;
                let (deposit_block, deposit_seen) = deposits[i];
                blocks.push((receipt.block_number.unwrap_or_default() - deposit_block) as f64);
                seconds.push(deposit_seen.elapsed().as_secs_f64());
            } else {
                still.push(i);
            }
        }
        open = still;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    blocks.sort_by(f64::total_cmp);
    seconds.sort_by(f64::total_cmp);
    let (webhook_ms, bare_post_ms) = webhook_latency(&api, &receiver, &endpoint).await?;

    println!("relayer benchmark (local devnet: anvil, 1 s blocks, 1 confirmation, sled store)");
    println!(
        "  store alone, per durable creation: {store_one:.0} µs one at a time (a flush each), {store_shared:.0} µs with {CONNECTIONS} in flight (shared flushes)"
    );
    println!(
        "  session creations: {creations:>8.0}/s, bare axum handler {bare_creations:.0}/s, ratio {:.0}%  ({CREATIONS} over HTTP, one client thread, {CONNECTIONS} in flight, each durable before its 201)",
        100.0 * creations / bare_creations
    );
    println!(
        "  check calls:       {checks:>8.0}/s, bare axum handler {bare_checks:.0}/s, ratio {:.0}%  ({CHECKS} over HTTP, one client thread, {CONNECTIONS} in flight)",
        100.0 * checks / bare_checks
    );
    println!(
        "  deposit→delivery over {LATENCY_SESSIONS} sessions paid in the same second: p50 {:.0} blocks / {:.1} s, p99 {:.0} blocks / {:.1} s",
        percentile(&blocks, 50.0),
        percentile(&seconds, 50.0),
        percentile(&blocks, 99.0),
        percentile(&seconds, 99.0),
    );
    println!(
        "  webhook delivery, transition → receiver's 2xx recorded, over {} events: p50 {:.1} ms, p99 {:.1} ms (a bare POST to the same receiver: p50 {:.1} ms)",
        webhook_ms.len(),
        percentile(&webhook_ms, 50.0),
        percentile(&webhook_ms, 99.0),
        percentile(&bare_post_ms, 50.0),
    );
    println!(
        "  watcher matching:  {few:>8.0} ns/log with 10 open receivers, {many:.0} ns/log with 100,000 (20,000 Transfer logs)"
    );
    println!("  PostgreSQL store (a local server, fsync on; ratios to sled's figures above, same run):");
    println!(
        "    store alone, per durable creation: {:.0} µs one at a time (sled ×{:.2}), {:.0} µs with {CONNECTIONS} in flight (sled ×{:.2})",
        pg.store_one,
        pg.store_one / store_one,
        pg.store_shared,
        pg.store_shared / store_shared
    );
    for (n, label) in [(0, "one instance"), (1, "two instances sharing the database")] {
        println!(
            "    {label}: session creations {:.0}/s ({:.0}% of sled's), check calls {:.0}/s ({:.0}% of sled's)",
            pg.creations[n],
            100.0 * pg.creations[n] / creations,
            pg.checks[n],
            100.0 * pg.checks[n] / checks
        );
    }
    relayer.node.shutdown().await;
    Ok(())
}
