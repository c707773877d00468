//! Where bridged funds go on an EVM chain: the session's receiver there, `CREATE2(0xff, factory,
//! paramsHash, receiverInitCodeHash)`, computed here from the params so no caller can name another
//! address. The receiver is the same on every EVM chain (one deterministic deployment); on arrival the
//! router settles it with the same params.
//!
//! The constants pin one EVM deployment: the devnet's (`relayer_devnet::multichain::devnet_deployment`,
//! which a test checks against them). A production build sets them to the production deployment's
//! factory and receiver init-code hash; every contract change that moves the factory needs a new build.

/// The `ReceiverFactory` (0x3db2c099ee9633876596a67856917e7da980bfec).
pub const FACTORY: [u8; 20] = [
    0x3d, 0xb2, 0xc0, 0x99, 0xee, 0x96, 0x33, 0x87, 0x65, 0x96, 0xa6, 0x78, 0x56, 0x91, 0x7e, 0x7d, 0xa9,
    0x80, 0xbf, 0xec,
];
/// `keccak256` of a receiver clone's init code (0x41bb32a5c0a0c683e3f9649a44c5d6713acb13898371529f598336d1e53631d0).
pub const RECEIVER_INIT_CODE_HASH: [u8; 32] = [
    0x41, 0xbb, 0x32, 0xa5, 0xc0, 0xa0, 0xc6, 0x83, 0xe3, 0xf9, 0x64, 0x9a, 0x44, 0xc5, 0xd6, 0x71, 0x3a,
    0xcb, 0x13, 0x89, 0x83, 0x71, 0x52, 0x9f, 0x59, 0x83, 0x36, 0xd1, 0xe5, 0x36, 0x31, 0xd0,
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
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(&receiver(params_hash));
    word
}

/// Circle's CCTP domain of an EVM chain id (Ethereum 0, Avalanche 1, OP 2, Arbitrum 3, Base 6,
/// Polygon 7); `None` for chains CCTP does not serve.
pub fn cctp_domain(chain_id: &[u8; 32]) -> Option<u32> {
    if chain_id[..24] != [0u8; 24] {
        return None;
    }
    let mut low = [0u8; 8];
    low.copy_from_slice(&chain_id[24..]);
    match u64::from_be_bytes(low) {
        1 => Some(0),
        43114 => Some(1),
        10 => Some(2),
        42161 => Some(3),
        8453 => Some(6),
        137 => Some(7),
        _ => None,
    }
}
