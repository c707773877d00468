//! `alloy::sol!` bindings generated from the committed artifacts in `relayer/evm/artifacts/`, which the
//! `artifacts` test checks against what `contracts/src` compiles to. Each binding carries its creation
//! bytecode, so deployments use exactly the audited sources, and building needs neither node nor npm.
//! Test and devnet contracts (test USDC, the local CCTP, call targets) are bound in `relayer-devnet`.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    DepositRouter,
    concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/DepositRouter.json")
);
sol!(
    #[sol(rpc)]
    ReceiverFactory,
    concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/ReceiverFactory.json")
);
sol!(
    #[sol(rpc)]
    CallExecutor,
    concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/CallExecutor.json")
);
sol!(
    #[sol(rpc)]
    DepositReceiver,
    concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/DepositReceiver.json")
);
sol!(
    #[sol(rpc)]
    CCTPv2Adapter,
    concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/CCTPv2Adapter.json")
);
sol!(
    #[sol(rpc)]
    OFTAdapter,
    concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/OFTAdapter.json")
);
