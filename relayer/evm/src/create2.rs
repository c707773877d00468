//! Counterfactual addresses, computed offline exactly as the contracts compute them: the router's
//! deterministic deployment, the factory and receiver implementation it creates, and each session's
//! receiver clone at `CREATE2(factory, keccak256(abi.encode(params)), eip1167(implementation))`.

use alloy::{
    primitives::{Address, B256, address, keccak256},
    sol_types::{SolConstructor, SolValue},
};

use relayer_types::Commitment;

use crate::bindings::{DepositRouter, IDepositRouter};

/// The commitment of one session (see `contracts/src/libraries/DepositParamsLib.sol`).
pub type DepositParams = DepositRouter::DepositParams;

/// The ABI form of a family-neutral [`Commitment`]: the same fields, in the contracts' order.
pub fn deposit_params(c: &Commitment) -> DepositParams {
    DepositParams {
        sessionId: c.session_id,
        toChainId: alloy::primitives::U256::from(c.to_chain_id),
        toToken: c.to_token,
        toAddress: c.to_address,
        amount: c.amount,
        minAmount: c.min_amount,
        finalCall: c.final_call.clone(),
        refundAddress: c.refund_address,
        solanaRefundAddress: c.solana_refund_address,
        expiresAt: c.expires_at,
    }
}

/// The deterministic deployment proxy present on anvil and on public EVM chains.
pub const CREATE2_PROXY: Address = address!("4e59b44847b379578588920ca78fbf26c0b4956c");

/// CREATE2's prefix byte on EVM chains.
pub const EVM_PREFIX: u8 = 0xff;

/// `keccak256(abi.encode(params))`: the salt of the session's receiver.
pub fn params_hash(params: &DepositParams) -> B256 {
    keccak256(params.abi_encode())
}

/// CREATE2 with an arbitrary prefix byte (EVM: `0xff`; Tron: `0x41`, TIP-26).
pub fn create2(prefix: u8, deployer: Address, salt: B256, init_code_hash: B256) -> Address {
    let preimage = [&[prefix][..], deployer.as_slice(), salt.as_slice(), init_code_hash.as_slice()].concat();
    Address::from_slice(&keccak256(preimage)[12..])
}

/// Init code of the minimal proxy delegating to `implementation`: solady's `LibClone.initCode`, an
/// EIP-1167-compatible clone with a 44-byte runtime (one byte shorter than the reference one).
pub fn clone_init_code(implementation: Address) -> Vec<u8> {
    const HEAD: [u8; 20] = alloy::hex!("602c3d8160093d39f33d3d3d3d363d3d37363d73");
    const TAIL: [u8; 13] = alloy::hex!("5af43d3d93803e602a57fd5bf3");
    [&HEAD[..], implementation.as_slice(), &TAIL[..]].concat()
}

/// One entry of the router's fixed destination table: where bridged funds land on `chain_id` (the
/// session's receiver there, as that chain's deployment derives it). `None`: the same deployment as the
/// router's own (EVM chains sharing the deterministic deployment name each other so; so does Solana,
/// whose program recomputes the source chain's receiver from the hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    /// The destination chain.
    pub chain_id: u64,
    /// Its factory, receiver init-code hash and CREATE2 prefix, when it is another deployment.
    pub elsewhere: Option<(Address, B256, u8)>,
}

impl Destination {
    /// A destination of the same deployment.
    pub const fn same(chain_id: u64) -> Self {
        Self { chain_id, elsewhere: None }
    }

    fn abi(&self) -> IDepositRouter::Destination {
        let (factory, hash, prefix) = self.elsewhere.unwrap_or((Address::ZERO, B256::ZERO, 0));
        IDepositRouter::Destination {
            chainId: alloy::primitives::U256::from(self.chain_id),
            factory,
            receiverInitCodeHash: hash,
            create2Prefix: alloy::primitives::FixedBytes([prefix]),
        }
    }
}

/// What a router is constructed with: its bridge adapters, the CREATE2 prefix of the chain it is deployed
/// on, and its destination table. The same arguments give the same addresses on every EVM chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterArgs {
    /// The adapter allow-list.
    pub adapters: Vec<Address>,
    /// `0xff` on EVM chains, `0x41` on Tron.
    pub prefix: u8,
    /// Where bridged funds may go.
    pub destinations: Vec<Destination>,
}

impl RouterArgs {
    /// An EVM router with `adapters` whose destinations are `chains`, all of the same deployment.
    pub fn evm(adapters: &[Address], chains: &[u64]) -> Self {
        Self {
            adapters: adapters.to_vec(),
            prefix: EVM_PREFIX,
            destinations: chains.iter().map(|c| Destination::same(*c)).collect(),
        }
    }

    /// The router's init code: creation bytecode followed by the ABI-encoded constructor arguments.
    pub fn init_code(&self) -> Vec<u8> {
        let args = DepositRouter::constructorCall {
            adapters_: self.adapters.clone(),
            create2Prefix_: alloy::primitives::FixedBytes([self.prefix]),
            destinations_: self.destinations.iter().map(Destination::abi).collect(),
        }
        .abi_encode();
        [DepositRouter::BYTECODE.as_ref(), &args].concat()
    }
}

/// Where one router deployment lives, and how its chain derives addresses. The same on every EVM chain
/// deployed with the same salt and arguments; a Tron deployment is its own (`0x41`, and TVM's CREATE
/// derives the factory and implementations from the deploying transaction, so they are configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The `DepositRouter`.
    pub router: Address,
    /// The `ReceiverFactory` the router created.
    pub factory: Address,
    /// The `DepositReceiver` implementation the factory created.
    pub implementation: Address,
    /// The `CallExecutor` implementation the router created; each session's final call runs from a clone
    /// of it at `CREATE2(router, paramsHash, eip1167(executor))`.
    pub executor: Address,
    /// The CREATE2 prefix byte of the deployment's chain.
    pub prefix: u8,
}

impl Deployment {
    /// The deployment the deterministic deployment proxy makes from `salt` and `args` on an EVM chain.
    pub fn deterministic(salt: B256, args: &RouterArgs) -> Self {
        let router = CREATE2_PROXY.create2_from_code(salt, args.init_code());
        Self::at_router(router, args.prefix)
    }

    /// The factory, implementations and executor of a router at `router` on a chain whose CREATE derives
    /// addresses as EVM chains do (contract nonces start at 1), receivers with `prefix`.
    pub fn at_router(router: Address, prefix: u8) -> Self {
        let factory = router.create(1);
        Self { router, factory, implementation: factory.create(1), executor: router.create(2), prefix }
    }

    /// `keccak256` of a receiver clone's init code.
    pub fn receiver_init_code_hash(&self) -> B256 {
        keccak256(clone_init_code(self.implementation))
    }

    /// The receiver address of `params`, deployed or not:
    /// `keccak256(prefix ‖ factory ‖ paramsHash ‖ keccak256(init code))[12..]`.
    pub fn receiver(&self, params: &DepositParams) -> Address {
        create2(self.prefix, self.factory, params_hash(params), self.receiver_init_code_hash())
    }

    /// The address of the executor clone that runs `params`' final call (deployed only when it runs).
    pub fn call_executor(&self, params: &DepositParams) -> Address {
        create2(self.prefix, self.router, params_hash(params), keccak256(clone_init_code(self.executor)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_init_code_is_solady_53_byte_creation_code() {
        let code = clone_init_code(Address::repeat_byte(0xab));
        assert_eq!(code.len(), 53);
        assert_eq!(&code[20..40], Address::repeat_byte(0xab).as_slice());
    }

    /// A real Tron CREATE2 deployment, not our own formula checked against itself: SunSwap V2's factory
    /// `TKWJdrQkqHisa1X8HUdHEfREvTzw4pMAaY` created the WTRX/USDT pair `TFGDbUyP8xez44C76fin3bn3Ss6jugoUwJ`
    /// with salt `keccak256(token0 ‖ token1)` and its pair init-code hash (sun-protocol/sunswap-v2-contracts,
    /// `SunswapV2Library.sol`; the pair is what `factory.getPair(WTRX, USDT)` answers on mainnet). The EVM
    /// prefix gives another address.
    #[test]
    fn tron_create2_with_0x41_matches_a_real_mainnet_deployment() {
        let tron = |s: &str| match relayer_types::ChainAddress::from_str(&format!("tron:{s}")) {
            Ok(relayer_types::ChainAddress::Tron(a)) => a,
            other => panic!("{s}: {other:?}"),
        };
        use std::str::FromStr as _;
        let factory = tron("TKWJdrQkqHisa1X8HUdHEfREvTzw4pMAaY");
        let (wtrx, usdt) =
            (tron("TNUC9Qb1rRpS5CbWLmNMxXBjyFoydXjWFR"), tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"));
        assert!(wtrx < usdt, "token0 is WTRX");
        let salt = keccak256([wtrx.as_slice(), usdt.as_slice()].concat());
        let init_code_hash =
            B256::from(alloy::hex!("6d3f89421f83e4b62e628de8fc7ff2b014a79bf8fd8e8b0ea46e4a1d9409b67d"));
        let pair = create2(0x41, factory, salt, init_code_hash);
        assert_eq!(relayer_types::ChainAddress::Tron(pair).to_string(), "TFGDbUyP8xez44C76fin3bn3Ss6jugoUwJ");
        assert_ne!(create2(0xff, factory, salt, init_code_hash), pair, "the EVM rule is wrong on Tron");
    }

    #[test]
    fn the_prefix_is_the_only_difference_between_evm_and_tron_receivers() {
        let evm_deployment = Deployment::at_router(Address::repeat_byte(0x11), 0xff);
        let tron_deployment = Deployment { prefix: 0x41, ..evm_deployment };
        let params = DepositParams {
            sessionId: B256::repeat_byte(1),
            toChainId: alloy::primitives::U256::from(8453),
            toToken: B256::repeat_byte(2),
            toAddress: B256::repeat_byte(3),
            amount: alloy::primitives::U256::from(5),
            minAmount: alloy::primitives::U256::from(5),
            finalCall: alloy::primitives::Bytes::new(),
            refundAddress: B256::repeat_byte(4),
            solanaRefundAddress: B256::ZERO,
            expiresAt: 9,
        };
        let evm = evm_deployment.receiver(&params);
        assert_eq!(
            evm,
            evm_deployment.factory.create2(params_hash(&params), evm_deployment.receiver_init_code_hash()),
            "0xff is the EVM rule"
        );
        let tron = tron_deployment.receiver(&params);
        assert_ne!(tron, evm);
        // Tron's rule written out: keccak256(0x41 ‖ factory ‖ salt ‖ keccak256(init code))[12..].
        let preimage = [
            &[0x41u8][..],
            tron_deployment.factory.as_slice(),
            params_hash(&params).as_slice(),
            tron_deployment.receiver_init_code_hash().as_slice(),
        ]
        .concat();
        assert_eq!(tron.as_slice(), &keccak256(preimage)[12..]);
    }
}
