//! The deposit-vault program's transactions, built and read in one place for every transport: the payer's
//! deposit (`serializedTx`), the relayer's `settle` and `refund`, and what a finalized transaction says
//! about a vault (deposits in, `Settled` / `Refunded` events out).

use anchor_lang::{AnchorDeserialize, Discriminator};
use anchor_spl::{
    associated_token::{get_associated_token_address, spl_associated_token_account},
    token::spl_token,
};
use deposit_vault::{
    Bridged, Claimed, DepositParams, InboundEvent, Refunded, RefundedHome, RefundedInbound, SentBack,
    Settled, VaultEvent, u64_word,
};
use relayer_types::Commitment;
use solana_sdk::{
    hash::Hash,
    instruction::{Instruction, InstructionError},
    message::Message,
    program_pack::Pack,
    pubkey::Pubkey,
    signature::{Keypair, Signature},
    signer::Signer,
    transaction::{Transaction, TransactionError},
};

use crate::client::{TxFailure, TxView};

/// The deposit-vault program's id.
pub const PROGRAM_ID: Pubkey = deposit_vault::ID;
/// The EVM deployment the program's bridgings deliver to (see `deposit_vault::evm`).
pub use deposit_vault::evm as vault_evm;

/// The program bridged funds leave Solana through (the Solana chain's bridge "adapter"): Circle's CCTP v2
/// TokenMessengerMinterV2, as the program's cluster deployment names it.
pub const BRIDGE_ID: Pubkey = deposit_vault::evm::TOKEN_MESSENGER_MINTER;

/// The `emit_cpi!` events `program` wrote in `tx` (self-invocations carrying `EVENT_IX_TAG ‖
/// discriminator ‖ borsh`): each event's bytes after the tag, with its position among the transaction's
/// inner instructions.
fn self_events(tx: &TxView, program: Pubkey) -> impl Iterator<Item = (usize, &[u8])> {
    tx.inner_instructions.iter().enumerate().filter(move |(_, inner)| inner.program == program).filter_map(
        |(index, inner)| Some((index, inner.data.strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE)?)),
    )
}

/// The event of type `T` in `body`, if it is one.
fn decode<T: Discriminator + AnchorDeserialize>(body: &[u8]) -> Option<T> {
    T::deserialize(&mut body.strip_prefix(T::DISCRIMINATOR)?).ok()
}

/// The record Circle's token messenger keeps of `mint` (every burn of it writes it): where the devnet's
/// attester, like Circle's, finds the bridgings out of Solana.
pub fn cctp_local_token(mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[token_messenger_minter_v2::LOCAL_TOKEN_SEED, mint.as_ref()],
        &deposit_vault::evm::TOKEN_MESSENGER_MINTER,
    )
    .0
}

/// The CCTP message an account holds, if it is one of Circle's transmitter's `MessageSent` accounts (the
/// message in Circle's format as the source wrote it: zero nonce and executed fields).
pub fn cctp_message(account: &crate::client::AccountView) -> Option<Vec<u8>> {
    use anchor_lang::AccountDeserialize;
    (account.owner == deposit_vault::evm::MESSAGE_TRANSMITTER)
        .then(|| message_transmitter_v2::MessageSent::try_deserialize(&mut &account.data[..]).ok())
        .flatten()
        .map(|sent| sent.message)
}

/// The deposit-vault inbox token account of `mint`: where transfers bridged from the EVM chains arrive
/// (the CCTP adapter's Solana route mints there, naming the session's EVM receiver in the hook).
pub fn inbox_token(mint: &Pubkey) -> Pubkey {
    deposit_vault::inbox_token(mint)
}

/// The program's params for a session's commitment (same fields, same order, same words).
pub fn params(c: &Commitment) -> DepositParams {
    DepositParams {
        session_id: c.session_id.0,
        to_chain_id: u64_word(c.to_chain_id),
        to_token: c.to_token.0,
        to_address: c.to_address.0,
        amount: c.amount.to_be_bytes::<32>(),
        min_amount: c.min_amount.to_be_bytes::<32>(),
        final_call: c.final_call.to_vec(),
        refund_address: c.refund_address.0,
        solana_refund_address: c.solana_refund_address.0,
        expires_at: c.expires_at,
    }
}

/// The session's vault PDA.
pub fn vault(c: &Commitment) -> Pubkey {
    params(c).vault().0
}

/// The deposit address of `mint`: the vault's associated token account.
pub fn vault_token(c: &Commitment, mint: &Pubkey) -> Pubkey {
    get_associated_token_address(&vault(c), mint)
}

/// The payer's deposit, unsigned: create the vault's token account if missing (paid by the payer, who
/// gets the rent back when the vault empties: the vault commits to the payer as refund address), then
/// `transferChecked` from the payer's associated token account.
pub fn payment_transaction(
    payer: &Pubkey,
    vault: &Pubkey,
    mint: &Pubkey,
    decimals: u8,
    amount: u64,
    blockhash: Hash,
) -> Result<Transaction, String> {
    let ixs = payment_instructions(payer, vault, mint, decimals, amount)?;
    Ok(Transaction::new_unsigned(Message::new_with_blockhash(&ixs, Some(payer), &blockhash)))
}

/// The instructions of [`payment_transaction`].
pub fn payment_instructions(
    payer: &Pubkey,
    vault: &Pubkey,
    mint: &Pubkey,
    decimals: u8,
    amount: u64,
) -> Result<Vec<Instruction>, String> {
    let create = spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        payer,
        vault,
        mint,
        &spl_token::ID,
    );
    let transfer = spl_token::instruction::transfer_checked(
        &spl_token::ID,
        &get_associated_token_address(payer, mint),
        mint,
        &get_associated_token_address(vault, mint),
        payer,
        &[],
        amount,
        decimals,
    )
    .map_err(|e| e.to_string())?;
    Ok(vec![create, transfer])
}

/// `settle(params)`: the vault's `mint` balance to the committed recipient, the vault account's rent to
/// the session's Solana refund target (a session that settles has one: its recipient); `payer` pays the
/// fee. SPL Token mints.
pub fn settle(payer: Pubkey, params: &DepositParams, mint: Pubkey) -> Instruction {
    let recipient = Pubkey::new_from_array(params.to_address);
    let rent_to = params.solana_refund_target().unwrap_or(recipient);
    deposit_vault::ix::settle(payer, params, mint, spl_token::ID, recipient, rent_to)
}

/// `bridge(params)`: the vault's `mint` balance burnt through CCTP for the session's EVM receiver (the
/// message account is a placeholder [`signed`] replaces with a fresh keypair's).
pub fn bridge(payer: Pubkey, params: &DepositParams, mint: Pubkey) -> Instruction {
    deposit_vault::ix::bridge(payer, params, mint, params.solana_refund_target())
}

/// A refund of the vault's `mint` balance: to the session's Solana refund target (`refund`), or, for a
/// session with none (an EVM payer's vault), home through the bridge to its EVM receiver (`refund_home`,
/// the bridged mint only), where the router refunds it.
pub fn refund(payer: Pubkey, params: &DepositParams, mint: Pubkey) -> Instruction {
    match params.solana_refund_target() {
        Some(owner) => deposit_vault::ix::refund(payer, params, mint, spl_token::ID, owner),
        None => deposit_vault::ix::refund_home(payer, params, mint),
    }
}

/// `claim(params)` of the transfer recorded at `received`: to the committed recipient.
pub fn claim(payer: Pubkey, params: &DepositParams, received: Pubkey, mint: Pubkey) -> Instruction {
    deposit_vault::ix::claim(payer, params, received, mint, Pubkey::new_from_array(params.to_address))
}

/// A transfer in the inbox the session cannot take (expired, or a session that does not settle it on
/// Solana): back to the session's receiver on the chain it came from when the EVM side can refund
/// (`send_back`), else to the session's Solana refund target (`refund_inbound`; sending it back would
/// only have the router send it home again).
/// `source_domain` is the domain the transfer came from (its record's).
pub fn return_inbound(
    payer: Pubkey,
    params: &DepositParams,
    received: Pubkey,
    source_domain: u32,
    mint: Pubkey,
) -> Instruction {
    match (params.evm_refund_target(), params.solana_refund_target()) {
        (None, Some(owner)) => deposit_vault::ix::refund_inbound(payer, params, received, mint, owner),
        _ => deposit_vault::ix::send_back(payer, params, received, source_domain, mint),
    }
}

/// The domain a transfer in the inbox came from, read from its record's account data (the program's
/// record: `owner` must be the program).
pub fn received_domain(owner: &Pubkey, data: &[u8]) -> Option<u32> {
    received(owner, data).map(|r| r.source_domain)
}

/// The program's record of a transfer delivered to the inbox (an account it owns at
/// [`received_record`]).
pub fn received(owner: &Pubkey, data: &[u8]) -> Option<deposit_vault::Received> {
    use anchor_lang::AccountDeserialize;
    (*owner == deposit_vault::ID)
        .then(|| deposit_vault::Received::try_deserialize(&mut &data[..]).ok())
        .flatten()
}

/// The claim record of the transfer recorded at `received`: it exists once the transfer was claimed or
/// sent back.
pub fn claim_record(received: &Pubkey) -> Pubkey {
    deposit_vault::ix::claimed(received)
}

/// A plain SOL transfer of `lamports` from `from` to `to` (the system program's `transfer`).
pub fn lamport_transfer(from: &Pubkey, to: &Pubkey, lamports: u64) -> Instruction {
    anchor_lang::solana_program::system_instruction::transfer(from, to, lamports)
}

/// `instructions` signed by `signer` (the fee payer): its signature and wire bytes. Where they name
/// [`deposit_vault::ix::FRESH_MESSAGE_ACCOUNT`] as a signer (a bridging's CCTP message account), a fresh
/// keypair takes its place and signs too: every signing writes its message to a new account, so a
/// rebuilt transaction never collides with the one it replaces. Only as a signer: the same 32 bytes
/// elsewhere are somebody's address (a payer may name them as a refund address), left as they are.
pub fn signed(instructions: &[Instruction], signer: &Keypair, blockhash: Hash) -> (Signature, Vec<u8>) {
    let mut instructions = instructions.to_vec();
    let mut fresh: Option<Keypair> = None;
    for meta in instructions.iter_mut().flat_map(|ix| ix.accounts.iter_mut()) {
        if meta.is_signer && meta.pubkey == deposit_vault::ix::FRESH_MESSAGE_ACCOUNT {
            meta.pubkey = fresh.get_or_insert_with(Keypair::new).pubkey();
        }
    }
    let signers: Vec<&Keypair> = std::iter::once(signer).chain(fresh.as_ref()).collect();
    let tx = Transaction::new_signed_with_payer(&instructions, Some(&signer.pubkey()), &signers, blockhash);
    (tx.signatures[0], serialize(&tx))
}

/// Lamports per signature (Solana's base fee; unchanged since genesis).
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;
/// The most compute units a transaction may ask for.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// `instructions` after the compute-budget instructions: at most `units` compute units, each paid
/// `micro_lamports` (millionths of a lamport) above the base fee.
pub fn with_budget(instructions: &[Instruction], units: u32, micro_lamports: u64) -> Vec<Instruction> {
    use solana_compute_budget_interface::ComputeBudgetInstruction;
    let mut out = Vec::with_capacity(instructions.len() + 2);
    out.push(ComputeBudgetInstruction::set_compute_unit_limit(units));
    out.push(ComputeBudgetInstruction::set_compute_unit_price(micro_lamports));
    out.extend_from_slice(instructions);
    out
}

/// What a signed transaction costs its fee payer, in lamports, read from its own bytes: the base fee
/// per signature and the priority fee (units asked for × price, rounded up, as the runtime charges it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fee {
    /// Base fee.
    pub base: u64,
    /// Priority fee.
    pub priority: u64,
}

impl Fee {
    /// Both together.
    pub const fn total(self) -> u64 {
        self.base.saturating_add(self.priority)
    }
}

/// The compute budget a serialized transaction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Compute units it may use (the runtime's default where it sets none: 200,000 per instruction that
    /// is not a compute-budget one, at most [`MAX_COMPUTE_UNITS`]).
    pub units: u32,
    /// Price per unit, micro-lamports.
    pub micro_lamports: u64,
    /// Signatures it carries (each pays the base fee).
    pub signatures: u8,
}

impl Budget {
    /// What it costs its fee payer, as the runtime charges it.
    pub fn fee(self) -> Fee {
        let priority = (u128::from(self.units) * u128::from(self.micro_lamports)).div_ceil(1_000_000);
        Fee {
            base: LAMPORTS_PER_SIGNATURE * u64::from(self.signatures),
            priority: u64::try_from(priority).unwrap_or(u64::MAX),
        }
    }
}

/// The compute budget of the serialized transaction `raw`; `None` if it is not one.
pub fn budget_of(raw: &[u8]) -> Option<Budget> {
    let tx = deserialize(raw).ok()?;
    let message = &tx.message;
    let program = solana_compute_budget_interface::id();
    let (mut limit, mut price, mut others) = (None, 0u64, 0u32);
    for ix in &message.instructions {
        if message.account_keys.get(usize::from(ix.program_id_index)) != Some(&program) {
            others += 1;
            continue;
        }
        match ix.data.split_first() {
            Some((2, rest)) => limit = Some(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?)),
            Some((3, rest)) => price = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?),
            _ => {}
        }
    }
    Some(Budget {
        units: limit.unwrap_or_else(|| others.saturating_mul(200_000)).min(MAX_COMPUTE_UNITS),
        micro_lamports: price,
        signatures: message.header.num_required_signatures,
    })
}

/// The fee of the serialized transaction `raw` (see [`Budget::fee`]); `None` if it is not one.
pub fn fee_of(raw: &[u8]) -> Option<Fee> {
    budget_of(raw).map(Budget::fee)
}

/// The priority fee to pay per compute unit: the `percentile` (0–100, nearest rank) of `recent` (the
/// fees that landed in recent slots beside the same accounts), never above `ceiling`. No data, no fee.
pub fn priority_price(recent: &[u64], percentile: u8, ceiling: u64) -> u64 {
    if recent.is_empty() {
        return 0;
    }
    let mut sorted = recent.to_vec();
    sorted.sort_unstable();
    let rank = (usize::from(percentile.min(100)) * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1].min(ceiling)
}

/// Units every limit leaves on top of the margin: what creating an associated token account costs
/// (`settle` and `refund` create the recipient's when it is missing). The simulation reads a state a
/// few seconds old; a recipient or refund owner who closes its token account just before the relayer's
/// transaction lands would otherwise make it run out of compute on chain, the relayer paying for each try.
pub const CREATE_ACCOUNT_UNITS: u64 = 30_000;

/// The compute units to ask for when a simulation used `used`: `margin_percent` more and
/// [`CREATE_ACCOUNT_UNITS`], at most [`MAX_COMPUTE_UNITS`]. A simulation that says nothing (0: a node that
/// leaves `unitsConsumed` out) gets the most, not a limit every instruction would fail.
pub fn unit_limit(used: u64, margin_percent: u32) -> u32 {
    if used == 0 {
        return MAX_COMPUTE_UNITS;
    }
    let asked =
        u128::from(used) * (100 + u128::from(margin_percent)) / 100 + u128::from(CREATE_ACCOUNT_UNITS);
    u32::try_from(asked).unwrap_or(u32::MAX).clamp(1, MAX_COMPUTE_UNITS)
}

/// The accounts `instructions` write (what a priority fee competes for), but `fee_payer`: it is in every
/// transaction the relayer sends, and anyone can write-lock it in transactions of their own at a high
/// price, which would raise the price of all of them at once (the rest are the session's own accounts).
pub fn writable_accounts(instructions: &[Instruction], fee_payer: &Pubkey) -> Vec<Pubkey> {
    let mut out: Vec<Pubkey> = vec![];
    for meta in instructions.iter().flat_map(|ix| &ix.accounts) {
        let fresh = meta.is_signer && meta.pubkey == deposit_vault::ix::FRESH_MESSAGE_ACCOUNT;
        if meta.is_writable && !fresh && meta.pubkey != *fee_payer && !out.contains(&meta.pubkey) {
            out.push(meta.pubkey);
        }
    }
    out
}

/// The state accounts of the devnet's stand-ins for Circle's CCTP v2 programs (programs/cctp), written
/// where Circle's admin instructions would: `attester` (an EVM address) alone attests, the bridged `usdc`
/// is burnt towards every domain of the program's compiled routes, each with its USDC and the EVM chains'
/// token messenger `evm_messenger` (the devnet deploys it at one address everywhere), fees to
/// [`CCTP_FEE_RECIPIENT`]'s associated account. Each with its owner and rent-exempt lamports.
pub fn cctp_stand_in_accounts(
    usdc: Pubkey,
    attester: [u8; 20],
    evm_messenger: [u8; 20],
) -> Vec<(Pubkey, solana_sdk::account::Account)> {
    let word = |address: &[u8; 20]| {
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(address);
        word
    };
    let remotes: Vec<_> = deposit_vault::evm::ROUTES
        .iter()
        .map(|route| token_messenger_minter_v2::ix::Remote {
            domain: route.domain,
            token_messenger: word(&evm_messenger),
            token: word(&route.usdc),
        })
        .collect();
    let state =
        token_messenger_minter_v2::ix::state_accounts(usdc, &[attester], 1, &remotes, CCTP_FEE_RECIPIENT);
    let rent = solana_sdk::rent::Rent::default();
    // Circle's custody of `usdc` (what its messenger pays deliveries from; empty: the devnet mints its
    // liquidity there) and the fee recipient's associated account, as SPL token accounts.
    let token_accounts = [
        (token_messenger_minter_v2::ix::custody(&usdc), state.custody_authority),
        (get_associated_token_address(&CCTP_FEE_RECIPIENT, &usdc), CCTP_FEE_RECIPIENT),
    ]
    .map(|(address, owner)| {
        let mut data = vec![0; spl_token::state::Account::LEN];
        spl_token::state::Account {
            mint: usdc,
            owner,
            state: spl_token::state::AccountState::Initialized,
            ..Default::default()
        }
        .pack_into_slice(&mut data);
        (address, spl_token::ID, data)
    });
    state
        .accounts
        .into_iter()
        .chain(token_accounts)
        .map(|(address, owner, data)| {
            let lamports = rent.minimum_balance(data.len());
            (address, solana_sdk::account::Account { lamports, data, owner, ..Default::default() })
        })
        .collect()
}

/// Circle's custody of `mint` on the cluster the program was built for: what its token messenger pays
/// transfers bridged to Solana from (the "from" of an inbox transfer).
pub fn cctp_custody(mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[token_messenger_minter_v2::CUSTODY_SEED, mint.as_ref()],
        &deposit_vault::evm::TOKEN_MESSENGER_MINTER,
    )
    .0
}

/// Who the devnet's CCTP stand-in pays executed fees to (nobody holds its key).
pub const CCTP_FEE_RECIPIENT: Pubkey = Pubkey::new_from_array(*b"devnet CCTP fee recipient (none)");

/// An SPL Token mint account with `decimals`, no supply and no freeze authority, minted by `authority`:
/// what the devnet's clusters create at USDC's address.
pub fn mint_account(authority: &Pubkey, decimals: u8) -> solana_sdk::account::Account {
    let mut data = vec![0; spl_token::state::Mint::LEN];
    spl_token::state::Mint {
        mint_authority: Some(*authority).into(),
        supply: 0,
        decimals,
        is_initialized: true,
        freeze_authority: None.into(),
    }
    .pack_into_slice(&mut data);
    let lamports = solana_sdk::rent::Rent::default().minimum_balance(data.len());
    solana_sdk::account::Account { lamports, data, owner: spl_token::ID, ..Default::default() }
}

/// A transaction's wire bytes.
pub fn serialize(tx: &Transaction) -> Vec<u8> {
    // A `Transaction` always serializes; the error type is bincode's generic one.
    bincode::serialize(tx).unwrap_or_default()
}

/// A transaction from its wire bytes.
pub fn deserialize(raw: &[u8]) -> Result<Transaction, String> {
    bincode::deserialize(raw).map_err(|e| format!("not a serialized transaction: {e}"))
}

/// An SPL token account's mint, owner and amount.
pub fn token_account(data: &[u8]) -> Option<(Pubkey, Pubkey, u64)> {
    let account = spl_token::state::Account::unpack(data).ok()?;
    Some((account.mint, account.owner, account.amount))
}

/// How a transaction error reads to the executor, the custom code attributed by `logs` (see
/// [`attributed`]).
pub fn failure(error: &TransactionError, logs: &[String]) -> TxFailure {
    match error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => attributed(*code, logs),
        other => TxFailure::Other(other.to_string()),
    }
}

/// A custom error `code`, attributed to the program that failed first in `logs` (the innermost: a
/// called program's `Program <id> failed: …` line comes before its callers'): the deposit-vault
/// program's, or, with no such line, taken as its; any other program's is [`TxFailure::Callee`].
pub fn attributed(code: u32, logs: &[String]) -> TxFailure {
    let failed = logs.iter().find_map(|line| {
        let (program, _) = line.strip_prefix("Program ")?.split_once(" failed: ")?;
        program.parse::<Pubkey>().ok()
    });
    match failed {
        Some(program) if program != deposit_vault::ID => TxFailure::Callee { program, code },
        _ => TxFailure::Custom(code),
    }
}

/// The log line a failing `program` leaves for a custom `code` (as the runtime writes it).
pub fn failed_line(program: &Pubkey, code: u32) -> String {
    format!("Program {program} failed: custom program error: {code:#x}")
}

/// Something the program reported about a vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultMove {
    /// Delivered to the Solana recipient.
    Settled(VaultEvent),
    /// Returned to the refund address.
    Refunded(VaultEvent),
    /// Sent through the bridge to the session's receiver on its EVM destination (`to`: the custody), on
    /// the chain of this CCTP domain.
    Bridged(VaultEvent, u32),
    /// A refund home through the bridge, to the session's receiver on its EVM destination chain (of this
    /// CCTP domain), where the router completes it (the session names no Solana account to refund to).
    RefundedHome(VaultEvent, u32),
}

impl VaultMove {
    /// The event's fields.
    pub const fn event(&self) -> &VaultEvent {
        match self {
            Self::Settled(e) | Self::Refunded(e) | Self::Bridged(e, _) | Self::RefundedHome(e, _) => e,
        }
    }
}

/// The program's events in `tx` (self-invocations carrying `EVENT_IX_TAG ‖ discriminator ‖ borsh`), each
/// with its position among the transaction's inner instructions.
pub fn vault_moves(tx: &TxView) -> Vec<(usize, VaultMove)> {
    self_events(tx, deposit_vault::ID)
        .filter_map(|(index, body)| {
            let decoded = decode::<Settled>(body)
                .map(|s| VaultMove::Settled(s.event))
                .or_else(|| decode::<Refunded>(body).map(|r| VaultMove::Refunded(r.event)))
                .or_else(|| {
                    decode::<Bridged>(body).map(|b| VaultMove::Bridged(b.event, b.destination_domain))
                })
                .or_else(|| {
                    decode::<RefundedHome>(body)
                        .map(|b| VaultMove::RefundedHome(b.event, b.destination_domain))
                })?;
            Some((index, decoded))
        })
        .collect()
}

/// The EVM chain id of a CCTP domain in the program's routes (the inverse of its `evm::cctp_domain`):
/// where a bridging from Solana goes, or where an inbox transfer came from. The routes are the cluster's
/// the program was built for (a testnet's chain ids are not mainnet's).
pub fn chain_of_domain(domain: u32) -> Option<u64> {
    deposit_vault::evm::ROUTES.iter().find(|r| r.domain == domain).map(|r| r.chain_id)
}

/// What passed through the deposit-vault inbox (transfers bridged in from the EVM chains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxMove {
    /// Circle's transmitter delivered a transfer (a top-level `receive_message` of the transaction, which
    /// succeeded: the transmitter checked the attestation and used the nonce, and its token messenger
    /// paid the message's mint recipient). The program has not necessarily recorded it yet.
    Delivered {
        /// Where the program's record of it is, or will be.
        at: Pubkey,
        /// What the message says was paid.
        received: deposit_vault::Received,
        /// The attested message and its attestation (what `record` takes).
        delivery: Delivery,
    },
    /// The program recorded a delivered transfer (its own event: it checked the attestation and the
    /// delivery itself).
    Recorded {
        /// Its record.
        at: Pubkey,
        /// What it holds.
        received: deposit_vault::Received,
    },
    /// A transfer went to its session's Solana recipient.
    Claimed(InboundEvent),
    /// A transfer went back to its session's receiver on the chain it came from.
    SentBack(InboundEvent),
    /// A transfer the session cannot take went to its Solana refund target.
    RefundedInbound(InboundEvent),
}

/// An attested CCTP v2 message as Circle's transmitter took it, with its attestation.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message.
    pub message: Vec<u8>,
    /// The attestation.
    pub attestation: Vec<u8>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Delivery({} message bytes, nonce {})",
            self.message.len(),
            hex::encode(nonce_of(&self.message))
        )
    }
}

/// Whether Circle's CCTP v2 programs (the devnet's stand-ins) refuse `code` (raised by `program`) because
/// of the message itself (its format, version, domain, caller, recipient, attestation, sender or fee), so
/// that delivering it again can never succeed.
pub fn cctp_refuses_for_good(program: &Pubkey, code: u32) -> bool {
    use message_transmitter_v2::MessageTransmitterError as M;
    use token_messenger_minter_v2::TokenMessengerError as T;
    let code_of = |n: u32| anchor_lang::error::ERROR_CODE_OFFSET + n;
    let transmitter = [
        M::MalformedMessage,
        M::InvalidMessageVersion,
        M::InvalidDestinationDomain,
        M::InvalidDestinationCaller,
        M::InvalidRecipientProgram,
        M::InvalidAttestationLength,
        M::InvalidSignatureRecoveryId,
        M::InvalidSignatureSValue,
        M::InvalidSignatureOrderOrDupe,
        M::InvalidAttesterSignature,
    ];
    let messenger = [
        T::InvalidTokenMessenger,
        T::MalformedMessage,
        T::MessageExpired,
        T::FeeExceedsAmount,
        T::FeeExceedsMaxFee,
        T::InvalidMintRecipient,
        T::InvalidTokenPair,
    ];
    (*program == deposit_vault::evm::MESSAGE_TRANSMITTER
        && transmitter.into_iter().any(|e| code == code_of(e as u32)))
        || (*program == deposit_vault::evm::TOKEN_MESSENGER_MINTER
            && messenger.into_iter().any(|e| code == code_of(e as u32)))
}

/// Whether `program`'s refusal `code` is about the account a delivery pays rather than a passing state:
/// an account check of Circle's token messenger (Anchor's codes below 6000: a mint recipient that is no
/// token account of the mint), or SPL Token's refusal of a mismatched or frozen account (not a custody
/// short of funds: that passes once it is refilled).
pub fn refuses_the_account(program: &Pubkey, code: u32) -> bool {
    use spl_token::error::TokenError as T;
    let token = [T::MintMismatch, T::OwnerMismatch, T::AccountFrozen];
    (*program == deposit_vault::evm::TOKEN_MESSENGER_MINTER && code < anchor_lang::error::ERROR_CODE_OFFSET)
        || (*program == spl_token::ID && token.into_iter().any(|e| code == e as u32))
}

/// The program's record of the transfer whose message has `nonce` (it exists once recorded).
pub fn received_record(nonce: &[u8; 32]) -> Pubkey {
    deposit_vault::ix::received(nonce)
}

/// The 32-byte nonce of a CCTP v2 message (zero for a message too short to have one).
pub fn nonce_of(message: &[u8]) -> [u8; 32] {
    message_transmitter_v2::message::nonce_of(message)
}

/// Circle's transmitter's used-nonce account of the raw, attested CCTP `message`: it exists once the
/// message was delivered.
pub fn delivered_marker(message: &[u8]) -> Pubkey {
    Pubkey::find_program_address(
        &[message_transmitter_v2::USED_NONCE_SEED, &nonce_of(message)],
        &deposit_vault::evm::MESSAGE_TRANSMITTER,
    )
    .0
}

/// Circle's `receive_message(message, attestation)` through its transmitter to its token messenger,
/// paying the message's mint recipient (executed fees to `fee_recipient`'s associated account: the
/// cluster's, as its token messenger's state names it, [`fee_recipient`]; Circle's program refuses any
/// other), delivered by `payer` (`None` if the message is not a burn in Circle's CCTP v2 format).
pub fn receive_message(
    payer: Pubkey,
    mint: Pubkey,
    fee_recipient: Pubkey,
    message: Vec<u8>,
    attestation: Vec<u8>,
) -> Option<Instruction> {
    token_messenger_minter_v2::ix::receive_message(payer, payer, mint, fee_recipient, message, attestation)
}

/// Circle's token messenger's state account (its PDA on the cluster's token messenger), which names the
/// fee recipient of deliveries.
pub fn token_messenger_state() -> Pubkey {
    Pubkey::find_program_address(
        &[token_messenger_minter_v2::TOKEN_MESSENGER_SEED],
        &deposit_vault::evm::TOKEN_MESSENGER_MINTER,
    )
    .0
}

/// The fee recipient Circle's token messenger state `account` names (Circle may change it), if the
/// account is the cluster's token messenger's state.
pub fn fee_recipient(account: &crate::client::AccountView) -> Option<Pubkey> {
    use anchor_lang::AccountDeserialize as _;
    if account.owner != deposit_vault::evm::TOKEN_MESSENGER_MINTER {
        return None;
    }
    let state = token_messenger_minter_v2::TokenMessenger::try_deserialize(&mut &account.data[..]).ok()?;
    Some(state.fee_recipient)
}

/// Whether `instructions` move a transfer in the inbox (`claim`, `send_back` or `refund_inbound` of the
/// program).
pub fn moves_an_inbox_transfer(instructions: &[Instruction]) -> bool {
    use deposit_vault::instruction as vault;
    let tags =
        [vault::Claim::DISCRIMINATOR, vault::SendBack::DISCRIMINATOR, vault::RefundInbound::DISCRIMINATOR];
    instructions
        .iter()
        .any(|ix| ix.program_id == deposit_vault::ID && tags.iter().any(|tag| ix.data.starts_with(tag)))
}

/// The program's `record(message, attestation)` of a delivered transfer, paid for by `payer`.
pub fn record(payer: Pubkey, delivery: &Delivery) -> Instruction {
    deposit_vault::ix::record(payer, delivery.message.clone(), delivery.attestation.clone())
}

/// What an attested CCTP v2 `message` pays on Solana once delivered, if it is a burn for Solana to the
/// cluster's token messenger (see [`delivered`]).
pub fn bridged_in(message: &[u8]) -> Option<deposit_vault::Received> {
    delivered(message)
}

/// The message a `receive_message` instruction of Circle's transmitter delivers, if `ix` is one.
pub fn delivered_by(ix: &Instruction) -> Option<Delivery> {
    use anchor_lang::{AnchorDeserialize as _, Discriminator as _};
    if ix.program_id != deposit_vault::evm::MESSAGE_TRANSMITTER {
        return None;
    }
    let mut data =
        ix.data.strip_prefix(message_transmitter_v2::instruction::ReceiveMessage::DISCRIMINATOR)?;
    let params = message_transmitter_v2::ReceiveMessageParams::deserialize(&mut data).ok()?;
    Some(Delivery { message: params.message, attestation: params.attestation })
}

/// What a delivered CCTP v2 `message` paid on Solana, if it is a burn for Solana to the cluster's token
/// messenger (the amount net of the executed fee; the hook when it is one word), as `record` reads it.
fn delivered(message: &[u8]) -> Option<deposit_vault::Received> {
    use message_transmitter_v2::message::{BurnMessageV2, MessageV2};
    let header = MessageV2::parse(message)?;
    let burn = BurnMessageV2::parse(&header.body)?;
    let ours = header.destination_domain == deposit_vault::SOLANA_DOMAIN
        && header.recipient == deposit_vault::evm::TOKEN_MESSENGER_MINTER.to_bytes();
    Some(deposit_vault::Received {
        source_domain: header.source_domain,
        nonce: header.nonce,
        mint_recipient: Pubkey::new_from_array(burn.mint_recipient),
        amount: burn.amount.checked_sub(burn.fee_executed)?,
        hook: <[u8; 32]>::try_from(burn.hook_data.as_slice()).ok(),
    })
    .filter(|_| ours)
}

/// The deliveries in `tx` by Circle's transmitter (the cluster's), in a transaction that succeeded (so
/// every instruction in it did): its top-level `receive_message` instructions, each at the position of
/// its first inner instruction (where its effects are; it has some: it called the token messenger), and
/// the `receive_message` calls other programs made (a forwarder's wrapper), each at its own position.
fn deliveries(tx: &TxView) -> Vec<(usize, InboxMove)> {
    use anchor_lang::{AnchorDeserialize as _, Discriminator as _};
    if tx.failed {
        return vec![];
    }
    let transmitter = deposit_vault::evm::MESSAGE_TRANSMITTER;
    let read = |data: &[u8]| {
        let mut data =
            data.strip_prefix(message_transmitter_v2::instruction::ReceiveMessage::DISCRIMINATOR)?;
        let params = message_transmitter_v2::ReceiveMessageParams::deserialize(&mut data).ok()?;
        let received = delivered(&params.message)?;
        let at = received_record(&received.nonce);
        let delivery = Delivery { message: params.message, attestation: params.attestation };
        Some(InboxMove::Delivered { at, received, delivery })
    };
    let top = tx.instructions.iter().enumerate().filter(|(_, ix)| ix.program == transmitter).filter_map(
        |(outer, ix)| {
            let index = tx.inner_instructions.iter().position(|inner| inner.outer == outer)?;
            Some((index, read(&ix.data)?))
        },
    );
    let called = tx
        .inner_instructions
        .iter()
        .enumerate()
        .filter(|(_, inner)| inner.program == transmitter)
        .filter_map(|(index, inner)| Some((index, read(&inner.data)?)));
    top.chain(called).collect()
}

/// The inbox's moves in `tx`, each with its position among the transaction's inner instructions.
pub fn inbox_moves(tx: &TxView) -> Vec<(usize, InboxMove)> {
    let moved = self_events(tx, deposit_vault::ID).filter_map(|(index, body)| {
        let decoded = decode::<Claimed>(body)
            .map(|c| InboxMove::Claimed(c.event))
            .or_else(|| decode::<SentBack>(body).map(|b| InboxMove::SentBack(b.event)))
            .or_else(|| decode::<RefundedInbound>(body).map(|r| InboxMove::RefundedInbound(r.event)))
            .or_else(|| {
                decode::<deposit_vault::Recorded>(body)
                    .map(|r| InboxMove::Recorded { at: r.at, received: r.received })
            })?;
        Some((index, decoded))
    });
    let mut out: Vec<(usize, InboxMove)> = deliveries(tx).into_iter().chain(moved).collect();
    out.sort_by_key(|(index, _)| *index);
    out
}

/// A transfer into `account` found in `tx`'s token balances: who paid (the owner whose balance of the
/// same mint fell most; the fee payer if none), the mint, the amount, and the account's index (unique
/// within the transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inflow {
    /// The paying owner.
    pub from: Pubkey,
    /// Mint.
    pub mint: Pubkey,
    /// Base units in.
    pub amount: u64,
    /// Index of `account` among the transaction's keys.
    pub index: usize,
}

/// What flowed into `account` in `tx`: the rise of its balance, plus what the program moved out of it in
/// the same transaction (`moved_out` of `out_mint`), so a deposit paid and emptied at once (the account
/// created and closed within one transaction, which leaves no balance after) still counts.
pub fn inflow(tx: &TxView, account: &Pubkey, moved_out: u64, out_mint: Option<Pubkey>) -> Option<Inflow> {
    if tx.failed {
        return None;
    }
    let index = tx.account_keys.iter().position(|k| k == account)?;
    let balance = |list: &[crate::client::TokenBalance], i: usize| {
        list.iter().find(|b| b.account_index == i).map(|b| (b.mint, b.owner, b.amount))
    };
    let (post, pre) = (balance(&tx.post_token_balances, index), balance(&tx.pre_token_balances, index));
    let mint = post.or(pre).map(|b| b.0).or(out_mint)?;
    let amount = post
        .map_or(0, |b| b.2)
        .checked_add(moved_out)?
        .checked_sub(pre.map_or(0, |b| b.2))
        .filter(|a| *a > 0)?;
    let from = tx
        .pre_token_balances
        .iter()
        .filter(|b| b.mint == mint && b.account_index != index)
        .filter_map(|b| {
            let after = balance(&tx.post_token_balances, b.account_index).map_or(0, |p| p.2);
            b.amount.checked_sub(after).filter(|d| *d > 0).map(|d| (d, b.owner))
        })
        .max_by_key(|(d, _)| *d)
        .map_or(tx.account_keys[0], |(_, owner)| owner);
    Some(Inflow { from, mint, amount, index })
}

#[cfg(test)]
mod tests {
    use relayer_types::{B256, Bytes, U256};

    use super::*;
    use crate::client::{InnerInstruction, TokenBalance};

    /// A CCTP domain names the chain the program's own routes give it, whatever the cluster: every
    /// compiled route maps back, and a domain the program does not route names no chain.
    #[test]
    fn domains_name_the_chains_of_the_programs_routes() {
        for route in deposit_vault::evm::ROUTES {
            assert_eq!(chain_of_domain(route.domain), Some(route.chain_id));
            assert_eq!(deposit_vault::evm::cctp_domain(&u64_word(route.chain_id)), Some(route.domain));
        }
        let unrouted = (0..64)
            .find(|d| deposit_vault::evm::ROUTES.iter().all(|r| r.domain != *d))
            .expect("a domain no route takes");
        assert_eq!(chain_of_domain(unrouted), None);
    }

    /// The price is the nearest-rank percentile of the recent fees, capped by the ceiling (0 without
    /// data); the limit is what was used plus the margin, the most for a simulation that said nothing,
    /// never above the most; the fee read back from a signed transaction is what the runtime charges.
    #[test]
    fn compute_budget_price_limit_and_fee() {
        let fees: Vec<u64> = (1..=10).map(|i| i * 10).collect();
        assert_eq!(priority_price(&fees, 75, u64::MAX), 80, "nearest rank: the 8th of 10");
        assert_eq!(priority_price(&fees, 100, u64::MAX), 100);
        assert_eq!(priority_price(&fees, 0, u64::MAX), 10, "the lowest, not an index below it");
        assert_eq!(priority_price(&fees, 200, u64::MAX), 100, "a percentile above 100 is 100");
        assert_eq!(priority_price(&fees, 75, 50), 50, "capped");
        assert_eq!(priority_price(&[], 75, 50), 0);
        assert_eq!(priority_price(&[u64::MAX, 3], 50, u64::MAX), 3);
        assert_eq!(unit_limit(10_000, 20), 12_000 + 30_000, "the margin, and room to create a token account");
        assert_eq!(unit_limit(0, 20), MAX_COMPUTE_UNITS, "no units said: the most, not 1");
        assert_eq!(unit_limit(1_300_000, 20), MAX_COMPUTE_UNITS);
        assert_eq!(unit_limit(u64::MAX, 1_000), MAX_COMPUTE_UNITS, "no overflow");

        let payer = Keypair::new();
        let transfer = lamport_transfer(&payer.pubkey(), &Pubkey::new_unique(), 1);
        let (_, raw) =
            signed(&with_budget(std::slice::from_ref(&transfer), 123_457, 3_000), &payer, Hash::new_unique());
        let budget = budget_of(&raw).expect("a transaction");
        assert_eq!(budget, Budget { units: 123_457, micro_lamports: 3_000, signatures: 1 });
        // 123,457 × 3,000 / 1,000,000 = 370.371: the runtime rounds up.
        assert_eq!(fee_of(&raw), Some(Fee { base: 5_000, priority: 371 }));
        let (_, bare) = signed(&[transfer.clone(), transfer], &payer, Hash::new_unique());
        assert_eq!(
            budget_of(&bare),
            Some(Budget { units: 400_000, micro_lamports: 0, signatures: 1 }),
            "the runtime's default: 200,000 units per instruction"
        );
        assert_eq!(budget_of(b"not a transaction"), None);
    }

    fn commitment() -> Commitment {
        Commitment {
            session_id: B256::repeat_byte(1),
            to_chain_id: 501,
            to_token: B256::repeat_byte(2),
            to_address: B256::repeat_byte(3),
            amount: U256::from(10_000_000u64),
            min_amount: U256::from(9_000_000u64),
            final_call: Bytes::new(),
            refund_address: B256::repeat_byte(4),
            solana_refund_address: B256::repeat_byte(5),
            expires_at: 99,
        }
    }

    /// A bridging's message account becomes a fresh keypair that signs; the same 32 bytes named by a
    /// payer as a Solana refund address (the API accepts any 32 bytes) stay that address and sign
    /// nothing. Before, every mention was swapped and the fresh key handed to `sign`, which panicked
    /// ("keypair-pubkey mismatch") in the executor's one pipeline task: Solana work stopped for good.
    #[test]
    fn only_the_bridgings_message_signer_becomes_a_fresh_key() {
        let payer = Keypair::new();
        let placeholder = Pubkey::new_from_array(deposit_vault::ix::FRESH_MESSAGE_ACCOUNT.to_bytes());
        let mut params = crate::tx::params(&commitment());
        params.solana_refund_address = placeholder.to_bytes();
        let mint = Pubkey::new_unique();
        // `bridge` names it twice: as the message account (signer) and as the rent's recipient.
        let ix = bridge(payer.pubkey(), &params, mint);
        assert_eq!(ix.accounts.iter().filter(|m| m.pubkey == placeholder).count(), 2);
        let (signature, raw) = signed(&[ix], &payer, Hash::new_unique());
        let tx = deserialize(&raw).expect("a transaction");
        assert_eq!(tx.signatures.len(), 2, "the payer and the fresh message account");
        assert_eq!(tx.signatures[0], signature);
        let keys = &tx.message.account_keys;
        assert!(keys.contains(&placeholder), "the refund address stays");
        let signers = &keys[..usize::from(tx.message.header.num_required_signatures)];
        assert!(!signers.contains(&placeholder) && tx.verify().is_ok());
        // A settlement naming it (refund address as the vault account's rent) signs with the payer only.
        let (_, raw) = signed(&[settle(payer.pubkey(), &params, mint)], &payer, Hash::new_unique());
        assert_eq!(deserialize(&raw).expect("a transaction").signatures.len(), 1);
    }

    #[test]
    fn the_programs_params_are_the_commitment_word_for_word() {
        let p = params(&commitment());
        assert_eq!(p.to_chain_id, u64_word(501));
        assert_eq!(&p.amount[24..], &10_000_000u64.to_be_bytes());
        assert_eq!((p.to_address, p.refund_address, p.expires_at), ([3; 32], [4; 32], 99));
        // The vault address is the PDA of the EVM-compatible hash, nothing else.
        let expected = Pubkey::find_program_address(&[b"vault", &p.hash()], &deposit_vault::ID).0;
        assert_eq!(vault(&commitment()), expected);
    }

    #[test]
    fn the_payment_is_an_idempotent_account_creation_then_a_checked_transfer_signed_by_the_payer_only() {
        let (payer, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
        let v = vault(&commitment());
        let tx = payment_transaction(&payer, &v, &mint, 6, 5_000_000, Hash::new_unique()).expect("tx");
        assert_eq!(tx.message.header.num_required_signatures, 1);
        assert_eq!(tx.message.account_keys[0], payer, "the wallet pays the fee");
        assert_eq!(tx.message.instructions.len(), 2);
        let program =
            |i: usize| tx.message.account_keys[tx.message.instructions[i].program_id_index as usize];
        assert_eq!((program(0), program(1)), (anchor_spl::associated_token::ID, spl_token::ID));
        assert_eq!(tx.message.instructions[0].data, vec![1], "CreateIdempotent");
        let transfer = &tx.message.instructions[1].data;
        assert_eq!(transfer[0], 12, "TransferChecked");
        assert_eq!(&transfer[1..9], &5_000_000u64.to_le_bytes());
        assert_eq!(transfer[9], 6);
        assert_eq!(deserialize(&serialize(&tx)).expect("round trip"), tx);
    }

    fn view(pre: Vec<TokenBalance>, post: Vec<TokenBalance>, keys: Vec<Pubkey>) -> TxView {
        TxView {
            signature: Signature::default(),
            slot: 7,
            failed: false,
            account_keys: keys,
            pre_token_balances: pre,
            post_token_balances: post,
            inner_instructions: vec![],
            instructions: vec![],
        }
    }

    #[test]
    fn an_inflow_is_a_rise_of_the_accounts_balance_paid_by_whoever_fell_most() {
        let (fee_payer, payer_ata, vault_ata, mint, payer) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let b = |i, amount, owner| TokenBalance { account_index: i, mint, owner, amount };
        let keys = vec![fee_payer, payer_ata, vault_ata];
        // The vault account is created in the same transaction: no pre balance.
        let tx =
            view(vec![b(1, 9, payer)], vec![b(1, 2, payer), b(2, 7, Pubkey::new_unique())], keys.clone());
        assert_eq!(inflow(&tx, &vault_ata, 0, None), Some(Inflow { from: payer, mint, amount: 7, index: 2 }));
        // A fall (a settle) or no change is no inflow; a failed transaction moved nothing.
        let out = view(vec![b(2, 7, payer)], vec![], keys.clone());
        assert_eq!(inflow(&out, &vault_ata, 7, Some(mint)), None);
        let failed = TxView { failed: true, ..tx.clone() };
        assert_eq!(inflow(&failed, &vault_ata, 0, None), None);
        assert_eq!(
            inflow(&tx, &Pubkey::new_unique(), 0, None),
            None,
            "an account the transaction did not touch"
        );
        // Paid and settled in one transaction: no balance before or after, 9 moved out by the program.
        let at_once = view(vec![b(1, 9, payer)], vec![b(1, 0, payer)], keys.clone());
        assert_eq!(
            inflow(&at_once, &vault_ata, 9, Some(mint)),
            Some(Inflow { from: payer, mint, amount: 9, index: 2 })
        );
    }

    #[test]
    fn events_are_read_only_from_the_programs_own_self_invocations() {
        let event = VaultEvent {
            session_id: [1; 32],
            params_hash: [2; 32],
            vault: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            to: Pubkey::new_unique(),
            amount: 5,
            rent_to: Pubkey::new_unique(),
            rent: 6,
        };
        let data = |disc: &[u8]| {
            let mut d = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
            d.extend_from_slice(disc);
            anchor_lang::AnchorSerialize::serialize(&event, &mut d).expect("borsh");
            d
        };
        let mut tx = view(vec![], vec![], vec![Pubkey::new_unique()]);
        tx.inner_instructions = vec![
            // A forged event from another program is ignored: anyone can log bytes.
            InnerInstruction { outer: 0, program: Pubkey::new_unique(), data: data(Settled::DISCRIMINATOR) },
            InnerInstruction { outer: 0, program: deposit_vault::ID, data: data(Refunded::DISCRIMINATOR) },
            InnerInstruction { outer: 0, program: deposit_vault::ID, data: vec![1, 2, 3] },
        ];
        assert_eq!(vault_moves(&tx), vec![(1, VaultMove::Refunded(event))]);
    }
}
