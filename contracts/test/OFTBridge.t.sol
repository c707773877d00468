// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../src/DepositRouter.sol";
import {ReceiverFactory} from "../src/ReceiverFactory.sol";
import {OFTAdapter} from "../src/bridges/OFTAdapter.sol";
import {LocalOFT} from "../src/devnet/LocalOFT.sol";
import {TestUSDT} from "../src/devnet/TestUSDT.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {MessagingFee, SendParam} from "../src/interfaces/IOFT.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {Destinations} from "./utils/Destinations.sol";
import {TestBase} from "./utils/TestBase.sol";
import {Vm} from "./utils/Vm.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice Tron USDT → Base USDT through the OFT-shaped adapter and the local OFT: the second bridge
/// behind `IBridgeAdapter`, carrying a token whose `transfer` returns nothing. One EVM plays both chains.
contract OFTBridgeTest is TestBase {
    uint256 internal constant TRON = 728126428;
    uint256 internal constant BASE = 8453;
    uint32 internal constant TRON_EID = 30420;
    uint32 internal constant BASE_EID = 30184;
    uint256 internal constant ATTESTER_KEY = 0xA77E57;
    address internal constant DEST = address(0xD00D);
    address internal constant REFUND = address(0xBEEF);
    address internal constant RELAYER = address(0x5E1A);

    TestUSDT internal usdtTron;
    TestUSDT internal usdtBase;
    LocalOFT internal oftTron;
    LocalOFT internal oftBase;
    OFTAdapter internal adapter;
    DepositRouter internal router;
    ReceiverFactory internal factory;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.chainId(TRON);
        address attester = vm.addr(ATTESTER_KEY);
        usdtTron = new TestUSDT();
        usdtBase = new TestUSDT();
        oftTron = new LocalOFT(usdtTron, TRON_EID, attester);
        oftBase = new LocalOFT(usdtBase, BASE_EID, attester);
        OFTAdapter.Route[] memory routes = new OFTAdapter.Route[](2);
        routes[0] = OFTAdapter.Route(TRON, address(usdtTron), address(oftTron), TRON_EID);
        routes[1] = OFTAdapter.Route(BASE, address(usdtBase), address(oftBase), BASE_EID);
        adapter = new OFTAdapter(routes, 10, 30 minutes);
        address[] memory adapters = new address[](1);
        adapters[0] = address(adapter);
        router = new DepositRouter(adapters, bytes1(0xff), Destinations.table(TRON, BASE));
        factory = ReceiverFactory(address(router.factory()));
    }

    function _session(bytes32 id) internal view returns (DepositParams memory) {
        return DepositParams({
            sessionId: id,
            toChainId: BASE,
            toToken: bytes32(uint256(uint160(address(usdtBase)))),
            toAddress: bytes32(uint256(uint160(DEST))),
            amount: 25e6,
            minAmount: 0,
            finalCall: "",
            refundAddress: bytes32(uint256(uint160(REFUND))),
            solanaRefundAddress: bytes32(0),
            expiresAt: 1_700_003_600
        });
    }

    /// Bridges the receiver's USDT on Tron and returns the attested packet.
    function _bridge(DepositParams memory p, uint256 amount, bytes memory data)
        internal
        returns (bytes memory packet, bytes memory att)
    {
        vm.chainId(TRON);
        usdtTron.mint(factory.receiverAddress(p), amount);
        vm.recordLogs();
        router.bridge(p, address(usdtTron), address(adapter), data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == LocalOFT.PacketSent.selector) {
                packet = abi.decode(logs[i].data, (bytes));
            }
        }
        require(packet.length != 0, "no PacketSent");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ATTESTER_KEY, keccak256(packet));
        att = abi.encodePacked(r, s, v);
    }

    function _switchToBase(DepositParams memory p) internal {
        vm.chainId(BASE);
        address receiver = factory.receiverAddress(p);
        vm.etch(receiver, "");
        vm.resetNonce(receiver);
    }

    function test_bridge_sendsUsdtThroughTheOftToTheSameReceiverAndIsDeliveredOnBase() public {
        DepositParams memory p = _session("oft");
        address receiver = factory.receiverAddress(p);
        vm.chainId(TRON);
        usdtTron.mint(receiver, 25e6);
        vm.expectEmit(true, true, true, true);
        emit IDepositRouter.Bridged(
            p.sessionId, receiver, address(usdtTron), address(adapter), BASE, receiver, 25e6
        );
        router.bridge(p, address(usdtTron), address(adapter), "");
        vm.snapshotGasLastCall("DepositRouter", "bridge (deploy+OFT send)");
        vm.assertEq(usdtTron.balanceOf(receiver), 0, "receiver emptied on Tron");
        vm.assertEq(
            usdtTron.allowance(address(router), address(adapter)), 0, "approval reset (USDT needs it)"
        );
        vm.assertEq(usdtTron.allowance(address(adapter), address(oftTron)), 0, "approval reset");
    }

    function test_fastFinishOnBase_thenTheOftPacketRepaysTheRelayer() public {
        DepositParams memory p = _session("fast");
        (bytes memory packet, bytes memory att) = _bridge(p, 25e6, "");
        _switchToBase(p);
        usdtBase.mint(RELAYER, 25e6);
        vm.startPrank(RELAYER);
        usdtBase.approve(address(router), 25e6);
        router.fastFinish(p, 25e6);
        vm.stopPrank();
        vm.assertEq(usdtBase.balanceOf(DEST), 25e6, "delivered before the packet landed");

        oftBase.lzReceive(packet, att);
        router.claim(p);
        vm.assertEq(usdtBase.balanceOf(RELAYER), 25e6, "repaid from the bridged USDT");
        vm.assertEq(usdtBase.balanceOf(factory.receiverAddress(p)), 0, "receiver emptied on Base");
        vm.expectRevert(abi.encodeWithSelector(LocalOFT.AlreadyReceived.selector, TRON_EID, uint64(0)));
        oftBase.lzReceive(packet, att);
    }

    function test_bridge_RevertWhen_theCallerWouldLoseMoreThanTheAdaptersCap() public {
        DepositParams memory p = _session("min");
        vm.chainId(TRON);
        usdtTron.mint(factory.receiverAddress(p), 25e6);
        uint256 floor = 25e6 - 25e6 * 10 / 10_000;
        vm.expectRevert(abi.encodeWithSelector(OFTAdapter.MinAmountTooLow.selector, floor - 1, floor));
        router.bridge(p, address(usdtTron), address(adapter), abi.encode(floor - 1));
    }

    function test_bridge_RevertWhen_theRouteDoesNotDeliverTheSessionsToken() public {
        DepositParams memory p = _session("usdc");
        p.toToken = bytes32(uint256(uint160(address(0xC0C0)))); // a USDC destination: no USDT route to it
        vm.chainId(TRON);
        usdtTron.mint(factory.receiverAddress(p), 25e6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AdapterUnsupported.selector, address(adapter), address(usdtTron), BASE
            )
        );
        router.bridge(p, address(usdtTron), address(adapter), "");
    }

    function test_adapter_RevertWhen_calledDirectlyForATokenItHasNoRouteFor() public {
        vm.chainId(TRON);
        usdtBase.mint(address(this), 1e6);
        usdtBase.approve(address(adapter), 1e6);
        vm.expectRevert(abi.encodeWithSelector(OFTAdapter.Unsupported.selector, address(usdtBase), BASE));
        adapter.bridge(address(usdtBase), 1e6, BASE, bytes32(uint256(1)), "", address(this));
    }

    function test_constructor_RevertWhen_theFeeCapIsAboveTheWholeAmount() public {
        OFTAdapter.Route[] memory routes = new OFTAdapter.Route[](0);
        vm.expectRevert(abi.encodeWithSelector(OFTAdapter.FeeCapAboveWhole.selector, 10_001));
        new OFTAdapter(routes, 10_001, 30 minutes);
    }

    function test_constructor_RevertWhen_aRouteHasNoChainOrAChainIsListedTwice() public {
        OFTAdapter.Route[] memory routes = new OFTAdapter.Route[](1);
        routes[0] = OFTAdapter.Route(0, address(usdtTron), address(oftTron), TRON_EID);
        vm.expectRevert(OFTAdapter.BadRoutes.selector);
        new OFTAdapter(routes, 10, 30 minutes);
        // A second entry for Tron would let a deployer shadow the first with another token or OFT.
        routes = new OFTAdapter.Route[](2);
        routes[0] = OFTAdapter.Route(TRON, address(usdtTron), address(oftTron), TRON_EID);
        routes[1] = OFTAdapter.Route(TRON, address(usdtBase), address(oftBase), BASE_EID);
        vm.expectRevert(OFTAdapter.BadRoutes.selector);
        new OFTAdapter(routes, 10, 30 minutes);
    }

    function test_attack_aDirectCallToTheAdapterCannotMoveAnyoneElsesTokens() public {
        // After a bridge, neither the router nor anyone else has left an allowance or a balance in the
        // adapter: an attacker asking it to bridge tokens it does not send itself gets nothing.
        DepositParams memory p = _session("victim");
        _bridge(p, 25e6, "");
        vm.assertEq(usdtTron.balanceOf(address(adapter)), 0, "the adapter holds nothing");
        vm.assertEq(usdtTron.allowance(address(router), address(adapter)), 0, "no standing router approval");
        usdtTron.mint(address(router), 5e6); // a donation to the router
        address attacker = address(0xA77AC4);
        vm.prank(attacker);
        vm.expectRevert(SafeTransferLib.TransferFromFailed.selector);
        adapter.bridge(address(usdtTron), 5e6, BASE, bytes32(uint256(uint160(attacker))), "", attacker);
        vm.assertEq(usdtTron.balanceOf(address(router)), 5e6, "the donation stays where it was");
    }

    function test_send_RevertWhen_lessThanTheCallersMinimumWouldArrive() public {
        usdtTron.mint(address(this), 1e6);
        usdtTron.approve(address(oftTron), 1e6);
        SendParam memory send = SendParam(BASE_EID, bytes32(uint256(1)), 1e6, 1e6 + 1, "", "", "");
        vm.expectRevert(abi.encodeWithSelector(LocalOFT.SlippageExceeded.selector, 1e6, 1e6 + 1));
        oftTron.send(send, MessagingFee(0, 0), address(this));
    }

    function test_lzReceive_RevertWhen_thePacketIsForAnotherEndpoint() public {
        DepositParams memory p = _session("elsewhere");
        (bytes memory packet, bytes memory att) = _bridge(p, 25e6, "");
        // Delivered back to Tron's OFT instead of Base's: refused, nothing minted there.
        vm.expectRevert(abi.encodeWithSelector(LocalOFT.WrongEndpoint.selector, BASE_EID));
        oftTron.lzReceive(packet, att);
    }

    function test_lzReceive_RevertWhen_notAttested() public {
        DepositParams memory p = _session("forged");
        (bytes memory packet,) = _bridge(p, 25e6, "");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(0xBAD, keccak256(packet));
        vm.chainId(BASE);
        vm.expectRevert(abi.encodeWithSelector(LocalOFT.BadAttestation.selector, vm.addr(0xBAD)));
        oftBase.lzReceive(packet, abi.encodePacked(r, s, v));
    }
}
