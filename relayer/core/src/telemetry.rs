//! Logging: `tracing` to stderr, human-readable or one JSON object per line, filtered by `RUST_LOG`
//! (default [`DEFAULT_FILTER`]: the relayer's own events). Secrets never reach it: keys and client secrets
//! are not logged anywhere.

use serde::{Deserialize, Serialize};
use tracing_subscriber::{EnvFilter, fmt};

/// The filter when `RUST_LOG` is unset: the relayer's own events from `info`, everything else from
/// `warn`. A directive's target matches every target it prefixes, so `relayer` covers each workspace crate
/// (`relayer_core`, `relayer_svm`, …) and the binary. `tarpc` (the devnet's in-process Solana bank) warns
/// on every call that no OpenTelemetry subscriber is installed, so only its errors show. Without this the
/// devnet printed about 75 lines a second of the bank's `tarpc` and `solana_*` chatter, and its banner
/// (the API key, the `curl` lines) scrolled away at once. `RUST_LOG` replaces it entirely (e.g.
/// `RUST_LOG=info` for everything).
pub const DEFAULT_FILTER: &str = "warn,relayer=info,tarpc=error";

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `RUST_LOG` if it is set and valid, else [`DEFAULT_FILTER`].
fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Installs the global subscriber (a second call is a no-op).
pub fn init(format: LogFormat) {
    let builder = fmt().with_env_filter(filter()).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use super::*;

    /// What a subscriber with `filter` writes while `emit` runs.
    fn written(filter: &str, emit: impl FnOnce()) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&out);
        let subscriber = fmt()
            .with_env_filter(EnvFilter::new(filter))
            .with_ansi(false)
            .with_writer(move || Writer(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = out.lock().unwrap_or_else(PoisonError::into_inner).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What the devnet logged, by target (its in-process bank included), as the default filter shows it.
    fn devnet_lines(filter: &str) -> String {
        written(filter, || {
            tracing::info!(target: "relayer_core::engine", "own: a session was created");
            tracing::info!(target: "relayer_svm::watcher", "own: a vault was paid");
            tracing::info!(target: "relayer_devnet", "own: the devnet is up");
            tracing::info!(target: "relayer", "own: the binary");
            tracing::info!(target: "tarpc::server", "foreign: BeginRequest");
            tracing::warn!(target: "tarpc::client", "foreign: OpenTelemetry subscriber not installed");
            tracing::info!(target: "solana_program_test", "foreign: builtin program");
            tracing::info!(target: "solana_runtime::bank", "foreign: bank frozen");
            tracing::info!(target: "sled::pagecache", "foreign: sled");
            tracing::info!(target: "hyper::proto", "foreign: hyper");
            tracing::warn!(target: "solana_runtime::bank", "warned: a foreign warning");
            tracing::error!(target: "tarpc::client", "warned: a foreign error");
        })
    }

    #[test]
    fn the_default_filter_shows_the_relayers_own_events_and_only_warnings_of_other_crates() {
        let out = devnet_lines(DEFAULT_FILTER);
        let count = |what: &str| out.lines().filter(|l| l.contains(what)).count();
        assert_eq!(count("own:"), 4, "{out}");
        assert_eq!(count("foreign:"), 0, "{out}");
        assert_eq!(count("warned:"), 2, "{out}");
        // The events are there to be seen: `RUST_LOG=info` shows every one of them.
        assert_eq!(devnet_lines("info").lines().count(), 12);
    }
}
