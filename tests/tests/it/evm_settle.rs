//! Against a real anvil node: the router deploys through the deterministic deployment proxy at the
//! address the offline derivation predicts, and a real deposit settles to the destination.

use alloy::{
    node_bindings::Anvil,
    primitives::{Address, B256, Bytes, U256, address},
    providers::{Provider, ProviderBuilder},
    sol_types::{SolCall, SolEvent},
};
use relayer_devnet::{bindings::TestUSDC, tools::foundry_tool};
use relayer_evm::{
    bindings::DepositRouter,
    create2::{CREATE2_PROXY, Deployment, DepositParams, RouterArgs},
    deploy::deploy_router,
};

type Error = Box<dyn std::error::Error>;

/// A fresh anvil playing Base, and a provider signing with its first funded key.
fn anvil_as_base() -> Result<(alloy::node_bindings::AnvilInstance, impl Provider + Clone), Error> {
    let anvil = Anvil::at(foundry_tool("anvil")?).chain_id(8453).try_spawn()?;
    let provider = ProviderBuilder::new()
        .wallet(alloy::signers::local::PrivateKeySigner::from(anvil.keys()[0].clone()))
        .connect_http(anvil.endpoint_url());
    Ok((anvil, provider))
}

#[tokio::test]
async fn deterministic_deployment_and_plain_settle_on_anvil() -> Result<(), Error> {
    let (_anvil, provider) = anvil_as_base()?; // the node lives as long as its handle
    assert!(
        !provider.get_code_at(CREATE2_PROXY).await?.is_empty(),
        "anvil has the deterministic deployment proxy"
    );

    let expected = Deployment::deterministic(B256::ZERO, &RouterArgs::evm(&[], &[]));
    assert_eq!(
        deploy_router(&provider, B256::ZERO, &RouterArgs::evm(&[], &[])).await?,
        expected,
        "deployed where predicted"
    );
    let router = DepositRouter::new(expected.router, &provider);
    assert_eq!(router.factory().call().await?, expected.factory, "factory where predicted");

    let usdc = TestUSDC::deploy(&provider).await?;
    let dest = address!("d8dA6BF26964aF9D7eEd9e03E53415D37aA96045");
    let params = DepositParams {
        sessionId: B256::repeat_byte(1),
        toChainId: U256::from(8453),
        toToken: usdc.address().into_word(),
        toAddress: dest.into_word(),
        amount: U256::from(10_000_000u64),
        minAmount: U256::from(10_000_000u64),
        finalCall: Bytes::new(),
        refundAddress: Address::repeat_byte(0xbe).into_word(),
        solanaRefundAddress: B256::ZERO,
        expiresAt: u64::MAX,
    };
    let receiver = expected.receiver(&params);
    usdc.mint(receiver, U256::from(10_000_000u64)).send().await?.get_receipt().await?;

    let receipt = router.settle(params.clone(), *usdc.address()).send().await?.get_receipt().await?;
    assert!(receipt.status(), "settle succeeded");
    let settled = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| DepositRouter::Settled::decode_log(&log.inner).ok())
        .expect("Settled event");
    assert_eq!(settled.receiver, receiver, "settled the predicted receiver");
    assert_eq!(settled.delivered, U256::from(10_000_000u64));
    assert_eq!(usdc.balanceOf(dest).call().await?, U256::from(10_000_000u64), "destination credited");
    println!(
        "gas: deploy+settle plain ERC-20, whole transaction, first-time destination: {}",
        receipt.gas_used
    );

    // The usual case: the destination already holds the token (no zero-to-non-zero balance write).
    let second = DepositParams { sessionId: B256::repeat_byte(2), ..params };
    usdc.mint(expected.receiver(&second), U256::from(10_000_000u64)).send().await?.get_receipt().await?;
    let receipt = router.settle(second, *usdc.address()).send().await?.get_receipt().await?;
    assert!(receipt.status(), "second settle succeeded");
    assert_eq!(usdc.balanceOf(dest).call().await?, U256::from(20_000_000u64), "destination credited twice");
    println!(
        "gas: deploy+settle plain ERC-20, whole transaction, destination already holds the token: {}",
        receipt.gas_used
    );
    Ok(())
}

/// Whole-transaction gas (intrinsic and calldata included) of every flow a relayer pays for, on a real
/// anvil node, for the README's table. Each flow is also checked to have done what it is for.
#[tokio::test]
async fn whole_transaction_gas_of_every_flow_on_anvil() -> Result<(), Error> {
    use relayer_devnet::bindings::PullAllowanceTarget;

    let (anvil, provider) = anvil_as_base()?;
    let deployment = deploy_router(&provider, B256::ZERO, &RouterArgs::evm(&[], &[])).await?;
    let router = DepositRouter::new(deployment.router, &provider);
    let usdc = TestUSDC::deploy(&provider).await?;
    let target = PullAllowanceTarget::deploy(&provider).await?;
    let dest = address!("d8dA6BF26964aF9D7eEd9e03E53415D37aA96045");
    let amount = U256::from(10_000_000u64);
    // Destination, target and refund address already hold the token: the usual steady state.
    for who in [dest, *target.address(), Address::repeat_byte(0xbe)] {
        usdc.mint(who, U256::from(1)).send().await?.get_receipt().await?;
    }
    let session = |id: u8, to: Address, call: Bytes| DepositParams {
        sessionId: B256::repeat_byte(id),
        toChainId: U256::from(8453),
        toToken: usdc.address().into_word(),
        toAddress: to.into_word(),
        amount,
        minAmount: amount,
        finalCall: call,
        refundAddress: Address::repeat_byte(0xbe).into_word(),
        solanaRefundAddress: B256::ZERO,
        expiresAt: u64::MAX - 1,
    };
    let call: Bytes =
        PullAllowanceTarget::depositCall { token: *usdc.address(), beneficiary: dest }.abi_encode().into();
    let mut report = Vec::new();

    let p = session(1, *target.address(), call.clone());
    usdc.mint(deployment.receiver(&p), amount).send().await?.get_receipt().await?;
    let r = router.settle(p.clone(), *usdc.address()).send().await?.get_receipt().await?;
    assert!(r.status());
    assert_eq!(target.credited(dest).call().await?, amount, "the call ran");
    report.push(("deploy receiver + settle with final call", r.gas_used));

    let me = anvil.addresses()[0];
    usdc.mint(me, amount + U256::from(1)).send().await?.get_receipt().await?; // keeps inventory
    usdc.approve(deployment.router, U256::MAX).send().await?.get_receipt().await?;
    let p = session(2, dest, Bytes::new());
    let r = router.fastFinish(p.clone(), amount).send().await?.get_receipt().await?;
    assert!(r.status());
    report.push(("fastFinish (plain, relayer pays the destination)", r.gas_used));
    usdc.mint(deployment.receiver(&p), amount).send().await?.get_receipt().await?;
    let r = router.claim(p).send().await?.get_receipt().await?;
    assert!(r.status());
    assert_eq!(usdc.balanceOf(me).call().await?, amount + U256::from(1), "claim repaid the fronter");
    report.push(("deploy receiver + claim (repays the fronter)", r.gas_used));

    let p = DepositParams { expiresAt: 1, ..session(3, dest, Bytes::new()) };
    usdc.mint(deployment.receiver(&p), amount).send().await?.get_receipt().await?;
    let r = router.refund(p, *usdc.address()).send().await?.get_receipt().await?;
    assert!(r.status());
    report.push(("deploy receiver + refund after expiry", r.gas_used));

    for (flow, gas) in report {
        println!("gas: {flow}, whole transaction: {gas}");
    }
    Ok(())
}
