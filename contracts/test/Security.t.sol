// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../src/DepositRouter.sol";
import {ReceiverFactory} from "../src/ReceiverFactory.sol";
import {CCTPv2Adapter} from "../src/bridges/CCTPv2Adapter.sol";
import {LocalTokenMessenger} from "../src/devnet/LocalCCTP.sol";
import {TestUSDC} from "../src/devnet/TestUSDC.sol";
import {ICallExecutor} from "../src/interfaces/ICallExecutor.sol";
import {IDepositReceiver} from "../src/interfaces/IDepositReceiver.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {IReceiverFactory} from "../src/interfaces/IReceiverFactory.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {GasHungryTarget, GiftingTarget, HookTarget, Relay} from "./mocks/Attackers.sol";
import {PullAllowanceTarget} from "./mocks/Targets.sol";
import {MockERC20} from "./mocks/Tokens.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";

/// @notice The security review's findings, each as the attacker would try it. Every test here failed on the
/// contracts before the fix (see the closing note of the issue) and must keep failing the attack.
contract SecurityTest is RouterFixture {
    uint256 internal constant OTHER_CHAIN = 42161;
    address internal constant ATTACKER = address(0xA77AC4);

    TestUSDC internal usdcOther;
    CCTPv2Adapter internal adapter;
    PullAllowanceTarget internal target;

    /// A CCTP adapter with a route from this chain's USDC to `usdcOther` on `OTHER_CHAIN`.
    function _adapters() internal override returns (address[] memory list) {
        usdcOther = new TestUSDC();
        LocalTokenMessenger messenger = new LocalTokenMessenger(usdc, 6, vm.addr(0xA77E57));
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](2);
        routes[0] =
            CCTPv2Adapter.Route(block.chainid, bytes32(uint256(uint160(address(usdc)))), 6, bytes32(0));
        routes[1] =
            CCTPv2Adapter.Route(OTHER_CHAIN, bytes32(uint256(uint160(address(usdcOther)))), 3, bytes32(0));
        adapter = new CCTPv2Adapter(messenger, routes, 100, 30 minutes);
        list = new address[](1);
        list[0] = address(adapter);
    }

    function setUp() public override {
        super.setUp();
        target = new PullAllowanceTarget();
        usdc.mint(RELAYER, 1_000e6);
        vm.prank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
    }

    // ---------------------------------------------------------------- helpers

    function _session(bytes32 id, address to, uint256 amount, bytes memory call)
        internal
        view
        returns (DepositParams memory)
    {
        return _params(id, address(usdc), to, amount, call);
    }

    /// A session paid here (the source chain) for USDC on `OTHER_CHAIN`.
    function _sourceSession(bytes32 id, uint256 amount) internal view returns (DepositParams memory p) {
        p = _session(id, DEST, amount, "");
        p.toChainId = OTHER_CHAIN;
        p.toToken = _b32(address(usdcOther));
    }

    function _receiver(DepositParams memory p) internal view returns (address) {
        return factory.receiverAddress(p);
    }

    /// A victim session that was settled once (so its receiver has code) and then received a second,
    /// larger deposit that now waits in it: the state the reviewer's drain needs.
    function _victimHolding(uint256 amount) internal returns (DepositParams memory victim, address receiver) {
        victim = _session("victim", DEST, 0, "");
        receiver = _receiver(victim);
        usdc.mint(receiver, 1);
        router.settle(victim, address(usdc));
        usdc.mint(receiver, amount);
        vm.deal(receiver, 1 ether);
    }

    /// The attacker's own session: target and call of its choosing, paid 1 unit, settled by the attacker.
    function _attack(bytes32 id, address to, bytes memory call) internal returns (DepositParams memory p) {
        p = _session(id, to, 0, call);
        usdc.mint(_receiver(p), 1);
        vm.prank(ATTACKER);
        router.settle(p, address(usdc));
    }

    // ------------------------------------- 1. the final call cannot drain any other receiver

    /// The reviewer's exact attack: target = the victim's receiver, call = pull(token, attacker, amount).
    function test_attack_finalCallTargetingAnotherReceiverCannotPullFromIt() public {
        (, address victimReceiver) = _victimHolding(100e6);
        bytes memory pull = abi.encodeCall(IDepositReceiver.pull, (address(usdc), ATTACKER, 100e6));
        DepositParams memory p = _session("drain", victimReceiver, 0, pull);
        address attackerReceiver = _receiver(p);
        usdc.mint(attackerReceiver, 1);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, attackerReceiver, address(usdc), IDepositRouter.Outcome.Bounced, 1, 0, 1
        );
        vm.prank(ATTACKER);
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(victimReceiver), 100e6, "victim receiver untouched");
        vm.assertEq(usdc.balanceOf(ATTACKER), 0, "attacker got nothing");
        vm.assertEq(usdc.balanceOf(REFUND), 1, "the attacker's own unit bounced to its refund address");
    }

    /// The same drain through a contract of the attacker's (an allowed target), so the refusal list is not
    /// what stops it: the call runs from the session's executor, which no receiver obeys.
    function test_attack_finalCallRelayingAPullToAnotherReceiverFails_erc20AndNative() public {
        (, address victimReceiver) = _victimHolding(100e6);
        Relay relay = new Relay();
        relay.arm(victimReceiver, abi.encodeCall(IDepositReceiver.pull, (address(usdc), ATTACKER, 100e6)));
        relay.arm(victimReceiver, abi.encodeCall(IDepositReceiver.pull, (address(0), ATTACKER, 1 ether)));
        _attack("relay", address(relay), abi.encodeCall(Relay.run, ()));

        vm.assertEq(relay.attempted(), 2, "the attacker's code ran");
        vm.assertEq(relay.succeeded(), 0, "no pull obeyed");
        vm.assertEq(usdc.balanceOf(victimReceiver), 100e6, "victim's tokens untouched");
        vm.assertEq(victimReceiver.balance, 1 ether, "victim's native coin untouched");
        vm.assertEq(ATTACKER.balance, 0, "attacker got no native coin");
    }

    /// On the destination chain, the bridged funds that repay a fronting relayer sit in a deployed receiver
    /// (after a partial claim); the attacker's call cannot take them.
    function test_attack_finalCallCannotStealAFronterRepayment() public {
        DepositParams memory victim = _session("fronted", DEST, 10e6, "");
        address receiver = _receiver(victim);
        vm.prank(RELAYER);
        router.fastFinish(victim, 10e6);
        usdc.mint(receiver, 4e6); // first part of the bridged funds
        router.claim(victim); // deploys the receiver, repays 4, 6 still owed
        usdc.mint(receiver, 6e6); // the rest arrives

        Relay relay = new Relay();
        relay.arm(receiver, abi.encodeCall(IDepositReceiver.pull, (address(usdc), ATTACKER, 6e6)));
        _attack("steal-repay", address(relay), abi.encodeCall(Relay.run, ()));
        vm.assertEq(relay.succeeded(), 0, "pull refused");

        router.claim(victim);
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "fronter fully repaid");
        vm.assertEq(usdc.balanceOf(ATTACKER), 0, "attacker got nothing");
    }

    /// The call cannot reach anything that obeys the router either: not the factory, not an executor.
    function test_attack_finalCallCannotUseTheFactoryOrAnotherExecutor() public {
        DepositParams memory victim = _session("victim-call", address(target), 0, hex"");
        bytes32 victimHash = _hash(victim);
        Relay relay = new Relay();
        relay.arm(address(factory), abi.encodeCall(IReceiverFactory.deploy, (victimHash)));
        relay.arm(
            address(router.executorImplementation()),
            abi.encodeCall(ICallExecutor.execute, (address(usdc), ATTACKER, "", ATTACKER, 1))
        );
        _attack("reach", address(relay), abi.encodeCall(Relay.run, ()));
        vm.assertEq(relay.succeeded(), 0, "neither obeyed the executor");
        vm.assertEq(_receiver(victim).code.length, 0, "no receiver deployed for someone else");
    }

    /// Every refused target: the token itself, the router, the factory, the executor implementation, the
    /// receiver implementation, an allow-listed adapter, a deployed receiver and an executor clone. The
    /// session bounces to its refund address without any call, and nothing else moves.
    function test_finalCall_refusedTargetsBounceWithoutACall() public {
        (, address victimReceiver) = _victimHolding(50e6);
        DepositParams memory ran =
            _session("ran", address(target), 0, abi.encodeCall(target.deposit, (address(usdc), DEST)));
        usdc.mint(_receiver(ran), 1);
        router.settle(ran, address(usdc));
        address executorClone = router.executorOf(_hash(ran));
        vm.assertTrue(executorClone.code.length != 0, "an executor clone exists");

        address[8] memory refused = [
            address(usdc),
            address(router),
            address(factory),
            address(router.executorImplementation()),
            factory.implementation(),
            address(adapter),
            victimReceiver,
            executorClone
        ];
        for (uint256 i; i < refused.length; ++i) {
            vm.assertFalse(router.isAllowedTarget(refused[i], address(usdc)), "target must be refused");
            bytes memory call =
                abi.encodeWithSignature("approve(address,uint256)", ATTACKER, type(uint256).max);
            DepositParams memory p = _session(bytes32(i + 100), refused[i], 0, call);
            address receiver = _receiver(p);
            usdc.mint(receiver, 7);
            uint256 refundBefore = usdc.balanceOf(REFUND);
            vm.expectEmit(true, true, true, true);
            emit IDepositRouter.Settled(
                p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Bounced, 7, 0, 7
            );
            router.settle(p, address(usdc));
            vm.assertEq(usdc.balanceOf(REFUND) - refundBefore, 7, "bounced");
            vm.assertEq(router.executorOf(_hash(p)).code.length, 0, "no executor: nothing was called");
            vm.assertTrue(router.sessionState(_hash(p)).callExecuted, "the call is consumed");
        }
        vm.assertEq(usdc.balanceOf(victimReceiver), 50e6, "victim untouched");
        vm.assertTrue(router.isAllowedTarget(address(target), address(usdc)), "an ordinary target is allowed");
    }

    /// A target without code cannot do anything with the approval: the session bounces instead of
    /// reporting a delivery of nothing.
    function test_finalCall_targetWithoutCodeBounces() public {
        DepositParams memory p = _session("no-code", address(0xC0FFEE), 0, hex"12345678");
        address receiver = _receiver(p);
        usdc.mint(receiver, 5e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Bounced, 5e6, 0, 5e6
        );
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(REFUND), 5e6, "bounced");
    }

    /// A target that sends tokens into its executor instead of pulling: the settle still completes (all to
    /// the refund address, nothing reported as delivered) rather than reverting and leaving the deposit stuck.
    function test_finalCall_targetSendingTokensToTheExecutorStillSettles() public {
        GiftingTarget gifting = new GiftingTarget();
        usdc.mint(address(gifting), 1e6);
        DepositParams memory p =
            _session("gift", address(gifting), 0, abi.encodeCall(gifting.gift, (address(usdc), 1e6)));
        address receiver = _receiver(p);
        usdc.mint(receiver, 5e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, receiver, address(usdc), IDepositRouter.Outcome.Delivered, 5e6, 0, 6e6
        );
        router.settle(p, address(usdc));
        vm.assertEq(
            usdc.balanceOf(REFUND), 6e6, "the session's funds and the gift went to the refund address"
        );
        vm.assertEq(usdc.balanceOf(receiver), 0, "nothing stuck");
    }

    // ------------------------------- 2. a wrong fronting cannot burn a calldata session's call

    function test_attack_oneWeiFastFinishCannotBurnTheCall() public {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), address(0xA11CE)));
        DepositParams memory p = _session("burn-call", address(target), 10e6, call);
        usdc.mint(ATTACKER, 1);
        vm.startPrank(ATTACKER);
        usdc.approve(address(router), 1);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.WrongFrontAmount.selector, 1, 10e6));
        router.fastFinish(p, 1);
        vm.stopPrank();
        vm.assertFalse(router.sessionState(_hash(p)).callExecuted, "call not consumed");

        usdc.mint(_receiver(p), 10e6);
        router.settle(p, address(usdc));
        vm.assertEq(target.credited(address(0xA11CE)), 10e6, "the real deposit runs the call in full");
    }

    function test_attack_openAmountSessionCannotBeFronted() public {
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), address(0xA11CE)));
        vm.startPrank(RELAYER);
        vm.expectRevert(IDepositRouter.CannotFrontOpenAmount.selector);
        router.fastFinish(_session("open-call", address(target), 0, call), 1);
        vm.expectRevert(IDepositRouter.CannotFrontOpenAmount.selector);
        router.fastFinish(_session("open-plain", DEST, 0, ""), 1_000e6);
        vm.stopPrank();
    }

    function testFuzz_fastFinish_onlyTheCommittedAmount(uint256 committed, uint256 fronted) public {
        committed = bound(committed, 1, 1_000e6);
        fronted = bound(fronted, 0, 2_000e6);
        DepositParams memory p = _session("fuzz-front", DEST, committed, "");
        vm.prank(RELAYER);
        if (fronted != committed) {
            vm.expectRevert(
                abi.encodeWithSelector(IDepositRouter.WrongFrontAmount.selector, fronted, committed)
            );
            router.fastFinish(p, fronted);
        } else {
            router.fastFinish(p, fronted);
            vm.assertEq(router.sessionState(_hash(p)).owed, committed, "owed what it fronted");
        }
    }

    // ------------------------ 3. a shortfall is the fronter's; nothing is ever locked by one

    /// A third party bridges with the highest fee the adapter allows, so less arrives than the honest
    /// relayer fronted. Claim repays what arrived; nothing is locked; after expiry everything above the debt
    /// is refunded and the payer's top-up repays the fronter first.
    function test_attack_maxFeeBridgeLeavesTheFronterShortButLocksNothing() public {
        DepositParams memory p = _session("short", DEST, 100e6, "");
        address receiver = _receiver(p);
        vm.prank(RELAYER);
        router.fastFinish(p, 100e6);
        usdc.mint(receiver, 99e6); // arrived after a 1% fee
        router.claim(p);
        vm.assertEq(usdc.balanceOf(RELAYER), 999e6, "repaid what arrived");
        vm.assertEq(router.sessionState(_hash(p)).owed, 1e6, "shortfall stays the fronter's");

        vm.warp(EXPIRES + 1);
        usdc.mint(receiver, 5e6); // the payer sends more, late
        router.refund(p, address(usdc));
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "the late money first covers the committed amount");
        vm.assertEq(usdc.balanceOf(REFUND), 4e6, "the rest is refunded, not held for the fronter");
        vm.assertEq(usdc.balanceOf(DEST), 100e6, "destination paid exactly once");
    }

    /// The full bridged path with a real adapter and the devnet messenger charging the maximum fee.
    function test_attack_maxFeeBridgeOnTheRealAdapterPath() public {
        DepositParams memory p = _sourceSession("max-fee", 50e6);
        usdc.mint(_receiver(p), 50e6);
        // 1% is this adapter's cap: the attacker asks for all of it, with fast finality.
        vm.prank(ATTACKER);
        router.bridge(p, address(usdc), address(adapter), abi.encode(uint256(0.5e6), uint32(1000)));
        vm.assertEq(usdc.balanceOf(_receiver(p)), 0, "bridged");
    }

    function test_claim_neverRevertsForLackOfFundsWhileOwed() public {
        DepositParams memory p = _session("partial", DEST, 10e6, "");
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        for (uint256 i; i < 10; ++i) {
            usdc.mint(_receiver(p), 1e6);
            router.claim(p);
        }
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "repaid in ten parts");
        vm.assertEq(router.sessionState(_hash(p)).owed, 0, "debt cleared");
    }

    // -------------------------------------------------------- 4. no standing approvals

    /// Final call to the token itself: refused, so nothing ever holds an approval from the router or an
    /// executor for the session's token.
    function test_attack_finalCallApprovingTheSessionTokenGrantsNothing() public {
        bytes memory call = abi.encodeWithSignature("approve(address,uint256)", ATTACKER, type(uint256).max);
        DepositParams memory p = _attack("approve", address(usdc), call);
        vm.assertEq(usdc.allowance(address(router), ATTACKER), 0, "router granted nothing");
        vm.assertEq(usdc.allowance(router.executorOf(_hash(p)), ATTACKER), 0, "executor granted nothing");
    }

    /// The cross-token variant the refusal list cannot catch: session A (USDC) calls token B's `approve`, so
    /// A's executor grants the attacker an allowance on B. Session B then pays its B tokens into a victim
    /// target that hands control to the attacker mid-call. The allowance is worthless: A's executor never
    /// holds anything again, and B's executor granted nothing.
    function test_attack_standingApprovalFromAnotherSessionCannotBeUsed() public {
        MockERC20 tokenB = new MockERC20();
        bytes memory approveCall =
            abi.encodeWithSignature("approve(address,uint256)", ATTACKER, type(uint256).max);
        DepositParams memory a = _attack("approve-B", address(tokenB), approveCall);
        address executorA = router.executorOf(_hash(a));
        vm.assertEq(tokenB.allowance(executorA, ATTACKER), type(uint256).max, "the approval was granted");

        HookTarget victim = new HookTarget();
        DepositParams memory b = _session("victim-B", address(victim), 0, "");
        b.toToken = _b32(address(tokenB));
        address executorB = router.executorOf(keccak256(abi.encode(b)));
        // The attacker's hook, run while B's funds sit in B's executor, tries every allowance it could hold.
        Relay hook = new Relay();
        hook.arm(
            address(tokenB),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", executorA, ATTACKER, 1e18)
        );
        hook.arm(
            address(tokenB),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", executorB, ATTACKER, 1e18)
        );
        hook.arm(
            address(tokenB),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", address(router), ATTACKER, 1e18)
        );
        b.finalCall = abi.encodeCall(HookTarget.deposit, (address(tokenB), address(hook)));
        tokenB.mint(factory.receiverAddress(b), 1e18);
        router.settle(b, address(tokenB));

        vm.assertEq(hook.attempted(), 3, "the attacker had control mid-call");
        vm.assertEq(hook.succeeded(), 0, "no allowance usable");
        vm.assertEq(tokenB.balanceOf(ATTACKER), 0, "attacker got nothing");
        vm.assertEq(victim.received(address(tokenB)), 1e18, "the victim target got the session's funds");
    }

    // ------------------------------- 5. a permissionless deploy does not turn off fast finishing

    function test_attack_deployingTheReceiverDirectlyIsRefused() public {
        DepositParams memory p = _session("deploy", DEST, 10e6, "");
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IReceiverFactory.OnlyRouter.selector, ATTACKER));
        factory.deploy(_hash(p));
    }

    function test_attack_junkRefundDeployDoesNotBlockFastFinish() public {
        DepositParams memory p = _session("grief", DEST, 10e6, "");
        MockERC20 junk = new MockERC20();
        junk.mint(_receiver(p), 1);
        vm.prank(ATTACKER);
        router.refund(p, address(junk)); // deploys the receiver
        vm.assertTrue(_receiver(p).code.length != 0, "receiver deployed by the griefer");

        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.assertEq(usdc.balanceOf(DEST), 10e6, "fronting still works");
    }

    function test_fastFinish_RevertWhen_aDeliveryStartedAfterAnIdleDeploy() public {
        DepositParams memory p = _session("idle-then-settle", DEST, 10e6, "");
        MockERC20 junk = new MockERC20();
        junk.mint(_receiver(p), 1);
        router.refund(p, address(junk));
        usdc.mint(_receiver(p), 10e6);
        router.settle(p, address(usdc));
        vm.assertFalse(router.sessionState(_hash(p)).receiverIdle, "the settle started the session");
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.AlreadyStarted.selector, _hash(p)));
        router.fastFinish(p, 10e6);
    }

    // ---------------------- 6. a large committed finalCall cannot be used to starve the call

    /// With about 120 KB of `finalCall`, memory expansion used to eat the gas margin between the check and
    /// the call. Walk the gas limit through the whole range where the check and the call are close: every
    /// attempt must either revert with the session untouched or give the call its full budget.
    function test_attack_largeFinalCallCannotBeStarvedIntoABounce() public {
        GasHungryTarget hungry = new GasHungryTarget();
        bytes memory call = abi.encodeCall(GasHungryTarget.run, (address(usdc), new bytes(120_000)));
        DepositParams memory p = _session("big", address(hungry), 0, call);
        address receiver = _receiver(p);
        usdc.mint(receiver, 10e6);
        bytes memory settleCall = abi.encodeCall(router.settle, (p, address(usdc)));

        uint256 reverted;
        for (uint256 g = 1_000_000; g <= 1_400_000; g += 4_000) {
            uint256 snap = vm.snapshotState();
            (bool ok,) = address(router).call{gas: g}(settleCall);
            if (ok) {
                vm.assertEq(hungry.calls(), 1, "a settle that succeeds ran the call with its full budget");
                vm.assertEq(usdc.balanceOf(REFUND), 0, "never a forced bounce");
            } else {
                ++reverted;
                vm.assertEq(usdc.balanceOf(receiver), 10e6, "a reverted settle leaves the deposit");
            }
            vm.revertToState(snap);
        }
        vm.assertTrue(reverted > 0, "the range reaches below the call's budget");
        router.settle(p, address(usdc));
        vm.assertEq(hungry.calls(), 1, "with enough gas it delivers");
    }

    // ------------------------------------------------------------------ 7. one expiry rule

    function test_expiry_nothingStartsAfterExpiry() public {
        DepositParams memory p = _session("expired", DEST, 10e6, "");
        usdc.mint(_receiver(p), 10e6);
        vm.warp(EXPIRES + 1);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.Expired.selector, EXPIRES));
        router.settle(p, address(usdc));
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.Expired.selector, EXPIRES));
        router.fastFinish(p, 10e6);

        DepositParams memory src = _sourceSession("expired-src", 10e6);
        usdc.mint(_receiver(src), 10e6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.TooLateToBridge.selector, block.timestamp + 30 minutes, EXPIRES
            )
        );
        router.bridge(src, address(usdc), address(adapter), "");
        router.refund(src, address(usdc));
        vm.assertEq(usdc.balanceOf(REFUND), 10e6, "source-chain funds refunded on the source chain");
    }

    /// A fronter cannot pre-empt a refund: after expiry nobody can front, so the deposit is refunded.
    function test_attack_fronterCannotPreemptARefund() public {
        DepositParams memory p = _session("preempt", DEST, 10e6, "");
        usdc.mint(_receiver(p), 10e6);
        vm.warp(EXPIRES + 1);
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.Expired.selector, EXPIRES));
        router.fastFinish(p, 10e6);
        router.refund(p, address(usdc));
        vm.assertEq(usdc.balanceOf(REFUND), 10e6, "refunded");
        vm.assertEq(usdc.balanceOf(RELAYER), 1_000e6, "fronter neither paid nor gained");
    }

    function test_bridge_RevertWhen_fundsCouldArriveAfterExpiry() public {
        DepositParams memory p = _sourceSession("late-bridge", 10e6);
        usdc.mint(_receiver(p), 10e6);
        vm.warp(EXPIRES - 30 minutes + 1);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.TooLateToBridge.selector, EXPIRES + 1, EXPIRES));
        router.bridge(p, address(usdc), address(adapter), "");
        vm.warp(EXPIRES - 30 minutes);
        router.bridge(p, address(usdc), address(adapter), "");
    }

    /// Tokens sent to the router by a stranger neither block a bridge (an accounting underflow) nor join
    /// the session's transfer.
    function test_attack_donationToTheRouterNeitherBlocksNorJoinsABridge() public {
        DepositParams memory p = _sourceSession("donation", 10e6);
        usdc.mint(address(router), 50e6);
        usdc.mint(_receiver(p), 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Bridged(
            p.sessionId, _receiver(p), address(usdc), address(adapter), OTHER_CHAIN, _receiver(p), 10e6
        );
        router.bridge(p, address(usdc), address(adapter), "");
        vm.assertEq(usdc.balanceOf(address(router)), 50e6, "the donation stayed where it was");
    }

    // --------------------------------------- 8. bridge only to the session's destination token

    function test_attack_bridgeToATokenTheSessionCannotUseIsRefusedAndRefundedAtSource() public {
        DepositParams memory p = _session("wrong-dst-token", DEST, 10e6, "");
        p.toChainId = OTHER_CHAIN;
        p.toToken = _b32(address(0xDA1)); // not what the CCTP route mints there
        usdc.mint(_receiver(p), 10e6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AdapterUnsupported.selector, address(adapter), address(usdc), OTHER_CHAIN
            )
        );
        router.bridge(p, address(usdc), address(adapter), "");
        router.refund(p, address(usdc)); // unusable here: refundable at once, on the source chain
        vm.assertEq(usdc.balanceOf(REFUND), 10e6, "refunded on the source chain");
    }

    /// Liveness with a malformed commitment: a destination token that is no EVM address on this chain cannot
    /// make refunds revert; whatever is paid in goes back at once.
    function test_refund_worksWhenTheDestinationTokenIsNoEvmAddress() public {
        DepositParams memory p = _session("non-evm-token", DEST, 10e6, "");
        p.toToken = bytes32(type(uint256).max);
        usdc.mint(_receiver(p), 10e6);
        router.refund(p, address(usdc));
        vm.assertEq(usdc.balanceOf(REFUND), 10e6, "refunded before expiry: the token is unusable here");
    }

    // ------------------------------------------------------------------------ 9. smaller

    function test_adapter_RevertWhen_feeCapAboveWhole() public {
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](0);
        LocalTokenMessenger messenger = LocalTokenMessenger(address(adapter.messenger()));
        vm.expectRevert(abi.encodeWithSelector(CCTPv2Adapter.FeeCapAboveWhole.selector, 10_001));
        new CCTPv2Adapter(messenger, routes, 10_001, 0);
    }
}
