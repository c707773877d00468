//! One move out of a vault, shared by the vault instructions: the whole balance out (to a token account,
//! or into the bridge), then the emptied vault token account closed when the session names a Solana
//! account for its rent and the token program allows it.

use anchor_lang::prelude::*;
use anchor_spl::{
    token_2022::spl_token_2022::{
        extension::{BaseStateWithExtensions, StateWithExtensions, transfer_fee::TransferFeeAmount},
        state::Account as Token2022Account,
    },
    token_interface::{self, CloseAccount, Mint, TokenAccount, TokenInterface, TransferChecked},
};

use crate::{DepositParams, VAULT_SEED, error::VaultError, events::VaultEvent};

/// The vault's whole balance of one mint, about to move.
pub(crate) struct Moved {
    pub(crate) hash: [u8; 32],
    session_id: [u8; 32],
    bump: [u8; 1],
    pub(crate) amount: u64,
    decimals: u8,
}

impl Moved {
    pub(crate) fn new(
        params: &DepositParams,
        bump: u8,
        vault_token: &TokenAccount,
        mint: &Mint,
    ) -> Result<Self> {
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
    pub(crate) fn seeds(&self) -> [&[u8]; 3] {
        [VAULT_SEED, &self.hash, &self.bump]
    }

    /// Everything to the token account `to`.
    pub(crate) fn transfer<'info>(
        &self,
        token_program: &Interface<'info, TokenInterface>,
        vault: &UncheckedAccount<'info>,
        mint: &InterfaceAccount<'info, Mint>,
        vault_token: &InterfaceAccount<'info, TokenAccount>,
        to: AccountInfo<'info>,
    ) -> Result<()> {
        token_interface::transfer_checked(
            CpiContext::new_with_signer(
                token_program.key(),
                TransferChecked {
                    from: vault_token.to_account_info(),
                    mint: mint.to_account_info(),
                    to,
                    authority: vault.to_account_info(),
                },
                &[&self.seeds()],
            ),
            self.amount,
            self.decimals,
        )
    }

    /// Closes the emptied vault token account, its rent to `rent_to`, when there is one and the account can
    /// be closed; describes the move to `to`.
    pub(crate) fn finish<'info>(
        self,
        token_program: &Interface<'info, TokenInterface>,
        vault: &UncheckedAccount<'info>,
        mint: &InterfaceAccount<'info, Mint>,
        vault_token: &InterfaceAccount<'info, TokenAccount>,
        to: Pubkey,
        rent_to: Option<AccountInfo<'info>>,
    ) -> Result<VaultEvent> {
        let account = vault_token.to_account_info();
        let (rent_to, rent) = match rent_to {
            Some(rent_to) if closable(&account) => {
                let rent = account.lamports();
                token_interface::close_account(CpiContext::new_with_signer(
                    token_program.key(),
                    CloseAccount {
                        account,
                        destination: rent_to.clone(),
                        authority: vault.to_account_info(),
                    },
                    &[&self.seeds()],
                ))?;
                (rent_to.key(), rent)
            }
            _ => (Pubkey::default(), 0),
        };
        Ok(VaultEvent {
            session_id: self.session_id,
            params_hash: self.hash,
            vault: vault.key(),
            mint: mint.key(),
            to,
            amount: self.amount,
            rent_to,
            rent,
        })
    }
}

/// Whether the token program will close this emptied token account. Token-2022 refuses while the account
/// holds withheld transfer fees (every transfer into an account of a fee-charging mint leaves some there,
/// until the mint's withdraw authority harvests them); closing then would fail the whole move, so such an
/// account stays open and the tokens still leave. (Confidential-transfer balances, the other obstacle,
/// need the owner to configure the account, which a vault never does.)
fn closable(account: &AccountInfo) -> bool {
    if *account.owner != anchor_spl::token_2022::ID {
        return true;
    }
    let Ok(data) = account.try_borrow_data() else { return false };
    let Ok(state) = StateWithExtensions::<Token2022Account>::unpack(&data) else { return false };
    state.get_extension::<TransferFeeAmount>().map_or(true, |fees| u64::from(fees.withheld_amount) == 0)
}
