//! Bindings to the test and devnet contracts, read from the same committed artifacts as the production
//! bindings in `relayer-evm` (and checked against `contracts/src` by the same test).
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    LocalTokenMessenger,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/LocalTokenMessenger.json")
);
sol!(
    #[sol(rpc)]
    LocalMessageTransmitter,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/LocalMessageTransmitter.json")
);
sol!(
    #[sol(rpc)]
    TestUSDC,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/TestUSDC.json")
);
sol!(
    #[sol(rpc)]
    PullAllowanceTarget,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/PullAllowanceTarget.json")
);
sol!(
    #[sol(rpc)]
    RevertingTarget,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/RevertingTarget.json")
);
sol!(
    #[sol(rpc)]
    TestUSDT,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/TestUSDT.json")
);
sol!(
    #[sol(rpc)]
    LocalOFT,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../evm/artifacts/LocalOFT.json")
);
