// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {PullAllowanceTarget} from "./mocks/Targets.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";

/// @notice Whole-transaction gas (intrinsic, calldata, cold accesses and refunds included) of every flow a
/// relayer pays for. Each top-level call runs as its own transaction (`isolate`), so the figures equal a
/// receipt's `gasUsed` on anvil (checked: they reproduce `tests/tests/it/evm_settle.rs` to the unit). The
/// steady state of that test: destination, target and refund address already hold the token, and the
/// commitment's addresses are full-width (calldata costs what it costs in production).
contract GasWholeTransactionTest is RouterFixture {
    /// The ceiling the design promises for the common flow on EVM chains.
    uint256 internal constant PLAIN_SETTLE_CEILING = 100_000;
    address internal constant D = 0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045;
    address internal constant RF = 0xBEbeBeBEbeBebeBeBEBEbebEBeBeBebeBeBebebe;
    /// A Solana payer's wallet, committed as the Solana refund address (32 non-zero bytes of calldata).
    bytes32 internal constant SOLANA_PAYER =
        0x7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a;

    PullAllowanceTarget internal target;

    function setUp() public override {
        super.setUp();
        target = new PullAllowanceTarget();
        usdc.mint(D, 1);
        usdc.mint(address(target), 1);
        usdc.mint(RF, 1);
    }

    /// A realistic commitment: 10 USDC, a minimum of the amount less a 0.1% worst bridge fee.
    function _session(uint8 id, address to, bytes memory call)
        internal
        view
        returns (DepositParams memory p)
    {
        p = _params(bytes32(uint256(id) * (type(uint256).max / 0xff)), address(usdc), to, 10e6, call);
        p.minAmount = 10e6 - 10e3;
        p.refundAddress = _b32(RF);
        p.expiresAt = type(uint64).max - 1;
    }

    /// forge-config: default.isolate = true
    function test_gas_plainDeployAndSettleStaysWithinTheCeiling() public {
        DepositParams memory p = _session(2, D, "");
        usdc.mint(factory.receiverAddress(p), 10e6);
        router.settle(p, address(usdc));
        uint256 evmPayer = vm.snapshotGasLastCall("WholeTransaction", "settle plain (deploy+settle)");
        vm.assertEq(usdc.balanceOf(D), 10e6 + 1, "delivered");

        p = _session(5, D, "");
        p.solanaRefundAddress = SOLANA_PAYER;
        usdc.mint(factory.receiverAddress(p), 10e6);
        router.settle(p, address(usdc));
        uint256 solanaPayer =
            vm.snapshotGasLastCall("WholeTransaction", "settle plain, Solana payer (deploy+settle)");

        vm.assertLe(evmPayer, PLAIN_SETTLE_CEILING, "plain deploy+settle above the ceiling");
        vm.assertLe(solanaPayer, PLAIN_SETTLE_CEILING, "plain deploy+settle (Solana payer) above the ceiling");
    }

    /// forge-config: default.isolate = true
    function test_gas_everyOtherFlow() public {
        DepositParams memory p =
            _session(1, address(target), abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), D)));
        usdc.mint(factory.receiverAddress(p), 10e6);
        router.settle(p, address(usdc));
        vm.snapshotGasLastCall("WholeTransaction", "settle with call (deploy+settle)");
        vm.assertEq(target.credited(D), 10e6, "the call ran");

        usdc.mint(RELAYER, 10e6 + 1);
        vm.prank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
        p = _session(3, D, "");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.snapshotGasLastCall("WholeTransaction", "fastFinish plain");
        usdc.mint(factory.receiverAddress(p), 10e6);
        router.claim(p);
        vm.snapshotGasLastCall("WholeTransaction", "claim (deploy+repay)");
        vm.assertEq(usdc.balanceOf(RELAYER), 10e6 + 1, "claim repaid the fronter");

        p = _session(4, D, "");
        p.expiresAt = 1;
        usdc.mint(factory.receiverAddress(p), 10e6);
        router.refund(p, address(usdc));
        vm.snapshotGasLastCall("WholeTransaction", "refund after expiry (deploy+refund)");
    }
}
