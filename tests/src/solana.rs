//! The Solana side of the e2e harness: the in-process bank (solana-program-test with the deposit-vault
//! program and the real SPL programs) next to an anvil chain, the relayer started with both, and a
//! payer wallet that signs the API's `serializedTx` as a browser wallet would.

use std::{path::Path, sync::Arc, time::Duration};

use eyre::{WrapErr, bail};
use relayer_chain::{BoxFuture, Chain};
use relayer_core::Node;
use relayer_svm::{
    LocalBank, SvmChain, SvmClient, SvmConfig,
    client::{AccountView, ClientError, Page, SendError, SignatureInfo, Simulation, TxStatus, TxView},
    tx,
};
use relayer_types::{ChainAddress, SOLANA_CHAIN_ID, TokenRef};
use serde_json::{Value, json};
use solana_sdk::{
    hash::Hash,
    pubkey::Pubkey,
    signature::{Keypair, Signature},
    signer::Signer,
};

use crate::{Api, Auth, Chain as EvmChain, Settings, config, relayer_config};

/// A cluster's USDC `mint` as the relayer configures it.
pub fn usdc_token(mint: &Pubkey) -> TokenRef {
    TokenRef {
        chain_id: SOLANA_CHAIN_ID,
        chain_name: "solana".into(),
        address: ChainAddress::Solana(mint.to_bytes()),
        symbol: "USDC".into(),
        decimals: relayer_svm::bank::USDC_DECIMALS,
    }
}

/// A relayer serving `evm` and the Solana cluster behind `client` (USDC at `usdc`, slots `slot_time`
/// long), with its store in `data_dir` (reused across restarts), sending Solana transactions with `key`.
pub async fn start_node(
    evm: &EvmChain,
    (usdc, slot_time): (Pubkey, Duration),
    client: Arc<dyn SvmClient>,
    key: &Keypair,
    data_dir: &Path,
    settings: &Settings,
) -> eyre::Result<(Node, Api)> {
    let (params, evm_key, _) = relayer_config(evm, data_dir.to_path_buf(), settings).await?;
    let svm = SvmConfig {
        chain_id: SOLANA_CHAIN_ID,
        name: "solana".into(),
        tokens: vec![usdc_token(&usdc)],
        poll: Duration::from_millis(200),
        routes: vec![],
        min_inbox_amount: 1_000_000,
        open_minimums: vec![],
        // A minute of the bank's short slots, as `relayer devnet` sets it.
        landing: relayer_svm::Landing::default(),
        lag_budget_slots: u64::try_from(60_000_000 / slot_time.as_micros().max(1)).unwrap_or(u64::MAX),
        // Nothing is bridged in from an EVM chain here but by the tests themselves.
        attestation_url: None,
    };
    let key = key.insecure_clone();
    let node = relayer_node::start_with(config(&params, &evm_key)?, move |store| {
        vec![Arc::new(SvmChain::new(svm, client, store, key)) as Arc<dyn Chain>]
    })
    .await?;
    let api = Api::new(format!("http://{}", node.addr));
    Ok((node, api))
}

/// An anvil chain, the in-process bank and a funded relayer key for Solana.
pub struct SolanaEnv {
    /// The EVM chain (the relayer always serves one).
    pub evm: EvmChain,
    /// The Solana bank.
    pub bank: Arc<LocalBank>,
    /// The relayer's Solana key (funded with 5 SOL).
    pub key: Keypair,
}

impl SolanaEnv {
    /// Starts both chains and funds the relayer key.
    pub async fn start() -> eyre::Result<Self> {
        let evm = EvmChain::start().await?;
        let bank = LocalBank::start(
            relayer_devnet::multichain::attester_address()?,
            relayer_devnet::multichain::messenger_address()?.into_array(),
        )
        .await?;
        let key = Keypair::new();
        bank.fund(&key.pubkey(), 5_000_000_000, 0).await?;
        Ok(Self { evm, bank, key })
    }

    /// A relayer over the bank with its store in `data_dir`.
    pub async fn relayer(&self, data_dir: &Path, settings: &Settings) -> eyre::Result<(Node, Api)> {
        self.relayer_over(Arc::clone(&self.bank) as Arc<dyn SvmClient>, data_dir, settings).await
    }

    /// A relayer reaching the bank through `client`.
    pub async fn relayer_over(
        &self,
        client: Arc<dyn SvmClient>,
        data_dir: &Path,
        settings: &Settings,
    ) -> eyre::Result<(Node, Api)> {
        let cluster = (self.bank.usdc(), self.bank.slot_time());
        start_node(&self.evm, cluster, client, &self.key, data_dir, settings).await
    }
}

impl Drop for SolanaEnv {
    fn drop(&mut self) {
        self.bank.stop();
    }
}

/// A funded payer wallet.
pub async fn wallet(bank: &LocalBank, usdc: u64) -> eyre::Result<Keypair> {
    let wallet = Keypair::new();
    bank.fund(&wallet.pubkey(), 1_000_000_000, usdc).await?;
    Ok(wallet)
}

/// Sets the `solana` payment method for `wallet` with the session's client secret; returns the answer.
pub async fn set_solana(
    api: &Api,
    session: &Value,
    wallet: &Pubkey,
    extra: Value,
) -> eyre::Result<crate::Answer> {
    let id = session["sessionId"].as_str().unwrap_or_default();
    let mut method = json!({ "type": "solana", "walletAddress": wallet.to_string() });
    if let (Value::Object(m), Value::Object(e)) = (&mut method, extra) {
        m.extend(e);
    }
    let body = json!({ "clientSecret": session["clientSecret"], "paymentMethod": method });
    api.json(reqwest::Method::POST, &format!("/v1/sessions/{id}/paymentMethods"), &body, Auth::None).await
}

/// What a wallet does with `solana.serializedTx`: decode, check it asks only for this wallet's
/// signature, sign, and send to `cluster`.
pub async fn sign_and_send(
    cluster: &dyn SvmClient,
    serialized_hex: &str,
    wallet: &Keypair,
) -> eyre::Result<Signature> {
    let raw = hex::decode(serialized_hex).wrap_err("serializedTx is not hex")?;
    let mut transaction = tx::deserialize(&raw).map_err(|e| eyre::eyre!(e))?;
    if transaction.message.header.num_required_signatures != 1
        || transaction.message.account_keys[0] != wallet.pubkey()
    {
        bail!("the transaction asks for signatures other than the wallet's");
    }
    // The in-process bank's blockhashes live about a second (see `LocalBank`), so the wallet stamps a
    // fresh one right before signing; nothing else in the message changes.
    let blockhash = cluster.latest_blockhash().await?.0;
    transaction.message.recent_blockhash = blockhash;
    transaction.try_sign(&[wallet], blockhash)?;
    Ok(cluster.send(tx::serialize(&transaction)).await?)
}

/// The deposit address a `serializedTx` pays into (the `transferChecked` destination).
pub fn deposit_address(serialized_hex: &str) -> eyre::Result<Pubkey> {
    let transaction = tx::deserialize(&hex::decode(serialized_hex)?).map_err(|e| eyre::eyre!(e))?;
    let transfer = transaction.message.instructions.get(1).ok_or_else(|| eyre::eyre!("no transfer"))?;
    let index = *transfer.accounts.get(2).ok_or_else(|| eyre::eyre!("no destination"))?;
    Ok(transaction.message.account_keys[usize::from(index)])
}

/// How a [`Flaky`] client treats the next program transaction the relayer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFault {
    /// Passed through.
    None,
    /// Delivered to the cluster, then the answer never comes (the relayer "crashes" waiting).
    HangAfterSending,
    /// Never delivered, and no answer ever comes.
    HangWithoutSending,
}

/// A client over the bank that misbehaves as a node can: one send fault injected into the relayer's own
/// transactions, and histories that lag (the first non-empty answer of `getSignaturesForAddress` for
/// each lagging address comes back empty, as from an RPC node behind the one that served the balance).
pub struct Flaky {
    inner: Arc<LocalBank>,
    fault: std::sync::Mutex<SendFault>,
    lagging: std::sync::Mutex<std::collections::HashSet<Pubkey>>,
    /// Every this many `getTransaction` calls, one fails (a rate limit); 0: none.
    fail_every: std::sync::atomic::AtomicU64,
    transactions: std::sync::atomic::AtomicU64,
    /// While set, history reads fail (holds the watcher's view still while a burst lands).
    hold_histories: std::sync::atomic::AtomicBool,
}

impl Flaky {
    /// Over `bank`, with `fault` armed for the next send.
    pub fn new(inner: Arc<LocalBank>, fault: SendFault) -> Self {
        Self {
            inner,
            fault: std::sync::Mutex::new(fault),
            lagging: std::sync::Mutex::default(),
            fail_every: Default::default(),
            transactions: Default::default(),
            hold_histories: Default::default(),
        }
    }

    /// The next non-empty history of `address` comes back empty once.
    pub fn lag(&self, address: Pubkey) {
        self.lagging.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(address);
    }

    /// One `getTransaction` in `every` fails from now on.
    pub fn fail_transactions_every(&self, every: u64) {
        self.fail_every.store(every, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes history reads fail (`true`) or answer again.
    pub fn hold_histories(&self, hold: bool) {
        self.hold_histories.store(hold, std::sync::atomic::Ordering::SeqCst);
    }

    /// `getTransaction` calls so far.
    pub fn transaction_calls(&self) -> u64 {
        self.transactions.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl SvmClient for Flaky {
    fn latest_blockhash(&self) -> BoxFuture<'_, Result<(Hash, u64), ClientError>> {
        self.inner.latest_blockhash()
    }
    fn block_height(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        self.inner.block_height()
    }
    fn slot(&self) -> BoxFuture<'_, Result<u64, ClientError>> {
        self.inner.slot()
    }
    fn send(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Signature, SendError>> {
        let fault = std::mem::replace(
            &mut *self.fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            SendFault::None,
        );
        Box::pin(async move {
            match fault {
                SendFault::None => self.inner.send(raw).await,
                SendFault::HangAfterSending => {
                    let _ = self.inner.send(raw).await;
                    std::future::pending().await
                }
                SendFault::HangWithoutSending => std::future::pending().await,
            }
        })
    }
    fn simulate(&self, raw: Vec<u8>) -> BoxFuture<'_, Result<Simulation, ClientError>> {
        self.inner.simulate(raw)
    }
    fn statuses(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<Vec<Option<TxStatus>>, ClientError>> {
        self.inner.statuses(signatures)
    }
    fn statuses_at(
        &self,
        signatures: Vec<Signature>,
    ) -> BoxFuture<'_, Result<relayer_svm::client::StatusesAt, ClientError>> {
        self.inner.statuses_at(signatures)
    }
    fn finalized_position(&self) -> BoxFuture<'_, Result<(u64, u64), ClientError>> {
        self.inner.finalized_position()
    }
    fn accounts(&self, keys: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<Option<AccountView>>, ClientError>> {
        self.inner.accounts(keys)
    }
    fn signatures_for(
        &self,
        address: Pubkey,
        page: Page,
    ) -> BoxFuture<'_, Result<Vec<SignatureInfo>, ClientError>> {
        Box::pin(async move {
            if self.hold_histories.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(ClientError::new("getSignaturesForAddress: timed out"));
            }
            let answer = self.inner.signatures_for(address, page).await?;
            let mut lagging = self.lagging.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !answer.is_empty() && lagging.remove(&address) {
                return Ok(vec![]);
            }
            Ok(answer)
        })
    }
    fn transaction(&self, signature: Signature) -> BoxFuture<'_, Result<Option<TxView>, ClientError>> {
        let n = self.transactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let every = self.fail_every.load(std::sync::atomic::Ordering::SeqCst);
        if every != 0 && n.is_multiple_of(every) {
            return Box::pin(async { Err(ClientError::new("getTransaction: 429 Too Many Requests")) });
        }
        self.inner.transaction(signature)
    }
    fn recent_priority_fees(&self, accounts: Vec<Pubkey>) -> BoxFuture<'_, Result<Vec<u64>, ClientError>> {
        self.inner.recent_priority_fees(accounts)
    }
    fn balance(&self, account: Pubkey) -> BoxFuture<'_, Result<u64, ClientError>> {
        self.inner.balance(account)
    }
}

/// The commitment of a Solana payer's session to a Solana destination, rebuilt from what anyone can read:
/// the session's public fields and the paying wallet (its Solana refund address). The minimum is the
/// amount itself: no route bridges into this test chain's USDC, so no bridge fee is allowed for.
pub fn solana_commitment(
    session: &Value,
    mint: &Pubkey,
    wallet: &Pubkey,
) -> eyre::Result<relayer_types::Commitment> {
    let id: relayer_types::SessionId =
        session["sessionId"].as_str().unwrap_or_default().parse().map_err(|e| eyre::eyre!("{e:?}"))?;
    let merchant: Pubkey = session["destination"]["address"].as_str().unwrap_or_default().parse()?;
    let amount =
        relayer_types::parse_units(session["destination"]["amountUnits"].as_str().unwrap_or("0"), 6)?;
    Ok(relayer_types::Commitment {
        session_id: id.to_b256(),
        to_chain_id: SOLANA_CHAIN_ID,
        to_token: relayer_types::B256::from(mint.to_bytes()),
        to_address: relayer_types::B256::from(merchant.to_bytes()),
        amount,
        min_amount: amount,
        final_call: Default::default(),
        refund_address: relayer_types::B256::ZERO,
        solana_refund_address: relayer_types::B256::from(wallet.to_bytes()),
        expires_at: session["expiresAt"].as_u64().unwrap_or_default(),
    })
}

/// How many `Settled`, `Refunded` (on Solana, or home through the bridge) and `Bridged` events the program
/// emitted for the vault token account `account`.
pub async fn vault_moves(bank: &LocalBank, account: &Pubkey) -> eyre::Result<(usize, usize, usize)> {
    let mut moves = (0, 0, 0);
    for info in relayer_svm::client::history(bank, *account, None).await? {
        let Some(view) = bank.transaction(info.signature).await? else { continue };
        for (_, m) in tx::vault_moves(&view) {
            match m {
                tx::VaultMove::Settled(_) => moves.0 += 1,
                tx::VaultMove::Refunded(_) | tx::VaultMove::RefundedHome(..) => moves.1 += 1,
                tx::VaultMove::Bridged(..) => moves.2 += 1,
            }
        }
    }
    Ok(moves)
}
