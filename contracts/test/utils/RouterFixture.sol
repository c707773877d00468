// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../../src/DepositRouter.sol";
import {ReceiverFactory} from "../../src/ReceiverFactory.sol";
import {TestUSDC} from "../../src/devnet/TestUSDC.sol";
import {IDepositRouter} from "../../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../../src/libraries/DepositParamsLib.sol";
import {Destinations} from "./Destinations.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Shared setup: a router (without adapters unless a suite overrides `_adapters`), a 6-decimal USDC,
/// and helpers to build sessions.
abstract contract RouterFixture is TestBase {
    DepositRouter internal router;
    ReceiverFactory internal factory;
    TestUSDC internal usdc;

    address internal constant DEST = address(0xD00D);
    address internal constant REFUND = address(0xBEEF);
    address internal constant RELAYER = address(0x5E1A);
    uint64 internal constant NOW = 1_700_000_000;
    uint64 internal constant EXPIRES = NOW + 3600;

    function setUp() public virtual {
        vm.warp(NOW);
        usdc = new TestUSDC();
        router = new DepositRouter(_adapters(), bytes1(0xff), _destinations());
        factory = ReceiverFactory(address(router.factory()));
    }

    /// The router's adapter allow-list; `usdc` exists when this runs.
    function _adapters() internal virtual returns (address[] memory) {
        return new address[](0);
    }

    /// The router's destination table: by default every other chain the suites bridge to is served by this
    /// same deployment (as EVM chains sharing the deterministic deployment are).
    function _destinations() internal virtual returns (IDepositRouter.Destination[] memory) {
        return Destinations.table(42161, 8453, 501);
    }

    function _b32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function _params(bytes32 id, address token, address to, uint256 amount, bytes memory call)
        internal
        view
        returns (DepositParams memory)
    {
        return DepositParams({
            sessionId: id,
            toChainId: block.chainid,
            toToken: _b32(token),
            toAddress: _b32(to),
            amount: amount,
            minAmount: 0,
            finalCall: call,
            refundAddress: _b32(REFUND),
            solanaRefundAddress: bytes32(0),
            expiresAt: EXPIRES
        });
    }

    function _plain(bytes32 id) internal view returns (DepositParams memory) {
        return _params(id, address(usdc), DEST, 10e6, "");
    }

    function _hash(DepositParams memory p) internal pure returns (bytes32) {
        return keccak256(abi.encode(p));
    }

    /// Deploys the session's receiver as only the router can (factory.deploy is router-only).
    function _deploy(DepositParams memory p) internal returns (address receiver) {
        vm.prank(address(router));
        receiver = factory.deploy(_hash(p));
    }

    /// Sends `amount` USDC to the session's counterfactual receiver, as a payer would.
    function _pay(DepositParams memory p, uint256 amount) internal returns (address receiver) {
        receiver = factory.receiverAddress(p);
        usdc.mint(receiver, amount);
    }
}
