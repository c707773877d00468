// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestUSDT} from "../src/devnet/TestUSDT.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {TransferOutLib} from "../src/libraries/TransferOutLib.sol";
import {PullAllowanceTarget} from "./mocks/Targets.sol";
import {QuirkyToken} from "./mocks/Tokens.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";

/// @notice The third review's findings (issue 20: "no deposit can be locked, on any chain and any family"),
/// each as the attack or the chain behaviour that locked deposits. Every `test_attack_` here failed on the
/// contracts before the fix. Tron-specific derivation is in `TronDeployment.t.sol`, the OFT fee in
/// `OFTBridge.t.sol`.
contract LivenessSecurityTest is RouterFixture {
    address internal constant ATTACKER = address(0xA77AC4);

    TestUSDT internal usdt;
    PullAllowanceTarget internal target;

    function setUp() public override {
        super.setUp();
        usdt = new TestUSDT();
        target = new PullAllowanceTarget();
    }

    function _receiver(DepositParams memory p) internal view returns (address) {
        return factory.receiverAddress(p);
    }

    // ------------------- finding 2: a token whose `transfer` returns false (Tron's USDT) must still move

    /// Tron's USDT returns `false` from every successful `transfer`; `safeTransfer` read that as a failure,
    /// so settle (and every other exit) reverted and every Tron deposit was stuck.
    function test_attack_falseReturningTransferDoesNotLockSettle() public {
        DepositParams memory p = _params("tron-usdt", address(usdt), DEST, 10e6, "");
        address receiver = _receiver(p);
        usdt.mint(receiver, 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdt), IDepositRouter.Outcome.Delivered, 10e6, 10e6, 0
        );
        router.settle(p, address(usdt));
        vm.assertEq(usdt.balanceOf(DEST), 10e6, "delivered");
        vm.assertEq(usdt.balanceOf(receiver), 0, "receiver emptied");
    }

    function test_attack_falseReturningTransferDoesNotLockRefunds() public {
        // After expiry, the session's own token.
        DepositParams memory p = _params("tron-usdt-late", address(usdt), DEST, 10e6, "");
        usdt.mint(_receiver(p), 10e6);
        vm.warp(EXPIRES + 1);
        router.refund(p, address(usdt));
        vm.assertEq(usdt.balanceOf(REFUND), 10e6, "refunded after expiry");

        // Any time, a token the session cannot use.
        DepositParams memory q = _plain("usdc-session");
        usdt.mint(_receiver(q), 3e6);
        router.refund(q, address(usdt));
        vm.assertEq(usdt.balanceOf(REFUND), 13e6, "unusable token refunded");
    }

    /// The executor sends a final call's leftovers out with `transfer` too.
    function test_attack_falseReturningTransferDoesNotLockACallsLeftovers() public {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.depositHalf, (address(usdt), address(0xA11CE)));
        DepositParams memory p = _params("tron-usdt-call", address(usdt), address(target), 10e6, call);
        usdt.mint(_receiver(p), 10e6);
        router.settle(p, address(usdt));
        vm.assertEq(target.credited(address(0xA11CE)), 5e6, "the call took half");
        vm.assertEq(usdt.balanceOf(REFUND), 5e6, "the executor's leftovers reached the refund address");
        vm.assertEq(usdt.balanceOf(router.executorOf(_hash(p))), 0, "nothing stuck in the executor");
    }

    /// The balance check keeps the failures that are failures: a token that returns `false` and moves
    /// nothing, or only part, is never reported as delivered; the deposit stays and is refundable later.
    function test_settle_RevertWhen_aFalseReturningTokenMovesNothingOrOnlyPart() public {
        QuirkyToken[2] memory tokens = [
            new QuirkyToken(QuirkyToken.Mode.FalseAndMovesNothing),
            new QuirkyToken(QuirkyToken.Mode.FalseAndMovesHalf)
        ];
        for (uint256 i; i < tokens.length; ++i) {
            QuirkyToken token = tokens[i];
            DepositParams memory p = _params(bytes32(i + 1), address(token), DEST, 10e6, "");
            address receiver = _receiver(p);
            token.mint(receiver, 10e6);
            vm.expectRevert(
                abi.encodeWithSelector(TransferOutLib.TransferOutFailed.selector, address(token), DEST, 10e6)
            );
            router.settle(p, address(token));
            vm.assertEq(token.balanceOf(receiver), 10e6, "the deposit stays in the receiver");
            vm.assertEq(token.balanceOf(DEST), 0, "nothing reported or delivered");

            token.setMode(QuirkyToken.Mode.FalseButMoves); // the token recovers: the deposit moves
            router.settle(p, address(token));
            vm.assertEq(token.balanceOf(DEST), 10e6, "delivered once the token moves it");
        }
    }

    /// A blacklisted destination must fail, whether the token refuses loudly (reverts, like USDC) or softly
    /// (returns `false` without moving); after expiry the deposit is refunded instead.
    function test_settle_RevertWhen_theTokenBlacklistsTheDestination() public {
        for (uint256 loud; loud < 2; ++loud) {
            QuirkyToken token = new QuirkyToken(QuirkyToken.Mode.FalseButMoves);
            token.blacklist(DEST, loud == 1);
            DepositParams memory p = _params(bytes32(loud + 1), address(token), DEST, 10e6, "");
            address receiver = _receiver(p);
            token.mint(receiver, 10e6);
            vm.expectRevert(
                abi.encodeWithSelector(TransferOutLib.TransferOutFailed.selector, address(token), DEST, 10e6)
            );
            router.settle(p, address(token));
            vm.assertEq(token.balanceOf(receiver), 10e6, "the deposit stays");

            uint256 snap = vm.snapshotState();
            vm.warp(EXPIRES + 1);
            router.refund(p, address(token));
            vm.assertEq(token.balanceOf(REFUND), 10e6, "refunded after expiry");
            vm.revertToState(snap);
        }
    }

    /// A returned `true` is believed (as by every ERC-20 integration); what the recipient gained is still
    /// measured, so a token that lies reports nothing delivered.
    function test_settle_reportsWhatMovedWhenATokenReturnsTrueWithoutMoving() public {
        QuirkyToken token = new QuirkyToken(QuirkyToken.Mode.TrueAndMovesNothing);
        DepositParams memory p = _params("liar", address(token), DEST, 10e6, "");
        address receiver = _receiver(p);
        token.mint(receiver, 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(token), IDepositRouter.Outcome.Delivered, 10e6, 0, 0
        );
        router.settle(p, address(token));
    }
}
