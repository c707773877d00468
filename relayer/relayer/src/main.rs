//! The `relayer` command.

fn main() -> eyre::Result<()> {
    relayer::cli::main()
}
