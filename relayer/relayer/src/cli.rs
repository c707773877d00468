//! Command line: `relayer run --config FILE`, `relayer devnet`, `relayer devnet pay`, `relayer hash-key`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{Config, Node, devnet, telemetry};

#[derive(Debug, Parser)]
#[command(name = "relayer", version, about = "Trust-minimized deposit relayer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the relayer with a config file.
    Run {
        /// The TOML config.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Starts a local devnet (anvil, contracts, relayer, API) or acts on a running one.
    Devnet(devnet::DevnetArgs),
    /// Prints the SHA-256 of an API key, for `auth.api_key_sha256`.
    HashKey {
        /// The API key.
        key: String,
    },
}

/// Entry point of the binary.
pub fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Run { config } => {
                let config = Config::load(&config)?;
                telemetry::init(config.log_format);
                let node = Node::start(config).await?;
                tokio::signal::ctrl_c().await?;
                tracing::info!("shutting down");
                node.shutdown().await;
                Ok(())
            }
            Command::Devnet(args) => devnet::main(args).await,
            Command::HashKey { key } => {
                println!("{}", hex::encode(crate::api::auth::hash_api_key(&key)));
                Ok(())
            }
        }
    })
}
