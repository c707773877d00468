// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CCTPv2Adapter} from "../src/bridges/CCTPv2Adapter.sol";
import {LocalMessageTransmitter, LocalTokenMessenger} from "../src/devnet/LocalCCTP.sol";
import {TestUSDC} from "../src/devnet/TestUSDC.sol";
import {TestUSDT} from "../src/devnet/TestUSDT.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {TransferOutLib} from "../src/libraries/TransferOutLib.sol";
import {HalfAdapter} from "./mocks/Adapters.sol";
import {ExactAmountTarget, PullAllowanceTarget, RevertingTarget} from "./mocks/Targets.sol";
import {MockERC20, QuirkyToken} from "./mocks/Tokens.sol";
import {RouterFixture} from "./utils/RouterFixture.sol";
import {Vm} from "./utils/Vm.sol";
import {LibBytes} from "solady/utils/LibBytes.sol";

/// @notice The third review's findings (issue 20: "no deposit can be locked, on any chain and any family"),
/// each as the attack or the chain behaviour that locked deposits. Every `test_attack_` here failed on the
/// contracts before the fix. Tron-specific derivation is in `TronDeployment.t.sol`, the OFT fee in
/// `OFTBridge.t.sol`.
contract LivenessSecurityTest is RouterFixture {
    address internal constant ATTACKER = address(0xA77AC4);
    uint256 internal constant SOLANA = 501;
    uint256 internal constant OTHER_CHAIN = 42161;
    bytes32 internal constant SOLANA_MINT = keccak256("solana usdc mint");
    bytes32 internal constant INBOX = keccak256("deposit-vault inbox token account");
    bytes32 internal constant SOLANA_WALLET = keccak256("a solana payer's wallet");
    bytes32 internal constant SOLANA_DEST = keccak256("a solana recipient");
    bytes32 internal constant HALF_TOKEN = keccak256("what the half adapter delivers");

    TestUSDT internal usdt;
    TestUSDC internal usdcOther;
    CCTPv2Adapter internal cctp;
    HalfAdapter internal half;
    PullAllowanceTarget internal target;

    /// CCTP from this chain's USDC to `usdcOther` on `OTHER_CHAIN` and to Solana's mint through the inbox.
    function _adapters() internal override returns (address[] memory list) {
        usdcOther = new TestUSDC();
        LocalTokenMessenger messenger = new LocalTokenMessenger(usdc, 6, vm.addr(0xA77E57));
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](3);
        routes[0] = CCTPv2Adapter.Route(block.chainid, _b32(address(usdc)), 6, bytes32(0));
        routes[1] = CCTPv2Adapter.Route(OTHER_CHAIN, _b32(address(usdcOther)), 3, bytes32(0));
        routes[2] = CCTPv2Adapter.Route(SOLANA, SOLANA_MINT, 5, INBOX);
        cctp = new CCTPv2Adapter(messenger, routes, 100, 30 minutes);
        half = new HalfAdapter(HALF_TOKEN);
        list = new address[](2);
        (list[0], list[1]) = (address(cctp), address(half));
    }

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

    /// A transfer that reverts is a failure even when its revert data reads as `true`.
    function test_settle_RevertWhen_theTransferRevertsWithDataThatReadsTrue() public {
        QuirkyToken token = new QuirkyToken(QuirkyToken.Mode.RevertsWithTrueWord);
        DepositParams memory p = _params("reverts-true", address(token), DEST, 10e6, "");
        token.mint(_receiver(p), 10e6);
        vm.expectRevert(
            abi.encodeWithSelector(TransferOutLib.TransferOutFailed.selector, address(token), DEST, 10e6)
        );
        router.settle(p, address(token));
    }

    /// What an adapter does not take goes back to the receiver through the router's own transfer, which
    /// must carry Tron's USDT too.
    function test_bridge_whatTheAdapterLeavesGoesBackToTheReceiver_falseReturningToken() public {
        DepositParams memory p = _params("half", address(usdt), DEST, 10e6, "");
        (p.toChainId, p.toToken) = (OTHER_CHAIN, HALF_TOKEN);
        usdt.mint(_receiver(p), 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Bridged(
            p.sessionId, _receiver(p), address(usdt), address(half), OTHER_CHAIN, _receiver(p), 5e6
        );
        router.bridge(p, address(usdt), address(half), "");
        vm.assertEq(usdt.balanceOf(_receiver(p)), 5e6, "the rest is back in the receiver");
        vm.assertEq(usdt.balanceOf(address(router)), 0, "the router holds nothing");
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

    // ------------- finding 5: every committed endpoint usable where funds land (refund address per family)

    /// A Solana payer's session to an EVM destination, as the relayer committed it before: the payer's
    /// Solana wallet as the refund address. On the EVM receiver every refund path called `toEvmAddress()`
    /// on it and reverted, so late, surplus and stray funds were stuck forever. Refunds now go to the EVM
    /// destination (the other committed endpoint), and a Solana-only refund address is never read here.
    function test_attack_nonEvmRefundAddressDoesNotLockLateOrStrayFunds() public {
        DepositParams memory p = _plain("solana-payer");
        p.refundAddress = SOLANA_WALLET;
        MockERC20 junk = new MockERC20();
        junk.mint(_receiver(p), 7);
        router.refund(p, address(junk)); // stray token, any time
        vm.assertEq(junk.balanceOf(DEST), 7, "stray token refunded to the EVM destination");

        usdc.mint(_receiver(p), 3e6);
        vm.warp(EXPIRES + 1);
        router.refund(p, address(usdc)); // late deposit, after expiry
        vm.assertEq(usdc.balanceOf(DEST), 3e6, "late deposit refunded to the EVM destination");
        vm.assertEq(usdc.balanceOf(_receiver(p)), 0, "nothing stuck");
    }

    /// The same commitment with a final call that reverts: the bounce (and any leftovers) used to revert
    /// on the refund address, leaving the deposit stuck; it now bounces to the committed target.
    function test_attack_nonEvmRefundAddressDoesNotLockABouncedCall() public {
        RevertingTarget reverting = new RevertingTarget();
        bytes memory call = abi.encodeCall(RevertingTarget.deposit, (address(usdc), address(0xA11CE)));
        DepositParams memory p = _params("solana-payer-call", address(usdc), address(reverting), 10e6, call);
        p.refundAddress = SOLANA_WALLET;
        usdc.mint(_receiver(p), 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, _receiver(p), address(usdc), IDepositRouter.Outcome.Bounced, 10e6, 0, 10e6
        );
        router.settle(p, address(usdc));
        vm.assertEq(usdc.balanceOf(address(reverting)), 10e6, "bounced to the committed EVM endpoint");
    }

    /// The rule, as a table: refundAddress if it holds an EVM address, else toAddress if it does, else none.
    function test_refundTarget_followsTheRulePerFamily() public view {
        bytes32 dirty = bytes32(uint256(1) << 200 | uint256(uint160(REFUND)));
        bytes32[6] memory refunds = [_b32(REFUND), bytes32(0), SOLANA_WALLET, dirty, bytes32(0), _b32(REFUND)];
        bytes32[6] memory tos = [_b32(DEST), _b32(DEST), _b32(DEST), _b32(DEST), SOLANA_DEST, SOLANA_DEST];
        address[6] memory expected = [REFUND, DEST, DEST, DEST, address(0), REFUND];
        for (uint256 i; i < refunds.length; ++i) {
            DepositParams memory p = _plain(bytes32(i));
            (p.refundAddress, p.toAddress, p.solanaRefundAddress) = (refunds[i], tos[i], SOLANA_WALLET);
            vm.assertEq(router.refundTarget(p), expected[i], string.concat("case ", vm.toString(i)));
        }
    }

    /// An EVM → Solana session whose payer gave no EVM refund address: nothing can be refunded here.
    function _homeSession(bytes32 id) internal view returns (DepositParams memory p) {
        p = _params(id, address(usdc), DEST, 10e6, "");
        (p.toChainId, p.toToken, p.toAddress) = (SOLANA, SOLANA_MINT, SOLANA_DEST);
        (p.refundAddress, p.solanaRefundAddress) = (bytes32(0), SOLANA_WALLET);
    }

    function test_refund_RevertWhen_noRefundAddressIsUsableHere() public {
        DepositParams memory p = _homeSession("no-refund");
        MockERC20 junk = new MockERC20();
        junk.mint(_receiver(p), 7);
        vm.expectRevert(IDepositRouter.NoRefundAddress.selector);
        router.refund(p, address(junk)); // a documented residual: other tokens stay
        usdc.mint(_receiver(p), 10e6);
        vm.warp(EXPIRES + 1);
        vm.expectRevert(IDepositRouter.NoRefundAddress.selector);
        router.refund(p, address(usdc));
    }

    /// Refund home: the destination token goes to the session's receiver on its destination chain (here
    /// Solana, through the inbox with the receiver as hook), whose program refunds it to the Solana refund
    /// address. Works after expiry, where `bridge` no longer does.
    function test_refundHome_sendsTheDestinationTokenToTheDestinationAfterExpiry() public {
        DepositParams memory p = _homeSession("home");
        address receiver = _receiver(p);
        usdc.mint(receiver, 10e6);
        vm.warp(EXPIRES + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.TooLateToBridge.selector, block.timestamp + 30 minutes, EXPIRES
            )
        );
        router.bridge(p, address(usdc), address(cctp), "");

        vm.recordLogs();
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.SentHome(
            p.sessionId, receiver, address(usdc), address(cctp), SOLANA, receiver, 10e6
        );
        vm.prank(ATTACKER); // permissionless
        router.refundHome(p, address(usdc), address(cctp), "");
        vm.assertEq(usdc.balanceOf(receiver), 0, "receiver emptied");
        (bytes32 mintRecipient, bytes32 hook) = _burnOf(vm.getRecordedLogs());
        vm.assertEq(mintRecipient, INBOX, "minted to the Solana inbox");
        vm.assertEq(hook, _b32(receiver), "the hook names the session's receiver");
    }

    function test_refundHome_worksBeforeExpiryToo() public {
        DepositParams memory p = _homeSession("home-early");
        usdc.mint(_receiver(p), 10e6);
        vm.warp(EXPIRES - 1); // bridge would be too late, nothing may be refunded yet
        router.refundHome(p, address(usdc), address(cctp), "");
        vm.assertEq(usdc.balanceOf(_receiver(p)), 0, "sent home");
    }

    function test_refundHome_RevertWhen_aRefundAddressIsUsableHere() public {
        DepositParams memory p = _homeSession("has-refund");
        p.refundAddress = _b32(REFUND);
        usdc.mint(_receiver(p), 10e6);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.RefundAddressUsable.selector, REFUND));
        router.refundHome(p, address(usdc), address(cctp), "");
        DepositParams memory q = _plain("evm-destination"); // toAddress is EVM: rule 2
        q.refundAddress = bytes32(0);
        q.toChainId = OTHER_CHAIN;
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.RefundAddressUsable.selector, DEST));
        router.refundHome(q, address(usdc), address(cctp), "");
    }

    function test_refundHome_RevertWhen_onTheDestinationChainOrOffRoute() public {
        DepositParams memory p = _homeSession("same-chain");
        p.toChainId = block.chainid;
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.SameChain.selector, block.chainid));
        router.refundHome(p, address(usdc), address(cctp), "");

        p = _homeSession("wrong-token");
        p.toToken = keccak256("another mint");
        usdc.mint(_receiver(p), 1e6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AdapterUnsupported.selector, address(cctp), address(usdc), SOLANA
            )
        );
        router.refundHome(p, address(usdc), address(cctp), "");
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.AdapterNotAllowed.selector, address(0xBAD)));
        router.refundHome(p, address(usdc), address(0xBAD), "");
    }

    /// The CCTP burn's mint recipient and hook, from the recorded `MessageSent`.
    function _burnOf(Vm.Log[] memory logs) internal pure returns (bytes32 mintRecipient, bytes32 hook) {
        bytes memory message;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == LocalMessageTransmitter.MessageSent.selector) {
                message = abi.decode(logs[i].data, (bytes));
            }
        }
        // Circle's MessageV2 (148-byte header) carrying a BurnMessageV2 (hook data from byte 228).
        bytes memory body = LibBytes.slice(message, 148, message.length);
        mintRecipient = bytes32(LibBytes.slice(body, 36, 68));
        hook = abi.decode(LibBytes.slice(body, 228, body.length), (bytes32));
    }

    // ------------------------- finding 7: a donation to a session's future executor cannot force a bounce

    /// The executor approved its whole balance, so one wei sent to its predictable address made a target
    /// that checks the exact amount revert, and the session bounced. Only what the router moved in is
    /// approved now; the donation goes to the refund target.
    function test_attack_oneWeiAtTheFutureExecutorCannotForceABounce() public {
        ExactAmountTarget exact = new ExactAmountTarget(10e6);
        DepositParams memory p = _params(
            "exact",
            address(usdc),
            address(exact),
            10e6,
            abi.encodeCall(ExactAmountTarget.deposit, (address(usdc)))
        );
        address executor = router.executorOf(_hash(p));
        usdc.mint(executor, 1); // the attacker's donation, before the clone exists
        usdc.mint(_receiver(p), 10e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Settled(
            p.sessionId, _receiver(p), address(usdc), IDepositRouter.Outcome.Delivered, 10e6, 10e6, 1
        );
        router.settle(p, address(usdc));
        vm.assertEq(exact.received(), 10e6, "delivered");
        vm.assertEq(usdc.balanceOf(REFUND), 1, "the donation went to the refund address");
        vm.assertEq(usdc.balanceOf(executor), 0, "the executor holds nothing");
    }

    /// The same with a fronted call: the fronter's exact amount is approved, the donation refunded.
    function test_attack_oneWeiAtTheFutureExecutorCannotForceABounceOfAFrontedCall() public {
        ExactAmountTarget exact = new ExactAmountTarget(10e6);
        DepositParams memory p = _params(
            "exact-front",
            address(usdc),
            address(exact),
            10e6,
            abi.encodeCall(ExactAmountTarget.deposit, (address(usdc)))
        );
        usdc.mint(router.executorOf(_hash(p)), 1);
        vm.prank(RELAYER);
        router.fastFinish(p, 10e6);
        vm.assertEq(exact.received(), 10e6, "delivered with the fronted amount");
        vm.assertEq(usdc.balanceOf(REFUND), 1, "the donation went to the refund address");
    }

    /// Only the router's `amount` is ever approved, whatever the executor holds (a direct view of the rule).
    function testFuzz_execute_approvesExactlyWhatTheRouterMovedIn(uint256 amount, uint256 donation) public {
        amount = bound(amount, 1, 1e30);
        donation = bound(donation, 0, 1e30);
        bytes memory call = abi.encodeCall(PullAllowanceTarget.deposit, (address(usdc), address(0xA11CE)));
        DepositParams memory p = _params("fuzz-exec", address(usdc), address(target), 0, call);
        usdc.mint(router.executorOf(_hash(p)), donation);
        usdc.mint(_receiver(p), amount);
        router.settle(p, address(usdc));
        vm.assertEq(target.credited(address(0xA11CE)), amount, "the target got exactly the session's funds");
        vm.assertEq(usdc.balanceOf(REFUND), donation, "the donation is refunded, never delivered");
    }

    // ------------------------------------------------ finding 8: a zero destination token is refused

    /// With `toToken == 0`, every adapter's "no route" answer (zero) matched it, so on a source chain every
    /// token looked bridgeable and junk could not be refunded before expiry. Now no token is usable: all of
    /// it is refundable at once, and nothing is delivered or bridged.
    function test_attack_zeroDestinationTokenMakesJunkRefundableAtOnce() public {
        DepositParams memory p = _plain("zero-token");
        (p.toChainId, p.toToken) = (OTHER_CHAIN, bytes32(0));
        MockERC20 junk = new MockERC20();
        junk.mint(_receiver(p), 7);
        usdc.mint(_receiver(p), 5e6);
        router.refund(p, address(junk));
        router.refund(p, address(usdc));
        vm.assertEq(junk.balanceOf(REFUND), 7, "junk refunded before expiry");
        vm.assertEq(usdc.balanceOf(REFUND), 5e6, "and so is everything else");
    }

    function test_entryPoints_RevertWhen_theDestinationTokenIsZero() public {
        DepositParams memory p = _plain("zero-here");
        p.toToken = bytes32(0);
        usdc.mint(_receiver(p), 5e6);
        vm.expectRevert(IDepositRouter.NoDestinationToken.selector);
        router.settle(p, address(usdc));
        vm.expectRevert(IDepositRouter.NoDestinationToken.selector);
        router.claim(p);
        vm.prank(RELAYER);
        vm.expectRevert(IDepositRouter.NoDestinationToken.selector);
        router.fastFinish(p, 10e6);
        router.refund(p, address(usdc)); // refundable at once instead
        vm.assertEq(usdc.balanceOf(REFUND), 5e6, "refunded");

        DepositParams memory q = _plain("zero-there");
        (q.toChainId, q.toToken) = (OTHER_CHAIN, bytes32(0));
        vm.expectRevert(IDepositRouter.NoDestinationToken.selector);
        router.bridge(q, address(usdc), address(cctp), "");
        q.refundAddress = bytes32(0);
        q.toAddress = SOLANA_DEST;
        vm.expectRevert(IDepositRouter.NoDestinationToken.selector);
        router.refundHome(q, address(usdc), address(cctp), "");
    }
}
