// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../src/DepositRouter.sol";
import {ReceiverFactory} from "../src/ReceiverFactory.sol";
import {CCTPv2Adapter} from "../src/bridges/CCTPv2Adapter.sol";
import {OFTAdapter} from "../src/bridges/OFTAdapter.sol";
import {LocalTokenMessenger} from "../src/devnet/LocalCCTP.sol";
import {TestUSDC} from "../src/devnet/TestUSDC.sol";
import {TestUSDT} from "../src/devnet/TestUSDT.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {FeeOFT} from "./mocks/FeeOFT.sol";
import {Destinations} from "./utils/Destinations.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Finding 6: the OFT's native messaging fee is paid by whoever bridges (through the router's
/// payable `bridge`), never from a balance the adapter keeps; excess goes back to the payer. An OFT that
/// charges a real fee (`FeeOFT`, LayerZero-endpoint-like) stands behind the adapter here.
contract OFTFeeTest is TestBase {
    uint256 internal constant TRON = 728126428;
    uint256 internal constant BASE = 8453;
    uint256 internal constant FEE = 0.01 ether;
    address internal constant DEST = address(0xD00D);
    address internal constant REFUND = address(0xBEEF);
    address internal constant RELAYER = address(0x5E1A);
    address internal constant ATTACKER = address(0xA77AC4);

    TestUSDT internal usdt;
    FeeOFT internal oft;
    OFTAdapter internal adapter;
    CCTPv2Adapter internal cctp;
    TestUSDC internal usdc;
    DepositRouter internal router;
    ReceiverFactory internal factory;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.chainId(TRON);
        usdt = new TestUSDT();
        oft = new FeeOFT(usdt, FEE);
        OFTAdapter.Route[] memory routes = new OFTAdapter.Route[](2);
        routes[0] = OFTAdapter.Route(TRON, address(usdt), address(oft), 30420);
        routes[1] = OFTAdapter.Route(BASE, address(0xBA5E), address(0xBA5E0F7), 30184);
        adapter = new OFTAdapter(routes, 10, 30 minutes);
        usdc = new TestUSDC();
        CCTPv2Adapter.Route[] memory cctpRoutes = new CCTPv2Adapter.Route[](2);
        cctpRoutes[0] = CCTPv2Adapter.Route(TRON, bytes32(uint256(uint160(address(usdc)))), 0, bytes32(0));
        cctpRoutes[1] = CCTPv2Adapter.Route(BASE, bytes32(uint256(0xC0C0)), 6, bytes32(0));
        cctp = new CCTPv2Adapter(new LocalTokenMessenger(usdc, 0, address(1)), cctpRoutes, 10, 30 minutes);
        address[] memory adapters = new address[](2);
        (adapters[0], adapters[1]) = (address(adapter), address(cctp));
        router = new DepositRouter(adapters, bytes1(0xff), Destinations.table(BASE));
        factory = ReceiverFactory(address(router.factory()));
        vm.deal(RELAYER, 1 ether);
        vm.deal(ATTACKER, 1 ether);
    }

    function _session(bytes32 id) internal pure returns (DepositParams memory) {
        return DepositParams({
            sessionId: id,
            toChainId: BASE,
            toToken: bytes32(uint256(uint160(address(0xBA5E)))),
            toAddress: bytes32(uint256(uint160(DEST))),
            amount: 25e6,
            minAmount: 0,
            finalCall: "",
            refundAddress: bytes32(uint256(uint160(REFUND))),
            solanaRefundAddress: bytes32(0),
            expiresAt: 1_700_003_600
        });
    }

    /// The review's attack: the adapter paid fees from its own operator-funded balance, so anyone could
    /// bridge dust to themselves through it until it was empty, after which every USDT bridge reverted.
    /// Now a caller who does not pay the fee is refused, a stray balance in the adapter is never spent, and
    /// the victim's bridge (its relayer paying the fee) goes through.
    function test_attack_nobodyCanDrainTheOftFeeAndStallEveryonesBridge() public {
        vm.deal(address(adapter), 0.05 ether); // a stray balance (the adapter has no receive; forced in)
        usdt.mint(ATTACKER, 5);
        vm.startPrank(ATTACKER);
        usdt.approve(address(adapter), 5);
        for (uint256 i; i < 5; ++i) {
            vm.expectRevert(abi.encodeWithSelector(OFTAdapter.InsufficientFee.selector, 0, FEE));
            adapter.bridge(address(usdt), 1, BASE, bytes32(uint256(uint160(ATTACKER))), "", ATTACKER);
        }
        // Through the router, with the attacker's own session, the same.
        DepositParams memory own = _session("attacker");
        own.toAddress = bytes32(uint256(uint160(ATTACKER)));
        usdt.mint(factory.receiverAddress(own), 1);
        vm.expectRevert(abi.encodeWithSelector(OFTAdapter.InsufficientFee.selector, 0, FEE));
        router.bridge(own, address(usdt), address(adapter), "");
        vm.stopPrank();
        vm.assertEq(address(adapter).balance, 0.05 ether, "the adapter's balance was never spent");

        DepositParams memory p = _session("victim");
        usdt.mint(factory.receiverAddress(p), 25e6);
        vm.prank(RELAYER);
        router.bridge{value: FEE}(p, address(usdt), address(adapter), "");
        vm.assertEq(oft.lastAmount(), 25e6, "the victim's deposit is bridged");
        vm.assertEq(address(adapter).balance, 0.05 ether, "still untouched");
    }

    /// A direct caller who pays can use the adapter for its own tokens, at its own cost only.
    function test_adapter_aDirectCallerPaysItsOwnFee() public {
        usdt.mint(ATTACKER, 1);
        vm.startPrank(ATTACKER);
        usdt.approve(address(adapter), 1);
        adapter.bridge{value: FEE}(address(usdt), 1, BASE, bytes32(uint256(uint160(ATTACKER))), "", ATTACKER);
        vm.stopPrank();
        vm.assertEq(ATTACKER.balance, 1 ether - FEE, "paid exactly the fee");
        vm.assertEq(address(adapter).balance, 0, "the adapter keeps nothing");
    }

    function test_bridge_theCallerPaysTheQuotedFeeAndGetsTheExcessBack() public {
        DepositParams memory p = _session("excess");
        usdt.mint(factory.receiverAddress(p), 25e6);
        vm.assertEq(
            router.quoteBridge(p, address(usdt), address(adapter), ""), FEE, "the router quotes the fee"
        );
        vm.prank(RELAYER);
        router.bridge{value: 0.3 ether}(p, address(usdt), address(adapter), "");
        vm.assertEq(RELAYER.balance, 1 ether - FEE, "the excess went back to the caller");
        vm.assertEq(address(router).balance + address(adapter).balance, 0, "nothing kept on the way");
        vm.assertEq(address(oft).balance, FEE, "the OFT got its fee");
        vm.assertEq(oft.lastTo(), bytes32(uint256(uint160(factory.receiverAddress(p)))), "to the receiver");
    }

    function test_bridge_RevertWhen_theFeeIsNotFullyPaid() public {
        DepositParams memory p = _session("short");
        usdt.mint(factory.receiverAddress(p), 25e6);
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(OFTAdapter.InsufficientFee.selector, FEE - 1, FEE));
        router.bridge{value: FEE - 1}(p, address(usdt), address(adapter), "");
        vm.assertEq(usdt.balanceOf(factory.receiverAddress(p)), 25e6, "the deposit stays");
    }

    /// CCTP takes its fee from the amount; native coin sent along is refused rather than stranded.
    function test_cctp_RevertWhen_nativeCoinIsSentAlong() public {
        DepositParams memory p = _session("cctp");
        p.toToken = bytes32(uint256(0xC0C0));
        usdc.mint(factory.receiverAddress(p), 25e6);
        vm.assertEq(router.quoteBridge(p, address(usdc), address(cctp), ""), 0, "no native fee");
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(CCTPv2Adapter.NativeFeeNotAccepted.selector, 1));
        router.bridge{value: 1}(p, address(usdc), address(cctp), "");
        vm.prank(RELAYER);
        router.bridge(p, address(usdc), address(cctp), "");
        vm.assertEq(usdc.balanceOf(factory.receiverAddress(p)), 0, "bridged without native coin");
    }

    function test_quoteBridge_RevertWhen_theRouteOrDestinationIsUnknown() public {
        DepositParams memory p = _session("quote");
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.AdapterNotAllowed.selector, address(0xBAD)));
        router.quoteBridge(p, address(usdt), address(0xBAD), "");
        p.toChainId = 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AdapterUnsupported.selector, address(adapter), address(usdt), 1
            )
        );
        router.quoteBridge(p, address(usdt), address(adapter), "");
    }
}
