//! Solana's JSON-RPC served by an implementation we did not write: [surfpool](https://github.com/solana-foundation/surfpool)
//! (`surfpool-core` 1.3.1, the last release on Solana 3.x), a `solana-test-validator` replacement built on
//! LiteSVM, run offline in this process with the deposit-vault program and the CCTP v2 stand-ins registered
//! as native builtins (no SBF toolchain can be had here; see `../../shared/TOOLCHAIN.md`). The relayer talks to
//! it only through its own JSON-RPC client ([`relayer_svm::RpcClient`]), so what the tests that use it show
//! is that the client understands a server that is not the devnet's own: its answers, errors and timing.
//!
//! What is still ours: the programs (compiled for the host, run through solana-program-test's native
//! adapter and syscall stubs inside LiteSVM), and the USDC mint this module creates. What differs from a
//! real cluster (read from surfpool's source; see the README's Solana section): `getSignatureStatuses`
//! answers `null` for a transaction that is only processed, reads ignore their commitment (they see the
//! newest state), `finalized` is 31 slots behind, `getRecentPrioritizationFees` lists one entry per
//! priced transaction rather than one per slot, and the unix clock advances by the slot time per block
//! (this module keeps it at the wall clock, as the program's expiry checks assume).
//!
//! Devnet and tests only: never a dependency of the relayer binary.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use anchor_spl::{associated_token, token::spl_token};
use relayer_svm::{RpcClient, SvmClient, tx};
use solana_program_runtime::invoke_context::BuiltinFunctionWithContext;
use solana_sdk::{
    account::Account, pubkey::Pubkey, signature::Keypair, signer::Signer, transaction::Transaction,
};
use surfpool_core::{
    runloops::start_local_surfnet_runloop,
    surfnet::{
        locker::SurfnetSvmLocker,
        svm::{SurfnetSvm, SurfnetSvmConfig},
    },
};
use surfpool_types::{
    BlockProductionMode, RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig, channel,
};

/// The USDC mint: at mainnet USDC's address, as the devnet's bank puts it (the program's cluster file
/// names it as the mint it bridges).
pub const USDC_MINT: Pubkey = deposit_vault::evm::BRIDGED_MINT;
/// Its decimals.
pub const USDC_DECIMALS: u8 = 6;
/// What Circle's custody (the CCTP v2 stand-in) holds at start, to release for transfers from the EVM
/// chains.
pub const BRIDGE_LIQUIDITY: u64 = 1_000_000_000_000_000;
/// A slot: short, so `finalized` (31 slots behind) is 1.5 s behind, not a real cluster's 12 s.
pub const SLOT_TIME: Duration = Duration::from_millis(50);
/// How often the unix clock is set back to the wall clock's.
const CLOCK_EVERY: Duration = Duration::from_millis(400);

/// A running surfpool with the programs, USDC and Circle's CCTP v2 stand-ins set up.
pub struct Surfnet {
    /// Its JSON-RPC endpoint.
    pub rpc_url: String,
    client: Arc<RpcClient>,
    locker: SurfnetSvmLocker,
    commands: channel::Sender<SimnetCommand>,
    faucet: Keypair,
    mint_authority: Keypair,
    stop: tokio_util::sync::CancellationToken,
}

/// A free local TCP port (surfpool must be told concrete ones: it binds them itself).
fn free_port() -> eyre::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Program-test's syscall stubs (what a native program's CPIs, sysvar reads and logs go through) are
/// installed once per process when a program-test context starts; LiteSVM runs the natively compiled
/// programs through the same adapter, so one context is started and dropped first.
async fn syscall_stubs() {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.get().is_none() {
        drop(solana_program_test::ProgramTest::default().start_with_context().await);
        agave_logger::setup_with_default("warn");
        let _ = DONE.set(());
    }
}

fn unix_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

impl Surfnet {
    /// Starts surfpool offline on two free ports (HTTP and WebSocket) with the programs, creates the USDC
    /// mint (its authority held here), writes the state of the CCTP v2 stand-ins (trusting `attester`, an
    /// EVM address; the EVM chains' token messenger at `evm_messenger`) with [`BRIDGE_LIQUIDITY`] in
    /// custody, and creates the deposit-vault inbox.
    pub async fn start(attester: [u8; 20], evm_messenger: [u8; 20]) -> eyre::Result<Self> {
        syscall_stubs().await;
        let slot_time = u64::try_from(SLOT_TIME.as_millis()).unwrap_or(50);
        let (mut svm, events, geyser) = SurfnetSvm::new(SurfnetSvmConfig {
            slot_time,
            instruction_profiling_enabled: false,
            ..SurfnetSvmConfig::default()
        })
        .map_err(|e| eyre::eyre!("surfpool: {e}"))?;
        let vault: Option<BuiltinFunctionWithContext> =
            solana_program_test::processor!(deposit_vault::native::process);
        let messenger: Option<BuiltinFunctionWithContext> =
            solana_program_test::processor!(token_messenger_minter_v2::native::process);
        let transmitter: Option<BuiltinFunctionWithContext> =
            solana_program_test::processor!(message_transmitter_v2::native::process);
        let (Some(vault), Some(messenger), Some(transmitter)) = (vault, messenger, transmitter) else {
            eyre::bail!("no native entry point")
        };
        svm.inner.svm.add_builtin(deposit_vault::ID, vault);
        svm.inner.svm.add_builtin(token_messenger_minter_v2::ID, messenger);
        svm.inner.svm.add_builtin(message_transmitter_v2::ID, transmitter);
        for (address, account) in tx::cctp_stand_in_accounts(USDC_MINT, attester, evm_messenger) {
            svm.set_account(&address, account).map_err(|e| eyre::eyre!("surfpool: {e}"))?;
        }
        let mint_authority = Keypair::new();
        svm.set_account(&USDC_MINT, tx::mint_account(&mint_authority.pubkey(), USDC_DECIMALS))
            .map_err(|e| eyre::eyre!("surfpool: {e}"))?;
        let faucet = Keypair::new();
        svm.set_account(
            &faucet.pubkey(),
            Account { lamports: 1_000_000 * 1_000_000_000, ..Account::default() },
        )
        .map_err(|e| eyre::eyre!("surfpool: {e}"))?;

        let (rpc_port, ws_port) = (free_port()?, free_port()?);
        let config = SurfpoolConfig {
            simnets: vec![SimnetConfig {
                offline_mode: true,
                remote_rpc_url: None,
                slot_time,
                block_production_mode: BlockProductionMode::Clock,
                instruction_profiling_enabled: false,
                ..SimnetConfig::default()
            }],
            rpc: RpcConfig {
                bind_host: "127.0.0.1".into(),
                bind_port: rpc_port,
                ws_port,
                ..RpcConfig::default()
            },
            ..SurfpoolConfig::default()
        };
        // surfpool sends its events on a bounded channel and blocks when it is full: drain it for good.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new().name("surfnet-events".into()).spawn(move || {
            let mut ready = Some(ready_tx);
            for event in events {
                match event {
                    SimnetEvent::Ready(_) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(Ok(()));
                        }
                    }
                    SimnetEvent::Aborted(why) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(Err(why));
                        }
                    }
                    _ => {}
                }
            }
        })?;
        let locker = SurfnetSvmLocker::new(svm);
        let (commands, commands_rx) = channel::unbounded();
        let (runloop_locker, runloop_commands) = (locker.clone(), commands.clone());
        std::thread::Builder::new().name("surfnet".into()).spawn(move || {
            let runtime =
                match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => return tracing::error!(%error, "surfnet: no runtime"),
                };
            let run =
                start_local_surfnet_runloop(runloop_locker, config, runloop_commands, commands_rx, geyser);
            if let Err(error) = runtime.block_on(run) {
                tracing::error!(%error, "surfnet stopped");
            }
        })?;
        match tokio::time::timeout(Duration::from_secs(60), ready_rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(why))) => eyre::bail!("surfpool aborted: {why}"),
            Ok(Err(_)) | Err(_) => eyre::bail!("surfpool did not become ready"),
        }
        let rpc_url = format!("http://127.0.0.1:{rpc_port}");
        let client = Arc::new(RpcClient::new(rpc_url.clone(), Duration::from_secs(10))?);
        let stop = tokio_util::sync::CancellationToken::new();
        let net = Self { rpc_url, client, locker, commands, faucet, mint_authority, stop };
        net.keep_the_clock();
        net.set_up_the_bridge().await?;
        Ok(net)
    }

    /// Keeps the unix clock at the wall clock's (surfpool advances it by the slot time per block, which
    /// falls behind when blocks come late), so sessions expire when they say.
    fn keep_the_clock(&self) {
        let (locker, stop) = (self.locker.clone(), self.stop.clone());
        // A plain thread, outside any runtime: surfpool's lock may block it.
        std::thread::spawn(move || {
            while !stop.is_cancelled() {
                locker.with_svm_writer(|svm| {
                    svm.updated_at = unix_ms().saturating_sub(svm.slot_time);
                });
                std::thread::sleep(CLOCK_EVERY);
            }
        });
    }

    async fn set_up_the_bridge(&self) -> eyre::Result<()> {
        let faucet = self.faucet.pubkey();
        let ixs = [
            associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &faucet,
                &deposit_vault::inbox().0,
                &USDC_MINT,
                &spl_token::ID,
            ),
            spl_token::instruction::mint_to(
                &spl_token::ID,
                &USDC_MINT,
                &tx::cctp_custody(&USDC_MINT),
                &self.mint_authority.pubkey(),
                &[],
                BRIDGE_LIQUIDITY,
            )?,
        ];
        self.send(&ixs, &[&self.faucet, &self.mint_authority]).await
    }

    /// Signs `ixs` (fee paid by the faucet) with `signers` and sends them, waiting until they landed.
    async fn send(
        &self,
        ixs: &[solana_sdk::instruction::Instruction],
        signers: &[&Keypair],
    ) -> eyre::Result<()> {
        let blockhash = self.client.latest_blockhash().await?.0;
        let tx = Transaction::new_signed_with_payer(ixs, Some(&self.faucet.pubkey()), signers, blockhash);
        let signature = self.client.send(tx::serialize(&tx)).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(Some(status)) = self.client.statuses(vec![signature]).await?.first() {
                eyre::ensure!(!status.failed, "set-up transaction {signature} failed");
                return Ok(());
            }
            eyre::ensure!(
                tokio::time::Instant::now() < deadline,
                "set-up transaction {signature} did not land"
            );
            tokio::time::sleep(SLOT_TIME).await;
        }
    }

    /// The relayer's view of it: its JSON-RPC client.
    pub fn client(&self) -> Arc<RpcClient> {
        Arc::clone(&self.client)
    }

    /// Gives `owner` `lamports` and `usdc` base units of USDC (in its associated token account).
    pub async fn fund(&self, owner: &Pubkey, lamports: u64, usdc: u64) -> eyre::Result<()> {
        let mut ixs = vec![
            tx::lamport_transfer(&self.faucet.pubkey(), owner, lamports),
            associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &self.faucet.pubkey(),
                owner,
                &USDC_MINT,
                &spl_token::ID,
            ),
        ];
        if usdc > 0 {
            ixs.push(spl_token::instruction::mint_to(
                &spl_token::ID,
                &USDC_MINT,
                &associated_token::get_associated_token_address(owner, &USDC_MINT),
                &self.mint_authority.pubkey(),
                &[],
                usdc,
            )?);
            self.send(&ixs, &[&self.faucet, &self.mint_authority]).await
        } else {
            self.send(&ixs, &[&self.faucet]).await
        }
    }

    /// `owner`'s USDC (0 without an account), as the node answers it.
    pub async fn usdc_balance(&self, owner: &Pubkey) -> eyre::Result<u64> {
        let ata = associated_token::get_associated_token_address(owner, &USDC_MINT);
        let accounts = self.client.accounts(vec![ata]).await?;
        Ok(accounts.into_iter().flatten().next().and_then(|a| tx::token_account(&a.data)).map_or(0, |t| t.2))
    }

    /// Stops surfpool (its servers close; the clock keeper ends).
    pub fn stop(&self) {
        self.stop.cancel();
        let _ = self.commands.send(SimnetCommand::Terminate(None));
    }
}

impl Drop for Surfnet {
    fn drop(&mut self) {
        self.stop();
    }
}
