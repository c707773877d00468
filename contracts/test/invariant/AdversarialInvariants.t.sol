// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../../src/DepositRouter.sol";
import {ReceiverFactory} from "../../src/ReceiverFactory.sol";
import {CCTPv2Adapter} from "../../src/bridges/CCTPv2Adapter.sol";
import {LocalTokenMessenger} from "../../src/devnet/LocalCCTP.sol";
import {TestUSDC} from "../../src/devnet/TestUSDC.sol";
import {ICallExecutor} from "../../src/interfaces/ICallExecutor.sol";
import {IDepositReceiver} from "../../src/interfaces/IDepositReceiver.sol";
import {IReceiverFactory} from "../../src/interfaces/IReceiverFactory.sol";
import {DepositParams} from "../../src/libraries/DepositParamsLib.sol";
import {HookTarget, Relay} from "../mocks/Attackers.sol";
import {PullAllowanceTarget, RevertingTarget} from "../mocks/Targets.sol";
import {FeeOnTransferToken, MockERC20} from "../mocks/Tokens.sol";
import {Destinations} from "../utils/Destinations.sol";
import {TestBase} from "../utils/TestBase.sol";
import {Vm} from "../utils/Vm.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice Drives random sequences of honest and hostile actions over victim sessions of every kind and
/// an attacker's own sessions, and keeps its own books (ghost variables measured from balances, never the
/// router's flags): what was paid into each session, fronted for it, repaid from it, bridged out of it.
///
/// Victim sessions (destination = this chain unless noted), each with its own destination and refund
/// address so that any cross-session leak shows up as money at the wrong address:
///   0 plain, open, USDC              1 plain, 5 USDC                 2 call (pulls all), 5 USDC
///   3 call (pulls half), 5 USDC      4 call (reverts), 5 USDC        5 plain, 5 FEE (fee-on-transfer)
///   6 call through a target that hands control to the attacker's relay, 5 FEE
///   7 call (pulls all), open, USDC   8 source side: to USDC on another chain (bridgeable), 5 USDC
///   9 source side: to a token no route delivers (unusable here)
/// Attacker sessions (USDC, open): final calls at another receiver (pull), the token (approve), the FEE
/// token (approve: the cross-token standing approval), the relay, the router, the adapter, the factory and
/// the executor implementation.
contract AdversarialHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 public constant VICTIMS = 10;
    uint256 public constant ATTACKS = 8;
    uint256 public constant SESSIONS = VICTIMS + ATTACKS;
    uint256 public constant OTHER_CHAIN = 42161;
    uint256 public constant RELAYER_FUNDS = 1e15;
    address public constant RELAYER = address(0x5E1A);
    address public constant ATTACKER = address(0xA77AC4);
    address public constant ATTACKER_REFUND = address(0xA77AC5);

    DepositRouter public immutable router;
    ReceiverFactory public immutable factory;
    CCTPv2Adapter public immutable adapter;
    TestUSDC public immutable usdc;
    FeeOnTransferToken public immutable fee;
    MockERC20 public immutable junk;
    TestUSDC public immutable usdcOther;
    PullAllowanceTarget public immutable target;
    RevertingTarget public immutable reverting;
    HookTarget public immutable hookTarget;
    Relay public immutable relay;

    DepositParams[] internal _sessions;
    address[] internal _receivers;
    address[] internal _executors;

    // Ghost books, per session and token (0 USDC, 1 FEE, 2 junk, 3 native).
    mapping(uint256 => mapping(uint256 => uint256)) public paid;
    mapping(uint256 => mapping(uint256 => uint256)) public fronted;
    mapping(uint256 => mapping(uint256 => uint256)) public repaid;
    mapping(uint256 => uint256) public bridgedOut;
    uint256 public attackerPaid;
    uint256 public donatedToRouter;
    bool public directDeploySucceeded;
    bool public relayerLostFunds;

    constructor(DepositRouter router_, CCTPv2Adapter adapter_, TestUSDC usdc_, TestUSDC usdcOther_) {
        router = router_;
        factory = ReceiverFactory(address(router_.factory()));
        adapter = adapter_;
        usdc = usdc_;
        usdcOther = usdcOther_;
        fee = new FeeOnTransferToken();
        junk = new MockERC20();
        target = new PullAllowanceTarget();
        reverting = new RevertingTarget();
        hookTarget = new HookTarget();
        relay = new Relay();

        usdc.mint(RELAYER, RELAYER_FUNDS);
        fee.mint(RELAYER, RELAYER_FUNDS);
        vm.startPrank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
        fee.approve(address(router), type(uint256).max);
        vm.stopPrank();

        for (uint256 i; i < VICTIMS; ++i) {
            _sessions.push(_victim(i));
        }
        for (uint256 i; i < ATTACKS; ++i) {
            _sessions.push(_attack(i));
        }
        for (uint256 i; i < SESSIONS; ++i) {
            bytes32 h = keccak256(abi.encode(_sessions[i]));
            _receivers.push(factory.receiverAddressOf(h));
            _executors.push(router.executorOf(h));
        }
        _armRelay();
    }

    // ------------------------------------------------------------------------- sessions

    function destination(uint256 i) public pure returns (address) {
        return address(uint160(0xD000 + i));
    }

    function refundAddress(uint256 i) public pure returns (address) {
        return i < VICTIMS ? address(uint160(0xF000 + i)) : ATTACKER_REFUND;
    }

    function beneficiary(uint256 i) public pure returns (address) {
        return address(uint160(0xB000 + i));
    }

    function _b32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function _base(uint256 i, address token, address to, uint256 amount, bytes memory call)
        internal
        view
        returns (DepositParams memory)
    {
        return DepositParams({
            sessionId: bytes32(i + 1),
            toChainId: block.chainid,
            toToken: _b32(token),
            toAddress: _b32(to),
            amount: amount,
            minAmount: 0,
            finalCall: call,
            refundAddress: _b32(refundAddress(i)),
            solanaRefundAddress: bytes32(0),
            expiresAt: uint64(block.timestamp + 1 days)
        });
    }

    function _victim(uint256 i) internal view returns (DepositParams memory p) {
        address u = address(usdc);
        bytes memory pullAll = abi.encodeCall(PullAllowanceTarget.deposit, (u, beneficiary(i)));
        if (i == 0) return _base(i, u, destination(i), 0, "");
        if (i == 1) return _base(i, u, destination(i), 5e6, "");
        if (i == 2) return _base(i, u, address(target), 5e6, pullAll);
        if (i == 3) {
            return _base(
                i,
                u,
                address(target),
                5e6,
                abi.encodeCall(PullAllowanceTarget.depositHalf, (u, beneficiary(i)))
            );
        }
        if (i == 4) {
            return _base(
                i, u, address(reverting), 5e6, abi.encodeCall(RevertingTarget.deposit, (u, beneficiary(i)))
            );
        }
        if (i == 5) return _base(i, address(fee), destination(i), 5e6, "");
        if (i == 6) {
            return _base(
                i,
                address(fee),
                address(hookTarget),
                5e6,
                abi.encodeCall(HookTarget.deposit, (address(fee), address(relay)))
            );
        }
        if (i == 7) return _base(i, u, address(target), 0, pullAll);
        p = _base(i, address(usdcOther), destination(i), 5e6, "");
        p.toChainId = OTHER_CHAIN;
        if (i == 9) p.toToken = _b32(address(0xDA1));
    }

    function _attack(uint256 k) internal view returns (DepositParams memory p) {
        uint256 i = VICTIMS + k;
        address u = address(usdc);
        bytes memory approveMax =
            abi.encodeWithSignature("approve(address,uint256)", ATTACKER, type(uint256).max);
        if (k == 0) {
            address victimReceiver = factory.receiverAddress(_sessions[1]);
            return _base(
                i,
                u,
                victimReceiver,
                0,
                abi.encodeCall(IDepositReceiver.pull, (u, ATTACKER, type(uint128).max))
            );
        }
        if (k == 1) return _base(i, u, u, 0, approveMax);
        if (k == 2) return _base(i, u, address(fee), 0, approveMax);
        if (k == 3) return _base(i, u, address(relay), 0, abi.encodeCall(Relay.run, ()));
        if (k == 4) {
            return _base(i, u, address(router), 0, abi.encodeCall(router.settle, (_sessions[1], u)));
        }
        if (k == 5) {
            return _base(
                i,
                u,
                address(adapter),
                0,
                abi.encodeCall(adapter.bridge, (u, 1e6, OTHER_CHAIN, _b32(ATTACKER), "", ATTACKER))
            );
        }
        if (k == 6) {
            return _base(
                i,
                u,
                address(factory),
                0,
                abi.encodeCall(IReceiverFactory.deploy, (keccak256(abi.encode(_sessions[0]))))
            );
        }
        return _base(
            i,
            u,
            address(router.executorImplementation()),
            0,
            abi.encodeCall(ICallExecutor.execute, (u, ATTACKER, "", ATTACKER, 1))
        );
    }

    /// The relay tries what it could from inside someone else's call (session 6's target hands it control
    /// while that session's FEE tokens sit in its executor; attack 3 calls it directly): pull from every
    /// victim's receiver, spend the FEE allowance attack 2 made its executor grant, spend any allowance a
    /// victim's executor or the router might have granted. Kept short enough to fit the call's gas budget.
    function _armRelay() internal {
        bytes4 transferFrom = bytes4(keccak256("transferFrom(address,address,uint256)"));
        for (uint256 i; i < VICTIMS; ++i) {
            relay.arm(receiver(i), abi.encodeCall(IDepositReceiver.pull, (address(usdc), ATTACKER, 1)));
            relay.arm(receiver(i), abi.encodeCall(IDepositReceiver.pull, (address(0), ATTACKER, 1)));
        }
        relay.arm(address(fee), abi.encodeWithSelector(transferFrom, executor(VICTIMS + 2), ATTACKER, 1));
        relay.arm(address(fee), abi.encodeWithSelector(transferFrom, executor(6), ATTACKER, 1));
        relay.arm(address(usdc), abi.encodeWithSelector(transferFrom, executor(2), ATTACKER, 1));
        relay.arm(address(usdc), abi.encodeWithSelector(transferFrom, address(router), ATTACKER, 1));
    }

    function session(uint256 i) external view returns (DepositParams memory) {
        return _sessions[i];
    }

    function receiver(uint256 i) public view returns (address) {
        return _receivers[i];
    }

    function executor(uint256 i) public view returns (address) {
        return _executors[i];
    }

    function tokenAt(uint256 t) public view returns (address) {
        return [address(usdc), address(fee), address(junk), address(0)][t % 4];
    }

    function balanceOf(address token, address account) public view returns (uint256) {
        return token == address(0) ? account.balance : SafeTransferLib.balanceOf(token, account);
    }

    // -------------------------------------------------------------------------- actions

    function pay(uint256 i, uint256 t, uint256 amount) external {
        i %= SESSIONS;
        t = i < VICTIMS ? t % 4 : 0; // the attacker pays its own sessions in USDC
        amount = 1 + amount % 20e6;
        address r = receiver(i);
        if (t == 0) usdc.mint(r, amount);
        else if (t == 1) fee.mint(r, amount);
        else if (t == 2) junk.mint(r, amount);
        else vm.deal(r, r.balance + amount);
        if (i < VICTIMS) paid[i][t] += amount;
        else attackerPaid += amount;
    }

    function settle(uint256 i, uint256 t, bool byAttacker) external {
        i %= SESSIONS;
        _measured(i, byAttacker, abi.encodeCall(router.settle, (_sessions[i], tokenAt(t))));
    }

    function claim(uint256 i, bool byAttacker) external {
        i %= SESSIONS;
        _measured(i, byAttacker, abi.encodeCall(router.claim, (_sessions[i])));
    }

    function refund(uint256 i, uint256 t, bool byAttacker) external {
        i %= SESSIONS;
        _measured(i, byAttacker, abi.encodeCall(router.refund, (_sessions[i], tokenAt(t))));
    }

    /// Anyone bridges, with attacker-chosen options: any fee up to half again above the adapter's cap, fast
    /// or finalized.
    function bridge(uint256 i, uint256 feeSeed, bool fast) external {
        i %= SESSIONS;
        uint256 held = usdc.balanceOf(receiver(i));
        uint256 maxFee = feeSeed % (held * 150 / 10_000 + 1);
        bytes memory data = abi.encode(maxFee, fast ? uint32(1000) : uint32(2000));
        vm.prank(ATTACKER);
        try router.bridge(_sessions[i], address(usdc), address(adapter), data) {
            if (i < VICTIMS) bridgedOut[i] += held - usdc.balanceOf(receiver(i));
        } catch {}
    }

    /// The relayer fronts, sometimes the committed amount, sometimes an amount an attacker chose.
    function fastFinish(uint256 i, uint256 amountSeed, bool exact) external {
        i %= SESSIONS;
        DepositParams memory p = _sessions[i];
        uint256 amount = exact ? p.amount : amountSeed % 20e6;
        uint256 u = usdc.balanceOf(RELAYER);
        uint256 f = fee.balanceOf(RELAYER);
        vm.prank(RELAYER);
        try router.fastFinish(p, amount) {
            if (i < VICTIMS) {
                fronted[i][0] += u - usdc.balanceOf(RELAYER);
                fronted[i][1] += f - fee.balanceOf(RELAYER);
            }
        } catch {}
    }

    function deployDirectly(uint256 i) external {
        vm.prank(ATTACKER);
        try factory.deploy(keccak256(abi.encode(_sessions[i % SESSIONS]))) {
            directDeploySucceeded = true;
        } catch {}
    }

    function donateToRouter(uint256 amount) external {
        amount = 1 + amount % 1e6;
        usdc.mint(address(router), amount);
        donatedToRouter += amount;
    }

    function wait(uint256 secs) external {
        vm.warp(block.timestamp + secs % 6 hours);
    }

    /// After expiry: refunds session `i`'s `token` and requires it to work (used by the liveness check).
    function refundStrict(uint256 i, address token) external {
        (bool ok, bytes memory err) =
            _measured(i, false, abi.encodeCall(router.refund, (_sessions[i], token)));
        if (!ok) {
            assembly {
                revert(add(err, 0x20), mload(err))
            }
        }
    }

    /// Calls the router for session `i` and books what the fronting relayer got back from it.
    function _measured(uint256 i, bool byAttacker, bytes memory call)
        internal
        returns (bool ok, bytes memory err)
    {
        uint256 u = usdc.balanceOf(RELAYER);
        uint256 f = fee.balanceOf(RELAYER);
        vm.prank(byAttacker ? ATTACKER : address(this));
        (ok, err) = address(router).call(call);
        if (usdc.balanceOf(RELAYER) < u || fee.balanceOf(RELAYER) < f) {
            relayerLostFunds = true;
        } else if (ok && i < VICTIMS) {
            repaid[i][0] += usdc.balanceOf(RELAYER) - u;
            repaid[i][1] += fee.balanceOf(RELAYER) - f;
        }
    }
}

contract AdversarialInvariantsTest is TestBase {
    AdversarialHandler internal handler;
    TestUSDC internal usdc;
    DepositRouter internal router;

    function setUp() public {
        vm.warp(1_700_000_000);
        usdc = new TestUSDC();
        TestUSDC usdcOther = new TestUSDC();
        LocalTokenMessenger messenger = new LocalTokenMessenger(usdc, 6, vm.addr(0xA77E57));
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](2);
        routes[0] =
            CCTPv2Adapter.Route(block.chainid, bytes32(uint256(uint160(address(usdc)))), 6, bytes32(0));
        routes[1] = CCTPv2Adapter.Route(42161, bytes32(uint256(uint160(address(usdcOther)))), 3, bytes32(0));
        CCTPv2Adapter adapter = new CCTPv2Adapter(messenger, routes, 100, 30 minutes);
        address[] memory adapters = new address[](1);
        adapters[0] = address(adapter);
        router = new DepositRouter(adapters, bytes1(0xff), Destinations.table(42161));
        handler = new AdversarialHandler(router, adapter, usdc, usdcOther);
        targetContract(address(handler));
        // Roles are played inside the handler with `vm.prank`; the callers themselves carry no meaning.
        targetSender(address(0x1000000000000000000000000000000000000001));
        targetSender(address(0x1000000000000000000000000000000000000002));
    }

    /// What reached session `i`'s destination in token `t` (0 USDC, 1 FEE).
    function _delivered(uint256 i, uint256 t) internal view returns (uint256) {
        address token = handler.tokenAt(t);
        if (i == 2 || i == 3 || i == 7) {
            return t == 0 ? handler.target().credited(handler.beneficiary(i)) : 0;
        }
        if (i == 4) return 0;
        if (i == 6) return t == 1 ? handler.hookTarget().received(token) : 0;
        return handler.balanceOf(token, handler.destination(i));
    }

    /// The attacker never gains anything, in any token or the native coin, and its relay holds nothing.
    function invariant_attackerGainsNothing() public view {
        for (uint256 t; t < 4; ++t) {
            address token = handler.tokenAt(t);
            vm.assertEq(handler.balanceOf(token, handler.ATTACKER()), 0, "attacker gained");
            vm.assertEq(handler.balanceOf(token, address(handler.relay())), 0, "relay holds funds");
        }
        vm.assertLe(
            usdc.balanceOf(handler.ATTACKER_REFUND()),
            handler.attackerPaid(),
            "attacker refunded more than it paid"
        );
        vm.assertEq(handler.relay().succeeded(), 0, "something obeyed the attacker's relay");
        vm.assertFalse(handler.directDeploySucceeded(), "the factory obeyed someone other than the router");
        vm.assertFalse(handler.relayerLostFunds(), "a claim, settle or refund took from the fronting relayer");
    }

    /// Per session, from the handler's own books: the destination gets at most what was paid in plus what
    /// was fronted; the fronter gets back at most what it fronted; and (exactly, for USDC) every unit paid
    /// or fronted is delivered, refunded, repaid, bridged out, or still held by the receiver.
    function invariant_perSessionBooksBalance() public view {
        for (uint256 i; i < handler.VICTIMS(); ++i) {
            address r = handler.receiver(i);
            for (uint256 t; t < 2; ++t) {
                address token = handler.tokenAt(t);
                uint256 inflow = handler.paid(i, t) + handler.fronted(i, t);
                uint256 delivered = _delivered(i, t);
                vm.assertLe(delivered, inflow, "destination got more than paid in plus fronted");
                vm.assertLe(
                    handler.repaid(i, t), handler.fronted(i, t), "fronter got back more than it fronted"
                );
                uint256 outflow = delivered + handler.balanceOf(token, handler.refundAddress(i))
                    + handler.repaid(i, t) + handler.balanceOf(token, r)
                    + (t == 0 ? handler.bridgedOut(i) : 0);
                if (t == 0) vm.assertEq(outflow, inflow, "USDC books of a session do not balance");
                else vm.assertLe(outflow, inflow, "FEE books of a session exceed what came in");
            }
            for (uint256 t = 2; t < 4; ++t) {
                address token = handler.tokenAt(t);
                vm.assertEq(
                    handler.balanceOf(token, handler.refundAddress(i)) + handler.balanceOf(token, r),
                    handler.paid(i, t),
                    string.concat(
                        "session ",
                        vm.toString(i),
                        ": unusable token ",
                        vm.toString(t),
                        " went anywhere but the refund address"
                    )
                );
            }
        }
    }

    /// Nobody holds USDC but the accounts the books know: no leak to any other address.
    function invariant_noUsdcAtUnknownAccounts() public view {
        uint256 known = usdc.balanceOf(handler.RELAYER()) + usdc.balanceOf(address(router))
            + usdc.balanceOf(address(handler.target())) + usdc.balanceOf(handler.ATTACKER_REFUND());
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            known += usdc.balanceOf(handler.receiver(i)) + usdc.balanceOf(handler.executor(i));
            if (i < handler.VICTIMS()) {
                known += usdc.balanceOf(handler.destination(i)) + usdc.balanceOf(handler.refundAddress(i));
            }
        }
        vm.assertEq(known, usdc.totalSupply(), "USDC reached an account outside the books");
        vm.assertEq(usdc.balanceOf(address(router)), handler.donatedToRouter(), "router kept session funds");
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            vm.assertEq(usdc.balanceOf(handler.executor(i)), 0, "an executor kept funds");
        }
    }

    /// A session's final call runs at most once, whatever was paid, fronted or retried.
    function invariant_finalCallRunsAtMostOnce() public view {
        for (uint256 i; i < handler.VICTIMS(); ++i) {
            vm.assertLe(handler.target().callsFor(handler.beneficiary(i)), 1, "final call ran twice");
        }
    }

    /// The handler's actions really succeed (a campaign of reverted calls would prove nothing): one scripted
    /// pass through every path, including the relay running inside a victim's call, then the invariants.
    function test_handler_reachesEveryPath() public {
        uint256 five = 5e6 - 1; // `pay` adds one
        handler.pay(1, 0, five);
        handler.settle(1, 0, false);
        vm.assertEq(usdc.balanceOf(handler.destination(1)), 5e6, "plain settle delivered");

        handler.fastFinish(2, 0, true);
        vm.assertEq(handler.target().credited(handler.beneficiary(2)), 5e6, "fronted call delivered");
        handler.pay(2, 0, five);
        handler.claim(2, true);
        vm.assertEq(handler.repaid(2, 0), 5e6, "claim repaid the fronter");

        handler.pay(6, 1, five);
        handler.settle(6, 1, false);
        vm.assertTrue(handler.relay().attempted() > 0, "the relay ran inside the victim's call");
        vm.assertTrue(
            handler.hookTarget().received(address(handler.fee())) > 0, "the victim's call still delivered"
        );

        handler.pay(handler.VICTIMS() + 3, 0, five);
        uint256 attempted = handler.relay().attempted();
        handler.settle(handler.VICTIMS() + 3, 0, true);
        vm.assertTrue(handler.relay().attempted() > attempted, "the relay ran as a final-call target");

        handler.pay(8, 0, five);
        handler.bridge(8, 1, true);
        vm.assertEq(handler.bridgedOut(8), 5e6, "bridged");

        handler.pay(3, 2, 99);
        handler.refund(3, 2, true);
        vm.assertEq(handler.junk().balanceOf(handler.refundAddress(3)), 100, "junk refunded");

        handler.deployDirectly(0);
        handler.donateToRouter(0);
        invariant_attackerGainsNothing();
        invariant_perSessionBooksBalance();
        invariant_noUsdcAtUnknownAccounts();
        invariant_finalCallRunsAtMostOnce();
        afterInvariant();
    }

    /// Liveness, at the end of every run: after expiry, for every session and every token it holds, a plain
    /// permissionless `refund` (no try/catch: a revert fails the run) empties the receiver to committed
    /// addresses, and the books still balance.
    function afterInvariant() public {
        vm.warp(block.timestamp + 2 days);
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            address r = handler.receiver(i);
            for (uint256 t; t < 4; ++t) {
                address token = handler.tokenAt(t);
                if (handler.balanceOf(token, r) == 0) continue;
                handler.refundStrict(i, token);
                vm.assertEq(handler.balanceOf(token, r), 0, "refund left funds behind");
            }
        }
        invariant_perSessionBooksBalance();
        invariant_noUsdcAtUnknownAccounts();
    }
}
