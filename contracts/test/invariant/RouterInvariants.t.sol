// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../../src/DepositRouter.sol";
import {ReceiverFactory} from "../../src/ReceiverFactory.sol";
import {TestUSDC} from "../../src/devnet/TestUSDC.sol";
import {IDepositRouter} from "../../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../../src/libraries/DepositParamsLib.sol";
import {PullAllowanceTarget, RevertingTarget} from "../mocks/Targets.sol";
import {TestBase} from "../utils/TestBase.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives random sequences of deposits, settles, claims, fast finishes, refunds and time jumps
/// over a fixed set of sessions of every kind, and keeps the books.
contract RouterHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address public constant DEST = address(0xD00D);
    address public constant REFUND = address(0xBEEF);
    address public constant RELAYER = address(0x5E1A);
    uint256 public constant RELAYER_FUNDS = 1e24;
    uint256 public constant SESSIONS = 8;

    DepositRouter public immutable router;
    ReceiverFactory public immutable factory;
    TestUSDC public immutable usdc;
    PullAllowanceTarget public immutable target;
    RevertingTarget public immutable reverting;

    DepositParams[] internal _sessions;
    uint256 public deposited;
    uint256 public frontedTotal;
    mapping(uint256 => uint256) public frontedBy;

    constructor(DepositRouter router_, TestUSDC usdc_) {
        router = router_;
        factory = ReceiverFactory(address(router_.factory()));
        usdc = usdc_;
        target = new PullAllowanceTarget();
        reverting = new RevertingTarget();
        usdc.mint(RELAYER, RELAYER_FUNDS);
        vm.prank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
        for (uint256 i; i < SESSIONS; ++i) {
            _sessions.push(_make(i));
        }
    }

    function _make(uint256 i) internal view returns (DepositParams memory p) {
        address to = DEST;
        bytes memory call;
        uint256 kind = i % 4;
        if (kind == 1) {
            to = address(target);
            call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), beneficiary(i)));
        } else if (kind == 2) {
            to = address(target);
            call = abi.encodeCall(PullAllowanceTarget.depositHalf, (address(usdc), beneficiary(i)));
        } else if (kind == 3) {
            to = address(reverting);
            call = abi.encodeCall(RevertingTarget.deposit, (address(usdc), beneficiary(i)));
        }
        p = DepositParams({
            sessionId: bytes32(i + 1),
            toChainId: block.chainid,
            toToken: bytes32(uint256(uint160(address(usdc)))),
            toAddress: bytes32(uint256(uint160(to))),
            amount: 0,
            finalCall: call,
            refundAddress: bytes32(uint256(uint160(REFUND))),
            expiresAt: uint64(block.timestamp + 1 days)
        });
    }

    function beneficiary(uint256 i) public pure returns (address) {
        return address(uint160(0xB000 + i));
    }

    function session(uint256 i) external view returns (DepositParams memory) {
        return _sessions[i];
    }

    function receiver(uint256 i) public view returns (address) {
        return factory.receiverAddress(_sessions[i]);
    }

    function deposit(uint256 i, uint256 amount) external {
        i %= SESSIONS;
        amount = 1 + amount % 1e15;
        usdc.mint(receiver(i), amount);
        deposited += amount;
    }

    function settle(uint256 i) external {
        try router.settle(_sessions[i % SESSIONS], address(usdc)) {} catch {}
    }

    function claim(uint256 i) external {
        try router.claim(_sessions[i % SESSIONS]) {} catch {}
    }

    function refund(uint256 i) external {
        try router.refund(_sessions[i % SESSIONS], address(usdc)) {} catch {}
    }

    function fastFinish(uint256 i, uint256 amount) external {
        i %= SESSIONS;
        amount = 1 + amount % 1e15;
        vm.prank(RELAYER);
        try router.fastFinish(_sessions[i], amount) {
            frontedBy[i] = amount;
            frontedTotal += amount;
        } catch {}
    }

    function wait(uint256 secs) external {
        vm.warp(block.timestamp + secs % 2 days);
    }
}

contract RouterInvariantsTest is TestBase {
    RouterHandler internal handler;
    TestUSDC internal usdc;
    DepositRouter internal router;

    function setUp() public {
        vm.warp(1_700_000_000);
        router = new DepositRouter(new address[](0));
        usdc = new TestUSDC();
        handler = new RouterHandler(router, usdc);
        targetContract(address(handler));
    }

    function _held() internal view returns (uint256 held) {
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            held += usdc.balanceOf(handler.receiver(i));
        }
    }

    function _repaid() internal view returns (uint256 repaid) {
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            bytes32 h = keccak256(abi.encode(handler.session(i)));
            if (router.sessionState(h).repaid) repaid += handler.frontedBy(i);
        }
    }

    /// deposited (+ what relayers fronted − what they got back) = delivered + refunded + still held.
    function invariant_everyDepositIsDeliveredRefundedOrStillHeld() public view {
        uint256 delivered = usdc.balanceOf(handler.DEST()) + usdc.balanceOf(address(handler.target()));
        uint256 refunded = usdc.balanceOf(handler.REFUND());
        vm.assertEq(
            handler.deposited() + handler.frontedTotal() - _repaid(),
            delivered + refunded + _held(),
            "books do not balance"
        );
        vm.assertEq(usdc.balanceOf(address(router)), 0, "router keeps nothing between transactions");
    }

    /// Funds only reach the destination, the refund address, or the relayer that fronted exactly that
    /// amount: nobody else holds any token, and the relayer got back exactly what it fronted for the
    /// sessions marked repaid.
    function invariant_fundsOnlyReachDestinationRefundOrTheFrontingRelayer() public view {
        uint256 known = usdc.balanceOf(handler.DEST()) + usdc.balanceOf(address(handler.target()))
            + usdc.balanceOf(handler.REFUND()) + usdc.balanceOf(handler.RELAYER()) + _held();
        vm.assertEq(known, usdc.totalSupply(), "tokens reached an unknown account");
        vm.assertEq(
            usdc.balanceOf(handler.RELAYER()),
            handler.RELAYER_FUNDS() - handler.frontedTotal() + _repaid(),
            "relayer repaid other than exactly what it fronted"
        );
    }

    /// The final call of a session runs at most once.
    function invariant_finalCallRunsAtMostOncePerSession() public view {
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            vm.assertLe(handler.target().callsFor(handler.beneficiary(i)), 1, "final call ran twice");
        }
    }
}
