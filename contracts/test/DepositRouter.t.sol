// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDepositReceiver} from "../src/interfaces/IDepositReceiver.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {DepositParams, DepositParamsLib} from "../src/libraries/DepositParamsLib.sol";
import {PullAllowanceTarget, ReentrantTarget, RevertingTarget} from "./mocks/Targets.sol";
import {FeeOnTransferToken, MockERC20, NoReturnToken} from "./mocks/Tokens.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";

contract DepositRouterSettleTest is RouterFixture {
    PullAllowanceTarget internal target;
    RevertingTarget internal reverting;

    function setUp() public override {
        super.setUp();
        target = new PullAllowanceTarget();
        reverting = new RevertingTarget();
    }

    function _callSession(bytes32 id, address to, bytes memory call)
        internal
        view
        returns (DepositParams memory)
    {
        return _params(id, address(usdc), to, 10e6, call);
    }

    function _depositCall(address beneficiary) internal view returns (bytes memory) {
        return abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), beneficiary));
    }

    function test_settle_deliversPlainTransfer() public {
        DepositParams memory p = _plain("plain");
        address receiver = _pay(p, 10e6);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Delivered, 10e6, 10e6, 0
        );
        vm.prank(RELAYER);
        router.settle(p, address(usdc));
        vm.snapshotGasLastCall("DepositRouter", "settle plain (deploy+settle)");

        vm.assertEq(usdc.balanceOf(DEST), 10e6, "destination credited");
        vm.assertEq(usdc.balanceOf(receiver), 0, "receiver emptied");
        vm.assertTrue(receiver.code.length > 0, "receiver deployed, which marks the session as used");
    }

    function test_settle_deliversToDeployedReceiverToo() public {
        DepositParams memory p = _plain("predeployed");
        address receiver = _deploy(p);
        usdc.mint(receiver, 5e6);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 5e6, "delivered");
    }

    function test_settle_withCall_targetPullsItsAllowance() public {
        DepositParams memory p = _callSession("call", address(target), _depositCall(address(0xA11CE)));
        address receiver = _pay(p, 10e6);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Delivered, 10e6, 10e6, 0
        );
        router.settle(p, address(usdc));
        vm.snapshotGasLastCall("DepositRouter", "settle with call (deploy+settle)");

        vm.assertEq(usdc.balanceOf(address(target)), 10e6, "target pulled all");
        vm.assertEq(target.credited(address(0xA11CE)), 10e6, "beneficiary credited");
        vm.assertEq(target.lastCaller(), router.executorOf(_hash(p)), "called from the session's executor");
        vm.assertEq(usdc.allowance(router.executorOf(_hash(p)), address(target)), 0, "approval reset");
        vm.assertEq(usdc.balanceOf(address(router)), 0, "router holds nothing");
        vm.assertEq(usdc.balanceOf(router.executorOf(_hash(p))), 0, "executor holds nothing");
        vm.assertTrue(router.sessionState(_hash(p)).callExecuted, "call recorded");
    }

    function test_settle_withCall_sendsLeftoverToRefundAddress() public {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.depositHalf, (address(usdc), address(0xA11CE)));
        DepositParams memory p = _callSession("half", address(target), call);
        address receiver = _pay(p, 10e6);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Delivered, 10e6, 5e6, 5e6
        );
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(address(target)), 5e6, "target pulled half");
        vm.assertEq(usdc.balanceOf(REFUND), 5e6, "leftover refunded");
        vm.assertEq(usdc.allowance(router.executorOf(_hash(p)), address(target)), 0, "approval reset");
    }

    function test_settle_bouncesToRefundAddressWhenCallReverts() public {
        DepositParams memory p = _callSession("bounce", address(reverting), _depositCall(address(1)));
        address receiver = _pay(p, 10e6);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Bounced, 10e6, 0, 10e6
        );
        router.settle(p, address(usdc));
        vm.snapshotGasLastCall("DepositRouter", "bounce (deploy+settle, call reverts)");

        vm.assertEq(usdc.balanceOf(REFUND), 10e6, "all refunded");
        vm.assertEq(usdc.balanceOf(address(reverting)), 0, "target got nothing");
        vm.assertEq(usdc.allowance(router.executorOf(_hash(p)), address(reverting)), 0, "approval reset");
    }

    function test_settle_bouncesWhenCallRunsOutOfItsGas() public {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.burnAllGas, ());
        DepositParams memory p = _callSession("gas", address(target), call);
        _pay(p, 10e6);
        router.settle{gas: 2_000_000}(p, address(usdc));
        vm.assertEq(usdc.balanceOf(REFUND), 10e6, "bounced after the bounded call ran out of gas");
    }

    function test_settle_RevertWhen_relayerStarvesTheCallOfGas() public {
        DepositParams memory p = _callSession("starve", address(target), _depositCall(address(1)));
        address receiver = _pay(p, 10e6);
        // Enough to reach the call, not enough to give it its full budget: must revert, not bounce.
        (bool ok,) = address(router).call{gas: 900_000}(abi.encodeCall(router.settle, (p, address(usdc))));
        vm.assertFalse(ok, "starved settle must revert");
        vm.assertEq(usdc.balanceOf(receiver), 10e6, "funds untouched");
        vm.assertEq(usdc.balanceOf(REFUND), 0, "no bounce");
        vm.assertFalse(router.sessionState(_hash(p)).callExecuted, "call not consumed");
    }

    function test_settle_blocksReentrancyFromTheFinalCall() public {
        ReentrantTarget reentrant = new ReentrantTarget(router);
        DepositParams memory p = _callSession("reenter", address(reentrant), _depositCall(address(1)));
        reentrant.arm(p);
        _pay(p, 10e6);
        router.settle(p, address(usdc));
        vm.assertTrue(reentrant.reentryFailed(), "re-entry rejected");
        vm.assertFalse(reentrant.reentered(), "re-entry did not run");
        vm.assertEq(usdc.balanceOf(address(reentrant)), 10e6, "target still pulled once");
    }

    function test_settle_deliversLaterDepositsToAPlainSession() public {
        DepositParams memory p = _plain("again");
        _pay(p, 10e6);
        router.settle(p, address(usdc));
        _pay(p, 3e6);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 13e6, "both deliveries reached the destination");
    }

    function test_settle_refundsLaterDepositsToACalldataSession_callNeverRunsTwice() public {
        DepositParams memory p = _callSession("once", address(target), _depositCall(address(0xA11CE)));
        address receiver = _pay(p, 10e6);
        router.settle(p, address(usdc));
        _pay(p, 4e6);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Refunded, 4e6, 0, 4e6
        );
        router.settle(p, address(usdc));
        vm.assertEq(target.calls(), 1, "call ran once");
        vm.assertEq(usdc.balanceOf(REFUND), 4e6, "extra refunded");
    }

    /// A plain delivery never needs the refund address, so one that is no EVM address (a Solana payer's,
    /// say) does not stop it.
    function test_settle_plainDeliveryDoesNotDependOnTheRefundAddress() public {
        DepositParams memory p = _plain("non-evm-refund");
        p.refundAddress = bytes32(type(uint256).max);
        _pay(p, 3e6);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 3e6, "delivered");
    }

    function test_settle_RevertWhen_wrongChain() public {
        DepositParams memory p = _plain("chain");
        p.toChainId = block.chainid + 1;
        _pay(p, 1e6);
        vm.expectRevert(
            abi.encodeWithSelector(IDepositRouter.WrongChain.selector, block.chainid + 1, block.chainid)
        );
        router.settle(p, address(usdc));
    }

    function test_settle_RevertWhen_tokenIsNotTheSessionToken() public {
        MockERC20 other = new MockERC20();
        DepositParams memory p = _plain("token");
        other.mint(factory.receiverAddress(p), 1e18);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.UnusableToken.selector, address(other)));
        router.settle(p, address(other));
    }

    function test_settle_RevertWhen_nothingToSettle() public {
        DepositParams memory p = _plain("empty");
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.NothingToSettle.selector, factory.receiverAddress(p), address(usdc)
            )
        );
        router.settle(p, address(usdc));
    }

    function test_settle_RevertWhen_destinationIsNotAnEvmAddress() public {
        DepositParams memory p = _plain("dirty");
        p.toAddress = bytes32(uint256(1) << 200);
        _pay(p, 1e6);
        vm.expectRevert(abi.encodeWithSelector(DepositParamsLib.NotAnEvmAddress.selector, p.toAddress));
        router.settle(p, address(usdc));
    }

    function test_settle_worksUntilExpiryInclusive() public {
        DepositParams memory p = _plain("last-second");
        _pay(p, 1e6);
        vm.warp(EXPIRES);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 1e6, "delivered at expiresAt");
    }

    function test_settle_RevertWhen_expired_thenClaimRefunds() public {
        DepositParams memory p = _plain("late");
        address receiver = _pay(p, 1e6);
        vm.warp(EXPIRES + 1);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.Expired.selector, EXPIRES));
        router.settle(p, address(usdc));

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Refunded, 1e6, 0, 1e6
        );
        router.claim(p);
        vm.assertEq(usdc.balanceOf(REFUND), 1e6, "after expiry claim refunds");
        vm.assertEq(usdc.balanceOf(DEST), 0, "nothing delivered after expiry");
    }

    function test_settle_laterDepositAfterExpiryIsRefundedNotDelivered() public {
        DepositParams memory p = _plain("late-extra");
        _pay(p, 1e6);
        router.settle(p, address(usdc));
        _pay(p, 2e6);
        vm.warp(EXPIRES + 1);
        router.refund(p, address(usdc));
        vm.assertEq(usdc.balanceOf(DEST), 1e6, "only the timely deposit delivered");
        vm.assertEq(usdc.balanceOf(REFUND), 2e6, "late deposit refunded");
    }

    function test_settle_handlesTokensThatReturnNothing() public {
        NoReturnToken usdt = new NoReturnToken();
        DepositParams memory plain = _params("usdt", address(usdt), DEST, 0, "");
        usdt.mint(factory.receiverAddress(plain), 7e6);
        router.settle(plain, address(usdt));
        vm.assertEq(usdt.balanceOf(DEST), 7e6, "plain delivery");

        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdt), address(1)));
        DepositParams memory p = _params("usdt-call", address(usdt), address(target), 0, call);
        usdt.mint(factory.receiverAddress(p), 5e6);
        router.settle(p, address(usdt));
        vm.assertEq(usdt.balanceOf(address(target)), 5e6, "call delivery");
        vm.assertEq(usdt.allowance(router.executorOf(_hash(p)), address(target)), 0, "approval reset");
    }

    function test_settle_reportsMeasuredAmountForFeeOnTransferTokens() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        _expectFeeOnTransferSettle(fee, _params("fee", address(fee), DEST, 0, ""));
        vm.assertEq(fee.balanceOf(DEST), 99e6, "destination got the amount after fee");
    }

    /// Pays 100 of `fee` into `p`'s receiver and settles it, expecting `Settled` to report 100 taken from
    /// the receiver and 99 delivered.
    function _expectFeeOnTransferSettle(FeeOnTransferToken fee, DepositParams memory p) internal {
        address receiver = factory.receiverAddress(p);
        fee.mint(receiver, 100e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(fee), IDepositRouter.Outcome.Delivered, 100e6, 99e6, 0
        );
        router.settle(p, address(fee));
    }

    /// A final call in a fee-on-transfer token: `amount` is what left the receiver (the balance that
    /// started the session), `delivered` what the call spent of what reached the executor. Reporting the
    /// executor's side as `amount` left the relayer unable to tell the session's delivery from dust.
    function test_settle_withAFinalCallReportsWhatLeftTheReceiverForFeeOnTransferTokens() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(fee), address(1)));
        _expectFeeOnTransferSettle(fee, _params("fee-call", address(fee), address(target), 0, call));
    }

    /// Fronting a final call in a fee-on-transfer token: `amount` is what the fronter gave (the session's
    /// amount, what it is owed), `delivered` what the call spent of what reached the executor. The relayer
    /// decides the session from `amount`, so reporting the executor's side there would leave a fronted
    /// session short of its own amount.
    function test_fastFinish_withAFinalCallInAFeeOnTransferTokenReportsWhatTheFronterGave() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(fee), address(1)));
        DepositParams memory p = _params("fee-front", address(fee), address(target), 100e6, call);
        fee.mint(RELAYER, 100e6);
        vm.startPrank(RELAYER);
        fee.approve(address(router), 100e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId,
            factory.receiverAddress(p),
            address(fee),
            IDepositRouter.Outcome.Delivered,
            100e6,
            99e6,
            0
        );
        router.fastFinish(p, 100e6);
        vm.stopPrank();
        vm.assertEq(fee.balanceOf(RELAYER), 0, "the fronter gave the amount");
    }

    function test_pull_RevertWhen_callerIsNotTheRouter() public {
        DepositParams memory p = _plain("pull");
        address receiver = _pay(p, 1e6);
        _deploy(p);
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(IDepositReceiver.OnlyRouter.selector, address(0xBAD)));
        IDepositReceiver(receiver).pull(address(usdc), address(0xBAD), 1e6);
    }

    function testFuzz_settle_deliversWhateverArrives(uint256 amount, uint256 later) public {
        amount = bound(amount, 1, 1e30);
        later = bound(later, 0, 1e30);
        DepositParams memory p = _params("fuzz", address(usdc), DEST, 0, "");
        _pay(p, amount);
        router.settle(p, address(usdc));
        if (later != 0) {
            _pay(p, later);
            router.settle(p, address(usdc));
        }
        vm.assertEq(usdc.balanceOf(DEST), amount + later, "everything delivered");
    }

    function testFuzz_settle_arbitraryCalldataEitherDeliversOrBounces(bytes memory call, uint256 amount)
        public
    {
        amount = bound(amount, 1, 1e24);
        DepositParams memory p = _callSession("fuzzcall", address(target), call);
        address receiver = _pay(p, amount);
        router.settle(p, address(usdc));
        vm.assertEq(
            usdc.balanceOf(address(target)) + usdc.balanceOf(REFUND),
            amount,
            "all funds at target or refund address"
        );
        vm.assertEq(usdc.balanceOf(receiver) + usdc.balanceOf(address(router)), 0, "nothing left behind");
        vm.assertLe(target.calls(), 1, "at most one call");
    }
}

contract DepositRouterRefundTest is RouterFixture {
    function test_refund_sendsUnusableTokensAnyTime() public {
        MockERC20 other = new MockERC20();
        DepositParams memory p = _plain("wrong-token");
        address receiver = factory.receiverAddress(p);
        other.mint(receiver, 3e18);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(other), IDepositRouter.Outcome.Refunded, 3e18, 0, 3e18
        );
        router.refund(p, address(other));
        vm.assertEq(other.balanceOf(REFUND), 3e18, "refunded before expiry");
    }

    function test_refund_RevertWhen_usableTokenBeforeExpiry() public {
        DepositParams memory p = _plain("early");
        _pay(p, 1e6);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.NotExpired.selector, EXPIRES));
        router.refund(p, address(usdc));
    }

    function test_refund_sendsUsableTokensAfterExpiry() public {
        DepositParams memory p = _plain("expired");
        _pay(p, 2e6);
        vm.warp(EXPIRES + 1);
        router.refund(p, address(usdc));
        vm.snapshotGasLastCall("DepositRouter", "refund after expiry (deploy+refund)");
        vm.assertEq(usdc.balanceOf(REFUND), 2e6, "refunded");
        vm.assertEq(usdc.balanceOf(DEST), 0, "nothing delivered");
    }

    function test_refund_sendsTheNativeCoin() public {
        DepositParams memory p = _plain("native");
        address receiver = factory.receiverAddress(p);
        vm.deal(receiver, 1 ether);
        router.refund(p, address(0));
        vm.assertEq(REFUND.balance, 1 ether, "native refunded");
    }

    /// No EVM refund address committed (zero): refunds go to the EVM destination, the session's other
    /// committed endpoint here (the refund rule; the liveness tests are in `SecurityLiveness.t.sol`).
    function test_refund_goesToTheDestinationWhenNoEvmRefundAddressIsCommitted() public {
        MockERC20 other = new MockERC20();
        DepositParams memory p = _plain("no-refund-address");
        p.refundAddress = bytes32(0);
        other.mint(factory.receiverAddress(p), 1);
        router.refund(p, address(other));
        vm.assertEq(other.balanceOf(DEST), 1, "refunded to the destination");
    }

    function test_refund_RevertWhen_nothingToRefund() public {
        DepositParams memory p = _plain("nothing");
        vm.warp(EXPIRES + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.NothingToSettle.selector, factory.receiverAddress(p), address(usdc)
            )
        );
        router.refund(p, address(usdc));
    }

    function testFuzz_refund_ofUsableTokenOnlyAfterExpiry(uint64 expiresAt, uint64 at) public {
        expiresAt = uint64(bound(expiresAt, 1, type(uint64).max - 1));
        at = uint64(bound(at, 1, type(uint64).max));
        DepositParams memory p = _plain("fuzz-expiry");
        p.expiresAt = expiresAt;
        _pay(p, 1e6);
        vm.warp(at);
        if (at <= expiresAt) {
            vm.expectRevert(abi.encodeWithSelector(IDepositRouter.NotExpired.selector, expiresAt));
            router.refund(p, address(usdc));
        } else {
            router.refund(p, address(usdc));
            vm.assertEq(usdc.balanceOf(REFUND), 1e6, "refunded after expiry");
        }
    }
}

contract DepositRouterFastFinishTest is RouterFixture {
    PullAllowanceTarget internal target;

    function setUp() public override {
        super.setUp();
        target = new PullAllowanceTarget();
        usdc.mint(RELAYER, 1_000e6);
        vm.prank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
    }

    function test_fastFinish_deliversRelayerFundsAndRecordsWhoFronted() public {
        DepositParams memory p = _plain("fast");
        address receiver = factory.receiverAddress(p);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.FastFinished(p.sessionId, receiver, RELAYER, 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Delivered, 10e6, 10e6, 0
        );
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.snapshotGasLastCall("DepositRouter", "fastFinish plain");

        vm.assertEq(usdc.balanceOf(DEST), 10e6, "delivered now");
        IDepositRouter.SessionState memory s = router.sessionState(_hash(p));
        vm.assertEq(s.fronter, RELAYER, "fronter recorded");
        vm.assertEq(s.fronted, 10e6, "amount recorded");
    }

    function test_fastFinish_RevertWhen_alreadyFronted() public {
        DepositParams memory p = _plain("twice");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.AlreadyStarted.selector, _hash(p)));
        router.fastFinish(p, 10e6);
    }

    function test_fastFinish_RevertWhen_alreadySettled() public {
        DepositParams memory p = _plain("settled");
        _pay(p, 10e6);
        router.settle(p, address(usdc));
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.AlreadyStarted.selector, _hash(p)));
        router.fastFinish(p, 10e6);
    }

    function test_fastFinish_RevertWhen_openAmount() public {
        DepositParams memory p = _params("open", address(usdc), DEST, 0, "");
        vm.prank(RELAYER);
        vm.expectRevert(IDepositRouter.CannotFrontOpenAmount.selector);
        router.fastFinish(p, 10e6);
    }

    function test_claim_repaysTheFrontingRelayerExactlyOnce() public {
        DepositParams memory p = _plain("claim");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        address receiver = _pay(p, 10e6); // the bridged funds arrive

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Repaid(p.sessionId, receiver, RELAYER, 10e6, 0);
        router.claim(p);
        vm.snapshotGasLastCall("DepositRouter", "claim (deploy+repay)");
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "relayer made whole");
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "destination paid once");
        vm.assertEq(router.sessionState(_hash(p)).owed, 0, "nothing owed any more");

        _pay(p, 2e6); // a later deposit is delivered, never repaid again
        router.claim(p);
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "no second repayment");
        vm.assertEq(usdc.balanceOf(DEST), 12e6, "later deposit delivered");
    }

    function test_claim_deliversSurplusAboveTheFrontedAmount() public {
        DepositParams memory p = _plain("surplus");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        _pay(p, 11e6);
        router.claim(p);
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "repaid exactly what it fronted");
        vm.assertEq(usdc.balanceOf(DEST), 11e6, "surplus delivered");
    }

    function test_claim_repaysWhatArrivedAndKeepsTheShortfallOwed() public {
        DepositParams memory p = _plain("short");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        address receiver = _pay(p, 9e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Repaid(p.sessionId, receiver, RELAYER, 9e6, 1e6);
        router.claim(p);
        vm.assertEq(usdc.balanceOf(RELAYER), 999e6, "repaid what arrived");
        vm.assertEq(router.sessionState(_hash(p)).owed, 1e6, "shortfall stays owed");

        _pay(p, 3e6); // a top-up: the fronter first, the rest delivered
        router.claim(p);
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "made whole from the top-up");
        vm.assertEq(usdc.balanceOf(DEST), 12e6, "rest of the top-up delivered");
    }

    function test_claim_deliversWhenNobodyFronted() public {
        DepositParams memory p = _plain("no-front");
        _pay(p, 10e6);
        router.claim(p);
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "delivered");
    }

    function test_settle_repaysTheFronterBeforeDelivering() public {
        DepositParams memory p = _plain("settle-repays");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        _pay(p, 10e6);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "settle cannot skip the repayment");
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "no double delivery");
    }

    function test_refund_afterExpiryRepaysTheFronterThenRefundsTheRest() public {
        DepositParams memory p = _plain("owed");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        _pay(p, 13e6);
        vm.warp(EXPIRES + 1);
        router.refund(p, address(usdc));
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "the fronter's share repaid, not refunded");
        vm.assertEq(usdc.balanceOf(REFUND), 3e6, "only the surplus refunded");
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "delivered once, by the fronter");
    }

    function test_fastFinish_withCall_thenClaim_neverRunsTheCallTwice() public {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), address(0xA11CE)));
        DepositParams memory p = _params("fast-call", address(usdc), address(target), 10e6, call);
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.assertEq(target.credited(address(0xA11CE)), 10e6, "call ran with fronted funds");

        _pay(p, 12e6);
        router.claim(p);
        vm.assertEq(target.calls(), 1, "call ran once");
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "relayer repaid");
        vm.assertEq(usdc.balanceOf(REFUND), 2e6, "surplus of a calldata session refunded");
    }
}
