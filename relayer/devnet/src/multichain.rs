//! Several local chains joined by a local CCTP, as the devnet and the cross-chain tests run them.
//!
//! Every chain gets the same addresses for what must be the same everywhere, the way public chains do:
//! test USDC sits at the chain's real USDC address; the local CCTP token messenger is the first
//! transaction of one deployer key on every chain (so it, and the transmitter it creates, have one address,
//! like Circle's); the CCTP adapter (one route table naming every chain) and the router with that adapter
//! go through the deterministic deployment proxy. So one receiver address serves a session on every chain.
//!
//! The [`Attester`] plays Circle's part: it reads `MessageSent` on each chain, signs the message hash
//! with the devnet attester key, and delivers it to the destination chain's transmitter, which mints.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{SolConstructor, SolEvent},
};
use eyre::WrapErr;
use relayer_evm::{
    bindings::CCTPv2Adapter,
    create2::Deployment,
    deploy::{deploy_deterministic, deploy_router},
};
use tokio_util::sync::CancellationToken;

use crate::bindings::{LocalMessageTransmitter, LocalTokenMessenger, TestUSDC};

/// One local chain: its id, name, where its USDC lives, and its CCTP domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainDesc {
    /// Chain id.
    pub chain_id: u64,
    /// Display name.
    pub name: &'static str,
    /// The chain's real USDC address; the devnet puts test USDC there.
    pub usdc: Address,
    /// CCTP domain.
    pub domain: u32,
}

/// Base: the usual destination.
pub const BASE: ChainDesc = ChainDesc {
    chain_id: 8453,
    name: "Base",
    usdc: address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),
    domain: 6,
};
/// Ethereum.
pub const ETHEREUM: ChainDesc = ChainDesc {
    chain_id: 1,
    name: "Ethereum",
    usdc: address!("A0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
    domain: 0,
};
/// Arbitrum One.
pub const ARBITRUM: ChainDesc = ChainDesc {
    chain_id: 42161,
    name: "Arbitrum",
    usdc: address!("af88d065e77c8cC2239327C5EDb3A432268e5831"),
    domain: 3,
};
/// The EVM chains the devnet runs, destination first.
pub const CHAINS: [ChainDesc; 3] = [BASE, ETHEREUM, ARBITRUM];

/// The devnet attester key (public: devnet and tests only).
pub const ATTESTER_KEY: B256 = B256::repeat_byte(0xa7);
/// The key whose first transaction on every chain deploys the local CCTP messenger.
pub const CCTP_DEPLOYER_KEY: B256 = B256::repeat_byte(0xcc);
/// The key that delivers attested messages (Circle's forwarding service, locally).
pub const FORWARDER_KEY: B256 = B256::repeat_byte(0xf0);
/// Largest fee a bridge caller may choose through the CCTP adapter, in basis points.
pub const ADAPTER_MAX_FEE_BPS: u64 = 10;
/// The adapter's bound on delivery time; bridging stops this long before a session expires.
pub const ADAPTER_MAX_DELIVERY_SECS: u64 = 900;

/// What [`deploy_chain`] put on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    /// Router, factory, implementations: the same on every chain.
    pub deployment: Deployment,
    /// The CCTP adapter on the router's allow-list.
    pub adapter: Address,
    /// The local CCTP token messenger.
    pub messenger: Address,
    /// Its message transmitter.
    pub transmitter: Address,
    /// Test USDC.
    pub usdc: Address,
}

fn signer(key: B256) -> eyre::Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&key).wrap_err("devnet key")
}

/// The local CCTP messenger's address on every chain (its deployer's first contract).
pub fn messenger_address() -> eyre::Result<Address> {
    Ok(signer(CCTP_DEPLOYER_KEY)?.address().create(0))
}

/// The CCTP adapter's init code: the same on every chain (one route table naming all of `chains`).
pub fn adapter_init_code(messenger: Address, chains: &[ChainDesc]) -> Vec<u8> {
    let routes = chains
        .iter()
        .map(|c| CCTPv2Adapter::Route { chainId: U256::from(c.chain_id), usdc: c.usdc, domain: c.domain })
        .collect();
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
    provider
        .raw_request::<_, ()>("anvil_setCode".into(), (this.usdc, TestUSDC::DEPLOYED_BYTECODE.clone()))
        .await
        .wrap_err("anvil_setCode for test USDC")?;

    let cctp_deployer = signer(CCTP_DEPLOYER_KEY)?;
    let messenger = messenger_address()?;
    if provider.get_code_at(messenger).await?.is_empty() {
        fund(provider, cctp_deployer.address()).await?;
        let deployer = ProviderBuilder::new()
            .wallet(EthereumWallet::from(cctp_deployer))
            .connect_http(rpc_url.parse().wrap_err("rpc url")?);
        let attester = signer(ATTESTER_KEY)?.address();
        let deployed = LocalTokenMessenger::deploy(&deployer, this.usdc, this.domain, attester).await?;
        eyre::ensure!(
            *deployed.address() == messenger,
            "the CCTP deployer key was used before on chain {}",
            this.chain_id
        );
    }
    let transmitter = LocalTokenMessenger::new(messenger, provider).transmitter().call().await?;
    let adapter = deploy_deterministic(provider, B256::ZERO, &adapter_init_code(messenger, chains)).await?;
    let deployment = deploy_router(provider, B256::ZERO, &[adapter]).await?;
    Ok(Deployed { deployment, adapter, messenger, transmitter, usdc: this.usdc })
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
    /// RPC URL.
    pub rpc_url: String,
}

/// Circle's attestation service and forwarder, locally: every `MessageSent` on any linked chain is signed
/// with [`ATTESTER_KEY`] and delivered to its destination domain's transmitter.
pub struct Attester {
    links: Vec<(u32, DynProvider)>,
    transmitter: Address,
    key: PrivateKeySigner,
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Attester {
    /// An attester over `links`, whose transmitters sit at `transmitter` (the forwarder key is funded on
    /// each chain).
    pub async fn new(links: &[Link], transmitter: Address) -> eyre::Result<Self> {
        let forwarder = signer(FORWARDER_KEY)?;
        let mut connected = vec![];
        for link in links {
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(forwarder.clone()))
                .connect_http(link.rpc_url.parse().wrap_err("rpc url")?)
                .erased();
            fund(&provider, forwarder.address()).await?;
            connected.push((link.domain, provider));
        }
        Ok(Self { links: connected, transmitter, key: signer(ATTESTER_KEY)?, paused: Default::default() })
    }

    /// A switch that holds every message back while `true` (a slow bridge, for tests), and lets them
    /// through once `false` again.
    pub fn pause_switch(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        std::sync::Arc::clone(&self.paused)
    }

    /// Relays messages until `cancel`, polling every `every`. Messages sent before it started are
    /// relayed too (it reads from block 0), and one already delivered is skipped.
    pub async fn run(self, every: Duration, cancel: CancellationToken) {
        let mut next: Vec<u64> = vec![0; self.links.len()];
        loop {
            let paused = self.paused.load(std::sync::atomic::Ordering::SeqCst);
            for (i, (_, provider)) in self.links.iter().enumerate().filter(|_| !paused) {
                match self.relay_from(provider, next[i]).await {
                    Ok(done) => next[i] = done,
                    Err(error) => {
                        tracing::warn!(error = %error, "attester: reading messages failed; retrying")
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
        let filter = Filter::new()
            .address(self.transmitter)
            .event_signature(LocalMessageTransmitter::MessageSent::SIGNATURE_HASH)
            .from_block(from)
            .to_block(head);
        for log in source.get_logs(&filter).await? {
            let sent = LocalMessageTransmitter::MessageSent::decode_log(&log.inner)?;
            self.deliver(&sent.data.message).await?;
        }
        Ok(head + 1)
    }

    /// Signs `message` and delivers it to its destination domain (a message delivered already is fine).
    pub async fn deliver(&self, message: &Bytes) -> eyre::Result<()> {
        // abi.encode(version, sourceDomain, destinationDomain, ...): the third head word.
        let destination = message
            .get(64..96)
            .map(|word| U256::from_be_slice(word).saturating_to::<u32>())
            .ok_or_else(|| eyre::eyre!("message too short"))?;
        let Some((_, target)) = self.links.iter().find(|(domain, _)| *domain == destination) else {
            return Ok(()); // a domain this devnet does not run
        };
        let attestation: Bytes = self.key.sign_hash_sync(&keccak256(message))?.as_bytes().to_vec().into();
        let transmitter = LocalMessageTransmitter::new(self.transmitter, target);
        match transmitter.receiveMessage(message.clone(), attestation).send().await {
            Ok(pending) => {
                pending.get_receipt().await?;
                Ok(())
            }
            Err(error) if error.to_string().contains("AlreadyReceived") || is_already_received(&error) => {
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}

fn is_already_received(error: &alloy::contract::Error) -> bool {
    error.as_decoded_interface_error::<LocalMessageTransmitter::LocalMessageTransmitterErrors>().is_some_and(
        |e| matches!(e, LocalMessageTransmitter::LocalMessageTransmitterErrors::AlreadyReceived(_)),
    )
}
