//! The production commands: `relayer run --config FILE` and `relayer hash-key KEY`.

use std::path::PathBuf;

use clap::Subcommand;
use relayer_core::telemetry;

use crate::Config;

/// Production subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the relayer with a config file.
    Run {
        /// The TOML config.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Prints the SHA-256 of an API key, for `auth.api_key_sha256`.
    HashKey {
        /// The API key.
        key: String,
    },
}

/// How long a graceful shutdown may take before the process exits anyway. Nothing is lost by exiting
/// then: every acknowledged write is durable, and sent transactions are persisted before broadcast.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (what `docker stop`, systemd and Kubernetes send).
pub async fn stop_signal() -> eyre::Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.map(|()| "SIGINT").map_err(Into::into),
        _ = term.recv() => Ok("SIGTERM"),
    }
}

/// Stops `node` gracefully (the API stops taking requests and finishes those in flight, every task
/// stops at a safe point), within [`SHUTDOWN_GRACE`].
pub async fn shutdown(node: relayer_core::Node, signal: &str) {
    tracing::info!(signal, grace_secs = SHUTDOWN_GRACE.as_secs(), "shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, node.shutdown()).await.is_err() {
        tracing::warn!(
            "graceful shutdown took longer than its grace period; exiting anyway (nothing acknowledged is lost)"
        );
    } else {
        tracing::info!("stopped");
    }
}

/// Runs a production subcommand.
pub async fn main(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run { config } => {
            let config = Config::load(&config)?;
            telemetry::init(config.log_format);
            let node = crate::start(config).await?;
            let signal = tokio::select! {
                signal = stop_signal() => signal?,
                () = node.lease_lost() => {
                    // Its chains stopped; the process exits so that its supervisor starts it again, as
                    // a standby with nothing left over from the time it held the lease.
                    shutdown(node, "lease lost").await;
                    eyre::bail!("this instance lost the signing lease to another one; exiting to start again as a standby");
                }
            };
            shutdown(node, signal).await;
            Ok(())
        }
        Command::HashKey { key } => {
            println!("{}", hex::encode(relayer_core::api::auth::hash_api_key(&key)));
            Ok(())
        }
    }
}
