//! The production `relayer` commands (`run --config FILE`) under a name the end-to-end tests can find
//! (`CARGO_BIN_EXE_relayer-under-test`), to kill and restart a real relayer process.

use clap::Parser;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: relayer_node::cli::Command,
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(relayer_node::cli::main(cli.command))
}
