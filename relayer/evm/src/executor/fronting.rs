//! Fronting pays from the relayer's own balance through the router: the token calls it needs (the
//! allowance, renewed when used up, set to zero first for tokens that demand it) and balance reads.

use super::*;

alloy::sol! {
    /// The ERC-20 calls fronting needs, and `balanceOf` (token options).
    interface IErc20Allowance {
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
    }
}

/// `owner`'s balance of `token`.
pub(crate) async fn balance(
    chain: &EvmChain,
    token: Address,
    owner: Address,
) -> Result<alloy::primitives::U256, RpcFailure> {
    read_u256(chain, token, IErc20Allowance::balanceOfCall { owner }.abi_encode()).await
}

/// A view call of `token` answering one `uint256`.
pub(super) async fn read_u256(
    chain: &EvmChain,
    token: Address,
    call: Vec<u8>,
) -> Result<alloy::primitives::U256, RpcFailure> {
    let tx = TransactionRequest::default().with_to(token).with_input(Bytes::from(call));
    let out = chain
        .rpc(|p| {
            let tx = tx.clone();
            async move { p.call(tx).await }
        })
        .await?;
    Ok(alloy::primitives::U256::try_from_be_slice(out.get(..32).unwrap_or_default()).unwrap_or_default())
}

/// The router's allowance over `signer`'s `token`.
pub(super) async fn allowance(
    chain: &EvmChain,
    token: Address,
    signer: Address,
) -> Result<alloy::primitives::U256, RpcFailure> {
    read_u256(
        chain,
        token,
        IErc20Allowance::allowanceCall { owner: signer, spender: chain.spec.router }.abi_encode(),
    )
    .await
}

impl Executor {
    /// Grants the router an allowance of `amount` over the relayer's `token` (fronting pays through it),
    /// after setting what is left of the old one to zero if `reset_first` (USDT and its kin refuse to
    /// change a non-zero allowance to another non-zero one). Not stored as intents: lost in a crash, they
    /// are asked for again by the next fronting, and a nonce one used and the chain dropped is filled like
    /// any other gap. A fixed gas limit: the second call could not be estimated before the first lands.
    pub(super) async fn approve(
        &mut self,
        token: Address,
        amount: alloy::primitives::U256,
        reset_first: bool,
    ) -> Result<B256, ExecError> {
        const APPROVE_GAS: u64 = 100_000;
        let fees = self.fees().await?;
        let mut last = B256::ZERO;
        let grants = if reset_first { vec![alloy::primitives::U256::ZERO, amount] } else { vec![amount] };
        for grant in grants {
            let input =
                IErc20Allowance::approveCall { spender: self.chain.spec.router, amount: grant }.abi_encode();
            let nonce = self.nonce().await?;
            let tx = TransactionRequest::default()
                .with_from(self.signer)
                .with_to(token)
                .with_input(Bytes::from(input))
                .with_nonce(nonce)
                .with_chain_id(self.chain.spec.chain_id)
                .with_gas_limit(APPROVE_GAS)
                .with_max_fee_per_gas(fees.max_fee_per_gas)
                .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
            let attempt = self.sign(tx, super::Reserve::New).await?;
            self.next_nonce = Some(nonce + 1);
            tracing::info!(chain_id = self.chain.spec.chain_id, %token, amount = %grant, nonce, tx_hash = %attempt.tx_hash, "approving the router for fronting");
            self.broadcast(&attempt);
            last = attempt.tx_hash;
        }
        Ok(last)
    }
}
