//! Where bridged funds go on an EVM chain: the session's receiver there, `CREATE2(0xff, factory,
//! paramsHash, receiverInitCodeHash)`, computed here from the params so no caller can name another
//! address. The receiver is the same on every EVM chain (one deterministic deployment); on arrival the
//! router settles it with the same params.
//!
//! The constants pin one EVM deployment: the devnet's (`relayer_devnet::multichain::devnet_deployment`,
//! which a test checks against them). A production build sets them to the production deployment's
//! factory and receiver init-code hash; every contract change that moves the factory needs a new build.

/// The `ReceiverFactory` (0x42822c2ad495b84443954c45fbfb0926cd495fa1).
pub const FACTORY: [u8; 20] = [
    0x42, 0x82, 0x2c, 0x2a, 0xd4, 0x95, 0xb8, 0x44, 0x43, 0x95, 0x4c, 0x45, 0xfb, 0xfb, 0x09, 0x26, 0xcd,
    0x49, 0x5f, 0xa1,
];
/// `keccak256` of a receiver clone's init code (0xe28d8d2ccab781a5b5f75172e274b0fa4704a073d97bf4df5029721d5ead613b).
pub const RECEIVER_INIT_CODE_HASH: [u8; 32] = [
    0xe2, 0x8d, 0x8d, 0x2c, 0xca, 0xb7, 0x81, 0xa5, 0xb5, 0xf7, 0x51, 0x72, 0xe2, 0x74, 0xb0, 0xfa, 0x47,
    0x04, 0xa0, 0x73, 0xd9, 0x7b, 0xf4, 0xdf, 0x50, 0x29, 0x72, 0x1d, 0x5e, 0xad, 0x61, 0x3b,
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
