//! An in-process Solana cluster for the devnet and tests: solana-program-test's bank with the
//! deposit-vault program and the CCTP v2 stand-ins (native) and the real SPL Token and Associated Token Account
//! programs, a USDC mint (the bridge initialized for it), and the small ledger a validator's RPC would keep (which transactions touched which account,
//! with their token balances and inner instructions), so it answers the same [`SvmClient`] questions as a
//! JSON-RPC node. A clock task keeps the bank's unix time at the wall clock, so session expiry means the
//! same on both sides.
//!
//! One difference from a cluster matters to callers: program-test's blockhashes expire about a second
//! after they are issued (see [`LocalBank::height`]), not after a minute or so. Whoever signs a
//! transaction for this bank must do so right after fetching its blockhash.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anchor_spl::{associated_token, token::spl_token};
use relayer_chain::BoxFuture;
use solana_program_test::{ProgramTest, ProgramTestContext, processor};
use solana_sdk::{
    clock::Clock,
    hash::Hash,
    pubkey::Pubkey,
    signature::{Keypair, Signature},
    signer::Signer,
    transaction::{Transaction, VersionedTransaction},
};
use tokio_util::sync::CancellationToken;

use crate::{
    client::{
        AccountView, ClientError, Confirmation, InnerInstruction, Page, SIGNATURES_PER_PAGE, SendError,
        SignatureInfo, Simulation, SvmClient, TokenBalance, TopInstruction, TxFailure, TxStatus, TxView,
    },
    tx,
};

/// Decimals of the bank's USDC.
pub const USDC_DECIMALS: u8 = 6;

/// The bank's USDC mint: at mainnet USDC's address (the program's cluster file names it), as the EVM
/// devnet chains put their test USDC at the real USDC addresses (the CCTP adapter's Solana route, part of
/// the deterministic EVM deployment, names it and the deposit-vault inbox of it).
pub const USDC_MINT: Pubkey = deposit_vault::evm::BRIDGED_MINT;

/// USDC in Circle's custody at start (the CCTP v2 stand-in), released for transfers from the EVM chains
/// (the EVM side burns what it bridges; the stand-in pays out of custody and burns what leaves).
pub const BRIDGE_LIQUIDITY: u64 = 1_000_000_000_000_000;

/// How often the bank's clock task sets its unix time to the wall clock's.
pub const CLOCK_EVERY: Duration = Duration::from_millis(400);

#[derive(Default)]
struct Ledger {
    transactions: Vec<TxView>,
    by_signature: HashMap<Signature, usize>,
    by_account: HashMap<Pubkey, Vec<usize>>,
}

/// What the bank does with transactions sent to it, as a lossy or slow path to a real cluster does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendFault {
    /// Each is processed at once.
    #[default]
    None,
    /// Each copy is answered with its signature and never processed (a packet the leader never got).
    Lose,
    /// Each copy is answered with its signature and kept until [`LocalBank::release_held`] (a
    /// transaction that is merely slow to land).
    Hold,
}

#[derive(Default)]
struct Faults {
    /// What happens to the next `count` new signatures sent.
    next: SendFault,
    count: usize,
    /// Signatures under a fault, and which: every copy sent again meets the same fate.
    caught: HashMap<Signature, SendFault>,
    /// Held transactions, in the order they came.
    held: Vec<Vec<u8>>,
    /// Every transaction sent, in order, copies included.
    sent: Vec<(Signature, Vec<u8>)>,
}

/// The in-process cluster.
pub struct LocalBank {
    faults: Mutex<Faults>,
    /// What `getRecentPrioritizationFees` answers (the bank has no competing transactions of its own).
    priority_fees: Mutex<Vec<u64>>,
    ctx: tokio::sync::Mutex<ProgramTestContext>,
    ledger: Mutex<Ledger>,
    usdc: Pubkey,
    mint_authority: Keypair,
    /// Funds new accounts (program-test's genesis payer).
    faucet: Keypair,
    cancel: CancellationToken,
    started: std::time::Instant,
    height_every: Duration,
}

fn err(e: impl std::fmt::Display) -> ClientError {
    ClientError::new(e.to_string())
}

impl LocalBank {
    /// Starts the bank with the programs, creates the USDC mint, writes the state of the CCTP v2
    /// stand-ins (trusting `attester`'s signatures, an EVM address; the EVM chains' token messenger at
    /// `evm_messenger`) with [`BRIDGE_LIQUIDITY`] in Circle's custody, creates the deposit-vault inbox token account, and starts the clock task (stopped with
    /// [`LocalBank::stop`] or when the bank is dropped).
    pub async fn start(attester: [u8; 20], evm_messenger: [u8; 20]) -> Result<Arc<Self>, ClientError> {
        let mut test =
            ProgramTest::new("deposit_vault", deposit_vault::ID, processor!(deposit_vault::native::process));
        test.add_program(
            "token_messenger_minter_v2",
            token_messenger_minter_v2::ID,
            processor!(token_messenger_minter_v2::native::process),
        );
        test.add_program(
            "message_transmitter_v2",
            message_transmitter_v2::ID,
            processor!(message_transmitter_v2::native::process),
        );
        for (address, account) in tx::cctp_stand_in_accounts(USDC_MINT, attester, evm_messenger) {
            test.add_account(address, account);
        }
        // Program-test turns on debug logs of every instruction (on stderr, beside the relayer's own
        // tracing); warnings only, unless RUST_LOG says otherwise.
        agave_logger::setup_with_default("warn");
        test.prefer_bpf(false);
        let mint_authority = Keypair::new();
        test.add_account(USDC_MINT, tx::mint_account(&mint_authority.pubkey(), USDC_DECIMALS));
        let ctx = test.start_with_context().await;
        let genesis = ctx.genesis_config();
        let slot_time =
            genesis.poh_config.target_tick_duration * u32::try_from(genesis.ticks_per_slot).unwrap_or(64);
        let faucet = ctx.payer.insecure_clone();
        let bank = Arc::new(Self {
            faults: Mutex::default(),
            priority_fees: Mutex::default(),
            ctx: tokio::sync::Mutex::new(ctx),
            ledger: Mutex::default(),
            usdc: USDC_MINT,
            mint_authority,
            faucet,
            cancel: CancellationToken::new(),
            started: std::time::Instant::now(),
            height_every: slot_time * 2,
        });
        bank.tick().await?;
        tokio::spawn(Arc::clone(&bank).run_clock());
        // Circle's custody holds the liquidity; the inbox receives what it brings from the EVM chains.
        let faucet = bank.faucet.pubkey();
        let ixs = [
            associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &faucet,
                &deposit_vault::inbox().0,
                &bank.usdc,
                &spl_token::ID,
            ),
            spl_token::instruction::mint_to(
                &spl_token::ID,
                &bank.usdc,
                &tx::cctp_custody(&bank.usdc),
                &bank.mint_authority.pubkey(),
                &[],
                BRIDGE_LIQUIDITY,
            )
            .map_err(err)?,
        ];
        let blockhash = bank.latest_blockhash().await?.0;
        let tx = Transaction::new_signed_with_payer(
            &ixs,
            Some(&faucet),
            &[&bank.faucet, &bank.mint_authority],
            blockhash,
        );
        bank.send(tx::serialize(&tx)).await.map_err(err)?;
        Ok(bank)
    }

    /// The next `count` transactions sent with a signature not seen before meet `fault` (and so does
    /// every copy of them sent again).
    pub fn fault_next(&self, fault: SendFault, count: usize) {
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        faults.next = fault;
        faults.count = count;
    }

    /// Processes the held transactions (a copy of one that already landed is refused, as a node
    /// refuses a duplicate), and stops holding: copies sent from now on are processed at once. Returns
    /// how many were released.
    pub async fn release_held(&self) -> usize {
        let held = {
            let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
            faults.caught.retain(|_, fault| *fault != SendFault::Hold);
            std::mem::take(&mut faults.held)
        };
        let count = held.len();
        for raw in held {
            if let Err(error) = self.process(raw).await {
                tracing::debug!(%error, "a held transaction did not land");
            }
        }
        count
    }

    /// How many transactions are held.
    pub fn held(&self) -> usize {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner).held.len()
    }

    /// Every transaction sent so far (signature and wire bytes), in order, copies included.
    pub fn sent(&self) -> Vec<(Signature, Vec<u8>)> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner).sent.clone()
    }

    /// What `getRecentPrioritizationFees` answers from now on (one fee per recent slot).
    pub fn set_priority_fees(&self, fees: Vec<u64>) {
        *self.priority_fees.lock().unwrap_or_else(PoisonError::into_inner) = fees;
    }

    /// Where a fault sends `raw`, if one does: `Some(signature)` when it was lost or held.
    fn fault(&self, raw: &[u8]) -> Option<Signature> {
        let signature = tx::deserialize(raw).ok()?.signatures.first().copied()?;
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        faults.sent.push((signature, raw.to_vec()));
        let fault = match faults.caught.get(&signature) {
            Some(fault) => *fault,
            None if faults.count > 0 && faults.next != SendFault::None => {
                faults.count -= 1;
                let fault = faults.next;
                faults.caught.insert(signature, fault);
                fault
            }
            None => return None,
        };
        match fault {
            SendFault::None => None,
            SendFault::Lose => Some(signature),
            SendFault::Hold => {
                faults.held.push(raw.to_vec());
                Some(signature)
            }
        }
    }

    /// Stops the clock task.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Names `fee_recipient` as the fee recipient in Circle's token messenger state (as Circle's
    /// `set_fee_recipient` does), and gives it a USDC account.
    pub async fn set_cctp_fee_recipient(&self, fee_recipient: &Pubkey) -> Result<(), ClientError> {
        use anchor_lang::{AccountDeserialize as _, AccountSerialize as _};
        self.fund(fee_recipient, 1_000_000, 0).await?;
        let at = tx::token_messenger_state();
        let mut ctx = self.ctx.lock().await;
        let mut account =
            ctx.banks_client.get_account(at).await.map_err(err)?.ok_or_else(|| err("no state"))?;
        let mut state = token_messenger_minter_v2::TokenMessenger::try_deserialize(&mut &account.data[..])
            .map_err(err)?;
        state.fee_recipient = *fee_recipient;
        let mut data = vec![];
        state.try_serialize(&mut data).map_err(err)?;
        account.data = data;
        ctx.set_account(&at, &account.into());
        Ok(())
    }

    /// The USDC mint.
    pub const fn usdc(&self) -> Pubkey {
        self.usdc
    }

    /// How long this bank's slots last: far shorter than a real cluster's 400 ms (see `height`), so a
    /// lag budget in slots for this bank must be scaled by it.
    pub const fn slot_time(&self) -> Duration {
        self.height_every
    }

    async fn run_clock(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(CLOCK_EVERY) => {}
            }
            if let Err(error) = self.tick().await {
                tracing::warn!(%error, "local bank: cannot advance the clock");
            }
        }
    }

    /// Keeps the bank's unix time at the wall clock's.
    async fn tick(&self) -> Result<(), ClientError> {
        let ctx = self.ctx.lock().await;
        let mut clock: Clock = ctx.banks_client.get_sysvar().await.map_err(err)?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        clock.unix_timestamp = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        ctx.set_sysvar(&clock);
        Ok(())
    }

    /// The slot and block height this bank reports. Program-test records a new blockhash every 6.4 ms
    /// of its own (100 µs ticks, 64 per slot) in a bank that never leaves its slot, and a blockhash
    /// expires after 150 newer ones, so a transaction must land within about a second of fetching its
    /// blockhash. Heights are counted here at half that pace: a transaction reported expired (its
    /// `lastValidBlockHeight` passed) can certainly no longer land.
    fn height(&self) -> u64 {
        let elapsed = self.started.elapsed().as_micros();
        1 + u64::try_from(elapsed / self.height_every.as_micros().max(1)).unwrap_or(u64::MAX)
    }

    /// Gives `owner` `sol` lamports and `usdc` base units of USDC (in its associated token account).
    pub async fn fund(&self, owner: &Pubkey, lamports: u64, usdc: u64) -> Result<(), ClientError> {
        let mut ixs = vec![
            tx::lamport_transfer(&self.faucet.pubkey(), owner, lamports),
            associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &self.faucet.pubkey(),
                owner,
                &self.usdc,
                &spl_token::ID,
            ),
        ];
        if usdc > 0 {
            ixs.push(
                spl_token::instruction::mint_to(
                    &spl_token::ID,
                    &self.usdc,
                    &associated_token::get_associated_token_address(owner, &self.usdc),
                    &self.mint_authority.pubkey(),
                    &[],
                    usdc,
                )
                .map_err(err)?,
            );
        }
        let blockhash = self.latest_blockhash().await?.0;
        let signers: &[&Keypair] =
            if usdc > 0 { &[&self.faucet, &self.mint_authority] } else { &[&self.faucet] };
        let tx = Transaction::new_signed_with_payer(&ixs, Some(&self.faucet.pubkey()), signers, blockhash);
        self.send(tx::serialize(&tx)).await.map_err(err)?;
        Ok(())
    }

    /// `owner`'s USDC balance (0 without an account).
    pub async fn usdc_balance(&self, owner: &Pubkey) -> Result<u64, ClientError> {
        let ata = associated_token::get_associated_token_address(owner, &self.usdc);
        self.token_balance(&ata).await
    }

    /// The balance of the token account `account` (0 when it does not exist).
    pub async fn token_balance(&self, account: &Pubkey) -> Result<u64, ClientError> {
        let accounts = self.accounts(vec![*account]).await?;
        Ok(accounts.into_iter().flatten().next().and_then(|a| tx::token_account(&a.data)).map_or(0, |t| t.2))
    }

    /// A sysvar of the bank (e.g. its `Clock`).
    pub async fn sysvar<T: solana_sdk::sysvar::SysvarSerialize>(&self) -> Result<T, ClientError> {
        self.ctx.lock().await.banks_client.get_sysvar().await.map_err(err)
    }

    /// Lamports of `account`.
    pub async fn lamports(&self, account: &Pubkey) -> Result<u64, ClientError> {
        let ctx = self.ctx.lock().await;
        ctx.banks_client.get_balance(*account).await.map_err(err)
    }

    async fn token_balances(
        ctx: &ProgramTestContext,
        keys: &[Pubkey],
    ) -> Result<Vec<TokenBalance>, ClientError> {
        let mut out = vec![];
        for (account_index, key) in keys.iter().enumerate() {
            let Some(account) = ctx.banks_client.get_account(*key).await.map_err(err)? else { continue };
            if account.owner != spl_token::ID {
                continue;
            }
            if let Some((mint, owner, amount)) = tx::token_account(&account.data) {
                out.push(TokenBalance { account_index, mint, owner, amount });
            }
        }
        Ok(out)
    }

    /// Processes `raw` as a validator would: preflight, execute, and record what RPC would answer about
    /// it later. One transaction at a time, so the recorded balances are exactly its own.
    async fn process(&self, raw: Vec<u8>) -> Result<Signature, SendError> {
        let transaction = tx::deserialize(&raw).map_err(|e| SendError::Transport(err(e)))?;
        let signature = transaction.signatures[0];
        let ctx = self.ctx.lock().await;
        let keys = transaction.message.account_keys.clone();
        let sim = ctx.banks_client.simulate_transaction(transaction.clone()).await.map_err(err)?;
        if let Some(Err(e)) = sim.result {
            let logs = sim.simulation_details.map(|d| d.logs).unwrap_or_default();
            return Err(SendError::Preflight(tx::failure(&e, &logs)));
        }
        let inner_instructions = sim
            .simulation_details
            .and_then(|d| d.inner_instructions)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .flat_map(|(outer, list)| {
                let keys = &keys;
                list.into_iter().map(move |inner| InnerInstruction {
                    outer,
                    program: keys[inner.instruction.program_id_index as usize],
                    data: inner.instruction.data,
                })
            })
            .collect();
        let instructions = transaction
            .message
            .instructions
            .iter()
            .map(|ix| TopInstruction {
                program: keys[usize::from(ix.program_id_index)],
                data: ix.data.clone(),
            })
            .collect();
        let pre_token_balances = Self::token_balances(&ctx, &keys).await?;
        let result = ctx.banks_client.process_transaction(VersionedTransaction::from(transaction)).await;
        let failed = match result {
            Ok(()) => false,
            Err(solana_program_test::BanksClientError::TransactionError(_)) => true,
            Err(e) => return Err(SendError::Transport(err(e))),
        };
        let post_token_balances = Self::token_balances(&ctx, &keys).await?;
        let slot = self.height();
        drop(ctx);
        let view = TxView {
            signature,
            slot,
            failed,
            account_keys: keys.clone(),
            pre_token_balances,
            post_token_balances,
            inner_instructions,
            instructions,
        };
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        let index = ledger.transactions.len();
        ledger.transactions.push(view);
        ledger.by_signature.insert(signature, index);
        for key in keys {
            ledger.by_account.entry(key).or_default().push(index);
        }
        Ok(signature)
    }
}

impl Drop for LocalBank {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl SvmClient for LocalBank {
    fn latest_blockhash(&self) -> BoxFuture<'_, Result<(Hash, u64), ClientError>> {
        Box::pin(async move {
            let ctx = self.ctx.lock().await;
            let hash = ctx.banks_client.get_latest_blockhash().await.map_err(err)?;
            // As on a real cluster: 150 blocks of validity (the bank keeps a blockhash for 150 slots).
            Ok((hash, self.height() + 150))
        })
    }

    fn block_height(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async move { Ok(self.height()) })
    }

    fn slot(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async move { Ok(self.height()) })
    }

    fn send(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Signature, SendError>> {
        Box::pin(async move {
            match self.fault(&raw) {
                Some(signature) => Ok(signature),
                None => self.process(raw).await,
            }
        })
    }

    fn simulate(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>> {
        Box::pin(async move {
            let transaction = tx::deserialize(&raw).map_err(err)?;
            let ctx = self.ctx.lock().await;
            let sim = ctx.banks_client.simulate_transaction(transaction).await.map_err(err)?;
            let logs = sim.simulation_details.as_ref().map(|d| d.logs.clone()).unwrap_or_default();
            let failure = match sim.result {
                Some(Err(e)) => Some(tx::failure(&e, &logs)),
                Some(Ok(())) => None,
                None => Some(TxFailure::Other("no simulation result".into())),
            };
            Ok(Simulation { failure, units: sim.simulation_details.map_or(0, |d| d.units_consumed) })
        })
    }

    fn statuses(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>> {
        Box::pin(async move {
            let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(signatures
                .iter()
                .map(|s| {
                    let view = &ledger.transactions[*ledger.by_signature.get(s)?];
                    Some(TxStatus {
                        slot: view.slot,
                        failed: view.failed,
                        confirmation: Confirmation::Finalized,
                    })
                })
                .collect())
        })
    }

    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>> {
        Box::pin(async move {
            let ctx = self.ctx.lock().await;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let account = ctx.banks_client.get_account(key).await.map_err(err)?;
                out.push(account.map(|a| AccountView { lamports: a.lamports, owner: a.owner, data: a.data }));
            }
            Ok(out)
        })
    }

    fn signatures_for(
        &self,
        address: Pubkey,
        page: Page,
    ) -> BoxFuture<'_, Result<Vec<SignatureInfo>, ClientError>> {
        Box::pin(async move {
            let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
            let limit = page.limit.min(SIGNATURES_PER_PAGE);
            // Newest first, like a node: skip down past `before`, stop at `until`.
            let mut newest_first =
                ledger.by_account.get(&address).into_iter().flatten().rev().map(|i| &ledger.transactions[*i]);
            if let Some(before) = page.before {
                newest_first.by_ref().find(|view| view.signature == before);
            }
            Ok(newest_first
                .take_while(|view| Some(view.signature) != page.until)
                .take(limit)
                .map(|view| SignatureInfo { signature: view.signature, slot: view.slot, failed: view.failed })
                .collect())
        })
    }

    fn transaction(&self, signature: Signature) -> BoxFuture<'_, Result<Option<TxView>, ClientError>> {
        Box::pin(async move {
            let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(ledger.by_signature.get(&signature).map(|i| ledger.transactions[*i].clone()))
        })
    }

    fn recent_priority_fees(&self, _accounts: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<u64>, ClientError>> {
        Box::pin(async move { Ok(self.priority_fees.lock().unwrap_or_else(PoisonError::into_inner).clone()) })
    }

    fn balance(&self, account: Pubkey) -> BoxFuture<'_, Result<u64, ClientError>> {
        Box::pin(async move { self.lamports(&account).await })
    }
}
