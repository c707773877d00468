//! The relayer's own CLI, built inside the e2e package so its tests can spawn, kill and restart it.

fn main() -> eyre::Result<()> {
    relayer::cli::main()
}
