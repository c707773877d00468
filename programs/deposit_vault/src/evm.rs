//! Where bridged funds go on an EVM chain: the session's receiver there, `CREATE2(0xff, factory,
//! paramsHash, receiverInitCodeHash)`, computed here from the params so no caller can name another
//! address. The receiver is the same on every EVM chain (one deterministic deployment); on arrival the
//! router settles it with the same params.
//!
//! The constants pin one EVM deployment: the devnet's (`relayer_devnet::multichain::devnet_deployment`,
//! which a test checks against them). A production build sets them to the production deployment's
//! factory and receiver init-code hash; every contract change that moves the factory needs a new build.
//!
//! Also here: what the bridge can carry where ([`ROUTES`]: the chains it serves and the token it delivers
//! on each), and what an EVM-shaped word is ([`address`]), so the program bridges only what the
//! destination can deliver and refund.

/// The `ReceiverFactory` (0x10405378d2a0e81a7811541ceb823e1d1bd2655e).
pub const FACTORY: [u8; 20] = [
    0x10, 0x40, 0x53, 0x78, 0xd2, 0xa0, 0xe8, 0x1a, 0x78, 0x11, 0x54, 0x1c, 0xeb, 0x82, 0x3e, 0x1d, 0x1b,
    0xd2, 0x65, 0x5e,
];
/// `keccak256` of a receiver clone's init code (0x7f33b01e400b4f23b305e833d74482a1f12fc262a935e77d4eb1f7fcbf23c800).
pub const RECEIVER_INIT_CODE_HASH: [u8; 32] = [
    0x7f, 0x33, 0xb0, 0x1e, 0x40, 0x0b, 0x4f, 0x23, 0xb3, 0x05, 0xe8, 0x33, 0xd7, 0x44, 0x82, 0xa1, 0xf1,
    0x2f, 0xc2, 0x62, 0xa9, 0x35, 0xe7, 0x7d, 0x4e, 0xb1, 0xf7, 0xfc, 0xbf, 0x23, 0xc8, 0x00,
];

/// The receiver of `params_hash` under `factory` and `init_code_hash`.
pub fn receiver_with(factory: &[u8; 20], init_code_hash: &[u8; 32], params_hash: &[u8; 32]) -> [u8; 20] {
    let hash = solana_keccak_hasher::hashv(&[&[0xff], factory, params_hash, init_code_hash]).to_bytes();
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// The receiver of `params_hash` in the pinned deployment.
pub fn receiver(params_hash: &[u8; 32]) -> [u8; 20] {
    receiver_with(&FACTORY, &RECEIVER_INIT_CODE_HASH, params_hash)
}

/// The receiver as the `bytes32` a CCTP message names it by (left-padded).
pub fn receiver_word(params_hash: &[u8; 32]) -> [u8; 32] {
    word(&receiver(params_hash))
}

/// The address an EVM-shaped word holds: upper twelve bytes zero, the twenty below not all zero. The
/// router's rule for a usable EVM refund address (`DepositParams` v3).
pub fn address(word: &[u8; 32]) -> Option<[u8; 20]> {
    if word[..12] != [0u8; 12] || word[12..] == [0u8; 20] {
        return None;
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(&word[12..]);
    Some(out)
}

/// An EVM address as the left-padded word a commitment names it by.
pub fn word(address: &[u8; 20]) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(address);
    word
}

/// The one mint the bridge carries from Solana: Solana USDC. What it delivers on each destination chain is
/// that chain's native USDC ([`Route::usdc`]).
pub const BRIDGED_MINT: anchor_lang::prelude::Pubkey = local_bridge::USDC_MINT;

/// One destination the bridge serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The EVM chain id.
    pub chain_id: u64,
    /// Its CCTP domain.
    pub domain: u32,
    /// The token the bridge delivers there: Circle's native USDC on that chain.
    pub usdc: [u8; 20],
}

/// The chains the bridge serves, with Circle's CCTP domain and native USDC address of each (CCTP burns
/// USDC here and mints native USDC there, nothing else). Where the addresses come from is in
/// `programs/README.md` ("Bridge routes"); Ethereum, Arbitrum and Base are also where the devnet's EVM
/// chains put their test USDC (`relayer_devnet::multichain`).
pub const ROUTES: [Route; 6] = [
    // Ethereum: 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48
    Route { chain_id: 1, domain: 0, usdc: hex20(*b"a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48") },
    // Avalanche C-Chain: 0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E
    Route { chain_id: 43114, domain: 1, usdc: hex20(*b"b97ef9ef8734c71904d8002f8b6bc66dd9c48a6e") },
    // OP Mainnet: 0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85 (native, not the bridged USDC.e)
    Route { chain_id: 10, domain: 2, usdc: hex20(*b"0b2c639c533813f4aa9d7837caf62653d097ff85") },
    // Arbitrum One: 0xaf88d065e77c8cC2239327C5EDb3A432268e5831 (native, not the bridged USDC.e)
    Route { chain_id: 42161, domain: 3, usdc: hex20(*b"af88d065e77c8cc2239327c5edb3a432268e5831") },
    // Base: 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913
    Route { chain_id: 8453, domain: 6, usdc: hex20(*b"833589fcd6edb6e08f4c7c32d4f71b54bda02913") },
    // Polygon PoS: 0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359 (native, not the bridged USDC.e)
    Route { chain_id: 137, domain: 7, usdc: hex20(*b"3c499c542cef5e3811e1192ce70d8cc03d5c3359") },
];

/// Twenty bytes from forty lowercase hex digits, at compile time (a typo fails the build).
const fn hex20(digits: [u8; 40]) -> [u8; 20] {
    const fn nibble(d: u8) -> u8 {
        match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        out[i] = nibble(digits[2 * i]) << 4 | nibble(digits[2 * i + 1]);
        i += 1;
    }
    out
}

/// The route to the EVM chain `chain_id` (a `uint256` word), if the bridge serves it.
pub fn route(chain_id: &[u8; 32]) -> Option<Route> {
    if chain_id[..24] != [0u8; 24] {
        return None;
    }
    let mut low = [0u8; 8];
    low.copy_from_slice(&chain_id[24..]);
    let id = u64::from_be_bytes(low);
    ROUTES.iter().find(|r| r.chain_id == id).copied()
}

/// Circle's CCTP domain of an EVM chain id (Ethereum 0, Avalanche 1, OP 2, Arbitrum 3, Base 6,
/// Polygon 7); `None` for chains the bridge does not serve.
pub fn cctp_domain(chain_id: &[u8; 32]) -> Option<u32> {
    route(chain_id).map(|r| r.domain)
}
