//! `/metrics` in the Prometheus text format: sessions by status, settlements by chain and outcome,
//! watcher lag and RPC errors per chain, broadcasts, HTTP responses by class.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};

use relayer_types::SessionStatus;

use crate::{
    engine::Engine,
    webhooks::worker::{ATTEMPT_RESULTS, LATENCY_BUCKETS_MS, WebhookMetrics},
};

/// HTTP responses by status class, counted by the API's middleware.
#[derive(Debug, Default)]
pub struct HttpCounters {
    /// 2xx and 3xx responses.
    pub ok: AtomicU64,
    /// 4xx responses.
    pub client_errors: AtomicU64,
    /// 5xx responses.
    pub server_errors: AtomicU64,
}

impl HttpCounters {
    /// Counts one response with `status`.
    pub fn record(&self, status: u16) {
        let counter = match status {
            200..=399 => &self.ok,
            400..=499 => &self.client_errors,
            _ => &self.server_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads one counter of a chain.
type ReadStat = fn(&relayer_chain::ChainStats) -> u64;
/// Reads a counter a family may not keep.
type ReadCount = fn(&relayer_chain::ChainStats) -> Option<u64>;

/// Writes one metric family: its HELP and TYPE lines, then `name{labels} value` per sample.
fn family<V: std::fmt::Display>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl IntoIterator<Item = (String, V)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// Renders all metrics. Probes the store (a small durable write): call it off the async workers.
pub fn render(engine: &Engine, http: &HttpCounters, webhooks: Option<&WebhookMetrics>) -> String {
    let mut out = String::new();
    let writable = match engine.store_probe() {
        Ok(()) => 1,
        Err(error) => {
            tracing::warn!(error = %relayer_util::causes(&error), "store probe failed");
            0
        }
    };
    family(
        &mut out,
        "relayer_store_writable",
        "gauge",
        "1 while the store takes durable writes.",
        [(String::new(), writable)],
    );
    if let Some(lease) = engine.lease_gauges() {
        render_lease(&mut out, lease);
    }
    let counts = engine.status_counts().unwrap_or_else(|error| {
        tracing::warn!(error = %relayer_util::causes(&error), "session counts unavailable for /metrics");
        Default::default()
    });
    family(
        &mut out,
        "relayer_sessions",
        "gauge",
        "Sessions by status.",
        SessionStatus::ALL
            .map(|s| (format!("status=\"{}\"", s.as_str()), counts.get(&s).copied().unwrap_or(0))),
    );
    family(
        &mut out,
        "relayer_deliveries_total",
        "counter",
        "Settlements seen, by chain and outcome.",
        engine
            .delivery_counts()
            .into_iter()
            .map(|((c, o), n)| (format!("chain_id=\"{c}\",outcome=\"{o}\""), n)),
    );
    family(
        &mut out,
        "relayer_deliveries_orphaned_total",
        "counter",
        "Settlements reorganised away after they counted (subtract from relayer_deliveries_total); each is settled again. Alert on any.",
        engine
            .orphaned_counts()
            .into_iter()
            .map(|((c, o), n)| (format!("chain_id=\"{c}\",outcome=\"{o}\""), n)),
    );
    family(
        &mut out,
        "relayer_foreign_events_total",
        "counter",
        "Chain events that name one of this relayer's sessions from a receiver that is not that session's (someone calling the contracts with params of their own that reuse a session id), by chain and kind; ignored. Alert on any.",
        engine.foreign_counts().into_iter().map(|((c, k), n)| (format!("chain_id=\"{c}\",kind=\"{k}\""), n)),
    );
    family(
        &mut out,
        "relayer_fronted_outstanding",
        "gauge",
        "What the relayer fronted on a destination chain and has not been repaid yet, in the token's base units.",
        // Exact, as decimal text (a valid sample value): an 18-decimal token's amounts pass u64's range.
        engine
            .exposure()
            .into_iter()
            .map(|((c, token), owed)| (format!("chain_id=\"{c}\",token=\"{token}\""), owed.to_string())),
    );
    family(
        &mut out,
        "relayer_fronting_cap",
        "gauge",
        "The most the relayer may have fronted and unrepaid on a destination chain, in the token's base units.",
        engine.chains().iter().flat_map(|(c, chain)| {
            chain.tokens().iter().filter_map(move |t| {
                let cap = chain.fronting_cap(&t.address)?;
                Some((format!("chain_id=\"{c}\",token=\"{}\"", t.address), cap.to_string()))
            })
        }),
    );
    family(
        &mut out,
        "relayer_fronting_off",
        "gauge",
        "1 where fronting is configured but off: the key that fronts could not be used at start (see the log); sessions are delivered when their bridges arrive.",
        engine
            .chains()
            .iter()
            .filter(|(_, chain)| chain.tokens().iter().any(|t| chain.fronting_cap(&t.address).is_some()))
            .map(|(c, chain)| (format!("chain_id=\"{c}\""), u8::from(chain.fronting_off()))),
    );
    family(
        &mut out,
        "relayer_work_reports_total",
        "counter",
        "What chains reported about delivery work, by chain and result.",
        engine.report_counts().into_iter().map(|((c, r), n)| (format!("chain_id=\"{c}\",result=\"{r}\""), n)),
    );
    let per_chain: [(&str, &str, &str, ReadStat); 13] = [
        ("relayer_watcher_lag_budget_blocks", "gauge", "Lag beyond which /readyz fails.", |s| s.lag_budget),
        ("relayer_pending_transactions", "gauge", "Transactions sent and not yet final.", |s| s.pending),
        ("relayer_oldest_pending_seconds", "gauge", "Age of the oldest transaction not yet final.", |s| {
            s.oldest_pending_secs
        }),
        (
            "relayer_nonce_gap",
            "gauge",
            "Nonces missing below the lowest one held (above 0: the key is stuck).",
            |s| s.nonce_gap,
        ),
        ("relayer_watcher_lag_blocks", "gauge", "Blocks between the chain head and the watcher.", |s| {
            s.lag()
        }),
        ("relayer_rpc_errors_total", "counter", "Failed or timed-out RPC calls.", |s| s.rpc_errors),
        ("relayer_broadcasts_total", "counter", "Transactions broadcast (fee bumps included).", |s| {
            s.broadcasts
        }),
        (
            "relayer_resent_after_reorg_total",
            "counter",
            "Mined transactions a reorg removed, sent again.",
            |s| s.resent_after_reorg,
        ),
        (
            "relayer_nonce_gaps_filled_total",
            "counter",
            "Nonces a reorg deeper than the confirmations emptied, filled with a no-op transfer (alert on it).",
            |s| s.nonce_gaps_filled,
        ),
        (
            "relayer_unreadable_send_records",
            "gauge",
            "Send records that cannot be read (above 0: /readyz fails; what they describe may be in flight).",
            |s| s.unreadable_sends,
        ),
        (
            "relayer_retiring_pending_transactions",
            "gauge",
            "Transactions of keys being rotated out ([[signer.retiring]]) not yet final.",
            |s| s.retiring_pending,
        ),
        (
            "relayer_unowned_send_records",
            "gauge",
            "Transactions on record under a key not configured or not usable here (above 0: /readyz fails; their work waits).",
            |s| s.unowned_sends,
        ),
        (
            "relayer_fee_bumps_held_total",
            "counter",
            "Stuck transactions left at their price: behind an earlier nonce, price not the cause, or the fee ceiling.",
            |s| s.bumps_held,
        ),
    ];
    let stats: Vec<(u64, relayer_chain::ChainStats)> =
        engine.chains().iter().map(|(id, c)| (*id, c.stats())).collect();
    for (name, kind, help, read) in per_chain {
        let samples = stats.iter().map(|(id, s)| (format!("chain_id=\"{id}\""), read(s)));
        family(&mut out, name, kind, help, samples);
    }
    let counted: [(&str, &str, ReadCount); 2] = [
        (
            "relayer_fees_paid_total",
            "Fees the relayer's landed transactions paid, in the chain's native base units (Solana: lamports), where the family counts them.",
            |s| s.fees_paid,
        ),
        (
            "relayer_priority_fees_paid_total",
            "The part of relayer_fees_paid_total paid for priority (Solana: compute-unit price), in native base units.",
            |s| s.priority_fees_paid,
        ),
    ];
    for (name, help, read) in counted {
        let samples = stats.iter().filter_map(|(id, s)| Some((format!("chain_id=\"{id}\""), read(s)?)));
        family(&mut out, name, "counter", help, samples);
    }
    let gauges: Vec<(u64, relayer_chain::AccountGauge)> =
        stats.iter().flat_map(|(id, s)| s.account.iter().flatten().map(move |g| (*id, *g))).collect();
    family(
        &mut out,
        "relayer_account_resource",
        "gauge",
        "What each of the relayer's keys holds to pay for transactions, where the family reads it (EVM: native_gwei; Tron: trx_sun, energy, bandwidth; Solana: sol_lamports), by role (settle; inventory: a separate fronting key).",
        gauges.iter().map(|(id, g)| (account_labels(*id, g), g.amount)),
    );
    family(
        &mut out,
        "relayer_account_resource_floor",
        "gauge",
        "Below this the relayer reports itself not ready (/readyz).",
        gauges.iter().map(|(id, g)| (account_labels(*id, g), g.floor)),
    );
    family(
        &mut out,
        "relayer_inventory_balance",
        "gauge",
        "What the key that fronts holds of each token it fronts, in the token's base units, as last read.",
        engine.chains().iter().flat_map(|(c, chain)| {
            chain.inventory_balances().into_iter().map(move |(token, amount)| {
                (format!("chain_id=\"{c}\",token=\"{token}\""), amount.to_string())
            })
        }),
    );
    let spending: Vec<(u64, relayer_chain::SpendingStats)> =
        stats.iter().filter_map(|(id, s)| Some((*id, s.spending?))).collect();
    let labels =
        |id: &u64, s: &relayer_chain::SpendingStats| format!("chain_id=\"{id}\",unit=\"{}\"", s.unit);
    family(
        &mut out,
        "relayer_fees_spent_today",
        "gauge",
        "Fees the relayer's landed transactions paid today (UTC), in the unit named (EVM: gwei).",
        spending.iter().map(|(id, s)| (labels(id, s), s.today)),
    );
    family(
        &mut out,
        "relayer_daily_fee_cap",
        "gauge",
        "The daily fee cap: once relayer_fees_spent_today reaches it, nothing new is sent until 00:00 UTC.",
        spending.iter().filter_map(|(id, s)| Some((labels(id, s), s.daily_cap?))),
    );
    family(
        &mut out,
        "relayer_costly_transactions_total",
        "counter",
        "Landed transactions that cost more than the chain's costly_fee.",
        spending.iter().map(|(id, s)| (format!("chain_id=\"{id}\""), s.costly)),
    );
    family(
        &mut out,
        "relayer_http_responses_total",
        "counter",
        "HTTP responses by status class.",
        [("2xx", &http.ok), ("4xx", &http.client_errors), ("5xx", &http.server_errors)]
            .map(|(class, c)| (format!("class=\"{class}\""), c.load(Ordering::Relaxed))),
    );
    if let Some(w) = webhooks {
        render_webhooks(&mut out, w);
    }
    out
}

/// Webhook deliveries: pending, delivered and failed events, attempts by result, and the latency from
/// a transition to its 2xx as a Prometheus histogram.
/// The signing lease of an instance sharing its store with others.
fn render_lease(out: &mut String, lease: &crate::engine::LeaseGauges) {
    use std::sync::atomic::Ordering::Relaxed;
    let held = lease.held.load(Relaxed);
    let since = lease.since.load(Relaxed);
    let gauges: [(&str, &str, &str, u64); 5] = [
        (
            "relayer_lease_held",
            "gauge",
            "1 while this instance holds the signing lease (runs the chains).",
            u64::from(held),
        ),
        (
            "relayer_lease_epoch",
            "gauge",
            "The epoch of the signing lease this instance holds or last held.",
            lease.epoch.load(Relaxed),
        ),
        (
            "relayer_lease_age_seconds",
            "gauge",
            "How long this instance has held the signing lease (0 when it does not).",
            if held { relayer_types::unix_now().saturating_sub(since) } else { 0 },
        ),
        (
            "relayer_lease_takeovers_total",
            "counter",
            "Times this instance took the signing lease (failovers to it).",
            lease.takeovers.load(Relaxed),
        ),
        (
            "relayer_lease_losses_total",
            "counter",
            "Times this instance lost the signing lease while holding it.",
            lease.losses.load(Relaxed),
        ),
    ];
    for (name, kind, help, value) in gauges {
        family(out, name, kind, help, [(String::new(), value)]);
    }
}

fn render_webhooks(out: &mut String, w: &WebhookMetrics) {
    let pending = u64::try_from(w.pending.load(Ordering::Relaxed)).unwrap_or(0);
    family(
        out,
        "relayer_webhook_events_pending",
        "gauge",
        "Webhook deliveries waiting or in flight.",
        [(String::new(), pending)],
    );
    family(
        out,
        "relayer_webhook_events_total",
        "counter",
        "Webhook deliveries finished, by result (failed: retries used up or endpoint disabled).",
        [("delivered", &w.delivered), ("failed", &w.failed)]
            .map(|(r, c)| (format!("result=\"{r}\""), c.load(Ordering::Relaxed))),
    );
    family(
        out,
        "relayer_webhook_attempts_total",
        "counter",
        "Webhook delivery attempts, by the endpoint's answer.",
        ATTEMPT_RESULTS
            .iter()
            .zip(&w.attempts)
            .map(|(r, c)| (format!("result=\"{r}\""), c.load(Ordering::Relaxed))),
    );
    let name = "relayer_webhook_delivery_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} From the transition that caused an event to the endpoint's 2xx.\n# TYPE {name} histogram"
    );
    let mut cumulative = 0;
    for (i, count) in w.latency.iter().enumerate() {
        cumulative += count.load(Ordering::Relaxed);
        let le = LATENCY_BUCKETS_MS
            .get(i)
            .map_or_else(|| "+Inf".to_owned(), |ms| format!("{}", *ms as f64 / 1000.0));
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let sum = w.latency_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0;
    let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
}

/// The labels of one key's account gauge.
fn account_labels(chain_id: u64, gauge: &relayer_chain::AccountGauge) -> String {
    format!("chain_id=\"{chain_id}\",role=\"{}\",resource=\"{}\"", gauge.role, gauge.resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_counters_count_responses_by_status_class() {
        let counters = HttpCounters::default();
        for status in [200, 201, 304, 400, 401, 404, 422, 500, 503] {
            counters.record(status);
        }
        assert_eq!(counters.ok.load(Ordering::Relaxed), 3);
        assert_eq!(counters.client_errors.load(Ordering::Relaxed), 4);
        assert_eq!(counters.server_errors.load(Ordering::Relaxed), 2);
    }
}
