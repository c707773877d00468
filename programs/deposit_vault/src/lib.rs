//! Deposit vaults on Solana: the Solana side of the deposit-session commitment.
//!
//! A session is committed as [`DepositParams`], the same struct the EVM contracts hash
//! (`contracts/src/libraries/DepositParamsLib.sol`), hashed the same way
//! (`keccak256(abi.encode(params))`). Its vault is the PDA `[b"vault", paramsHash]`: an account with no
//! data that only ever signs for its token accounts, inside this program. The vault's associated token
//! account is the deposit address; paying into it needs no call to this program.
//!
//! Every instruction is permissionless; whoever sends it pays only the fee (and the rent of a recipient's
//! token account that does not exist yet). What an instruction may do is fixed by the params it is given,
//! and the params are fixed by the vault's address:
//! - [`deposit_vault::settle`]: the whole balance of the session's token to the committed Solana recipient,
//!   before expiry;
//! - [`deposit_vault::refund`]: the whole balance of any mint to the committed refund address, after
//!   expiry, or at any time for a mint the session cannot deliver;
//! - [`deposit_vault::bridge`]: for an EVM destination, the whole balance through the bridge's token
//!   messenger to the session's receiver on the destination chain (computed here, see [`evm`]), before
//!   expiry.
//!
//! Funds bridged from an EVM chain to a Solana destination cannot be minted to the session's vault (the
//! EVM router names the session's receiver there, an EVM address): the CCTP adapter's Solana route mints
//! them to this program's inbox token account and carries the receiver as the burn's hook data. Then:
//! - [`deposit_vault::claim`]: one received transfer's amount from the inbox to the committed Solana
//!   recipient, for the session whose EVM receiver the hook names (computed here from the params, see
//!   [`evm`]), before expiry;
//! - [`deposit_vault::send_back`]: a received transfer the session can no longer take (expired, or a
//!   session that does not deliver on Solana) back through the bridge to the same receiver on the chain it
//!   came from, where the router refunds it to the committed refund address.
//!
//! Either consumes the transfer for good (a claim record per bridge message); nothing else moves inbox
//! funds, so one session's transfer can never pay another's.
//!
//! Each vault move closes the emptied vault token account; its rent goes to the committed refund address (on the
//! sign-and-send path the relayer commits the paying wallet there, and that wallet paid the rent). The
//! program cannot learn who created an associated token account, and a rent recipient chosen by the
//! caller would let any relayer take it.

use anchor_lang::prelude::*;
use anchor_spl::{
    associated_token::AssociatedToken,
    token::{self, CloseAccount, Mint, Token, TokenAccount, TransferChecked},
};

pub mod evm;
#[cfg(not(target_os = "solana"))]
pub mod ix;
#[cfg(feature = "native")]
pub mod native;

declare_id!("2gsjy6sRuK4oKZ8UYdjtE71G5MsjK53gfWBFzg2b63Tg");

/// The spec's `chainId` of Solana: a commitment whose `to_chain_id` is this delivers on Solana.
pub const SOLANA_CHAIN_ID: u64 = 501;
/// The longest a bridge may take to deliver: bridging stops this long before a session expires, so the
/// funds never reach the destination's receiver after expiry (where only a refund to the committed
/// refund address would remain, as the EVM router's bridging also guarantees).
pub const BRIDGE_DELIVERY_SECS: u64 = 900;
/// Seed prefix of a vault PDA.
pub const VAULT_SEED: &[u8] = b"vault";
/// Seed of the inbox PDA: the owner of the token account transfers bridged from EVM chains mint to.
pub const INBOX_SEED: &[u8] = b"inbox";
/// Seed prefix of a claim record: `[CLAIMED_SEED, the bridge's record of the message]`.
pub const CLAIMED_SEED: &[u8] = b"claimed";

/// The inbox PDA and its bump.
pub fn inbox() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[INBOX_SEED], &ID)
}

/// The inbox token account of `mint`: the mint recipient of the CCTP adapter's Solana route.
pub fn inbox_token(mint: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address(&inbox().0, mint)
}

/// What a session commits to; field for field the Solidity `DepositParams`. `uint256` fields are 32-byte
/// big-endian words, addresses 32-byte words (an EVM address left-padded, a Solana key as it is).
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
    /// Requested amount (`uint256`, big-endian); informational, whatever arrives is delivered.
    pub amount: [u8; 32],
    /// Final call for an EVM destination; must be empty to settle on Solana.
    pub final_call: Vec<u8>,
    /// Where funds go on expiry and for mints the session cannot use.
    pub refund_address: [u8; 32],
    /// Unix seconds after which nothing is delivered, only refunded.
    pub expires_at: u64,
}

/// A `uint256` word holding `value`.
pub fn u64_word(value: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&value.to_be_bytes());
    word
}

impl DepositParams {
    /// `abi.encode(params)` as Solidity produces it for this struct: the offset of the (dynamic) tuple,
    /// its eight head words (the `bytes` field as an offset into the tail), then the tail.
    pub fn abi_encode(&self) -> Vec<u8> {
        let padded = self.final_call.len().div_ceil(32) * 32;
        let mut out = Vec::with_capacity(32 * 10 + padded);
        out.extend_from_slice(&u64_word(32));
        out.extend_from_slice(&self.session_id);
        out.extend_from_slice(&self.to_chain_id);
        out.extend_from_slice(&self.to_token);
        out.extend_from_slice(&self.to_address);
        out.extend_from_slice(&self.amount);
        out.extend_from_slice(&u64_word(8 * 32));
        out.extend_from_slice(&self.refund_address);
        out.extend_from_slice(&u64_word(self.expires_at));
        out.extend_from_slice(&u64_word(self.final_call.len() as u64));
        out.extend_from_slice(&self.final_call);
        out.resize(32 * 10 + padded, 0);
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
        Pubkey::find_program_address(&[VAULT_SEED, &self.hash()], &ID)
    }

    fn expired(&self) -> Result<bool> {
        let now = Clock::get()?.unix_timestamp;
        // Same rule as the router's `_expired`: expired strictly after `expiresAt`.
        Ok(now < 0 || now as u64 > self.expires_at)
    }
}

/// A committed Solana address must not look like a left-padded EVM address (twelve zero bytes first):
/// nobody holds the key of such an account, so funds sent there would be lost. A real public key starts
/// with twelve zero bytes with probability 2⁻⁹⁶.
fn solana_key(word: &[u8; 32]) -> Result<Pubkey> {
    require!(word[..12] != [0u8; 12], VaultError::NotASolanaAddress);
    Ok(Pubkey::new_from_array(*word))
}

#[program]
pub mod deposit_vault {
    use super::*;

    /// Delivers the vault's whole balance of the session's token to the committed recipient's associated
    /// token account (created if missing, paid by the caller), then closes the vault token account.
    pub fn settle(ctx: Context<Settle>, params: DepositParams) -> Result<()> {
        // An EVM destination is reached by bridging; delivering its funds here would break the commitment.
        require!(params.delivers_on_solana(), VaultError::NotSolanaDestination);
        // No final call can run on Solana: such a session is only ever refunded (after expiry).
        require!(params.final_call.is_empty(), VaultError::FinalCallUnsupported);
        require_keys_eq!(
            ctx.accounts.mint.key(),
            Pubkey::new_from_array(params.to_token),
            VaultError::WrongMint
        );
        require!(!params.expired()?, VaultError::Expired);
        let recipient = solana_key(&params.to_address)?;
        require_keys_eq!(ctx.accounts.recipient.key(), recipient, VaultError::WrongRecipient);
        require_keys_eq!(
            ctx.accounts.rent_to.key(),
            solana_key(&params.refund_address)?,
            VaultError::WrongRecipient
        );

        let moved = Moved::new(&params, ctx.bumps.vault, &ctx.accounts.vault_token, &ctx.accounts.mint)?;
        let accounts = &ctx.accounts;
        let event = moved.run(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.vault_token,
            accounts.recipient_token.to_account_info(),
            accounts.rent_to.to_account_info(),
        )?;
        emit_cpi!(Settled { event });
        Ok(())
    }

    /// Sends the vault's whole balance of `mint` to the committed refund address's associated token
    /// account (created if missing, paid by the caller), then closes the vault token account. Allowed
    /// after expiry for any mint, and at any time for a mint the session cannot deliver (a Solana
    /// destination's other mints).
    pub fn refund(ctx: Context<Refund>, params: DepositParams) -> Result<()> {
        let unusable =
            params.delivers_on_solana() && ctx.accounts.mint.key() != Pubkey::new_from_array(params.to_token);
        require!(unusable || params.expired()?, VaultError::NotRefundable);
        require_keys_eq!(
            ctx.accounts.refund_owner.key(),
            solana_key(&params.refund_address)?,
            VaultError::WrongRecipient
        );

        let moved = Moved::new(&params, ctx.bumps.vault, &ctx.accounts.vault_token, &ctx.accounts.mint)?;
        let accounts = &ctx.accounts;
        let event = moved.run(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.vault_token,
            accounts.refund_token.to_account_info(),
            accounts.refund_owner.to_account_info(),
        )?;
        emit_cpi!(Refunded { event });
        Ok(())
    }

    /// Sends the vault's whole balance of the bridged mint through the bridge's token messenger to the
    /// session's receiver on its EVM destination chain, then closes the vault token account (rent to the
    /// committed refund address). The destination domain and the mint recipient follow from the params;
    /// the caller chooses neither.
    pub fn bridge(ctx: Context<Bridge>, params: DepositParams) -> Result<()> {
        // A Solana destination is settled here; bridging it away would leave it undeliverable.
        require!(!params.delivers_on_solana(), VaultError::DeliversOnSolana);
        let domain = evm::cctp_domain(&params.to_chain_id).ok_or(VaultError::UnsupportedChain)?;
        // Funds must arrive before the session expires, or only a refund remains there.
        require!(!params.expired()?, VaultError::Expired);
        let now = u64::try_from(Clock::get()?.unix_timestamp).unwrap_or(0);
        require!(now.saturating_add(BRIDGE_DELIVERY_SECS) <= params.expires_at, VaultError::TooLateToBridge);
        require_keys_eq!(
            ctx.accounts.rent_to.key(),
            solana_key(&params.refund_address)?,
            VaultError::WrongRecipient
        );
        let moved = Moved::new(&params, ctx.bumps.vault, &ctx.accounts.vault_token, &ctx.accounts.mint)?;
        let recipient = evm::receiver_word(&moved.hash);
        let accounts = &ctx.accounts;
        local_bridge::cpi::deposit_for_burn(
            CpiContext::new_with_signer(
                accounts.bridge_program.key(),
                local_bridge::cpi::accounts::DepositForBurn {
                    owner: accounts.vault.to_account_info(),
                    from: accounts.vault_token.to_account_info(),
                    config: accounts.bridge_config.to_account_info(),
                    custody: accounts.bridge_custody.to_account_info(),
                    mint: accounts.mint.to_account_info(),
                    token_program: accounts.token_program.to_account_info(),
                    event_authority: accounts.bridge_event_authority.to_account_info(),
                    program: accounts.bridge_program.to_account_info(),
                },
                &[&moved.seeds()],
            ),
            moved.amount,
            domain,
            recipient,
            0,
        )?;
        let event = moved.close(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.vault_token,
            accounts.bridge_custody.key(),
            accounts.rent_to.to_account_info(),
        )?;
        emit_cpi!(Bridged { event, destination_domain: domain, mint_recipient: recipient });
        Ok(())
    }

    /// Pays one transfer bridged to the inbox for this session (the bridge's `received` record) to the
    /// committed recipient's associated token account (created if missing, paid by the caller). Before
    /// expiry only, like `settle`; the transfer is consumed for good.
    pub fn claim(ctx: Context<Claim>, params: DepositParams) -> Result<()> {
        let accounts = &ctx.accounts;
        let mut inbound = Inbound::new(
            &params,
            &accounts.received,
            &accounts.inbox_token,
            &accounts.mint,
            ctx.bumps.inbox,
        )?;
        require!(params.delivers_on_solana(), VaultError::NotSolanaDestination);
        require!(params.final_call.is_empty(), VaultError::FinalCallUnsupported);
        require_keys_eq!(accounts.mint.key(), Pubkey::new_from_array(params.to_token), VaultError::WrongMint);
        require!(!params.expired()?, VaultError::Expired);
        require_keys_eq!(
            accounts.recipient.key(),
            solana_key(&params.to_address)?,
            VaultError::WrongRecipient
        );
        if inbound.amount > 0 {
            token::transfer_checked(
                CpiContext::new_with_signer(
                    accounts.token_program.key(),
                    TransferChecked {
                        from: accounts.inbox_token.to_account_info(),
                        mint: accounts.mint.to_account_info(),
                        to: accounts.recipient_token.to_account_info(),
                        authority: accounts.inbox.to_account_info(),
                    },
                    &[&inbound.seeds()],
                ),
                inbound.amount,
                accounts.mint.decimals,
            )?;
        }
        inbound.event.to = accounts.recipient_token.key();
        emit_cpi!(Claimed { event: inbound.event });
        Ok(())
    }

    /// Sends one transfer bridged to the inbox for this session back through the bridge to the session's
    /// receiver on the chain it came from, when the session cannot take it here: expired (the router there
    /// refunds it to the committed refund address), or a session that does not settle on Solana or not in
    /// this mint. The transfer is consumed for good.
    pub fn send_back(ctx: Context<SendBack>, params: DepositParams) -> Result<()> {
        let accounts = &ctx.accounts;
        let mut inbound = Inbound::new(
            &params,
            &accounts.received,
            &accounts.inbox_token,
            &accounts.mint,
            ctx.bumps.inbox,
        )?;
        let claimable = params.delivers_on_solana()
            && params.final_call.is_empty()
            && accounts.mint.key() == Pubkey::new_from_array(params.to_token)
            && !params.expired()?;
        require!(!claimable, VaultError::Claimable);
        if inbound.amount > 0 {
            local_bridge::cpi::deposit_for_burn(
                CpiContext::new_with_signer(
                    accounts.bridge_program.key(),
                    local_bridge::cpi::accounts::DepositForBurn {
                        owner: accounts.inbox.to_account_info(),
                        from: accounts.inbox_token.to_account_info(),
                        config: accounts.bridge_config.to_account_info(),
                        custody: accounts.bridge_custody.to_account_info(),
                        mint: accounts.mint.to_account_info(),
                        token_program: accounts.token_program.to_account_info(),
                        event_authority: accounts.bridge_event_authority.to_account_info(),
                        program: accounts.bridge_program.to_account_info(),
                    },
                    &[&inbound.seeds()],
                ),
                inbound.amount,
                inbound.source_domain,
                inbound.hook,
                0,
            )?;
        }
        inbound.event.to = accounts.bridge_custody.key();
        emit_cpi!(SentBack { event: inbound.event, mint_recipient: inbound.hook });
        Ok(())
    }
}

/// One received transfer in the inbox, checked to be the session's: minted to the inbox, with the hook
/// naming the session's EVM receiver (which commits to the params, so no other params can match).
struct Inbound {
    source_domain: u32,
    hook: [u8; 32],
    amount: u64,
    bump: [u8; 1],
    event: InboundEvent,
}

impl Inbound {
    fn new(
        params: &DepositParams,
        received: &local_bridge::Received,
        inbox_token: &Account<TokenAccount>,
        mint: &Account<Mint>,
        bump: u8,
    ) -> Result<Self> {
        require_keys_eq!(received.mint_recipient, inbox_token.key(), VaultError::NotInInbox);
        let hash = params.hash();
        let hook = evm::receiver_word(&hash);
        require!(received.hook == Some(hook), VaultError::NotThisSession);
        Ok(Self {
            source_domain: received.source_domain,
            hook,
            amount: received.amount,
            bump: [bump],
            event: InboundEvent {
                session_id: params.session_id,
                params_hash: hash,
                source_domain: received.source_domain,
                nonce: received.nonce,
                mint: mint.key(),
                to: Pubkey::default(),
                amount: received.amount,
            },
        })
    }

    /// The inbox's signer seeds.
    fn seeds(&self) -> [&[u8]; 2] {
        [INBOX_SEED, &self.bump]
    }
}

/// One move out of a vault: everything to `to`, then the emptied token account closed.
struct Moved {
    hash: [u8; 32],
    session_id: [u8; 32],
    bump: [u8; 1],
    amount: u64,
    decimals: u8,
}

impl Moved {
    fn new(params: &DepositParams, bump: u8, vault_token: &TokenAccount, mint: &Mint) -> Result<Self> {
        require!(vault_token.amount > 0, VaultError::NothingToMove);
        Ok(Self {
            hash: params.hash(),
            session_id: params.session_id,
            bump: [bump],
            amount: vault_token.amount,
            decimals: mint.decimals,
        })
    }

    /// The vault's signer seeds.
    fn seeds(&self) -> [&[u8]; 3] {
        [VAULT_SEED, &self.hash, &self.bump]
    }

    /// Everything to `to`, then [`Moved::close`].
    fn run<'info>(
        self,
        token_program: &Program<'info, Token>,
        vault: &UncheckedAccount<'info>,
        mint: &Account<'info, Mint>,
        vault_token: &Account<'info, TokenAccount>,
        to: AccountInfo<'info>,
        rent_to: AccountInfo<'info>,
    ) -> Result<VaultEvent> {
        token::transfer_checked(
            CpiContext::new_with_signer(
                token_program.key(),
                TransferChecked {
                    from: vault_token.to_account_info(),
                    mint: mint.to_account_info(),
                    to: to.clone(),
                    authority: vault.to_account_info(),
                },
                &[&self.seeds()],
            ),
            self.amount,
            self.decimals,
        )?;
        self.close(token_program, vault, mint, vault_token, to.key(), rent_to)
    }

    /// Closes the emptied vault token account (its rent to `rent_to`) and describes the move to `to`.
    fn close<'info>(
        self,
        token_program: &Program<'info, Token>,
        vault: &UncheckedAccount<'info>,
        mint: &Account<'info, Mint>,
        vault_token: &Account<'info, TokenAccount>,
        to: Pubkey,
        rent_to: AccountInfo<'info>,
    ) -> Result<VaultEvent> {
        let rent = vault_token.to_account_info().lamports();
        token::close_account(CpiContext::new_with_signer(
            token_program.key(),
            CloseAccount {
                account: vault_token.to_account_info(),
                destination: rent_to.clone(),
                authority: vault.to_account_info(),
            },
            &[&self.seeds()],
        ))?;
        Ok(VaultEvent {
            session_id: self.session_id,
            params_hash: self.hash,
            vault: vault.key(),
            mint: mint.key(),
            to,
            amount: self.amount,
            rent_to: rent_to.key(),
            rent,
        })
    }
}

/// What left a vault, and where.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VaultEvent {
    /// The session.
    pub session_id: [u8; 32],
    /// Its commitment (the vault's seed).
    pub params_hash: [u8; 32],
    /// The vault PDA.
    pub vault: Pubkey,
    /// The mint moved.
    pub mint: Pubkey,
    /// The token account that received it.
    pub to: Pubkey,
    /// Base units moved.
    pub amount: u64,
    /// Who received the closed vault token account's rent.
    pub rent_to: Pubkey,
    /// Lamports of rent returned.
    pub rent: u64,
}

/// The session's funds reached its Solana recipient.
#[event]
pub struct Settled {
    /// What moved.
    pub event: VaultEvent,
}

/// Funds went back to the refund address.
#[event]
pub struct Refunded {
    /// What moved.
    pub event: VaultEvent,
}

/// Funds left through the bridge towards the session's EVM destination (`to` is the bridge's custody).
#[event]
pub struct Bridged {
    /// What moved.
    pub event: VaultEvent,
    /// The CCTP domain of the destination chain.
    pub destination_domain: u32,
    /// The session's receiver there, as a `bytes32`.
    pub mint_recipient: [u8; 32],
}

/// One transfer bridged in from an EVM chain, and where it went.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InboundEvent {
    /// The session.
    pub session_id: [u8; 32],
    /// Its commitment.
    pub params_hash: [u8; 32],
    /// The CCTP domain it came from.
    pub source_domain: u32,
    /// The bridge message's nonce there.
    pub nonce: u64,
    /// The mint.
    pub mint: Pubkey,
    /// The token account that received it (the bridge's custody when sent back).
    pub to: Pubkey,
    /// Base units moved.
    pub amount: u64,
}

/// A bridged-in transfer reached the session's Solana recipient.
#[event]
pub struct Claimed {
    /// What moved.
    pub event: InboundEvent,
}

/// A bridged-in transfer went back to the session's receiver on the chain it came from.
#[event]
pub struct SentBack {
    /// What moved.
    pub event: InboundEvent,
    /// The receiver there, as a `bytes32`.
    pub mint_recipient: [u8; 32],
}

/// Marks one bridge message as consumed; holds nothing.
#[account]
#[derive(InitSpace)]
pub struct ClaimRecord {}

/// Accounts of [`deposit_vault::claim`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Claim<'info> {
    /// Pays the fee, the claim record's rent, and the recipient token account's if it does not exist yet.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The bridge's record of the message (owned by the bridge program: only it can write one).
    pub received: Account<'info, local_bridge::Received>,
    /// Created here: a message is consumed once, by `claim` or `send_back`.
    #[account(
        init,
        payer = payer,
        space = 8 + ClaimRecord::INIT_SPACE,
        seeds = [CLAIMED_SEED, received.key().as_ref()],
        bump,
    )]
    pub claimed: Account<'info, ClaimRecord>,
    /// CHECK: holds no data and only signs for the inbox token account, inside this program (seeds checked).
    #[account(seeds = [INBOX_SEED], bump)]
    pub inbox: UncheckedAccount<'info>,
    /// The session's token (checked against `params.to_token`).
    pub mint: Account<'info, Mint>,
    /// The inbox token account of `mint` (checked against the message's mint recipient).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = inbox,
        associated_token::token_program = token_program,
    )]
    pub inbox_token: Account<'info, TokenAccount>,
    /// CHECK: only names the owner of `recipient_token`; checked against `params.to_address`.
    pub recipient: UncheckedAccount<'info>,
    /// The recipient's associated token account.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = recipient,
        associated_token::token_program = token_program,
    )]
    pub recipient_token: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Accounts of [`deposit_vault::send_back`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct SendBack<'info> {
    /// Pays the fee and the claim record's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The bridge's record of the message (owned by the bridge program: only it can write one).
    pub received: Account<'info, local_bridge::Received>,
    /// Created here: a message is consumed once, by `claim` or `send_back`.
    #[account(
        init,
        payer = payer,
        space = 8 + ClaimRecord::INIT_SPACE,
        seeds = [CLAIMED_SEED, received.key().as_ref()],
        bump,
    )]
    pub claimed: Account<'info, ClaimRecord>,
    /// CHECK: as in [`Claim::inbox`].
    #[account(seeds = [INBOX_SEED], bump)]
    pub inbox: UncheckedAccount<'info>,
    /// The bridged mint (the bridge refuses any other).
    pub mint: Account<'info, Mint>,
    /// The inbox token account of `mint` (checked against the message's mint recipient).
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = inbox,
        associated_token::token_program = token_program,
    )]
    pub inbox_token: Account<'info, TokenAccount>,
    /// CHECK: the bridge's config; the bridge program checks it (seeds, mint).
    #[account(mut)]
    pub bridge_config: UncheckedAccount<'info>,
    /// CHECK: the bridge's custody; the bridge program checks it (its config's token account).
    #[account(mut)]
    pub bridge_custody: UncheckedAccount<'info>,
    /// CHECK: the bridge's event authority; the bridge program checks it.
    pub bridge_event_authority: UncheckedAccount<'info>,
    /// The bridge (only this program id).
    pub bridge_program: Program<'info, local_bridge::program::LocalBridge>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Accounts of [`deposit_vault::settle`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Settle<'info> {
    /// Pays the fee, and the recipient token account's rent if it does not exist yet.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: holds no data and only signs, inside this program; its address is checked against the seeds,
    /// which are the hash of `params`, so the params cannot be other than what the vault committed to.
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The session's token (checked against `params.to_token`).
    pub mint: Account<'info, Mint>,
    /// The deposit address: the vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: Account<'info, TokenAccount>,
    /// CHECK: only names the owner of `recipient_token`; checked against `params.to_address`.
    pub recipient: UncheckedAccount<'info>,
    /// The recipient's associated token account.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = recipient,
        associated_token::token_program = token_program,
    )]
    pub recipient_token: Account<'info, TokenAccount>,
    /// CHECK: receives the closed vault token account's lamports; checked against `params.refund_address`.
    #[account(mut)]
    pub rent_to: UncheckedAccount<'info>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Accounts of [`deposit_vault::refund`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Refund<'info> {
    /// Pays the fee, and the refund token account's rent if it does not exist yet.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: as in [`Settle::vault`].
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The mint refunded (any).
    pub mint: Account<'info, Mint>,
    /// The vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: Account<'info, TokenAccount>,
    /// CHECK: the refund address (checked against `params.refund_address`); owns `refund_token` and
    /// receives the closed vault token account's lamports.
    #[account(mut)]
    pub refund_owner: UncheckedAccount<'info>,
    /// The refund address's associated token account.
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = mint,
        associated_token::authority = refund_owner,
        associated_token::token_program = token_program,
    )]
    pub refund_token: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// Associated Token Account program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Accounts of [`deposit_vault::bridge`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(params: DepositParams)]
pub struct Bridge<'info> {
    /// Pays the fee.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: as in [`Settle::vault`].
    #[account(seeds = [VAULT_SEED, params.hash().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The bridged mint (the bridge refuses any other).
    pub mint: Account<'info, Mint>,
    /// The vault's associated token account for `mint`.
    #[account(
        mut,
        associated_token::mint = mint,
        associated_token::authority = vault,
        associated_token::token_program = token_program,
    )]
    pub vault_token: Account<'info, TokenAccount>,
    /// CHECK: receives the closed vault token account's lamports; checked against `params.refund_address`.
    #[account(mut)]
    pub rent_to: UncheckedAccount<'info>,
    /// CHECK: the bridge's config; the bridge program checks it (seeds, mint).
    #[account(mut)]
    pub bridge_config: UncheckedAccount<'info>,
    /// CHECK: the bridge's custody; the bridge program checks it (its config's token account).
    #[account(mut)]
    pub bridge_custody: UncheckedAccount<'info>,
    /// CHECK: the bridge's event authority; the bridge program checks it.
    pub bridge_event_authority: UncheckedAccount<'info>,
    /// The bridge (only this program id).
    pub bridge_program: Program<'info, local_bridge::program::LocalBridge>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

/// Why an instruction refused. Append-only: codes are part of the interface.
#[error_code]
pub enum VaultError {
    /// 6000.
    #[msg("the session's destination is not on Solana")]
    NotSolanaDestination,
    /// 6001.
    #[msg("the session's final call cannot run on Solana")]
    FinalCallUnsupported,
    /// 6002.
    #[msg("the mint is not the session's token")]
    WrongMint,
    /// 6003.
    #[msg("the session expired: only a refund is possible")]
    Expired,
    /// 6004.
    #[msg("the session has not expired and can use this mint")]
    NotRefundable,
    /// 6005.
    #[msg("the vault holds nothing of this mint")]
    NothingToMove,
    /// 6006.
    #[msg("the account is not the committed one")]
    WrongRecipient,
    /// 6007.
    #[msg("a committed Solana address has twelve leading zero bytes (an EVM address?)")]
    NotASolanaAddress,
    /// 6008.
    #[msg("the session delivers on Solana: settle it, do not bridge it")]
    DeliversOnSolana,
    /// 6009.
    #[msg("the bridge does not serve the session's destination chain")]
    UnsupportedChain,
    /// 6010.
    #[msg("too close to expiry: the bridge might deliver after the session ends")]
    TooLateToBridge,
    /// 6011.
    #[msg("the bridged transfer was not minted to the inbox")]
    NotInInbox,
    /// 6012.
    #[msg("the bridged transfer is for another session")]
    NotThisSession,
    /// 6013.
    #[msg("the session can take this transfer: claim it, do not send it back")]
    Claimable,
}
