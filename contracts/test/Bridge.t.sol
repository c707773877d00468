// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../src/DepositRouter.sol";
import {ReceiverFactory} from "../src/ReceiverFactory.sol";
import {CCTPv2Adapter} from "../src/bridges/CCTPv2Adapter.sol";
import {LocalMessageTransmitter, LocalTokenMessenger} from "../src/devnet/LocalCCTP.sol";
import {TestUSDC} from "../src/devnet/TestUSDC.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {MockERC20} from "./mocks/Tokens.sol";
import {Destinations} from "./utils/Destinations.sol";
import {TestBase} from "./utils/TestBase.sol";
import {Vm} from "./utils/Vm.sol";
import {LibBytes} from "solady/utils/LibBytes.sol";

/// @notice Source chain → destination chain through the real CCTP v2 adapter and the local CCTP
/// deployment. One EVM plays both chains (switching `block.chainid`), which is exactly the situation the
/// design relies on: the same router and receiver addresses on both sides.
contract BridgeTest is TestBase {
    uint256 internal constant SRC = 1;
    uint256 internal constant DST = 8453;
    uint32 internal constant SRC_DOMAIN = 0;
    uint32 internal constant DST_DOMAIN = 6;
    uint256 internal constant ATTESTER_KEY = 0xA77E57;
    address internal constant DEST = address(0xD00D);
    address internal constant REFUND = address(0xBEEF);
    address internal constant RELAYER = address(0x5E1A);
    uint256 internal constant MAX_DELIVERY = 30 minutes;
    /// Solana: CCTP cannot mint to an EVM receiver there, so its route names an inbox token account.
    uint256 internal constant SOLANA = 501;
    uint32 internal constant SOLANA_DOMAIN = 5;
    bytes32 internal constant SOLANA_MINT = keccak256("solana usdc mint");
    bytes32 internal constant INBOX = keccak256("deposit-vault inbox token account");
    bytes32 internal constant SOLANA_RECIPIENT = keccak256("a solana wallet");

    TestUSDC internal usdcSrc;
    TestUSDC internal usdcDst;
    LocalTokenMessenger internal messengerSrc;
    LocalTokenMessenger internal messengerDst;
    CCTPv2Adapter internal adapter;
    DepositRouter internal router;
    ReceiverFactory internal factory;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.chainId(SRC);
        address attester = vm.addr(ATTESTER_KEY);
        usdcSrc = new TestUSDC();
        usdcDst = new TestUSDC();
        messengerSrc = new LocalTokenMessenger(usdcSrc, SRC_DOMAIN, attester);
        messengerDst = new LocalTokenMessenger(usdcDst, DST_DOMAIN, attester);
        // One EVM plays both chains, so the two messengers have different addresses (the devnet's share one).
        messengerDst.addRemoteTokenMessenger(SRC_DOMAIN, bytes32(uint256(uint160(address(messengerSrc)))));
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](3);
        routes[0] =
            CCTPv2Adapter.Route(SRC, bytes32(uint256(uint160(address(usdcSrc)))), SRC_DOMAIN, bytes32(0));
        routes[1] =
            CCTPv2Adapter.Route(DST, bytes32(uint256(uint160(address(usdcDst)))), DST_DOMAIN, bytes32(0));
        routes[2] = CCTPv2Adapter.Route(SOLANA, SOLANA_MINT, SOLANA_DOMAIN, INBOX);
        adapter = new CCTPv2Adapter(messengerSrc, routes, 10, MAX_DELIVERY);
        address[] memory adapters = new address[](1);
        adapters[0] = address(adapter);
        router = new DepositRouter(adapters, bytes1(0xff), Destinations.table(SRC, DST, SOLANA));
        factory = ReceiverFactory(address(router.factory()));
    }

    function _params(bytes32 id) internal pure returns (DepositParams memory) {
        return DepositParams({
            sessionId: id,
            toChainId: DST,
            toToken: bytes32(0), // set below: needs the deployed token
            toAddress: bytes32(uint256(uint160(DEST))),
            amount: 25e6,
            minAmount: 0,
            finalCall: "",
            refundAddress: bytes32(uint256(uint160(REFUND))),
            solanaRefundAddress: bytes32(0),
            expiresAt: 1_700_003_600
        });
    }

    function _session(bytes32 id) internal view returns (DepositParams memory p) {
        p = _params(id);
        p.toToken = bytes32(uint256(uint160(address(usdcDst))));
    }

    /// Bridges the receiver's balance on the source chain and returns the attested CCTP message.
    function _bridge(DepositParams memory p, uint256 amount)
        internal
        returns (bytes memory message, bytes memory att)
    {
        vm.chainId(SRC);
        usdcSrc.mint(factory.receiverAddress(p), amount);
        vm.recordLogs();
        router.bridge(p, address(usdcSrc), address(adapter), "");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes memory sent;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == LocalMessageTransmitter.MessageSent.selector) {
                sent = abi.decode(logs[i].data, (bytes));
            }
        }
        require(sent.length != 0, "no MessageSent");
        (message, att) = _attest(sent, ATTESTER_KEY);
    }

    uint256 internal _attested;

    /// What Circle's attestation service does with a sent message (as the devnet attester does): assigns
    /// its nonce, fills in the finality it was attested at and the burn's fee (the whole `maxFee`), and
    /// signs `keccak256` of the result with `key`.
    function _attest(bytes memory sent, uint256 key)
        internal
        returns (bytes memory message, bytes memory att)
    {
        message = LibBytes.concat(
            LibBytes.concat(
                LibBytes.slice(sent, 0, 12), abi.encodePacked(keccak256(abi.encode("nonce", ++_attested)))
            ),
            LibBytes.concat(LibBytes.slice(sent, 44, 144), abi.encodePacked(uint32(2000)))
        );
        bytes memory body = LibBytes.slice(sent, 148, sent.length);
        bytes memory maxFee = LibBytes.slice(body, 132, 164);
        message = LibBytes.concat(
            message,
            LibBytes.concat(
                LibBytes.concat(LibBytes.slice(body, 0, 164), maxFee), LibBytes.slice(body, 196, body.length)
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(message));
        att = abi.encodePacked(r, s, v);
    }

    /// The nonce the attester gave `message`.
    function _nonceOf(bytes memory message) internal pure returns (bytes32) {
        return bytes32(LibBytes.slice(message, 12, 44));
    }

    /// On a real destination chain the receiver is not deployed just because the source one is; one EVM
    /// playing both chains shares code, so clear it to model the destination faithfully.
    function _switchToDestination(DepositParams memory p) internal {
        vm.chainId(DST);
        address receiver = factory.receiverAddress(p);
        vm.etch(receiver, "");
        vm.resetNonce(receiver);
    }

    function test_bridge_movesFundsToTheSameReceiverOnTheDestinationChain() public {
        DepositParams memory p = _session("bridge");
        address receiver = factory.receiverAddress(p);
        vm.chainId(SRC);
        usdcSrc.mint(receiver, 25e6);

        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Bridged(
            p.sessionId, receiver, address(usdcSrc), address(adapter), DST, receiver, 25e6
        );
        router.bridge(p, address(usdcSrc), address(adapter), "");
        vm.snapshotGasLastCall("DepositRouter", "bridge (deploy+CCTP depositForBurn)");
        vm.assertEq(usdcSrc.balanceOf(receiver), 0, "source receiver emptied");
        vm.assertEq(usdcSrc.totalSupply(), 0, "burnt on the source chain");
        vm.assertEq(usdcSrc.allowance(address(router), address(adapter)), 0, "approval reset");
    }

    function test_bridge_thenClaim_deliversOnTheDestinationChain() public {
        DepositParams memory p = _session("e2e");
        (bytes memory message, bytes memory att) = _bridge(p, 25e6);

        _switchToDestination(p);
        messengerDst.transmitter().receiveMessage(message, att);
        address receiver = factory.receiverAddress(p);
        vm.assertEq(usdcDst.balanceOf(receiver), 25e6, "minted to the same receiver address");

        router.claim(p);
        vm.assertEq(usdcDst.balanceOf(DEST), 25e6, "delivered on the destination chain");
    }

    function test_fastFinish_thenBridgedFundsRepayTheRelayer() public {
        DepositParams memory p = _session("fast");
        (bytes memory message, bytes memory att) = _bridge(p, 25e6);

        _switchToDestination(p);
        usdcDst.mint(RELAYER, 25e6);
        vm.startPrank(RELAYER);
        usdcDst.approve(address(router), 25e6);
        router.fastFinish(p, 25e6);
        vm.stopPrank();
        vm.assertEq(usdcDst.balanceOf(DEST), 25e6, "delivered before the bridge landed");

        messengerDst.transmitter().receiveMessage(message, att);
        router.claim(p);
        vm.assertEq(usdcDst.balanceOf(RELAYER), 25e6, "relayer repaid from bridged funds");
        vm.assertEq(usdcDst.balanceOf(DEST), 25e6, "destination paid exactly once");
    }

    function test_receiveMessage_RevertWhen_replayed() public {
        DepositParams memory p = _session("replay");
        (bytes memory message, bytes memory att) = _bridge(p, 1e6);
        vm.chainId(DST);
        LocalMessageTransmitter t = messengerDst.transmitter();
        t.receiveMessage(message, att);
        vm.expectRevert(
            abi.encodeWithSelector(LocalMessageTransmitter.AlreadyReceived.selector, _nonceOf(message))
        );
        t.receiveMessage(message, att);
    }

    function test_receiveMessage_RevertWhen_attestationIsNotTheAttesters() public {
        DepositParams memory p = _session("forged");
        (bytes memory message,) = _bridge(p, 1e6);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(0xBAD, keccak256(message));
        vm.chainId(DST);
        LocalMessageTransmitter t = messengerDst.transmitter();
        vm.expectRevert(
            abi.encodeWithSelector(LocalMessageTransmitter.BadAttestation.selector, vm.addr(0xBAD))
        );
        t.receiveMessage(message, abi.encodePacked(r, s, v));
    }

    /// The stand-in writes Circle's MessageV2 and BurnMessageV2 (packed, big-endian) with the fields the
    /// attestation service fills in left zero, so the devnet's attester, the Solana programs and the relayer
    /// read the bytes mainnet carries (offsets from Circle's `MessageV2.sol` and `BurnMessageV2.sol`).
    function test_depositForBurn_emitsCirclesMessageV2() public {
        usdcSrc.mint(address(this), 5e6);
        usdcSrc.approve(address(messengerSrc), 5e6);
        bytes32 recipient = keccak256("recipient");
        bytes32 caller = keccak256("caller");
        vm.recordLogs();
        messengerSrc.depositForBurnWithHook(
            5e6, DST_DOMAIN, recipient, address(usdcSrc), caller, 7, 1000, hex"abcd"
        );
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes memory sent;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == LocalMessageTransmitter.MessageSent.selector) {
                sent = abi.decode(logs[i].data, (bytes));
            }
        }
        bytes32 messenger = bytes32(uint256(uint160(address(messengerSrc))));
        bytes memory want = abi.encodePacked(
            uint32(1),
            SRC_DOMAIN,
            DST_DOMAIN,
            bytes32(0),
            messenger,
            messenger,
            caller,
            uint32(1000),
            uint32(0)
        );
        want = LibBytes.concat(
            want,
            abi.encodePacked(
                uint32(1),
                bytes32(uint256(uint160(address(usdcSrc)))),
                recipient,
                uint256(5e6),
                bytes32(uint256(uint160(address(this)))),
                uint256(7),
                uint256(0),
                uint256(0),
                hex"abcd"
            )
        );
        vm.assertEq(sent, want, "Circle's layout, nonce and executed fields zero");
        vm.assertEq(sent.length, 376 + 2, "148-byte header + 228-byte burn + hook");
    }

    /// Circle's source-side rules: a fee at or above the amount, a zero recipient, an empty hook where one
    /// is asked for are refused (real CCTP would revert too, so the devnet must not let them through).
    function test_depositForBurn_RevertWhen_circleWouldRefuseIt() public {
        usdcSrc.mint(address(this), 5e6);
        usdcSrc.approve(address(messengerSrc), 5e6);
        vm.expectRevert(LocalTokenMessenger.InvalidBurn.selector);
        messengerSrc.depositForBurn(5e6, DST_DOMAIN, keccak256("r"), address(usdcSrc), 0, 5e6, 2000);
        vm.expectRevert(LocalTokenMessenger.InvalidBurn.selector);
        messengerSrc.depositForBurn(5e6, DST_DOMAIN, 0, address(usdcSrc), 0, 0, 2000);
        vm.expectRevert(LocalTokenMessenger.InvalidBurn.selector);
        messengerSrc.depositForBurnWithHook(5e6, DST_DOMAIN, keccak256("r"), address(usdcSrc), 0, 0, 2000, "");
    }

    /// The recipient gets the amount less the fee the attestation executed; an attested fee above the
    /// burn's `maxFee` (an attester overcharging) is refused, as Circle's messenger refuses it.
    function test_receiveMessage_mintsLessTheExecutedFee_andRefusesAFeeAboveMax() public {
        usdcSrc.mint(address(this), 10e6);
        usdcSrc.approve(address(messengerSrc), 10e6);
        vm.recordLogs();
        messengerSrc.depositForBurn(10e6, DST_DOMAIN, bytes32(uint256(0xD00D)), address(usdcSrc), 0, 3, 2000);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes memory sent;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == LocalMessageTransmitter.MessageSent.selector) {
                sent = abi.decode(logs[i].data, (bytes));
            }
        }
        LocalMessageTransmitter t = messengerDst.transmitter();
        (bytes memory message, bytes memory att) = _attest(sent, ATTESTER_KEY);
        // The same message with a fee of 4 (> maxFee 3), signed by the attester.
        bytes memory over = LibBytes.concat(
            LibBytes.concat(LibBytes.slice(message, 0, 148 + 164), abi.encodePacked(uint256(4))),
            LibBytes.slice(message, 148 + 196, message.length)
        );
        over = LibBytes.concat(
            LibBytes.concat(LibBytes.slice(over, 0, 12), abi.encodePacked(keccak256("other nonce"))),
            LibBytes.slice(over, 44, over.length)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ATTESTER_KEY, keccak256(over));
        vm.expectRevert(abi.encodeWithSelector(LocalTokenMessenger.FeeExceeded.selector, 4));
        t.receiveMessage(over, abi.encodePacked(r, s, v));
        t.receiveMessage(message, att);
        vm.assertEq(usdcDst.balanceOf(address(0xD00D)), 10e6 - 3, "amount less the executed fee");
    }

    /// Attack stopped (found by review): any program on Solana may send a body through Circle's
    /// transmitter there, and the attester attests what the transmitter wrote; a burn-shaped body from a
    /// sender that is not the source domain's token messenger must not mint (Circle's
    /// `onlyRemoteTokenMessenger`).
    function test_receiveMessage_RevertWhen_theSenderIsNotTheSourcesTokenMessenger() public {
        DepositParams memory p = _session("forged sender");
        (bytes memory message,) = _bridge(p, 1e6);
        bytes32 forger = keccak256("a program that is no token messenger");
        bytes memory forged = LibBytes.concat(
            LibBytes.concat(LibBytes.slice(message, 0, 44), abi.encodePacked(forger)),
            LibBytes.slice(message, 76, message.length)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ATTESTER_KEY, keccak256(forged));
        vm.chainId(DST);
        LocalMessageTransmitter t = messengerDst.transmitter();
        vm.expectRevert(
            abi.encodeWithSelector(LocalTokenMessenger.NotARemoteTokenMessenger.selector, SRC_DOMAIN, forger)
        );
        t.receiveMessage(forged, abi.encodePacked(r, s, v));
        // The genuine message still mints.
        (, bytes memory att) = (message, _sign(message));
        t.receiveMessage(message, att);
    }

    function _sign(bytes memory message) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ATTESTER_KEY, keccak256(message));
        return abi.encodePacked(r, s, v);
    }

    function test_bridge_RevertWhen_adapterIsNotAllowListed() public {
        DepositParams memory p = _session("rogue");
        usdcSrc.mint(factory.receiverAddress(p), 1e6);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.AdapterNotAllowed.selector, address(0xBAD)));
        router.bridge(p, address(usdcSrc), address(0xBAD), "");
    }

    function test_bridge_RevertWhen_tokenCannotBeBridged() public {
        MockERC20 other = new MockERC20();
        DepositParams memory p = _session("other");
        other.mint(factory.receiverAddress(p), 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AdapterUnsupported.selector, address(adapter), address(other), DST
            )
        );
        router.bridge(p, address(other), address(adapter), "");
        // ...and such a token is refundable right away.
        router.refund(p, address(other));
        vm.assertEq(other.balanceOf(REFUND), 1e18, "unusable token refunded");
    }

    function test_bridge_RevertWhen_onTheDestinationChain() public {
        DepositParams memory p = _session("same");
        vm.chainId(DST);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.SameChain.selector, DST));
        router.bridge(p, address(usdcDst), address(adapter), "");
    }

    function test_bridge_RevertWhen_relayerAsksForAFeeAboveTheCap() public {
        DepositParams memory p = _session("fee");
        usdcSrc.mint(factory.receiverAddress(p), 10e6);
        // cap: 10 bps of 10 USDC = 0.01 USDC
        vm.expectRevert(abi.encodeWithSelector(CCTPv2Adapter.FeeTooHigh.selector, 10_001, 10_000));
        router.bridge(p, address(usdcSrc), address(adapter), abi.encode(uint256(10_001), uint32(1000)));
    }

    function test_refund_RevertWhen_bridgeableTokenBeforeExpiry() public {
        DepositParams memory p = _session("early");
        usdcSrc.mint(factory.receiverAddress(p), 1e6);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.NotExpired.selector, p.expiresAt));
        router.refund(p, address(usdcSrc));
    }

    /// The burn's fields as the destination reads them (Circle's MessageV2 and BurnMessageV2 offsets):
    /// (destination domain, mint recipient, amount, hook).
    function _burnOf(bytes memory message) internal pure returns (uint32, bytes32, uint256, bytes memory) {
        bytes memory body = _bodyOf(message);
        return (
            uint32(bytes4(LibBytes.slice(message, 8, 12))),
            bytes32(LibBytes.slice(body, 36, 68)),
            uint256(bytes32(LibBytes.slice(body, 68, 100))),
            LibBytes.slice(body, 228, body.length)
        );
    }

    function _solanaSession(bytes32 id) internal pure returns (DepositParams memory p) {
        p = _params(id);
        p.toChainId = SOLANA;
        p.toToken = SOLANA_MINT;
        p.toAddress = SOLANA_RECIPIENT;
    }

    /// Attack stopped: Solana cannot mint to an EVM receiver, and a mint recipient the relayer could name
    /// would let it take the funds. The route's fixed inbox receives, and the session's receiver travels as
    /// the hook, so the Solana program pays out only to the session whose receiver that is.
    function test_bridge_toSolana_mintsToTheRoutesInboxWithTheReceiverAsHook() public {
        DepositParams memory p = _solanaSession("to solana");
        address receiver = factory.receiverAddress(p);
        vm.assertEq(
            adapter.bridgedToken(address(usdcSrc), SOLANA), SOLANA_MINT, "the Solana mint is the token"
        );
        (bytes memory message,) = _bridge(p, 25e6);
        (uint32 domain, bytes32 mintRecipient, uint256 amount, bytes memory hook) = _burnOf(message);
        vm.assertEq(uint256(domain), uint256(SOLANA_DOMAIN), "to Solana's domain");
        vm.assertEq(mintRecipient, INBOX, "minted to the inbox, whatever the caller");
        vm.assertEq(amount, 25e6, "the whole balance");
        vm.assertEq(
            abi.decode(hook, (bytes32)), bytes32(uint256(uint160(receiver))), "hook names the receiver"
        );
        vm.assertEq(usdcSrc.balanceOf(receiver), 0, "source receiver emptied");
    }

    /// Routes without an inbox keep minting to the receiver itself, with no hook.
    function test_bridge_toAnEvmChain_mintsToTheReceiverWithoutHook() public {
        DepositParams memory p = _session("to base");
        (bytes memory message,) = _bridge(p, 1e6);
        (, bytes32 mintRecipient,, bytes memory hook) = _burnOf(message);
        vm.assertEq(mintRecipient, bytes32(uint256(uint160(factory.receiverAddress(p)))), "the receiver");
        vm.assertEq(hook.length, 0, "the plain burn body: no hook");
        vm.assertEq(_bodyOf(message).length, 228, "Circle's burn body is 228 bytes");
    }

    function _bodyOf(bytes memory message) internal pure returns (bytes memory) {
        return LibBytes.slice(message, 148, message.length);
    }

    /// A Solana session can only go to Solana's route: an EVM destination token never matches the mint.
    function test_bridge_RevertWhen_sessionTokenIsNotTheRoutesMint() public {
        DepositParams memory p = _solanaSession("wrong mint");
        p.toToken = keccak256("another mint");
        usdcSrc.mint(factory.receiverAddress(p), 1e6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AdapterUnsupported.selector, address(adapter), address(usdcSrc), SOLANA
            )
        );
        router.bridge(p, address(usdcSrc), address(adapter), "");
    }

    /// The local route is the one EVM token the adapter pulls: a word that is not an address, or an
    /// inbox on it, is a misconfiguration refused at deployment.
    function test_constructor_RevertWhen_localRouteIsNotAnEvmAddressOrHasAnInbox() public {
        CCTPv2Adapter.Route[] memory routes = new CCTPv2Adapter.Route[](1);
        routes[0] = CCTPv2Adapter.Route(block.chainid, SOLANA_MINT, SRC_DOMAIN, bytes32(0));
        vm.expectRevert(CCTPv2Adapter.BadRoutes.selector);
        new CCTPv2Adapter(messengerSrc, routes, 10, MAX_DELIVERY);
        routes[0] = CCTPv2Adapter.Route(block.chainid, bytes32(uint256(uint160(address(usdcSrc)))), 0, INBOX);
        vm.expectRevert(CCTPv2Adapter.BadRoutes.selector);
        new CCTPv2Adapter(messengerSrc, routes, 10, MAX_DELIVERY);
    }
}
