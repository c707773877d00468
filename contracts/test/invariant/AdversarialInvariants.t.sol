// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../../src/DepositRouter.sol";
import {ReceiverFactory} from "../../src/ReceiverFactory.sol";
import {CCTPv2Adapter} from "../../src/bridges/CCTPv2Adapter.sol";
import {OFTAdapter} from "../../src/bridges/OFTAdapter.sol";
import {LocalTokenMessenger} from "../../src/devnet/LocalCCTP.sol";
import {TestUSDC} from "../../src/devnet/TestUSDC.sol";
import {TestUSDT} from "../../src/devnet/TestUSDT.sol";
import {ICallExecutor} from "../../src/interfaces/ICallExecutor.sol";
import {IDepositReceiver} from "../../src/interfaces/IDepositReceiver.sol";
import {IDepositRouter} from "../../src/interfaces/IDepositRouter.sol";
import {IReceiverFactory} from "../../src/interfaces/IReceiverFactory.sol";
import {DepositParams} from "../../src/libraries/DepositParamsLib.sol";
import {HookTarget, Relay} from "../mocks/Attackers.sol";
import {FeeOFT} from "../mocks/FeeOFT.sol";
import {PullAllowanceTarget, RevertingTarget} from "../mocks/Targets.sol";
import {FeeOnTransferToken, MockERC20} from "../mocks/Tokens.sol";
import {Destinations} from "../utils/Destinations.sol";
import {TestBase} from "../utils/TestBase.sol";
import {Vm} from "../utils/Vm.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice Drives random sequences of honest and hostile actions over victim sessions of every kind and
/// an attacker's own sessions, and keeps its own books (ghost variables measured from balances, never the
/// router's flags): what was paid into each session, fronted for it, repaid from it, bridged out of it,
/// donated to its executor.
///
/// Tokens: 0 USDC, 1 FEE (fee-on-transfer), 2 junk, 3 native coin, 4 USDT (Tron's: `transfer` returns false).
/// Victim sessions (destination = this chain unless noted), each with its own destination and refund
/// address so that any cross-session leak shows up as money at the wrong address; fixed amounts commit a
/// minimum (the amount less a worst bridge fee), the open calldata session a deployment minimum:
///   0 plain, open, USDC, no minimum   1 plain, 5 USDC                 2 call (pulls all), 5 USDC
///   3 call (pulls half), 5 USDC       4 call (reverts), 5 USDC        5 plain, 5 FEE
///   6 call through a target that hands control to the attacker's relay, 5 FEE
///   7 call (pulls all), open, USDC    8 source side: to USDC on another chain (CCTP), 5 USDC
///   9 source side: to a token no route delivers (unusable here)
///  10 plain, 5 USDT (false-returning transfer)
///  11 source side: to Solana through the CCTP inbox, no EVM refund address (refund home only)
///  12 plain, 5 USDC, refund address a Solana key (refunds go to the EVM destination)
///  13 source side: USDT to another chain through the OFT, whose native fee the bridger pays
/// Attacker sessions (USDC, open): final calls at another receiver (pull), the token (approve), the FEE
/// token (approve: the cross-token standing approval), the relay, the router, the adapter, the factory and
/// the executor implementation.
contract AdversarialHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 public constant VICTIMS = 14;
    uint256 public constant ATTACKS = 8;
    uint256 public constant SESSIONS = VICTIMS + ATTACKS;
    uint256 public constant TOKENS = 5;
    uint256 public constant OTHER_CHAIN = 42161;
    uint256 public constant SOLANA = 501;
    bytes32 public constant SOLANA_MINT = keccak256("solana usdc mint");
    bytes32 public constant SOLANA_KEY = keccak256("a solana wallet");
    uint256 public constant RELAYER_FUNDS = 1e15;
    uint256 public constant OFT_FEE = 0.01 ether;
    uint256 public constant FEE_FUNDS = 1_000 ether;
    /// Native coin that sits in the OFT adapter (forced in): no bridging may ever spend it.
    uint256 public constant STRAY = 1 ether;
    address public constant RELAYER = address(0x5E1A);
    address public constant ATTACKER = address(0xA77AC4);
    address public constant ATTACKER_REFUND = address(0xA77AC5);
    /// Pays every native bridge fee, honest or not (and plays the attacker who tries to bridge for free).
    address public constant FEE_PAYER = address(0xFEE9A7E5);

    DepositRouter public immutable router;
    ReceiverFactory public immutable factory;
    CCTPv2Adapter public immutable adapter;
    OFTAdapter public immutable oftAdapter;
    FeeOFT public immutable oft;
    TestUSDC public immutable usdc;
    TestUSDT public immutable usdt;
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

    // Ghost books, per session and token.
    mapping(uint256 => mapping(uint256 => uint256)) public paid;
    mapping(uint256 => mapping(uint256 => uint256)) public fronted;
    mapping(uint256 => mapping(uint256 => uint256)) public repaid;
    mapping(uint256 => mapping(uint256 => uint256)) public bridgedOut;
    mapping(uint256 => uint256) public donatedToExecutor; // USDC
    /// A delivery, a final call or a fronting ran for the session on this chain before its expiry.
    mapping(uint256 => bool) public started;
    uint256 public attackerPaid;
    uint256 public donatedToRouter;
    bool public directDeploySucceeded;
    bool public relayerLostFunds;
    bool public startedBelowMinimum;
    bool public bridgedWithoutPayingTheFee;

    constructor(
        DepositRouter router_,
        CCTPv2Adapter adapter_,
        OFTAdapter oftAdapter_,
        TestUSDC usdc_,
        TestUSDC usdcOther_,
        TestUSDT usdt_
    ) {
        router = router_;
        factory = ReceiverFactory(address(router_.factory()));
        adapter = adapter_;
        oftAdapter = oftAdapter_;
        oft = FeeOFT(oftAdapter_.route(block.chainid).oft);
        usdc = usdc_;
        usdcOther = usdcOther_;
        usdt = usdt_;
        fee = new FeeOnTransferToken();
        junk = new MockERC20();
        target = new PullAllowanceTarget();
        reverting = new RevertingTarget();
        hookTarget = new HookTarget();
        relay = new Relay();

        usdc.mint(RELAYER, RELAYER_FUNDS);
        fee.mint(RELAYER, RELAYER_FUNDS);
        usdt.mint(RELAYER, RELAYER_FUNDS);
        vm.startPrank(RELAYER);
        usdc.approve(address(router), type(uint256).max);
        fee.approve(address(router), type(uint256).max);
        usdt.approve(address(router), type(uint256).max);
        vm.stopPrank();
        vm.deal(FEE_PAYER, FEE_FUNDS);
        vm.deal(address(oftAdapter), STRAY);

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

    /// Where the contracts must send session `i`'s refunds on this chain (the refund rule), zero for none.
    function refundTarget(uint256 i) public pure returns (address) {
        if (i == 11) return address(0);
        if (i == 12) return destination(i);
        return refundAddress(i);
    }

    function beneficiary(uint256 i) public pure returns (address) {
        return address(uint160(0xB000 + i));
    }

    /// The token index of session `i`'s destination token here (what it can use), or `TOKENS` for none.
    function sessionToken(uint256 i) public pure returns (uint256) {
        if (i == 5 || i == 6) return 1;
        if (i == 10 || i == 13) return 4;
        if (i == 9) return TOKENS;
        return 0;
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
            minAmount: amount == 0 ? 0 : amount - amount / 1000,
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
        if (i == 1 || i == 12) {
            p = _base(i, u, destination(i), 5e6, "");
            if (i == 12) (p.refundAddress, p.solanaRefundAddress) = (SOLANA_KEY, SOLANA_KEY);
            return p;
        }
        if (i == 2) return _base(i, u, address(target), 5e6, pullAll);
        if (i == 3) {
            bytes memory half = abi.encodeCall(PullAllowanceTarget.depositHalf, (u, beneficiary(i)));
            return _base(i, u, address(target), 5e6, half);
        }
        if (i == 4) {
            bytes memory call = abi.encodeCall(RevertingTarget.deposit, (u, beneficiary(i)));
            return _base(i, u, address(reverting), 5e6, call);
        }
        if (i == 5) {
            p = _base(i, address(fee), destination(i), 5e6, "");
            p.minAmount = 4.9e6; // the token itself takes 1%
            return p;
        }
        if (i == 6) {
            bytes memory call = abi.encodeCall(HookTarget.deposit, (address(fee), address(relay)));
            p = _base(i, address(fee), address(hookTarget), 5e6, call);
            p.minAmount = 4.9e6;
            return p;
        }
        if (i == 7) {
            p = _base(i, u, address(target), 0, pullAll);
            p.minAmount = 1e6; // the deployment minimum of an open amount
            return p;
        }
        if (i == 10) return _base(i, address(usdt), destination(i), 5e6, "");
        if (i == 11) {
            p = _base(i, u, destination(i), 5e6, "");
            (p.toChainId, p.toToken, p.toAddress) = (SOLANA, SOLANA_MINT, SOLANA_KEY);
            (p.refundAddress, p.solanaRefundAddress) = (bytes32(0), SOLANA_KEY);
            return p;
        }
        if (i == 13) {
            p = _base(i, address(usdt), destination(i), 5e6, "");
            (p.toChainId, p.toToken) = (OTHER_CHAIN, _b32(oftAdapter.route(OTHER_CHAIN).token));
            return p;
        }
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
        return [address(usdc), address(fee), address(junk), address(0), address(usdt)][t % TOKENS];
    }

    function balanceOf(address token, address account) public view returns (uint256) {
        return token == address(0) ? account.balance : SafeTransferLib.balanceOf(token, account);
    }

    /// One session's books in one token, read in one call (the invariant reads 70 of them every check).
    struct Book {
        uint256 paidAndFronted;
        uint256 inflow;
        uint256 delivered;
        uint256 outflow;
        uint256 repaid;
        uint256 fronted;
        uint256 atRefundAndHeld;
        uint256 paid;
    }

    /// What reached session `i`'s destination in token `t`.
    function delivered(uint256 i, uint256 t) public view returns (uint256) {
        address token = tokenAt(t);
        if (i == 2 || i == 3 || i == 7) return t == 0 ? target.credited(beneficiary(i)) : 0;
        if (i == 4 || i == 11) return 0;
        if (i == 6) return t == 1 ? hookTarget.received(token) : 0;
        return balanceOf(token, destination(i));
    }

    function book(uint256 i, uint256 t) external view returns (Book memory b) {
        address token = tokenAt(t);
        address refundTo = refundTarget(i);
        uint256 atRefund = refundTo == address(0) ? 0 : balanceOf(token, refundTo);
        uint256 held = balanceOf(token, receiver(i)) + balanceOf(token, executor(i));
        b.paid = paid[i][t];
        b.fronted = fronted[i][t];
        b.repaid = repaid[i][t];
        b.paidAndFronted = b.paid + b.fronted;
        b.inflow = b.paidAndFronted + (t == 0 ? donatedToExecutor[i] : 0);
        b.delivered = delivered(i, t);
        // A refund target that is the destination is counted once, as delivered.
        uint256 refunded = refundTo == destination(i) ? 0 : atRefund;
        b.outflow = b.delivered + refunded + b.repaid + held + bridgedOut[i][t];
        b.atRefundAndHeld = atRefund + held;
    }

    // -------------------------------------------------------------------------- actions

    function pay(uint256 i, uint256 t, uint256 amount) external {
        _pay(i % SESSIONS, t, 1 + amount % 20e6);
    }

    /// Anyone who read the params sends dust ahead of the deposit and tries to start the session with it.
    function dustThenSettle(uint256 i, uint256 dust) external {
        i %= VICTIMS;
        uint256 t = sessionToken(i);
        if (t == TOKENS) return;
        _pay(i, t, 1 + dust % 1000);
        _measured(i, true, abi.encodeCall(router.settle, (_sessions[i], tokenAt(t))), true);
    }

    function settle(uint256 i, uint256 t, bool byAttacker) external {
        i %= SESSIONS;
        _measured(i, byAttacker, abi.encodeCall(router.settle, (_sessions[i], tokenAt(t))), true);
    }

    function claim(uint256 i, bool byAttacker) external {
        i %= SESSIONS;
        _measured(i, byAttacker, abi.encodeCall(router.claim, (_sessions[i])), true);
    }

    function refund(uint256 i, uint256 t, bool byAttacker) external {
        i %= SESSIONS;
        _measured(i, byAttacker, abi.encodeCall(router.refund, (_sessions[i], tokenAt(t))), false);
    }

    /// Anyone bridges, with attacker-chosen options: through CCTP any fee up to half again above the
    /// adapter's cap, fast or finalized; through the OFT with any native value, enough or not.
    function bridge(uint256 i, uint256 feeSeed, bool fast) external {
        i %= SESSIONS;
        _bridge(i, feeSeed, fast, false);
    }

    /// Anyone sends a session home (only one without a refund address here may), with any native value.
    function refundHome(uint256 i, uint256 feeSeed, bool fast) external {
        i %= SESSIONS;
        _bridge(i, feeSeed, fast, true);
    }

    /// The relayer fronts, sometimes the committed amount, sometimes an amount an attacker chose.
    function fastFinish(uint256 i, uint256 amountSeed, bool exact) external {
        i %= SESSIONS;
        DepositParams memory p = _sessions[i];
        uint256 amount = exact ? p.amount : amountSeed % 20e6;
        uint256[3] memory before = _relayerBalances();
        vm.prank(RELAYER);
        try router.fastFinish(p, amount) {
            if (i < VICTIMS) {
                uint256[3] memory afterwards = _relayerBalances();
                fronted[i][0] += before[0] - afterwards[0];
                fronted[i][1] += before[1] - afterwards[1];
                fronted[i][4] += before[2] - afterwards[2];
                started[i] = true;
            }
        } catch {}
    }

    /// A stranger sends USDC to a calldata session's executor address before the clone exists (after, it
    /// would only strand its own money: nothing ever moves it again).
    function donateToExecutor(uint256 i, uint256 amount) external {
        i = [2, 3, 4, 7][i % 4];
        if (executor(i).code.length != 0) return;
        amount = 1 + amount % 1e6;
        usdc.mint(executor(i), amount);
        donatedToExecutor[i] += amount;
    }

    /// The OFT fee drain: bridge one unit of one's own USDT straight through the adapter with any native
    /// value, hoping the adapter pays the fee.
    function oftDrainAttempt(uint256 value) external {
        value %= 2 * OFT_FEE;
        usdt.mint(FEE_PAYER, 1);
        vm.startPrank(FEE_PAYER);
        usdt.approve(address(oftAdapter), 0);
        usdt.approve(address(oftAdapter), 1);
        try oftAdapter.bridge{value: value}(address(usdt), 1, OTHER_CHAIN, _b32(FEE_PAYER), "", FEE_PAYER) {
            if (value < OFT_FEE) bridgedWithoutPayingTheFee = true;
        } catch {}
        vm.stopPrank();
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
            _measured(i, false, abi.encodeCall(router.refund, (_sessions[i], token)), false);
        _bubble(ok, err);
    }

    /// Sends session `i`'s destination token home and requires it to work (the liveness check, for a session
    /// without a refund address here).
    function refundHomeStrict(uint256 i) external {
        uint256 held = usdc.balanceOf(receiver(i));
        (bool ok, bytes memory err) = address(router)
            .call(abi.encodeCall(router.refundHome, (_sessions[i], address(usdc), address(adapter), "")));
        _bubble(ok, err);
        bridgedOut[i][0] += held - usdc.balanceOf(receiver(i));
    }

    function _bubble(bool ok, bytes memory err) internal pure {
        if (!ok) {
            assembly {
                revert(add(err, 0x20), mload(err))
            }
        }
    }

    function _pay(uint256 i, uint256 t, uint256 amount) internal {
        t = i < VICTIMS ? t % TOKENS : 0; // the attacker pays its own sessions in USDC
        address r = receiver(i);
        if (t == 0) usdc.mint(r, amount);
        else if (t == 1) fee.mint(r, amount);
        else if (t == 2) junk.mint(r, amount);
        else if (t == 3) vm.deal(r, r.balance + amount);
        else usdt.mint(r, amount);
        if (i < VICTIMS) paid[i][t] += amount;
        else attackerPaid += amount;
    }

    function _bridge(uint256 i, uint256 feeSeed, bool fast, bool home) internal {
        bool viaOft = sessionToken(i) == 4;
        address token = viaOft ? address(usdt) : address(usdc);
        uint256 held = balanceOf(token, receiver(i));
        uint256 value = viaOft ? feeSeed % (2 * OFT_FEE) : 0;
        vm.prank(viaOft ? FEE_PAYER : ATTACKER);
        (bool ok,) = address(router).call{value: value}(_bridgeCall(i, token, held, feeSeed, fast, home));
        if (!ok) return;
        if (viaOft && value < OFT_FEE) bridgedWithoutPayingTheFee = true;
        if (i < VICTIMS) bridgedOut[i][viaOft ? 4 : 0] += held - balanceOf(token, receiver(i));
    }

    function _bridgeCall(uint256 i, address token, uint256 held, uint256 feeSeed, bool fast, bool home)
        internal
        view
        returns (bytes memory)
    {
        bool viaOft = token == address(usdt);
        bytes memory data =
            viaOft ? bytes("") : abi.encode(feeSeed % (held * 150 / 10_000 + 1), fast ? 1000 : 2000);
        address via = viaOft ? address(oftAdapter) : address(adapter);
        return home
            ? abi.encodeCall(router.refundHome, (_sessions[i], token, via, data))
            : abi.encodeCall(router.bridge, (_sessions[i], token, via, data));
    }

    function _relayerBalances() internal view returns (uint256[3] memory) {
        return [usdc.balanceOf(RELAYER), fee.balanceOf(RELAYER), usdt.balanceOf(RELAYER)];
    }

    /// Calls the router for session `i` and books what the fronting relayer got back from it. A call that
    /// may start the session (settle, claim) and succeeds before expiry on the destination chain is a start:
    /// the first one must have found at least the committed minimum.
    function _measured(uint256 i, bool byAttacker, bytes memory call, bool mayStart)
        internal
        returns (bool ok, bytes memory err)
    {
        uint256[3] memory before = _relayerBalances();
        uint256 t = i < VICTIMS ? sessionToken(i) : 0;
        uint256 held = t == TOKENS ? 0 : balanceOf(tokenAt(t), receiver(i));
        bool live = block.timestamp <= _sessions[i].expiresAt && _sessions[i].toChainId == block.chainid;
        vm.prank(byAttacker ? ATTACKER : address(this));
        (ok, err) = address(router).call(call);
        uint256[3] memory afterwards = _relayerBalances();
        if (afterwards[0] < before[0] || afterwards[1] < before[1] || afterwards[2] < before[2]) {
            relayerLostFunds = true;
        } else if (ok && i < VICTIMS) {
            repaid[i][0] += afterwards[0] - before[0];
            repaid[i][1] += afterwards[1] - before[1];
            repaid[i][4] += afterwards[2] - before[2];
        }
        if (ok && mayStart && live && i < VICTIMS) {
            if (!started[i] && held < _sessions[i].minAmount) startedBelowMinimum = true;
            started[i] = true;
        }
    }
}

contract AdversarialInvariantsTest is TestBase {
    AdversarialHandler internal handler;
    TestUSDC internal usdc;
    TestUSDT internal usdt;
    DepositRouter internal router;

    function setUp() public {
        vm.warp(1_700_000_000);
        usdc = new TestUSDC();
        usdt = new TestUSDT();
        TestUSDC usdcOther = new TestUSDC();
        LocalTokenMessenger messenger = new LocalTokenMessenger(usdc, 6, vm.addr(0xA77E57));
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](3);
        routes[0] =
            CCTPv2Adapter.Route(block.chainid, bytes32(uint256(uint160(address(usdc)))), 6, bytes32(0));
        routes[1] = CCTPv2Adapter.Route(42161, bytes32(uint256(uint160(address(usdcOther)))), 3, bytes32(0));
        routes[2] = CCTPv2Adapter.Route(501, keccak256("solana usdc mint"), 5, keccak256("inbox"));
        CCTPv2Adapter adapter = new CCTPv2Adapter(messenger, routes, 100, 30 minutes);
        OFTAdapter.Route[] memory oftRoutes = new OFTAdapter.Route[](2);
        oftRoutes[0] =
            OFTAdapter.Route(block.chainid, address(usdt), address(new FeeOFT(usdt, 0.01 ether)), 1);
        oftRoutes[1] = OFTAdapter.Route(42161, address(0x05D7), address(0x0F7), 2);
        OFTAdapter oftAdapter = new OFTAdapter(oftRoutes, 10, 30 minutes);
        address[] memory adapters = new address[](2);
        (adapters[0], adapters[1]) = (address(adapter), address(oftAdapter));
        router = new DepositRouter(adapters, bytes1(0xff), Destinations.table(42161, 501));
        handler = new AdversarialHandler(router, adapter, oftAdapter, usdc, usdcOther, usdt);
        targetContract(address(handler));
        // The liveness drain's strict helpers are for `afterInvariant`; fuzzed, they only ever revert.
        bytes4[] memory strict = new bytes4[](2);
        (strict[0], strict[1]) = (handler.refundStrict.selector, handler.refundHomeStrict.selector);
        excludeSelector(address(handler), strict);
        // Roles are played inside the handler with `vm.prank`; the callers themselves carry no meaning.
        targetSender(address(0x1000000000000000000000000000000000000001));
        targetSender(address(0x1000000000000000000000000000000000000002));
    }

    /// The attacker never gains anything, in any token or the native coin, and its relay holds nothing;
    /// nor free bridging, nor a session started by its dust (`_checkFeesAndStarts`).
    function invariant_attackerGainsNothing() public view {
        for (uint256 t; t < handler.TOKENS(); ++t) {
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
        _checkFeesAndStarts();
    }

    /// No delivery or final call started a session with less than its committed minimum (dust first).
    /// Native fees are paid by whoever bridges: the OFT adapter's stray balance is never spent, the router
    /// holds no native coin, nothing bridged without its fee, and every wei the fee payer sent is either the
    /// OFT's fee or back with the payer. Every flag and balance here is monotone (what went wrong stays
    /// wrong), so checking them in one campaign and after every run of every campaign (`afterInvariant`)
    /// misses nothing, and costs no campaign of its own.
    function _checkFeesAndStarts() internal view {
        vm.assertFalse(handler.startedBelowMinimum(), "a session started below its minimum");
        vm.assertEq(address(handler.oftAdapter()).balance, handler.STRAY(), "the adapter's balance was spent");
        vm.assertEq(address(router).balance, 0, "the router kept native coin");
        vm.assertFalse(handler.bridgedWithoutPayingTheFee(), "a bridge went through without its fee");
        vm.assertEq(
            handler.FEE_PAYER().balance + address(handler.oft()).balance,
            handler.FEE_FUNDS(),
            "native coin lost between the fee payer and the OFT"
        );
    }

    /// Per session, from the handler's own books: the destination gets at most what was paid in plus what
    /// was fronted (never a donation to the executor); the fronter gets back at most what it fronted; and
    /// (exactly, but for the fee-on-transfer token) every unit paid, fronted or donated is delivered,
    /// refunded to the session's refund target, repaid, bridged out (or home), or still held by the receiver
    /// or a not-yet-used executor. A token the session cannot use goes nowhere but the refund target (and
    /// stays, for a session without one here).
    function invariant_perSessionBooksBalance() public view {
        for (uint256 i; i < handler.VICTIMS(); ++i) {
            for (uint256 t; t < handler.TOKENS(); ++t) {
                _checkBooks(i, t);
            }
        }
    }

    function _checkBooks(uint256 i, uint256 t) internal view {
        AdversarialHandler.Book memory b = handler.book(i, t);
        vm.assertLe(b.delivered, b.paidAndFronted, "destination got more than paid in plus fronted");
        vm.assertLe(b.repaid, b.fronted, "fronter got back more than it fronted");
        if (t == 1) {
            vm.assertLe(b.outflow, b.inflow, "FEE books of a session exceed what came in");
        } else if (b.outflow != b.inflow) {
            vm.assertEq(b.outflow, b.inflow, string.concat("books of session ", vm.toString(i)));
        }
        if ((t == 2 || t == 3) && b.atRefundAndHeld != b.paid) {
            vm.assertEq(
                b.atRefundAndHeld,
                b.paid,
                string.concat("session ", vm.toString(i), ": an unusable token went elsewhere")
            );
        }
    }

    /// Nobody holds USDC or USDT but the accounts the books know: no leak to any other address; an executor
    /// that ran holds nothing.
    function invariant_noStablecoinAtUnknownAccounts() public view {
        uint256 knownUsdc = usdc.balanceOf(handler.RELAYER()) + usdc.balanceOf(address(router))
            + usdc.balanceOf(address(handler.target())) + usdc.balanceOf(handler.ATTACKER_REFUND());
        uint256 knownUsdt = usdt.balanceOf(handler.RELAYER()) + usdt.balanceOf(handler.FEE_PAYER());
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            address r = handler.receiver(i);
            address x = handler.executor(i);
            knownUsdc += usdc.balanceOf(r) + usdc.balanceOf(x);
            knownUsdt += usdt.balanceOf(r) + usdt.balanceOf(x);
            if (i < handler.VICTIMS()) {
                address d = handler.destination(i);
                address f = handler.refundAddress(i);
                knownUsdc += usdc.balanceOf(d) + usdc.balanceOf(f);
                knownUsdt += usdt.balanceOf(d) + usdt.balanceOf(f);
            }
            if (x.code.length != 0) {
                vm.assertEq(usdc.balanceOf(x) + usdt.balanceOf(x), 0, "an executor kept funds");
            }
        }
        vm.assertEq(knownUsdc, usdc.totalSupply(), "USDC reached an account outside the books");
        vm.assertEq(knownUsdt, usdt.totalSupply(), "USDT reached an account outside the books");
        vm.assertEq(usdc.balanceOf(address(router)), handler.donatedToRouter(), "router kept session funds");
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
        vm.assertEq(handler.bridgedOut(8, 0), 5e6, "bridged");

        handler.pay(3, 2, 99);
        handler.refund(3, 2, true);
        vm.assertEq(handler.junk().balanceOf(handler.refundAddress(3)), 100, "junk refunded");

        // Round 3: false-returning USDT, dust, refund rules, refund home, executor donations, OFT fees.
        handler.pay(10, 4, five);
        handler.settle(10, 4, true);
        vm.assertEq(usdt.balanceOf(handler.destination(10)), 5e6, "false-returning USDT delivered");

        handler.dustThenSettle(7, 0);
        vm.assertFalse(handler.started(7), "dust did not start the open calldata session");
        handler.donateToExecutor(3, 9); // session 7's executor
        handler.pay(7, 0, 2e6);
        handler.settle(7, 0, false);
        vm.assertEq(
            handler.target().credited(handler.beneficiary(7)), 2e6 + 2, "ran with the session's funds"
        );
        vm.assertEq(usdc.balanceOf(handler.refundAddress(7)), 10, "the donation went to the refund address");

        handler.pay(12, 2, 6);
        handler.refund(12, 2, false);
        vm.assertEq(handler.junk().balanceOf(handler.destination(12)), 7, "refund to the EVM destination");

        handler.pay(11, 0, five);
        handler.refundHome(11, 0, false);
        vm.assertEq(handler.bridgedOut(11, 0), 5e6, "sent home");

        handler.pay(13, 4, five);
        handler.bridge(13, handler.OFT_FEE() + 7, false);
        vm.assertEq(handler.bridgedOut(13, 4), 5e6, "USDT bridged with its fee paid");
        handler.oftDrainAttempt(0);
        handler.oftDrainAttempt(handler.OFT_FEE());

        handler.deployDirectly(0);
        handler.donateToRouter(0);
        invariant_attackerGainsNothing();
        invariant_perSessionBooksBalance();
        invariant_noStablecoinAtUnknownAccounts();
        invariant_finalCallRunsAtMostOnce();
        afterInvariant();
    }

    /// Liveness, at the end of every run: after expiry, for every session and every token it holds, a plain
    /// permissionless call (no try/catch: a revert fails the run) empties the receiver to committed places:
    /// `refund` to the refund target (the false-returning USDT and the Solana-keyed refund address included),
    /// or, for the session without a refund address here, `refundHome` of its destination token, while the
    /// tokens it cannot send anywhere stay where they are (the documented residual). The books still balance.
    function afterInvariant() public {
        _checkFeesAndStarts();
        vm.warp(block.timestamp + 2 days);
        for (uint256 i; i < handler.SESSIONS(); ++i) {
            address r = handler.receiver(i);
            for (uint256 t; t < handler.TOKENS(); ++t) {
                address token = handler.tokenAt(t);
                if (handler.balanceOf(token, r) == 0) continue;
                if (handler.refundTarget(i) != address(0)) {
                    handler.refundStrict(i, token);
                } else if (t == 0) {
                    handler.refundHomeStrict(i);
                } else {
                    continue;
                }
                vm.assertEq(handler.balanceOf(token, r), 0, "the drain left funds behind");
            }
        }
        invariant_perSessionBooksBalance();
        invariant_noStablecoinAtUnknownAccounts();
        _checkFeesAndStarts();
    }
}
