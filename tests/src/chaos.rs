//! A fault-injecting JSON-RPC proxy for chaos tests: it sits between the relayer and anvil and, for a
//! seeded share of requests, answers 500, hangs (then forwards), delays, or forwards and then loses the
//! reply (the request took effect, the caller sees a failure: the hardest case for sends). It can also
//! be switched off entirely (an outage) and on again.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// What the proxy does to requests.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Share of requests that get a fault (0.0–1.0).
    pub rate: f64,
    /// Longest hang, in milliseconds (hangs last between a sixth of it and all of it).
    pub max_hang_ms: u64,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rng: Mutex<StdRng>,
    faults: Mutex<Faults>,
    down: AtomicBool,
    scripted: Mutex<std::collections::VecDeque<Fault>>,
    by_method: Mutex<std::collections::HashMap<String, std::collections::VecDeque<Fault>>>,
    injected: AtomicU64,
    forwarded: AtomicU64,
    /// `eth_getLogs` over more blocks than this is refused, as a provider capping ranges does (0: no cap).
    log_range_cap: AtomicU64,
}

/// A running proxy.
#[derive(Clone)]
pub struct FaultyRpc {
    shared: Arc<Shared>,
    /// Its URL (give this to the relayer).
    pub url: String,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer 500 at once.
    Error,
    /// Wait this long, then forward.
    Hang(Duration),
    /// Wait this long (a slow node), then forward.
    Delay(Duration),
    /// Forward, then answer 502: the request took effect, the caller never learns.
    LoseReply,
    /// Answer at once with a JSON-RPC error object (HTTP 200), as a node at its limits does
    /// (`-32603 internal error`, `-32005 limit exceeded`).
    Answer(i64, &'static str),
}

impl FaultyRpc {
    /// Starts a proxy to `upstream` with `faults`, its choices drawn from `seed`.
    pub async fn start(upstream: String, faults: Faults, seed: u64) -> eyre::Result<Self> {
        let shared = Arc::new(Shared {
            upstream,
            client: reqwest::Client::new(),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            faults: Mutex::new(faults),
            down: AtomicBool::new(false),
            scripted: Mutex::default(),
            by_method: Mutex::default(),
            injected: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            log_range_cap: AtomicU64::new(0),
        });
        let app = Router::new().route("/", post(handle)).with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { shared, url: format!("http://{addr}") })
    }

    /// A proxy to `upstream` that injects nothing until told to (`script`, `set_faults`, `set_down`).
    pub async fn clean(upstream: String) -> eyre::Result<Self> {
        Self::start(upstream, Faults { rate: 0.0, max_hang_ms: 0 }, 1).await
    }

    /// Turns an outage on (every request fails at once) or off.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Changes the faults.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// The next requests get these faults, in order, before any drawn at random.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.scripted.lock().unwrap_or_else(PoisonError::into_inner).extend(faults);
    }

    /// The next requests for JSON-RPC `method` get these faults, in order (before any other choice).
    pub fn script_method(&self, method: &str, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .by_method
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method.to_owned())
            .or_default()
            .extend(faults);
    }

    /// Refuses `eth_getLogs` over more than `blocks` blocks (`-32005`), as a provider whose range cap is
    /// below the relayer's configured one does; 0 lifts the cap.
    pub fn cap_log_range(&self, blocks: u64) {
        self.shared.log_range_cap.store(blocks, Ordering::SeqCst);
    }

    /// Requests that got a fault, and requests passed through.
    pub fn counts(&self) -> (u64, u64) {
        (self.shared.injected.load(Ordering::Relaxed), self.shared.forwarded.load(Ordering::Relaxed))
    }
}

fn choose(shared: &Shared, body: &[u8]) -> Option<Fault> {
    let method = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("method").and_then(|m| m.as_str()).map(str::to_owned));
    if let Some(method) = method
        && let Some(fault) = shared
            .by_method
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&method)
            .and_then(std::collections::VecDeque::pop_front)
    {
        return Some(fault);
    }
    if let Some(fault) = shared.scripted.lock().unwrap_or_else(PoisonError::into_inner).pop_front() {
        return Some(fault);
    }
    let faults = *shared.faults.lock().unwrap_or_else(PoisonError::into_inner);
    let mut rng = shared.rng.lock().unwrap_or_else(PoisonError::into_inner);
    if !rng.random_bool(faults.rate.clamp(0.0, 1.0)) {
        return None;
    }
    let hang = faults.max_hang_ms.max(6);
    Some(match rng.random_range(0..4) {
        0 => Fault::Error,
        1 => Fault::Hang(Duration::from_millis(rng.random_range(hang / 6..=hang))),
        2 => Fault::Delay(Duration::from_millis(rng.random_range(50..500))),
        _ => Fault::LoseReply,
    })
}

/// A refusal for an `eth_getLogs` over more blocks than the cap.
fn over_the_cap(shared: &Shared, body: &[u8]) -> Option<Fault> {
    let cap = shared.log_range_cap.load(Ordering::SeqCst);
    let request = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let filter = request.get("params")?.get(0)?;
    let block =
        |field: &str| u64::from_str_radix(filter.get(field)?.as_str()?.trim_start_matches("0x"), 16).ok();
    let span = block("toBlock")?.checked_sub(block("fromBlock")?)? + 1;
    (cap > 0 && request["method"] == "eth_getLogs" && span > cap)
        .then_some(Fault::Answer(-32005, "exceed max block range: the range is too large"))
}

async fn forward(shared: &Shared, body: Bytes) -> Result<(StatusCode, Bytes), String> {
    let answer = shared
        .client
        .post(&shared.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    Ok((status, answer.bytes().await.map_err(|e| e.to_string())?))
}

async fn handle(State(shared): State<Arc<Shared>>, body: Bytes) -> impl IntoResponse {
    if shared.down.load(Ordering::SeqCst) {
        shared.injected.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::SERVICE_UNAVAILABLE, Bytes::from_static(b"outage")).into_response();
    }
    let fault = over_the_cap(&shared, &body).or_else(|| choose(&shared, &body));
    if fault.is_some() {
        shared.injected.fetch_add(1, Ordering::Relaxed);
    } else {
        shared.forwarded.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some(Fault::Error) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, Bytes::from_static(b"injected")).into_response();
        }
        Some(Fault::Answer(code, message)) => {
            let id = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("id").cloned())
                .unwrap_or(serde_json::Value::Null);
            let error = serde_json::json!({
                "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message },
            });
            return (StatusCode::OK, Bytes::from(error.to_string())).into_response();
        }
        Some(Fault::Hang(d) | Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::LoseReply) => {
            let _ = forward(&shared, body).await; // it happened upstream; the caller never learns
            return (StatusCode::BAD_GATEWAY, Bytes::from_static(b"reply lost")).into_response();
        }
        None => {}
    }
    match forward(&shared, body).await {
        Ok((status, bytes)) => (status, bytes).into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, Bytes::from(error)).into_response(),
    }
}
