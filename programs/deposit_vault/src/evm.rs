//! Where bridged funds go on an EVM chain: the session's receiver there, `CREATE2(prefix, factory,
//! paramsHash, receiverInitCodeHash)`, computed here from the params so no caller can name another
//! address. The receiver is the same on every EVM chain of one deterministic deployment; on arrival the
//! router settles it with the same params.
//!
//! The deployment (prefix, factory, receiver init-code hash), the bridged mint and the routes are the
//! cluster's the program was built for: `clusters/<cluster>.toml`, chosen by `DEPOSIT_VAULT_CLUSTER`
//! (default `localnet`, this repository's devnet, which a devnet test checks against what it deploys)
//! and turned into the constants below by `build.rs`. No value of one cluster is typed into the source.
//!
//! Also here: what the bridge can carry where ([`ROUTES`]: the chains it serves and the token it delivers
//! on each), and what an EVM-shaped word is ([`address`]), so the program bridges only what the
//! destination can deliver and refund.

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

include!(concat!(env!("OUT_DIR"), "/cluster.rs"));

/// The receiver of `params_hash` under `factory` and `init_code_hash`.
pub fn receiver_with(factory: &[u8; 20], init_code_hash: &[u8; 32], params_hash: &[u8; 32]) -> [u8; 20] {
    let hash =
        solana_keccak_hasher::hashv(&[&[CREATE2_PREFIX], factory, params_hash, init_code_hash]).to_bytes();
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
