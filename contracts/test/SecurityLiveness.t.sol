// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestUSDT} from "../src/devnet/TestUSDT.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {TransferOutLib} from "../src/libraries/TransferOutLib.sol";
import {PullAllowanceTarget} from "./mocks/Targets.sol";
import {MockERC20, QuirkyToken} from "./mocks/Tokens.sol";
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
        usdc.mint(RELAYER, 1_000e6);
        vm.prank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
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

    // ------------------ finding 4: dust cannot start a session before its deposit (the committed minimum)

    /// A calldata session for 10 USDC whose relayer committed a minimum of the amount less a 0.1% fee.
    function _callSession(bytes32 id) internal view returns (DepositParams memory p) {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), address(0xA11CE)));
        p = _params(id, address(usdc), address(target), 10e6, call);
        p.minAmount = 10e6 - 10e3;
    }

    /// The review's attack: the params are public in the source chain's bridge calldata minutes before the
    /// mint; anyone sends 1 wei and calls settle, so the call runs with 1 wei, the real deposit is later
    /// refunded and fronting reverts AlreadyStarted. Now the settle is refused, the call is untouched,
    /// fronting still works and the deposit later repays the fronter.
    function test_attack_dustAndSettleCannotBurnACalldataSessionsCall() public {
        DepositParams memory p = _callSession("dust-call");
        address receiver = _receiver(p);
        usdc.mint(receiver, 1);
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BelowMinimum.selector, 1, p.minAmount));
        router.settle(p, address(usdc));
        vm.assertFalse(router.sessionState(_hash(p)).callExecuted, "the call is not consumed");
        vm.assertEq(receiver.code.length, 0, "nothing started");

        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.assertEq(target.credited(address(0xA11CE)), 10e6, "the call ran once, with the whole amount");
        usdc.mint(receiver, 10e6); // the bridged deposit lands
        router.claim(p);
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "the fronter is repaid in full");
        vm.assertEq(usdc.balanceOf(REFUND), 1, "the dust above it is refunded (the call ran already)");
    }

    /// The same dust cannot deliver a plain session early and so turn fronting off.
    function test_attack_dustAndSettleCannotStartAPlainSessionAndTurnOffFronting() public {
        DepositParams memory p = _params("dust-plain", address(usdc), DEST, 10e6, "");
        p.minAmount = 10e6;
        usdc.mint(_receiver(p), 1);
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BelowMinimum.selector, 1, 10e6));
        router.settle(p, address(usdc));
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BelowMinimum.selector, 1, 10e6));
        router.claim(p);
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "fronting still delivers");
    }

    /// Dust plus the deposit reaches the minimum: everything is delivered together.
    function test_settle_startsOnceTheMinimumIsThere_dustIncluded() public {
        DepositParams memory p = _callSession("dust-then-deposit");
        usdc.mint(_receiver(p), 1);
        usdc.mint(_receiver(p), 10e6 - 10e3 - 1);
        router.settle(p, address(usdc));
        vm.assertEq(target.credited(address(0xA11CE)), 10e6 - 10e3, "started at exactly the minimum");
    }

    function testFuzz_settle_startsOnlyFromTheMinimum(uint256 minAmount, uint256 paid) public {
        minAmount = bound(minAmount, 0, 1e30);
        paid = bound(paid, 1, 1e30);
        DepositParams memory p = _params("fuzz-min", address(usdc), DEST, 0, "");
        p.minAmount = minAmount;
        usdc.mint(_receiver(p), paid);
        if (paid < minAmount) {
            vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BelowMinimum.selector, paid, minAmount));
            router.settle(p, address(usdc));
        } else {
            router.settle(p, address(usdc));
            vm.assertEq(usdc.balanceOf(DEST), paid, "delivered");
        }
    }

    /// Once a plain session started, later arrivals of any size are delivered.
    function test_settle_laterArrivalsOfAStartedPlainSessionIgnoreTheMinimum() public {
        DepositParams memory p = _params("started", address(usdc), DEST, 10e6, "");
        p.minAmount = 10e6;
        usdc.mint(_receiver(p), 10e6);
        router.settle(p, address(usdc));
        usdc.mint(_receiver(p), 1);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 10e6 + 1, "the late wei delivered too");
    }

    /// A deployment that started nothing (a junk refund) leaves the minimum in force.
    function test_settle_RevertWhen_belowTheMinimumAfterAnIdleDeploy() public {
        DepositParams memory p = _params("idle", address(usdc), DEST, 10e6, "");
        p.minAmount = 10e6;
        MockERC20 junk = new MockERC20();
        junk.mint(_receiver(p), 1);
        router.refund(p, address(junk));
        usdc.mint(_receiver(p), 1);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BelowMinimum.selector, 1, 10e6));
        router.settle(p, address(usdc));
        usdc.mint(_receiver(p), 10e6 - 1);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "delivered once the minimum is there");
    }

    /// A fronted session is started: what arrives repays the fronter whatever its size, and the rest is
    /// delivered.
    function test_claim_afterFrontingIsNotBoundByTheMinimum() public {
        DepositParams memory p = _params("fronted", address(usdc), DEST, 10e6, "");
        p.minAmount = 10e6;
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        usdc.mint(_receiver(p), 4e6);
        router.claim(p);
        vm.assertEq(router.sessionState(_hash(p)).owed, 6e6, "partly repaid");
    }

    /// After expiry the minimum no longer matters: everything is refunded.
    function test_refund_afterExpiryIgnoresTheMinimum() public {
        DepositParams memory p = _callSession("expired-dust");
        usdc.mint(_receiver(p), 1);
        vm.warp(EXPIRES + 1);
        router.refund(p, address(usdc));
        vm.assertEq(usdc.balanceOf(REFUND), 1, "dust refunded");
        vm.assertEq(target.calls(), 0, "no call");
    }

    /// An open-amount calldata session is bounded by its committed minimum (the deployment's, e.g. 1.00).
    function test_settle_openAmountCalldataSessionStartsFromItsMinimum() public {
        DepositParams memory p = _callSession("open-call");
        p.amount = 0;
        p.minAmount = 1e6;
        usdc.mint(_receiver(p), 1e6 - 1);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BelowMinimum.selector, 1e6 - 1, 1e6));
        router.settle(p, address(usdc));
        usdc.mint(_receiver(p), 1);
        router.settle(p, address(usdc));
        vm.assertEq(target.credited(address(0xA11CE)), 1e6, "ran with the minimum");
    }
}
