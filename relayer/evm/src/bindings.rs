//! `alloy::sol!` bindings generated from the artifacts `build.rs` compiles from `contracts/src`.
//! Each binding carries its creation bytecode, so deployments use exactly the audited sources.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    DepositRouter,
    concat!(env!("OUT_DIR"), "/DepositRouter.json")
);
sol!(
    #[sol(rpc)]
    ReceiverFactory,
    concat!(env!("OUT_DIR"), "/ReceiverFactory.json")
);
sol!(
    #[sol(rpc)]
    DepositReceiver,
    concat!(env!("OUT_DIR"), "/DepositReceiver.json")
);
sol!(
    #[sol(rpc)]
    CCTPv2Adapter,
    concat!(env!("OUT_DIR"), "/CCTPv2Adapter.json")
);
sol!(
    #[sol(rpc)]
    LocalTokenMessenger,
    concat!(env!("OUT_DIR"), "/LocalTokenMessenger.json")
);
sol!(
    #[sol(rpc)]
    LocalMessageTransmitter,
    concat!(env!("OUT_DIR"), "/LocalMessageTransmitter.json")
);
sol!(
    #[sol(rpc)]
    TestUSDC,
    concat!(env!("OUT_DIR"), "/TestUSDC.json")
);
sol!(
    #[sol(rpc)]
    PullAllowanceTarget,
    concat!(env!("OUT_DIR"), "/PullAllowanceTarget.json")
);
sol!(
    #[sol(rpc)]
    RevertingTarget,
    concat!(env!("OUT_DIR"), "/RevertingTarget.json")
);
