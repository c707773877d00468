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

/// Runs a production subcommand.
pub async fn main(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run { config } => {
            let config = Config::load(&config)?;
            telemetry::init(config.log_format);
            let node = crate::start(config).await?;
            tokio::signal::ctrl_c().await?;
            tracing::info!("shutting down");
            node.shutdown().await;
            Ok(())
        }
        Command::HashKey { key } => {
            println!("{}", hex::encode(relayer_core::api::auth::hash_api_key(&key)));
            Ok(())
        }
    }
}
