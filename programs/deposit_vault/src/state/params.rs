//! The session commitment, its hash and the rules that follow from it alone (where funds may go).

use anchor_lang::prelude::*;

use crate::{SOLANA_CHAIN_ID, VAULT_SEED, error::VaultError, evm};

/// What a session commits to; field for field (and in ABI order) the Solidity `DepositParams` v3
/// (`contracts/src/libraries/DepositParamsLib.sol`). `uint256` fields are 32-byte big-endian words,
/// addresses 32-byte words (an EVM address left-padded, a Solana key as it is).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct DepositParams {
    /// Unique session id: makes every vault single-use.
    pub session_id: [u8; 32],
    /// Destination chain id (`uint256`, big-endian); 501 for Solana.
    pub to_chain_id: [u8; 32],
    /// Destination token (on Solana: the mint).
    pub to_token: [u8; 32],
    /// Recipient (on Solana: the owner whose associated token account receives).
    pub to_address: [u8; 32],
    /// Requested amount (`uint256`, big-endian); 0 = open. Informational here: whatever arrives (at least
    /// `min_amount`) is delivered.
    pub amount: [u8; 32],
    /// Nothing is delivered from a vault until it holds at least this much of the session's token
    /// (`uint256`, big-endian); 0 = no minimum.
    pub min_amount: [u8; 32],
    /// Final call for an EVM destination; must be empty to settle on Solana.
    pub final_call: Vec<u8>,
    /// The refund address on EVM-shaped chains (EVM and Tron): one 20-byte address, left-padded; zero when
    /// none is committed. Never paid on Solana.
    pub refund_address: [u8; 32],
    /// The refund address on Solana (a public key); zero when none is committed.
    pub solana_refund_address: [u8; 32],
    /// Unix seconds after which nothing is delivered, only refunded.
    pub expires_at: u64,
}

/// A `uint256` word holding `value`.
pub fn u64_word(value: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&value.to_be_bytes());
    word
}

/// The number of head words of `abi.encode(params)`'s tuple: one per field (the `bytes` field is an offset
/// into the tail there).
const HEAD_WORDS: usize = 10;

impl DepositParams {
    /// `abi.encode(params)` as Solidity produces it for this struct: the offset of the (dynamic) tuple,
    /// its ten head words (the `bytes` field as an offset into the tail, `10 * 32 = 320`), then the tail
    /// (the length of `final_call` and its bytes, zero-padded to a whole word).
    pub fn abi_encode(&self) -> Vec<u8> {
        let padded = self.final_call.len().div_ceil(32) * 32;
        let total = 32 + 32 * HEAD_WORDS + 32 + padded;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&u64_word(32));
        out.extend_from_slice(&self.session_id);
        out.extend_from_slice(&self.to_chain_id);
        out.extend_from_slice(&self.to_token);
        out.extend_from_slice(&self.to_address);
        out.extend_from_slice(&self.amount);
        out.extend_from_slice(&self.min_amount);
        out.extend_from_slice(&u64_word((32 * HEAD_WORDS) as u64));
        out.extend_from_slice(&self.refund_address);
        out.extend_from_slice(&self.solana_refund_address);
        out.extend_from_slice(&u64_word(self.expires_at));
        out.extend_from_slice(&u64_word(self.final_call.len() as u64));
        out.extend_from_slice(&self.final_call);
        out.resize(total, 0);
        out
    }

    /// `keccak256(abi.encode(params))`: the vault's seed, equal to the EVM receivers' CREATE2 salt.
    pub fn hash(&self) -> [u8; 32] {
        solana_keccak_hasher::hash(&self.abi_encode()).to_bytes()
    }

    /// Whether the session delivers on Solana.
    pub fn delivers_on_solana(&self) -> bool {
        self.to_chain_id == u64_word(SOLANA_CHAIN_ID)
    }

    /// The vault PDA of these params and its bump.
    pub fn vault(&self) -> (Pubkey, u8) {
        Pubkey::find_program_address(&[VAULT_SEED, &self.hash()], &crate::ID)
    }

    /// Whether the session has expired at `now` (unix seconds): strictly after `expires_at`, the router's
    /// `_expired` rule.
    pub fn expired_at(&self, now: i64) -> bool {
        now < 0 || now as u64 > self.expires_at
    }

    /// Whether the session has expired now.
    pub fn expired(&self) -> Result<bool> {
        Ok(self.expired_at(Clock::get()?.unix_timestamp))
    }

    /// Whether `balance` of the session's token is enough to start it: at least `min_amount` (a
    /// `min_amount` above `u64::MAX` is more than any balance).
    pub fn meets_minimum(&self, balance: u64) -> bool {
        let mut low = [0u8; 8];
        low.copy_from_slice(&self.min_amount[24..]);
        self.min_amount[..24] == [0u8; 24] && balance >= u64::from_be_bytes(low)
    }

    /// Where a refund goes on Solana: `solana_refund_address` if it is a usable key, else `to_address` if
    /// the session delivers on Solana and it is one, else nowhere on Solana (the bridged mint is then
    /// refunded home, see [`DepositParams::evm_refund_target`]). The closed vault token account's rent
    /// goes to the same account.
    pub fn solana_refund_target(&self) -> Option<Pubkey> {
        solana_key(&self.solana_refund_address)
            .or_else(|| if self.delivers_on_solana() { solana_key(&self.to_address) } else { None })
    }

    /// Where the EVM router refunds (rules 1 and 2 of the v3 commitment): `refund_address` if it holds an
    /// EVM address, else `to_address` if it holds one; `None` when the EVM side has nowhere to refund (it
    /// then sends the session's token home, towards its destination chain).
    pub fn evm_refund_target(&self) -> Option<[u8; 20]> {
        evm::address(&self.refund_address).or_else(|| evm::address(&self.to_address))
    }

    /// Whether `mint` in a vault could ever be settled on Solana: a Solana destination with no final call,
    /// a recipient that is a usable key, and `mint` its token.
    pub fn settles(&self, mint: &Pubkey) -> bool {
        self.delivers_on_solana()
            && self.final_call.is_empty()
            && mint.to_bytes() == self.to_token
            && solana_key(&self.to_address).is_some()
    }

    /// The CCTP domain to bridge the session's funds to, when the session can be bridged at all: an EVM
    /// destination the bridge serves, whose token there is what the bridge delivers, and which can refund
    /// (its `to_address` is an EVM address: the router's fallback refund target when `refund_address` is
    /// none, so every bridged payment has somewhere to go there). A final call is no obstacle: the router
    /// runs it once `min_amount` is there and bounces to the EVM refund target if it fails.
    pub fn bridge_route(&self) -> Result<u32> {
        require!(!self.delivers_on_solana(), VaultError::DeliversOnSolana);
        let route = evm::route(&self.to_chain_id).ok_or(VaultError::UnsupportedChain)?;
        require!(self.to_token == evm::word(&route.usdc), VaultError::NotBridgedToken);
        require!(evm::address(&self.to_address).is_some(), VaultError::DestinationCannotRefund);
        Ok(route.domain)
    }

    /// Whether the session can ever use `mint` from a vault: settle it (a Solana destination), or bridge it
    /// (an EVM destination: only the bridged mint, only on a route [`DepositParams::bridge_route`]
    /// accepts). Anything else is refundable at once.
    pub fn can_use(&self, mint: &Pubkey) -> bool {
        if self.delivers_on_solana() {
            self.settles(mint)
        } else {
            *mint == evm::BRIDGED_MINT && self.bridge_route().is_ok()
        }
    }
}

/// `word` as a Solana key funds may be sent to: not zero, and not shaped like a left-padded EVM address
/// (twelve zero bytes first). Nobody holds the key of such an account, so funds sent there would be lost;
/// a real public key starts with twelve zero bytes with probability 2⁻⁹⁶.
pub fn solana_key(word: &[u8; 32]) -> Option<Pubkey> {
    (word[..12] != [0u8; 12]).then(|| Pubkey::new_from_array(*word))
}

/// [`solana_key`], or the error that names why not.
pub(crate) fn require_solana_key(word: &[u8; 32]) -> Result<Pubkey> {
    solana_key(word).ok_or_else(|| error!(VaultError::NotASolanaAddress))
}
