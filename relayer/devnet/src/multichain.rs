//! Several local chains joined by a local CCTP, as the devnet and the cross-chain tests run them.
//!
//! Every chain gets the same addresses for what must be the same everywhere, the way public chains do:
//! test USDC sits at the chain's real USDC address; the local CCTP token messenger is the first
//! transaction of one deployer key on every chain (so it, and the transmitter it creates, have one address,
//! like Circle's); the CCTP adapter (one route table naming every chain) and the router with that adapter
//! go through the deterministic deployment proxy. So one receiver address serves a session on every chain.
//!
//! The [`Attester`] plays Circle's part: it reads `MessageSent` on each chain (Circle's CCTP v2 format,
//! as the source writes it), fills in what Circle's attestation service fills in (the nonce, the finality
//! it attests at, the burn's fee), signs the result's hash with the devnet attester key, and delivers it
//! to the destination EVM chain's transmitter, which mints. Messages for Solana it only attests, as
//! Circle does: its [`AttestationApi`] serves them in the shape of Circle's (`GET /v2/messages/{domain}
//! ?transactionHash=`), and whoever wants the transfer (the relayer) delivers it, unless its forwarding
//! is switched on ([`BridgePause::forward_to_solana`], a third party delivering first).

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{SolConstructor, SolEvent, SolValue},
};
use eyre::WrapErr;
use relayer_evm::{
    bindings::{CCTPv2Adapter, OFTAdapter},
    create2::{Deployment, RouterArgs},
    deploy::{deploy_deterministic, deploy_router},
};
use tokio_util::sync::CancellationToken;

use message_transmitter_v2::message::{BurnMessageV2, MessageV2};

use crate::bindings::{LocalMessageTransmitter, LocalOFT, LocalTokenMessenger, TestUSDC, TestUSDT};

/// One local chain: its id, name, family, where its USDC and USDT live, its CCTP domain and its
/// LayerZero endpoint id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainDesc {
    /// Chain id.
    pub chain_id: u64,
    /// Display name.
    pub name: &'static str,
    /// `evm` or `tron` (the devnet's Tron is an EVM chain with Tron's chain id and USDT).
    pub family: relayer_types::Family,
    /// The chain's real USDC address, if CCTP serves it; the devnet puts test USDC there.
    pub usdc: Option<Address>,
    /// The chain's USDT address, if the USDT OFT mesh serves it; the devnet puts test USDT there.
    pub usdt: Option<Address>,
    /// CCTP domain.
    pub domain: u32,
    /// LayerZero endpoint id.
    pub eid: u32,
}

/// Base: the usual destination.
pub const BASE: ChainDesc = ChainDesc {
    chain_id: 8453,
    name: "Base",
    family: relayer_types::Family::Evm,
    usdc: Some(address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")),
    // Bridged Tether on Base: the devnet's USDT destination.
    usdt: Some(address!("fde4C96c8593536E31F229EA8f37b2ADa2699bb2")),
    domain: 6,
    eid: 30184,
};
/// Ethereum.
pub const ETHEREUM: ChainDesc = ChainDesc {
    chain_id: 1,
    name: "Ethereum",
    family: relayer_types::Family::Evm,
    usdc: Some(address!("A0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")),
    usdt: None,
    domain: 0,
    eid: 30101,
};
/// Arbitrum One.
pub const ARBITRUM: ChainDesc = ChainDesc {
    chain_id: 42161,
    name: "Arbitrum",
    family: relayer_types::Family::Evm,
    usdc: Some(address!("af88d065e77c8cC2239327C5EDb3A432268e5831")),
    usdt: None,
    domain: 3,
    eid: 30110,
};
/// Tron, as the devnet runs it: an EVM chain with Tron's chain id and USDT at Tron's USDT contract
/// (`TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t`), whose `transfer` returns `false` like the real one's.
pub const TRON: ChainDesc = ChainDesc {
    chain_id: relayer_types::TRON_CHAIN_ID,
    name: "tron",
    family: relayer_types::Family::Tron,
    usdc: None,
    usdt: Some(address!("a614f803b6fd780986a42c78ec9c7f77e6ded13c")),
    domain: 0,
    eid: 30420,
};
/// The chains the devnet runs, destination first.
pub const CHAINS: [ChainDesc; 4] = [BASE, ETHEREUM, ARBITRUM, TRON];

/// The devnet attester key (public: devnet and tests only).
pub const ATTESTER_KEY: B256 = B256::repeat_byte(0xa7);
/// The devnet attester's address (the CCTP stand-ins on every chain and on Solana trust it).
pub fn attester_address() -> eyre::Result<[u8; 20]> {
    Ok(signer(ATTESTER_KEY)?.address().into_array())
}
/// The key whose first transaction on every chain deploys the local CCTP messenger.
pub const CCTP_DEPLOYER_KEY: B256 = B256::repeat_byte(0xcc);
/// The key whose first transaction on every chain with USDT deploys the local OFT.
pub const OFT_DEPLOYER_KEY: B256 = B256::repeat_byte(0x0f);
/// The key that delivers attested messages (Circle's forwarding service, locally).
pub const FORWARDER_KEY: B256 = B256::repeat_byte(0xf0);
/// Solana's CCTP domain.
pub const SOLANA_DOMAIN: u32 = 5;
/// Largest fee a bridge caller may choose through the CCTP adapter, in basis points.
pub const ADAPTER_MAX_FEE_BPS: u64 = 10;
/// The adapter's bound on delivery time; bridging stops this long before a session expires.
pub const ADAPTER_MAX_DELIVERY_SECS: u64 = 900;

/// The CCTP and USDT OFT adapters [`deploy_chain`] places on every chain of `chains`, at their
/// deterministic addresses, computed offline.
pub fn devnet_adapters(chains: &[ChainDesc]) -> eyre::Result<(Address, Address)> {
    use relayer_evm::create2::CREATE2_PROXY;
    let adapter =
        CREATE2_PROXY.create2_from_code(B256::ZERO, adapter_init_code(messenger_address()?, chains));
    let oft_adapter =
        CREATE2_PROXY.create2_from_code(B256::ZERO, oft_adapter_init_code(oft_address()?, chains));
    Ok((adapter, oft_adapter))
}

/// The router's arguments on every chain of `chains`: the CCTP and OFT adapters, the EVM prefix (the
/// devnet's Tron is an EVM node too), and every chain (and Solana) as a destination of the same
/// deployment.
pub fn router_args(chains: &[ChainDesc]) -> eyre::Result<RouterArgs> {
    let (adapter, oft_adapter) = devnet_adapters(chains)?;
    let destinations: Vec<u64> =
        chains.iter().map(|c| c.chain_id).chain(std::iter::once(relayer_types::SOLANA_CHAIN_ID)).collect();
    Ok(RouterArgs::evm(&[adapter, oft_adapter], &destinations))
}

/// The router deployment [`deploy_chain`] makes on every chain of `chains`, computed offline: the CCTP
/// and OFT adapters at their deterministic addresses, the router over both.
pub fn devnet_deployment(chains: &[ChainDesc]) -> eyre::Result<Deployment> {
    Ok(Deployment::deterministic(B256::ZERO, &router_args(chains)?))
}

/// What [`deploy_chain`] put on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    /// Router, factory, implementations: the same on every chain.
    pub deployment: Deployment,
    /// The CCTP adapter on the router's allow-list.
    pub adapter: Address,
    /// The USDT OFT adapter on the router's allow-list.
    pub oft_adapter: Address,
}

fn signer(key: B256) -> eyre::Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&key).wrap_err("devnet key")
}

/// The local CCTP messenger's address on every chain (its deployer's first contract).
pub fn messenger_address() -> eyre::Result<Address> {
    Ok(signer(CCTP_DEPLOYER_KEY)?.address().create(0))
}

/// The local CCTP message transmitter's address on every chain (the messenger's first contract).
pub fn transmitter_address() -> eyre::Result<Address> {
    Ok(messenger_address()?.create(1))
}

/// The local OFT's address on every chain with USDT (its deployer's first contract).
pub fn oft_address() -> eyre::Result<Address> {
    Ok(signer(OFT_DEPLOYER_KEY)?.address().create(0))
}

/// The USDT OFT adapter's init code: the same on every chain (one route table naming every chain of
/// `chains` with USDT).
pub fn oft_adapter_init_code(oft: Address, chains: &[ChainDesc]) -> Vec<u8> {
    let routes = chains
        .iter()
        .filter_map(|c| {
            Some(OFTAdapter::Route { chainId: U256::from(c.chain_id), token: c.usdt?, oft, eid: c.eid })
        })
        .collect();
    let args = OFTAdapter::constructorCall {
        routes,
        maxFeeBps_: U256::from(ADAPTER_MAX_FEE_BPS),
        maxDeliveryTime_: U256::from(ADAPTER_MAX_DELIVERY_SECS),
    }
    .abi_encode();
    [OFTAdapter::BYTECODE.as_ref(), &args].concat()
}

/// The CCTP adapter's init code: the same on every chain (one route table naming every chain of
/// `chains` with USDC).
pub fn adapter_init_code(messenger: Address, chains: &[ChainDesc]) -> Vec<u8> {
    let word = |a: Address| a.into_word();
    let mut routes: Vec<CCTPv2Adapter::Route> = chains
        .iter()
        .filter_map(|c| {
            Some(CCTPv2Adapter::Route {
                chainId: U256::from(c.chain_id),
                usdc: word(c.usdc?),
                domain: c.domain,
                inbox: B256::ZERO,
            })
        })
        .collect();
    // Solana: CCTP cannot mint to an EVM receiver there; the deposit-vault program's inbox receives, and
    // the receiver travels as the hook.
    let mint = relayer_svm::bank::USDC_MINT;
    routes.push(CCTPv2Adapter::Route {
        chainId: U256::from(relayer_types::SOLANA_CHAIN_ID),
        usdc: B256::from(mint.to_bytes()),
        domain: SOLANA_DOMAIN,
        inbox: B256::from(relayer_svm::tx::inbox_token(&mint).to_bytes()),
    });
    let args = CCTPv2Adapter::constructorCall {
        messenger_: messenger,
        routes,
        maxFeeBps_: U256::from(ADAPTER_MAX_FEE_BPS),
        maxDeliveryTime_: U256::from(ADAPTER_MAX_DELIVERY_SECS),
    }
    .abi_encode();
    [CCTPv2Adapter::BYTECODE.as_ref(), &args].concat()
}

/// Deploys on the chain at `rpc_url` through `provider` (a node with anvil's cheat calls; `provider`
/// signs with a funded key): test USDC, the local CCTP, the CCTP adapter and the router, as described in
/// the module docs. `chains` are all chains of the devnet, `this` among them. Idempotent.
pub async fn deploy_chain(
    provider: &DynProvider,
    rpc_url: &str,
    this: &ChainDesc,
    chains: &[ChainDesc],
) -> eyre::Result<Deployed> {
    let attester = signer(ATTESTER_KEY)?.address();
    let messenger = messenger_address()?;
    if let Some(usdc) = this.usdc {
        set_code(provider, usdc, &TestUSDC::DEPLOYED_BYTECODE).await?;
        if let Some(deployer) =
            first_contract_deployer(provider, rpc_url, CCTP_DEPLOYER_KEY, messenger).await?
        {
            let at = *LocalTokenMessenger::deploy(&deployer, usdc, this.domain, attester).await?.address();
            eyre::ensure!(
                at == messenger,
                "the CCTP deployer key was used before on chain {}",
                this.chain_id
            );
        }
    }
    let oft = oft_address()?;
    if let Some(usdt) = this.usdt {
        set_code(provider, usdt, &TestUSDT::DEPLOYED_BYTECODE).await?;
        if let Some(deployer) = first_contract_deployer(provider, rpc_url, OFT_DEPLOYER_KEY, oft).await? {
            let at = *LocalOFT::deploy(&deployer, usdt, this.eid, attester).await?.address();
            eyre::ensure!(at == oft, "the OFT deployer key was used before on chain {}", this.chain_id);
        }
    }
    let adapter = deploy_deterministic(provider, B256::ZERO, &adapter_init_code(messenger, chains)).await?;
    let oft_adapter = deploy_deterministic(provider, B256::ZERO, &oft_adapter_init_code(oft, chains)).await?;
    let args = router_args(chains)?;
    eyre::ensure!(args.adapters == [adapter, oft_adapter], "the adapters moved");
    let deployment = deploy_router(provider, B256::ZERO, &args).await?;
    Ok(Deployed { deployment, adapter, oft_adapter })
}

/// Places `code` at `at` (anvil's `setCode`): test tokens hold no constructor state.
async fn set_code(provider: &DynProvider, at: Address, code: &Bytes) -> eyre::Result<()> {
    provider
        .raw_request::<_, ()>("anvil_setCode".into(), (at, code))
        .await
        .wrap_err_with(|| format!("anvil_setCode at {at}"))
}

/// A provider signing with `key`, funded, if its first contract (at `first`) is not deployed yet.
async fn first_contract_deployer(
    provider: &DynProvider,
    rpc_url: &str,
    key: B256,
    first: Address,
) -> eyre::Result<Option<DynProvider>> {
    if !provider.get_code_at(first).await?.is_empty() {
        return Ok(None);
    }
    let key = signer(key)?;
    fund(provider, key.address()).await?;
    let deployer = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(rpc_url.parse().wrap_err("rpc url")?);
    Ok(Some(deployer.erased()))
}

/// Gives `who` 1000 ETH of gas money.
pub async fn fund(provider: &impl Provider, who: Address) -> eyre::Result<()> {
    provider.raw_request::<_, ()>("anvil_setBalance".into(), (who, U256::from(10u128.pow(21)))).await?;
    Ok(())
}

/// One chain as the attester sees it.
#[derive(Debug, Clone)]
pub struct Link {
    /// Its CCTP domain.
    pub domain: u32,
    /// Its LayerZero endpoint id.
    pub eid: u32,
    /// RPC URL.
    pub rpc_url: String,
}

impl Link {
    /// The link to the devnet chain `desc` at `rpc_url`.
    pub fn to(desc: &ChainDesc, rpc_url: String) -> Self {
        Self { domain: desc.domain, eid: desc.eid, rpc_url }
    }
}

/// Which bridge a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// CCTP: `MessageSent` on the transmitter, delivered with `receiveMessage`.
    Cctp,
    /// The USDT OFT: `PacketSent` on the OFT, delivered with `lzReceive`.
    Oft,
}

/// What the attester holds back while set, as a slow bridge would (for tests): messages sent on the EVM
/// chains, messages sent on Solana, or both. Held messages go through once released.
#[derive(Clone, Default)]
pub struct BridgePause {
    from_evm: std::sync::Arc<std::sync::atomic::AtomicBool>,
    from_solana: std::sync::Arc<std::sync::atomic::AtomicBool>,
    forward_solana: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl BridgePause {
    /// Holds back (`true`) or releases every message.
    pub fn all(&self, paused: bool) {
        self.from_evm.store(paused, std::sync::atomic::Ordering::SeqCst);
        self.from_solana.store(paused, std::sync::atomic::Ordering::SeqCst);
    }

    /// Holds back (`true`) or releases only the messages sent on Solana: deliveries to Solana go on.
    pub fn from_solana(&self, paused: bool) {
        self.from_solana.store(paused, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the attester also delivers the messages for Solana itself (`true`: a third party, such as
    /// Circle's forwarding service, delivers them as soon as they are attested; `false`, the default:
    /// only whoever asks its [`AttestationApi`] does).
    pub fn forward_to_solana(&self, forward: bool) {
        self.forward_solana.store(forward, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Circle's attestation service and forwarder, and LayerZero's verifiers and executor, locally: every
/// `MessageSent` (CCTP) and `PacketSent` (OFT) on any linked chain is signed with [`ATTESTER_KEY`] and
/// delivered to its destination.
pub struct Attester {
    links: Vec<(Link, DynProvider)>,
    /// Where messages are emitted and delivered: the same on every chain.
    transmitter: Address,
    oft: Address,
    key: PrivateKeySigner,
    paused: BridgePause,
    /// Solana, as a source and a destination.
    solana: Option<SolanaLink>,
}

/// The attester's Solana side.
struct SolanaLink {
    client: std::sync::Arc<dyn relayer_svm::SvmClient>,
    mint: solana_sdk::pubkey::Pubkey,
    /// Signs and pays for deliveries (Circle's forwarding service, locally).
    forwarder: solana_sdk::signature::Keypair,
}

impl Attester {
    /// An attester over `links` (the forwarder key is funded on each chain).
    pub async fn new(links: &[Link]) -> eyre::Result<Self> {
        let forwarder = signer(FORWARDER_KEY)?;
        let mut connected = vec![];
        for link in links {
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(forwarder.clone()))
                .connect_http(link.rpc_url.parse().wrap_err("rpc url")?)
                .erased();
            fund(&provider, forwarder.address()).await?;
            connected.push((link.clone(), provider));
        }
        Ok(Self {
            links: connected,
            transmitter: transmitter_address()?,
            oft: oft_address()?,
            key: signer(ATTESTER_KEY)?,
            paused: Default::default(),
            solana: None,
        })
    }

    /// Also relays the messages Circle's transmitter (the stand-in) sent from Solana (`client`), found in
    /// the `MessageSent` accounts of the transactions that burnt `mint`, and delivers the EVM chains'
    /// messages for Solana through it, sent by `forwarder` (a funded key).
    #[must_use]
    pub fn with_solana(
        mut self,
        client: std::sync::Arc<dyn relayer_svm::SvmClient>,
        mint: &solana_sdk::pubkey::Pubkey,
        forwarder: solana_sdk::signature::Keypair,
    ) -> Self {
        self.solana = Some(SolanaLink { client, mint: *mint, forwarder });
        self
    }

    /// Delivers an attested CCTP `message` for Solana through Circle's transmitter (the stand-in), as
    /// Circle's forwarding service would: once (the transmitter's used nonce says it was delivered). The
    /// deposit-vault program's record of it is the relayer's to make, as it must be on a real cluster,
    /// where nobody else records.
    async fn deliver_to_solana(&self, message: &[u8], attestation: Vec<u8>) -> eyre::Result<()> {
        let Some(link) = &self.solana else { return Ok(()) };
        let delivered = relayer_svm::tx::delivered_marker(message);
        let read = link.client.accounts(vec![delivered, relayer_svm::tx::token_messenger_state()]).await?;
        if read.first().is_some_and(Option::is_some) {
            return Ok(());
        }
        let fee_recipient = read
            .get(1)
            .and_then(|state| state.as_ref().and_then(relayer_svm::tx::fee_recipient))
            .ok_or_else(|| eyre::eyre!("Circle's token messenger state is missing"))?;
        let Some(ix) = relayer_svm::tx::receive_message(
            solana_sdk::signer::Signer::pubkey(&link.forwarder),
            link.mint,
            fee_recipient,
            message.to_vec(),
            attestation,
        ) else {
            tracing::warn!("attester: a message for Solana that is no CCTP v2 burn; skipped");
            return Ok(());
        };
        let (blockhash, _) = link.client.latest_blockhash().await?;
        let (_, raw) = relayer_svm::tx::signed(&[ix], &link.forwarder, blockhash);
        match link.client.send(raw).await {
            Ok(_) => Ok(()),
            // Circle's programs refuse the message itself (its caller, domain, format, attestation, sender
            // or fee), or the account it pays (no token account of the mint there: any burner may name
            // any key), and SPL Token refuses to pay it (a frozen account): holding the queue for it
            // would stop every later message from its chain. Anything else (no SOL for the fee, custody
            // short, a paused program) may pass later: tried again.
            Err(relayer_svm::client::SendError::Preflight(relayer_svm::client::TxFailure::Callee {
                program,
                code,
            })) if relayer_svm::tx::cctp_refuses_for_good(&program, code)
                || relayer_svm::tx::refuses_the_account(&program, code) =>
            {
                tracing::warn!(%program, code, "attester: Circle's CCTP programs refuse a message for good; skipped");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Relays the Solana messages of transactions after `after`; returns the newest one relayed. As
    /// Circle's attestation service does, it finds them in the accounts Circle's transmitter wrote
    /// (`MessageSent`), in the transactions that burnt the bridged mint.
    async fn relay_solana(
        &self,
        after: Option<solana_sdk::signature::Signature>,
    ) -> eyre::Result<Option<solana_sdk::signature::Signature>> {
        let Some(SolanaLink { client, mint, .. }) = &self.solana else { return Ok(after) };
        let signatures =
            relayer_svm::client::history(client.as_ref(), relayer_svm::tx::cctp_local_token(mint), after)
                .await?;
        let mut newest = after;
        for info in signatures.iter().rev() {
            if !info.failed {
                let view = client
                    .transaction(info.signature)
                    .await?
                    .ok_or_else(|| eyre::eyre!("solana transaction {} not found", info.signature))?;
                let accounts = client.accounts(view.account_keys.clone()).await?;
                for (key, account) in view.account_keys.iter().zip(&accounts) {
                    let Some(message) = account.as_ref().and_then(relayer_svm::tx::cctp_message) else {
                        continue;
                    };
                    // The message's own account, not the transaction that named it: a later transaction
                    // naming the same account (anyone may list any account) finds it delivered.
                    let origin = keccak256(key.as_ref());
                    self.deliver(Lane::Cctp, self.transmitter, &message.into(), origin).await?;
                }
            }
            newest = Some(info.signature);
        }
        Ok(newest)
    }

    /// The switches that hold messages back (a slow bridge, for tests).
    pub fn pause_switch(&self) -> BridgePause {
        self.paused.clone()
    }

    /// Its attestation service's API (Circle's shape), over the same chains, key and switches.
    pub fn api(&self) -> AttestationApi {
        AttestationApi {
            links: self.links.iter().map(|(link, provider)| (link.domain, provider.clone())).collect(),
            transmitter: self.transmitter,
            key: self.key.clone(),
            paused: self.paused.clone(),
        }
    }

    /// Relays messages until `cancel`, polling every `every`. Messages sent before it started are
    /// relayed too (it reads from block 0), and one already delivered is skipped.
    pub async fn run(self, every: Duration, cancel: CancellationToken) {
        let mut next: Vec<u64> = vec![0; self.links.len()];
        let mut solana_after = None;
        loop {
            let paused = self.paused.from_evm.load(std::sync::atomic::Ordering::SeqCst);
            for (i, (_, provider)) in self.links.iter().enumerate().filter(|_| !paused) {
                match self.relay_from(provider, next[i]).await {
                    Ok(done) => next[i] = done,
                    Err(error) => tracing::warn!(error = %error, "attester: relaying failed; retrying"),
                }
            }
            if !self.paused.from_solana.load(std::sync::atomic::Ordering::SeqCst) {
                match self.relay_solana(solana_after).await {
                    Ok(newest) => solana_after = newest,
                    Err(error) => {
                        tracing::warn!(error = %error, "attester: relaying from Solana failed; retrying")
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Relays the messages of blocks `from..=head` of one chain; returns the next block to read.
    async fn relay_from(&self, source: &DynProvider, from: u64) -> eyre::Result<u64> {
        let head = source.get_block_number().await?;
        if head < from {
            return Ok(from);
        }
        let (transmitter, oft) = (self.transmitter, self.oft);
        let filter = Filter::new()
            .address(vec![transmitter, oft])
            .event_signature(vec![
                LocalMessageTransmitter::MessageSent::SIGNATURE_HASH,
                LocalOFT::PacketSent::SIGNATURE_HASH,
            ])
            .from_block(from)
            .to_block(head);
        let mut in_tx: std::collections::HashMap<B256, u64> = Default::default();
        for log in source.get_logs(&filter).await? {
            if let Ok(sent) = LocalMessageTransmitter::MessageSent::decode_log(&log.inner) {
                // Where the message was sent, which no other message shares (its transaction, and which of
                // its messages it is; not its block position, which a reorg may change): its nonce follows
                // from it, so reading a block again (a restart, a reorg) finds the message delivered.
                let tx = log.transaction_hash.unwrap_or_default();
                let nth = in_tx.entry(tx).or_default();
                let origin = message_origin(tx, *nth);
                *nth += 1;
                self.deliver(Lane::Cctp, transmitter, &sent.data.message, origin).await?;
            } else if let Ok(sent) = LocalOFT::PacketSent::decode_log(&log.inner) {
                self.deliver(Lane::Oft, oft, &sent.data.packet, B256::ZERO).await?;
            }
        }
        Ok(head + 1)
    }

    /// Attests `sent` (a CCTP message sent at `origin`; an OFT packet is delivered as it is) and delivers
    /// it to its destination (a message delivered already is fine).
    async fn deliver(&self, lane: Lane, at: Address, sent: &Bytes, origin: B256) -> eyre::Result<()> {
        let (message, destination) = match lane {
            Lane::Cctp => {
                let Some(message) = attested(sent, origin) else {
                    // Anyone may send any body through the transmitter; only burns are attested.
                    tracing::warn!("attester: not a CCTP v2 burn; skipped");
                    return Ok(());
                };
                let destination = MessageV2::parse(&message).map_or(0, |m| m.destination_domain);
                (Bytes::from(message), destination)
            }
            // abi.encode(version, source, destination, ...): the third head word.
            Lane::Oft => {
                let destination = sent
                    .get(64..96)
                    .map(|word| U256::from_be_slice(word).saturating_to::<u32>())
                    .ok_or_else(|| eyre::eyre!("packet too short"))?;
                (sent.clone(), destination)
            }
        };
        let message = &message;
        if lane == Lane::Cctp && destination == SOLANA_DOMAIN {
            // Attested only (served by the attestation API), unless a third party delivers.
            if !self.paused.forward_solana.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
            let attestation = attest(&self.key, message)?;
            return self.deliver_to_solana(message, attestation).await;
        }
        let target = self.links.iter().find(|(link, _)| match lane {
            Lane::Cctp => link.domain == destination,
            Lane::Oft => link.eid == destination,
        });
        let Some((_, target)) = target else {
            return Ok(()); // a destination this devnet does not run
        };
        let attestation: Bytes = attest(&self.key, message)?.into();
        let sent = match lane {
            Lane::Cctp => {
                LocalMessageTransmitter::new(at, target)
                    .receiveMessage(message.clone(), attestation)
                    .send()
                    .await
            }
            Lane::Oft => LocalOFT::new(at, target).lzReceive(message.clone(), attestation).send().await,
        };
        match sent {
            Ok(pending) => {
                pending.get_receipt().await?;
                Ok(())
            }
            // Delivered before (the attester restarted, or read the block twice).
            Err(error) if error.to_string().contains("AlreadyReceived") || already_received(&error) => Ok(()),
            // The destination refuses it for good (a named caller, a sender that is no token messenger, an
            // amount Circle's format cannot carry): skipped, or it would stop every later message.
            Err(alloy::contract::Error::TransportError(alloy::transports::RpcError::ErrorResp(refusal)))
                if refusal.message.contains("revert") =>
            {
                tracing::warn!(%refusal, "attester: the destination refuses a message; skipped");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// Circle's attestation service's API, locally: `GET /v2/messages/{sourceDomain}?transactionHash=0x…`
/// answers the CCTP messages a transaction on an EVM chain sent, attested as the [`Attester`] attests
/// them (the same nonce, finality, fee and signature), in the shape of Circle's answer (`{"messages":
/// [{"message", "eventNonce", "attestation", "cctpVersion", "status": "complete", …}]}`), and 404 for a
/// transaction it does not know, or while messages from the EVM chains are held back
/// ([`BridgePause::all`]). It never says `pending_confirmations`: the devnet's blocks are final at once.
#[derive(Clone)]
pub struct AttestationApi {
    links: Vec<(u32, DynProvider)>,
    transmitter: Address,
    key: PrivateKeySigner,
    paused: BridgePause,
}

impl AttestationApi {
    /// Serves the API on `127.0.0.1` (any free port) until `stop`; its base URL.
    pub async fn serve(self, stop: CancellationToken) -> eyre::Result<String> {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .route("/v2/messages/{domain}", get(messages))
            .with_state(std::sync::Arc::new(self));
        tokio::spawn(async move {
            if let Err(error) =
                axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await
            {
                tracing::error!(%error, "devnet attestation API failed");
            }
        });
        Ok(url)
    }

    /// The attested messages `tx` sent on `domain` (none: not known there).
    async fn attested_in(&self, domain: u32, tx: B256) -> eyre::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        for (_, provider) in self.links.iter().filter(|(d, _)| *d == domain) {
            let Some(receipt) = provider.get_transaction_receipt(tx).await? else { continue };
            let mut found = vec![];
            let sent = receipt.inner.logs().iter().filter(|log| log.inner.address == self.transmitter);
            for (nth, log) in sent
                .filter_map(|log| LocalMessageTransmitter::MessageSent::decode_log(&log.inner).ok())
                .enumerate()
            {
                // The origin the attester gives the message (see `Attester::relay_from`): one nonce.
                let origin = message_origin(tx, u64::try_from(nth).unwrap_or(u64::MAX));
                let Some(message) = attested(&log.data.message, origin) else { continue };
                let attestation = attest(&self.key, &message)?;
                found.push((message, attestation));
            }
            return Ok(found);
        }
        Ok(vec![])
    }
}

/// `GET /v2/messages/{domain}?transactionHash=`.
async fn messages(
    axum::extract::State(api): axum::extract::State<std::sync::Arc<AttestationApi>>,
    axum::extract::Path(domain): axum::extract::Path<u32>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use axum::http::StatusCode;
    use serde_json::json;
    let not_found = || (StatusCode::NOT_FOUND, axum::Json(json!({ "error": "Message hash not found" })));
    let Some(tx) = query.get("transactionHash").and_then(|h| h.parse::<B256>().ok()) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "Invalid transactionHash" })));
    };
    if api.paused.from_evm.load(std::sync::atomic::Ordering::SeqCst) {
        return not_found();
    }
    match api.attested_in(domain, tx).await {
        Ok(found) if found.is_empty() => not_found(),
        Ok(found) => {
            let messages: Vec<serde_json::Value> = found
                .iter()
                .map(|(message, attestation)| {
                    json!({
                        "message": alloy::hex::encode_prefixed(message),
                        "eventNonce": alloy::hex::encode_prefixed(relayer_svm::tx::nonce_of(message)),
                        "attestation": alloy::hex::encode_prefixed(attestation),
                        "cctpVersion": 2,
                        "status": "complete",
                        "decodedMessage": null,
                        "delayReason": null,
                    })
                })
                .collect();
            (StatusCode::OK, axum::Json(json!({ "messages": messages })))
        }
        Err(error) => {
            tracing::warn!(%error, "devnet attestation API: cannot read the transaction");
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": "internal" })))
        }
    }
}

/// The origin the attester gives the `nth` CCTP message of transaction `tx` (its nonce follows from it):
/// the same whether the attester reads the message from the chain's logs or its API is asked for it.
fn message_origin(tx: B256, nth: u64) -> B256 {
    keccak256((tx, nth).abi_encode_packed())
}

/// The devnet attester's attestation of `message` (`key`'s signature of its hash).
fn attest(key: &PrivateKeySigner, message: &[u8]) -> eyre::Result<Vec<u8>> {
    Ok(key.sign_hash_sync(&keccak256(message))?.as_bytes().to_vec())
}

/// What Circle's attestation service does to a message as its source wrote it (`sent`, at `origin`):
/// gives it a nonce no other message has (from where it was sent), fills in the finality it is attested
/// at (1000 for a fast transfer, 2000 once final) and the burn's fee (the whole `maxFee` the burner
/// allowed: the devnet charges the worst case real CCTP permits). `None` for what is not a burn in Circle's
/// format.
pub fn attested(sent: &[u8], origin: B256) -> Option<Vec<u8>> {
    let mut message = MessageV2::parse(sent)?;
    let mut burn = BurnMessageV2::parse(&message.body)?;
    message.nonce = keccak256((message.source_domain, origin).abi_encode_packed()).0;
    message.finality_threshold_executed = if message.min_finality_threshold <= 1000 { 1000 } else { 2000 };
    burn.fee_executed = burn.max_fee;
    message.body = burn.encode();
    Some(message.encode())
}

/// A burn of `amount` of `source_domain`'s USDC for Solana, as the devnet EVM chains' token messenger
/// sends it through the CCTP adapter's Solana route (for `mint_recipient`, the session's EVM receiver
/// `hook` as hook data, a standard transfer), completed and signed by the devnet's attester as if sent at
/// `origin`: the message and its attestation, ready for Circle's transmitter on Solana. For tests that
/// bridge into Solana without running an EVM chain.
pub fn attested_burn_for_solana(
    source_domain: u32,
    mint_recipient: [u8; 32],
    amount: u64,
    hook: [u8; 32],
    origin: B256,
) -> eyre::Result<(Vec<u8>, Vec<u8>)> {
    let usdc = relayer_svm::tx::vault_evm::ROUTES
        .iter()
        .find(|r| r.domain == source_domain)
        .ok_or_else(|| eyre::eyre!("CCTP domain {source_domain} is no route of the program"))?
        .usdc;
    let body = BurnMessageV2 {
        version: 1,
        burn_token: Address::from(usdc).into_word().0,
        mint_recipient,
        amount,
        message_sender: Address::repeat_byte(0xde).into_word().0,
        max_fee: 0,
        fee_executed: 0,
        expiration_block: 0,
        hook_data: hook.to_vec(),
    };
    let sent = MessageV2 {
        version: 1,
        source_domain,
        destination_domain: SOLANA_DOMAIN,
        nonce: [0; 32],
        sender: messenger_address()?.into_word().0,
        recipient: relayer_svm::tx::BRIDGE_ID.to_bytes(),
        destination_caller: [0; 32],
        min_finality_threshold: 2000,
        finality_threshold_executed: 0,
        body: body.encode(),
    }
    .encode();
    let message = attested(&sent, origin).ok_or_else(|| eyre::eyre!("not a burn"))?;
    let attestation = attest(&signer(ATTESTER_KEY)?, &message)?;
    Ok((message, attestation))
}

fn already_received(error: &alloy::contract::Error) -> bool {
    use LocalMessageTransmitter::LocalMessageTransmitterErrors as Cctp;
    use LocalOFT::LocalOFTErrors as Oft;
    error.as_decoded_interface_error::<Cctp>().is_some_and(|e| matches!(e, Cctp::AlreadyReceived(_)))
        || error.as_decoded_interface_error::<Oft>().is_some_and(|e| matches!(e, Oft::AlreadyReceived(_)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sent(min_finality: u32, max_fee: u64) -> Vec<u8> {
        let burn = BurnMessageV2 {
            version: 1,
            burn_token: [1; 32],
            mint_recipient: [2; 32],
            amount: 5_000_000,
            message_sender: [3; 32],
            max_fee,
            fee_executed: 0,
            expiration_block: 0,
            hook_data: vec![9; 32],
        };
        MessageV2 {
            version: 1,
            source_domain: 3,
            destination_domain: 5,
            nonce: [0; 32],
            sender: [4; 32],
            recipient: [4; 32],
            destination_caller: [0; 32],
            min_finality_threshold: min_finality,
            finality_threshold_executed: 0,
            body: burn.encode(),
        }
        .encode()
    }

    /// The attester completes a message as Circle's attestation service does, and nothing else: the
    /// nonce (the same for the same origin, so a block read again finds the message delivered; different
    /// for any other, so two burns never share one), the finality, the whole allowed fee.
    #[test]
    fn the_attester_fills_in_what_circles_attestation_service_fills_in() {
        let (a, b) = (B256::repeat_byte(0xa), B256::repeat_byte(0xb));
        let message = attested(&sent(2000, 70), a).expect("a burn");
        assert_eq!(attested(&sent(2000, 70), a), Some(message.clone()), "one origin, one nonce");
        let other = attested(&sent(2000, 70), b).expect("a burn");
        let (m, o) = (MessageV2::parse(&message).unwrap(), MessageV2::parse(&other).unwrap());
        assert_ne!(m.nonce, o.nonce, "another origin, another nonce");
        assert_ne!(m.nonce, [0; 32]);
        let burn = BurnMessageV2::parse(&m.body).unwrap();
        assert_eq!((m.finality_threshold_executed, burn.fee_executed), (2000, 70));
        // Everything else exactly as sent.
        let mut back = m.clone();
        back.nonce = [0; 32];
        back.finality_threshold_executed = 0;
        back.body = BurnMessageV2 { fee_executed: 0, ..burn }.encode();
        assert_eq!(back.encode(), sent(2000, 70));
        // A fast transfer is attested at 1000 (below finality: the unfinalized handler).
        let fast = attested(&sent(1000, 0), a).unwrap();
        assert_eq!(MessageV2::parse(&fast).unwrap().finality_threshold_executed, 1000);
        // Not a burn in Circle's format (the old abi layout, a truncated body): nothing to attest.
        assert_eq!(attested(&sent(2000, 0)[..148 + 100], a), None);
    }

    /// The deposit-vault program bridges to receivers of one EVM deployment, pinned in its build
    /// (`programs/deposit_vault/clusters/localnet.toml`); every contract or route change moves the devnet's, and this
    /// says what to pin (the devnet also refuses to start on a mismatch).
    #[test]
    fn the_vault_program_pins_the_devnet_deployment() {
        let deployment = devnet_deployment(&CHAINS).expect("the devnet deployment");
        let init = deployment.receiver_init_code_hash();
        assert_eq!(
            (
                Address::from(relayer_svm::tx::vault_evm::FACTORY),
                B256::from(relayer_svm::tx::vault_evm::RECEIVER_INIT_CODE_HASH)
            ),
            (deployment.factory, init),
            "set [evm] factory = \"{}\" and receiver_init_code_hash = \"{init}\" in programs/deposit_vault/clusters/localnet.toml",
            deployment.factory
        );
    }
}
