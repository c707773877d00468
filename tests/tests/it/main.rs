//! Every end-to-end test in one test binary, one module per area (`cargo test -p e2e --test it -- chaos::`
//! runs one area). Each integration test file would be its own binary, and each links the whole
//! workspace: one binary links it once, which is most of the suite's build time and disk.
//!
//! The modules share one process. Nothing here depends on being alone in it: every test starts its
//! own chains, relayers, browsers and temporary folders on ports the system picks, no test sets an
//! environment variable or installs a panic hook or signal handler, and the files left under `target/`
//! (checkout screenshots, the API fuzz summary) each have one writer. The one thing shared is output:
//! the first Solana bank installs solana-program-test's global `log` logger, so relayers started in
//! process after it print their warnings to stderr (the relayer's tracing falls back to `log`). A new
//! module belongs here too: a new file directly under `tests/tests/` would be a binary of its own.

mod chaos;
mod checkout;
mod crosschain;
mod daimo_sdk;
mod devnet;
mod e2e;
mod evm_settle;
mod evm_watcher;
mod faults;
mod forgery;
mod keys;
mod openapi;
mod postgres;
mod solana;
mod surfpool;
mod tron;
mod webhooks;
