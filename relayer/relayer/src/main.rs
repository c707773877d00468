//! The `relayer` command: the production subcommands from `relayer-node`, and `devnet` from
//! `relayer-devnet` when built with the `devnet` feature (the default, so `cargo run -p relayer -- devnet`
//! works from a checkout). Production binaries are built with `--no-default-features`: they link none of
//! the devnet, and `relayer devnet` says how to get it. Nothing else lives here.

#[cfg(not(feature = "devnet"))]
use clap::{CommandFactory, error::ErrorKind};
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
    #[cfg(feature = "devnet")]
    Devnet(relayer_devnet::DevnetArgs),
    /// The local devnet: not in this build (production builds leave it out).
    #[cfg(not(feature = "devnet"))]
    #[command(disable_help_flag = true)]
    Devnet {
        /// Whatever was asked of it.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
}

/// What `relayer devnet` answers in a build without the devnet.
#[cfg(not(feature = "devnet"))]
const NO_DEVNET: &str = "this relayer was built without the devnet (cargo feature `devnet`, which \
    production builds leave out with --no-default-features); from a checkout of the repository, run \
    `cargo run -p relayer -- devnet`";

fn main() -> eyre::Result<()> {
    let command = match Cli::parse().command {
        Command::Node(command) => command,
        #[cfg(feature = "devnet")]
        Command::Devnet(args) => return runtime()?.block_on(relayer_devnet::main(args)),
        #[cfg(not(feature = "devnet"))]
        Command::Devnet { .. } => Cli::command().error(ErrorKind::InvalidSubcommand, NO_DEVNET).exit(),
    };
    #[cfg(feature = "devnet")]
    if matches!(command, relayer_node::cli::Command::Run { .. }) {
        // The default build carries the devnet for `cargo run -p relayer -- devnet`; say so to whoever
        // runs it in production.
        eprintln!(
            "note: this relayer binary includes the devnet (cargo feature `devnet`); build production \
             binaries with `cargo build --release --locked -p relayer --no-default-features`"
        );
    }
    runtime()?.block_on(relayer_node::cli::main(command))
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}
