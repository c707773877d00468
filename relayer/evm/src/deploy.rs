//! Deploying the router the one way that keeps receiver addresses equal on every chain: through the
//! deterministic deployment proxy with a fixed salt and adapter list (and, with the same proxy, anything
//! else that must sit at one address on every chain, such as bridge adapters).

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes},
    providers::Provider,
    rpc::types::TransactionRequest,
};

use crate::create2::{CREATE2_PROXY, Deployment, RouterArgs};

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The chain lacks the deterministic deployment proxy.
    #[error("the chain has no deterministic deployment proxy at {CREATE2_PROXY}")]
    NoProxy,
    /// The node refused or the transaction reverted.
    #[error("deployment failed: {0}")]
    Failed(String),
}

/// Deploys the router with `salt` and `args` unless it is already there; returns the deployment.
pub async fn deploy_router(
    provider: &impl Provider,
    salt: B256,
    args: &RouterArgs,
) -> Result<Deployment, DeployError> {
    let deployment = Deployment::deterministic(salt, args);
    let at = deploy_deterministic(provider, salt, &args.init_code()).await?;
    debug_assert_eq!(at, deployment.router);
    Ok(deployment)
}

/// Deploys `init_code` through the deterministic deployment proxy with `salt`, unless something is at
/// its address already; returns the address (the same on every chain for the same salt and code).
pub async fn deploy_deterministic(
    provider: &impl Provider,
    salt: B256,
    init_code: &[u8],
) -> Result<Address, DeployError> {
    let failed = |e: &dyn std::fmt::Display| DeployError::Failed(e.to_string());
    let at = CREATE2_PROXY.create2_from_code(salt, init_code);
    if provider.get_code_at(CREATE2_PROXY).await.map_err(|e| failed(&e))?.is_empty() {
        return Err(DeployError::NoProxy);
    }
    if !provider.get_code_at(at).await.map_err(|e| failed(&e))?.is_empty() {
        return Ok(at);
    }
    let input: Bytes = [salt.as_slice(), init_code].concat().into();
    let tx = TransactionRequest::default().with_to(CREATE2_PROXY).with_input(input);
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(|e| failed(&e))?
        .get_receipt()
        .await
        .map_err(|e| failed(&e))?;
    if !receipt.status() {
        return Err(DeployError::Failed(format!("transaction {} reverted", receipt.transaction_hash)));
    }
    Ok(at)
}
