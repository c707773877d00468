//! `/metrics` in the Prometheus text format: sessions by status, settlements by chain and outcome,
//! watcher lag and RPC errors per chain, broadcasts, HTTP responses by class.

use std::{fmt::Write, sync::atomic::Ordering};

use relayer_types::SessionStatus;

use crate::{api::HttpCounters, engine::Engine};

/// Renders all metrics.
pub fn render(engine: &Engine, http: &HttpCounters) -> String {
    let mut out = String::new();
    let counts = engine.status_counts();
    let _ = writeln!(
        out,
        "# HELP relayer_sessions Sessions by status.\n# TYPE relayer_sessions gauge"
    );
    for status in SessionStatus::ALL {
        let _ = writeln!(
            out,
            "relayer_sessions{{status=\"{}\"}} {}",
            status.as_str(),
            counts.get(&status).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(
        out,
        "# HELP relayer_deliveries_total Settlements seen, by chain and outcome.\n# TYPE relayer_deliveries_total counter"
    );
    for ((chain, outcome), n) in engine.delivery_counts() {
        let _ = writeln!(
            out,
            "relayer_deliveries_total{{chain_id=\"{chain}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP relayer_watcher_lag_blocks Blocks between the chain head and the watcher.\n# TYPE relayer_watcher_lag_blocks gauge"
    );
    for (id, chain) in engine.chains() {
        let _ = writeln!(
            out,
            "relayer_watcher_lag_blocks{{chain_id=\"{id}\"}} {}",
            chain.stats.lag()
        );
    }
    let _ = writeln!(
        out,
        "# HELP relayer_rpc_errors_total Failed or timed-out RPC calls.\n# TYPE relayer_rpc_errors_total counter"
    );
    for (id, chain) in engine.chains() {
        let _ = writeln!(
            out,
            "relayer_rpc_errors_total{{chain_id=\"{id}\"}} {}",
            chain.stats.rpc_errors.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP relayer_broadcasts_total Transactions broadcast (fee bumps included).\n# TYPE relayer_broadcasts_total counter"
    );
    for (id, chain) in engine.chains() {
        let _ = writeln!(
            out,
            "relayer_broadcasts_total{{chain_id=\"{id}\"}} {}",
            chain.stats.broadcasts.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP relayer_http_responses_total HTTP responses by status class.\n# TYPE relayer_http_responses_total counter"
    );
    for (class, counter) in [
        ("2xx", &http.ok),
        ("4xx", &http.client_errors),
        ("5xx", &http.server_errors),
    ] {
        let _ = writeln!(
            out,
            "relayer_http_responses_total{{class=\"{class}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
    out
}
