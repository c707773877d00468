//! A devnet stand-in for CCTP's token messenger on Solana. `deposit_for_burn` locks the tokens in a
//! custody account and emits (with `emit_cpi!`) a message in the layout the EVM chains' local CCTP
//! transmitter accepts (`contracts/src/devnet/LocalCCTP.sol`): `abi.encode(version, sourceDomain,
//! destinationDomain, nonce, sender, recipient, destinationCaller, body)` with the burn body
//! `abi.encode(1, burnToken, mintRecipient, amount, depositor, maxFee)`. The devnet attester signs its
//! hash and delivers it to the destination chain, which mints. Solana's CCTP domain is 5.
//!
//! The other way, `receive_message` takes a message from an EVM chain's local CCTP with the attester's
//! secp256k1 signature of its hash, once per (source domain, nonce): it releases the burnt amount (less
//! the fee the burn allowed, as the EVM side charges) from custody to the message's mint recipient, and
//! records what arrived in a `Received` account that programs receiving through a fixed inbox (the
//! deposit-vault program) read to learn who the transfer was for (the burn's hook data).
//!
//! It is not Circle's program (whose accounts differ): production bridging from Solana goes through
//! Circle's TokenMessengerMinter, which the deposit-vault program would call the same way.

use anchor_lang::{prelude::*, solana_program::program_option::COption};
use anchor_spl::{
    associated_token::AssociatedToken,
    token::{self, Mint, Token, TokenAccount, TransferChecked},
};

#[cfg(not(target_os = "solana"))]
pub mod ix;
#[cfg(feature = "native")]
pub mod native;

declare_id!("21c1vhVU6a2qVzQvzWKQSM8XFwQPMh8iusmgQAafAdHx");

/// Solana's CCTP domain.
pub const LOCAL_DOMAIN: u32 = 5;
/// The one mint the bridge carries: Solana USDC (Circle's mint), as CCTP burns and mints only USDC. The
/// devnet creates its stand-in USDC at this address (as the EVM devnet chains put their test USDC at the
/// real USDC addresses) with a mint authority it holds, so only the devnet can initialize the bridge. On a
/// cluster where Circle's mint lives, nobody but Circle's mint authority could initialize it.
pub const USDC_MINT: Pubkey = pubkey!("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
/// Message format version (the EVM transmitter's `VERSION`).
pub const VERSION: u32 = 1;
/// Seed of the config PDA (also the custody account's owner).
pub const CONFIG_SEED: &[u8] = b"config";
/// Seed prefix of a received message's record: `[RECEIVED_SEED, sourceDomain (4 bytes BE), nonce (8 bytes
/// BE)]`.
pub const RECEIVED_SEED: &[u8] = b"received";

/// The bridge's state.
#[account]
#[derive(InitSpace)]
pub struct BridgeConfig {
    /// The one mint it bridges.
    pub mint: Pubkey,
    /// The next outgoing nonce.
    pub next_nonce: u64,
    /// The EVM address whose signature of a message's `keccak256` attests it.
    pub attester: [u8; 20],
}

/// A message delivered here: its record exists exactly once per (source domain, nonce).
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Received {
    /// The domain it came from.
    pub source_domain: u32,
    /// Its nonce there.
    pub nonce: u64,
    /// The token account it paid.
    pub mint_recipient: Pubkey,
    /// Base units paid (the burnt amount less the fee).
    pub amount: u64,
    /// The burn's hook data when it is one 32-byte word (the deposit-vault program reads the session's
    /// receiver from it); `None` for no hook or any other length.
    pub hook: Option<[u8; 32]>,
}

/// The seeds of the record of (`source_domain`, `nonce`), after [`RECEIVED_SEED`].
pub fn received_key(source_domain: u32, nonce: u64) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..4].copy_from_slice(&source_domain.to_be_bytes());
    key[4..].copy_from_slice(&nonce.to_be_bytes());
    key
}

/// An incoming message, parsed: every field the layout fixes is checked, so one message has one meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The domain it came from.
    pub source_domain: u32,
    /// The domain it is for.
    pub destination_domain: u32,
    /// Its nonce there.
    pub nonce: u64,
    /// Who may deliver it (zero: anyone).
    pub destination_caller: [u8; 32],
    /// The token account to pay.
    pub mint_recipient: [u8; 32],
    /// Base units burnt.
    pub amount: u64,
    /// The most the burn allowed as fee.
    pub max_fee: u64,
    /// The burn's hook data (empty without one).
    pub hook: Vec<u8>,
}

/// The `n`th 32-byte word of `data`.
fn word_at(data: &[u8], n: usize) -> Option<&[u8; 32]> {
    data.get(n * 32..n * 32 + 32)?.try_into().ok()
}

/// A word holding an unsigned integer that must fit in `bytes` bytes.
fn uint(word: &[u8; 32], bytes: usize) -> Option<u64> {
    if word[..32 - bytes].iter().any(|b| *b != 0) {
        return None;
    }
    let mut low = [0u8; 8];
    low[8 - bytes..].copy_from_slice(&word[32 - bytes..]);
    Some(u64::from_be_bytes(low))
}

/// The `bytes` that `abi.encode` put at head word `at` of `data` (its offset must be `expected`: the layout
/// has one encoding), with zero padding to the end of `data`.
fn tail(data: &[u8], at: usize, expected: u64) -> Option<&[u8]> {
    if uint(word_at(data, at)?, 8)? != expected {
        return None;
    }
    let start = usize::try_from(expected).ok()?;
    let len = usize::try_from(uint(word_at(data, start / 32)?, 8)?).ok()?;
    let bytes = data.get(start + 32..start + 32 + len)?;
    let padded = start + 32 + len.div_ceil(32) * 32;
    (data.len() == padded && data[start + 32 + len..].iter().all(|b| *b == 0)).then_some(bytes)
}

impl Incoming {
    /// Parses `message` (the EVM transmitter's layout, with a plain or a hooked burn body); `None` if it
    /// is not exactly that.
    pub fn parse(message: &[u8]) -> Option<Self> {
        if uint(word_at(message, 0)?, 4)? != u64::from(VERSION) {
            return None;
        }
        let body = tail(message, 7, 8 * 32)?;
        if uint(word_at(body, 0)?, 4)? != 1 {
            return None;
        }
        let hook = match body.len() {
            192 => vec![],
            _ => tail(body, 6, 7 * 32)?.to_vec(),
        };
        Some(Self {
            source_domain: u32::try_from(uint(word_at(message, 1)?, 4)?).ok()?,
            destination_domain: u32::try_from(uint(word_at(message, 2)?, 4)?).ok()?,
            nonce: uint(word_at(message, 3)?, 8)?,
            destination_caller: *word_at(message, 6)?,
            mint_recipient: *word_at(body, 2)?,
            amount: uint(word_at(body, 3)?, 8)?,
            // A fee above what fits is above the amount: all of it is fee.
            max_fee: uint(word_at(body, 5)?, 8).unwrap_or(u64::MAX),
            hook,
        })
    }

    /// The (source domain, nonce) of a raw `message`, unchecked: the instruction parses and checks the
    /// message itself, and refuses one that does not parse.
    pub fn id_of(message: &[u8]) -> (u32, u64) {
        let at = |n: usize, bytes: usize| {
            word_at(message, n).map_or(0, |w| {
                let mut low = [0u8; 8];
                low[8 - bytes..].copy_from_slice(&w[32 - bytes..]);
                u64::from_be_bytes(low)
            })
        };
        (at(1, 4) as u32, at(3, 8))
    }

    /// The record's seeds after [`RECEIVED_SEED`] for a raw `message` (see [`Incoming::id_of`]).
    pub fn key_of(message: &[u8]) -> [u8; 12] {
        let (domain, nonce) = Self::id_of(message);
        received_key(domain, nonce)
    }
}

/// The EVM address that signed `hash` with the 65-byte `r ‖ s ‖ v` signature, if any.
pub fn signer_of(hash: &[u8; 32], signature: &[u8; 65]) -> Option<[u8; 20]> {
    let v = signature[64];
    let recovery_id = match v {
        27 | 28 => v - 27,
        0 | 1 => v,
        _ => return None,
    };
    let key =
        solana_secp256k1_recover::secp256k1_recover(hash, recovery_id, &signature[..64]).ok()?.to_bytes();
    let hashed = solana_keccak_hasher::hash(&key).to_bytes();
    let mut address = [0u8; 20];
    address.copy_from_slice(&hashed[12..]);
    Some(address)
}

fn word(value: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&value.to_be_bytes());
    w
}

/// The message `deposit_for_burn` emits.
pub fn message(
    nonce: u64,
    destination_domain: u32,
    mint: &Pubkey,
    mint_recipient: &[u8; 32],
    amount: u64,
    max_fee: u64,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(6 * 32);
    body.extend_from_slice(&word(1));
    body.extend_from_slice(&mint.to_bytes());
    body.extend_from_slice(mint_recipient);
    body.extend_from_slice(&word(amount));
    body.extend_from_slice(&[0u8; 32]); // depositor: an EVM `address`; none on this side
    body.extend_from_slice(&word(max_fee));
    let mut out = Vec::with_capacity(10 * 32 + body.len());
    out.extend_from_slice(&word(u64::from(VERSION)));
    out.extend_from_slice(&word(u64::from(LOCAL_DOMAIN)));
    out.extend_from_slice(&word(u64::from(destination_domain)));
    out.extend_from_slice(&word(nonce));
    out.extend_from_slice(&crate::ID.to_bytes()); // sender
    out.extend_from_slice(&[0u8; 32]); // recipient: the destination's paired messenger
    out.extend_from_slice(&[0u8; 32]); // destination caller: anyone
    out.extend_from_slice(&word(8 * 32)); // offset of `body`
    out.extend_from_slice(&word(body.len() as u64));
    out.extend_from_slice(&body);
    out
}

#[program]
pub mod local_bridge {
    use super::*;

    /// Creates the config and the custody account for [`USDC_MINT`], trusting `attester`'s signatures (the
    /// devnet does this once at start). Only the mint's mint authority may: whoever initializes picks the
    /// attester, whose signatures release custody, so a first-caller-wins `initialize` would let anyone
    /// take a bridge for a mint they do not control.
    pub fn initialize(ctx: Context<Initialize>, attester: [u8; 20]) -> Result<()> {
        ctx.accounts.config.set_inner(BridgeConfig {
            mint: ctx.accounts.mint.key(),
            next_nonce: 0,
            attester,
        });
        Ok(())
    }

    /// Delivers an attested message from an EVM chain: pays its amount less the fee its burn allowed from
    /// custody to its mint recipient and records it (once: the record's address is its source domain and
    /// nonce). Anyone may send it; the message decides everything.
    pub fn receive_message(
        ctx: Context<ReceiveMessage>,
        message: Vec<u8>,
        attestation: [u8; 65],
    ) -> Result<()> {
        let incoming = Incoming::parse(&message).ok_or(BridgeError::MalformedMessage)?;
        require!(incoming.destination_domain == LOCAL_DOMAIN, BridgeError::WrongDomain);
        // A forged or altered message recovers to another key.
        let hash = solana_keccak_hasher::hash(&message).to_bytes();
        require!(
            signer_of(&hash, &attestation) == Some(ctx.accounts.config.attester),
            BridgeError::BadAttestation
        );
        // A message for a named deliverer is delivered only by it, as on the EVM side.
        if incoming.destination_caller != [0u8; 32] {
            require!(
                incoming.destination_caller == ctx.accounts.payer.key().to_bytes(),
                BridgeError::WrongCaller
            );
        }
        require_keys_eq!(
            ctx.accounts.recipient_token.key(),
            Pubkey::new_from_array(incoming.mint_recipient),
            BridgeError::WrongRecipient
        );
        let amount = incoming.amount.saturating_sub(incoming.max_fee);
        if amount > 0 {
            let bump = [ctx.bumps.config];
            let seeds: [&[u8]; 2] = [CONFIG_SEED, &bump];
            token::transfer_checked(
                CpiContext::new_with_signer(
                    ctx.accounts.token_program.key(),
                    TransferChecked {
                        from: ctx.accounts.custody.to_account_info(),
                        mint: ctx.accounts.mint.to_account_info(),
                        to: ctx.accounts.recipient_token.to_account_info(),
                        authority: ctx.accounts.config.to_account_info(),
                    },
                    &[&seeds],
                ),
                amount,
                ctx.accounts.mint.decimals,
            )?;
        }
        let received = Received {
            source_domain: incoming.source_domain,
            nonce: incoming.nonce,
            mint_recipient: ctx.accounts.recipient_token.key(),
            amount,
            hook: <[u8; 32]>::try_from(incoming.hook.as_slice()).ok(),
        };
        ctx.accounts.received.set_inner(received.clone());
        emit_cpi!(MessageReceived { received });
        Ok(())
    }

    /// Locks `amount` from `from` (signed for by `owner`) and emits the message for `destination_domain`.
    pub fn deposit_for_burn(
        ctx: Context<DepositForBurn>,
        amount: u64,
        destination_domain: u32,
        mint_recipient: [u8; 32],
        max_fee: u64,
    ) -> Result<()> {
        require!(amount > 0, BridgeError::ZeroAmount);
        require!(destination_domain != LOCAL_DOMAIN, BridgeError::SameDomain);
        token::transfer_checked(
            CpiContext::new(
                ctx.accounts.token_program.key(),
                TransferChecked {
                    from: ctx.accounts.from.to_account_info(),
                    mint: ctx.accounts.mint.to_account_info(),
                    to: ctx.accounts.custody.to_account_info(),
                    authority: ctx.accounts.owner.to_account_info(),
                },
            ),
            amount,
            ctx.accounts.mint.decimals,
        )?;
        let config = &mut ctx.accounts.config;
        let nonce = config.next_nonce;
        config.next_nonce += 1;
        let message = message(nonce, destination_domain, &config.mint, &mint_recipient, amount, max_fee);
        emit_cpi!(MessageSent { nonce, message });
        Ok(())
    }
}

/// A message left Solana; the attester signs `keccak256(message)`.
#[event]
pub struct MessageSent {
    /// Its nonce.
    pub nonce: u64,
    /// The message, in the EVM transmitter's layout.
    pub message: Vec<u8>,
}

/// A message was delivered here.
#[event]
pub struct MessageReceived {
    /// What its record holds.
    pub received: Received,
}

/// Accounts of [`local_bridge::receive_message`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(message: Vec<u8>)]
pub struct ReceiveMessage<'info> {
    /// Pays the fee and the record's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump, has_one = mint)]
    pub config: Account<'info, BridgeConfig>,
    /// The message's record: created here, so a second delivery fails.
    #[account(
        init,
        payer = payer,
        space = 8 + Received::INIT_SPACE,
        seeds = [RECEIVED_SEED, Incoming::key_of(&message).as_ref()],
        bump,
    )]
    pub received: Account<'info, Received>,
    /// Custody.
    #[account(mut, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// The message's mint recipient (checked against it).
    #[account(mut, token::mint = mint)]
    pub recipient_token: Account<'info, TokenAccount>,
    /// The bridged mint.
    pub mint: Account<'info, Mint>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Accounts of [`local_bridge::initialize`].
#[derive(Accounts)]
pub struct Initialize<'info> {
    /// Pays the rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The bridged mint's mint authority: only it may pick the attester.
    pub mint_authority: Signer<'info>,
    /// The config PDA.
    #[account(init, payer = payer, space = 8 + BridgeConfig::INIT_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, BridgeConfig>,
    /// The bridged mint: [`USDC_MINT`], whose mint authority signs.
    #[account(
        address = USDC_MINT @ BridgeError::UnsupportedMint,
        constraint = mint.mint_authority == COption::Some(mint_authority.key()) @ BridgeError::NotMintAuthority,
    )]
    pub mint: Account<'info, Mint>,
    /// Custody: the config's associated token account.
    #[account(init, payer = payer, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Accounts of [`local_bridge::deposit_for_burn`].
#[event_cpi]
#[derive(Accounts)]
pub struct DepositForBurn<'info> {
    /// Owner of `from` (a PDA signing through CPI, or a wallet).
    pub owner: Signer<'info>,
    /// Where the tokens come from.
    #[account(mut, token::mint = mint, token::authority = owner)]
    pub from: Account<'info, TokenAccount>,
    /// The config.
    #[account(mut, seeds = [CONFIG_SEED], bump, has_one = mint)]
    pub config: Account<'info, BridgeConfig>,
    /// Custody.
    #[account(mut, associated_token::mint = mint, associated_token::authority = config)]
    pub custody: Account<'info, TokenAccount>,
    /// The bridged mint.
    pub mint: Account<'info, Mint>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

/// Why the bridge refused. Append-only.
#[error_code]
pub enum BridgeError {
    /// 6000.
    #[msg("nothing to bridge")]
    ZeroAmount,
    /// 6001.
    #[msg("the destination is this domain")]
    SameDomain,
    /// 6002.
    #[msg("the message is not in the local CCTP layout")]
    MalformedMessage,
    /// 6003.
    #[msg("the message is for another domain")]
    WrongDomain,
    /// 6004.
    #[msg("the attestation is not the attester's signature of the message")]
    BadAttestation,
    /// 6005.
    #[msg("the message names another destination caller")]
    WrongCaller,
    /// 6006.
    #[msg("the token account is not the message's mint recipient")]
    WrongRecipient,
    /// 6007.
    #[msg("the bridge carries USDC only")]
    UnsupportedMint,
    /// 6008.
    #[msg("only the mint's mint authority may initialize its bridge")]
    NotMintAuthority,
}
