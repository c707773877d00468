//! The `relayer` command: the production subcommands from `relayer-node`, and `devnet` from
//! `relayer-devnet`. Nothing else lives here.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "relayer", version, about = "Trust-minimized deposit relayer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Node(relayer_node::cli::Command),
    /// Starts a local devnet (anvil, contracts, relayer, API) or acts on a running one.
    Devnet(relayer_devnet::DevnetArgs),
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Node(command) => relayer_node::cli::main(command).await,
            Command::Devnet(args) => relayer_devnet::main(args).await,
        }
    })
}
