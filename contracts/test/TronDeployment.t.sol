// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CallExecutor} from "../src/CallExecutor.sol";
import {DepositReceiver} from "../src/DepositReceiver.sol";
import {DepositRouter} from "../src/DepositRouter.sol";
import {ReceiverFactory} from "../src/ReceiverFactory.sol";
import {CCTPv2Adapter} from "../src/bridges/CCTPv2Adapter.sol";
import {OFTAdapter} from "../src/bridges/OFTAdapter.sol";
import {LocalOFT} from "../src/devnet/LocalOFT.sol";
import {TestUSDT} from "../src/devnet/TestUSDT.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {Create2Lib} from "../src/libraries/Create2Lib.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {Destinations} from "./utils/Destinations.sol";
import {TestBase} from "./utils/TestBase.sol";
import {TronAddress} from "./utils/TronAddress.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice The contracts as deployed for Tron: a router constructed with CREATE2 prefix `0x41` (TIP-26), its
/// own factory, and a destination table naming Base's deployment explicitly. The `0x41` derivation is checked
/// against addresses a TVM really created (SunSwap V2's factory and pairs on Tron mainnet), recomputed with
/// the contracts' own prediction code. Forge's EVM creates with `0xff`, so a `0x41` router cannot deploy a
/// receiver here (`test_tron_aRouterConfiguredFor0x41CannotDeployOnAnEvmChain`); the tests that run such a
/// router end to end place the receiver clone where a TVM would have created it (`vm.etch` of the exact
/// clone runtime at the `0x41` address), which is the one step forge cannot execute.
contract TronDeploymentTest is TestBase {
    uint256 internal constant TRON = 728126428;
    uint256 internal constant BASE = 8453;
    uint32 internal constant TRON_EID = 30420;
    uint32 internal constant BASE_EID = 30184;
    uint256 internal constant ATTESTER_KEY = 0xA77E57;
    address internal constant DEST = address(0xD00D);
    address internal constant REFUND = address(0xBEEF);
    uint64 internal constant EXPIRES = 1_700_003_600;

    // SunSwap V2 on Tron mainnet. Factory: sun-protocol/sunswap-v2-contracts README ("Factory | TRON Mainnet");
    // INIT_CODE_PAIR_HASH: the same repository, contracts/libraries/SunswapV2Library.sol (`pairFor` hashes
    // hex'41' ‖ factory ‖ keccak256(token0 ‖ token1) ‖ this). The pair addresses are what the deployed
    // factory's getPair returns, as published by independent codebases (see /work/notes/tron-research.md).
    string internal constant SUNSWAP_V2_FACTORY = "TKWJdrQkqHisa1X8HUdHEfREvTzw4pMAaY";
    bytes32 internal constant SUNSWAP_V2_PAIR_INIT_CODE_HASH =
        0x6d3f89421f83e4b62e628de8fc7ff2b014a79bf8fd8e8b0ea46e4a1d9409b67d;
    string internal constant WTRX = "TNUC9Qb1rRpS5CbWLmNMxXBjyFoydXjWFR";
    string internal constant USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    string internal constant BBT = "TGyZUWrL97mmmYJwrC7ZCLVrhbzvHmmWPL";
    string internal constant CFT = "THUjZzHsvzDermxAGr3aGyophJ4nn4XyAK";
    string internal constant KING = "TMFNzkJaj573F62s4bWmfonKwGcosAA8fE";

    TestUSDT internal usdtTron;
    TestUSDT internal usdtBase;
    LocalOFT internal oftTron;
    LocalOFT internal oftBase;
    OFTAdapter internal adapter;
    DepositRouter internal baseRouter;
    DepositRouter internal tronRouter;
    ReceiverFactory internal baseFactory;
    ReceiverFactory internal tronFactory;

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

        // Base: the EVM deployment (shared by every EVM chain through the deterministic deployment proxy).
        baseRouter = new DepositRouter(adapters, bytes1(0xff), Destinations.table(1, 42161));
        baseFactory = ReceiverFactory(address(baseRouter.factory()));
        // Tron: a deployment of its own, prefix 0x41, naming Base's deployment for what it bridges there.
        IDepositRouter.Destination[] memory table = new IDepositRouter.Destination[](1);
        table[0] = IDepositRouter.Destination(
            BASE, address(baseFactory), baseFactory.receiverInitCodeHash(), bytes1(0xff)
        );
        tronRouter = new DepositRouter(adapters, bytes1(0x41), table);
        tronFactory = ReceiverFactory(address(tronRouter.factory()));
    }

    // ------------------------------------------------------------------------ helpers

    function _b32(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    /// A Tron USDT → Base USDT session, paid by an EVM-shaped (Tron) payer.
    function _session(bytes32 id) internal view returns (DepositParams memory) {
        return DepositParams({
            sessionId: id,
            toChainId: BASE,
            toToken: _b32(address(usdtBase)),
            toAddress: _b32(DEST),
            amount: 25e6,
            minAmount: 25e6 - 25e3,
            finalCall: "",
            refundAddress: _b32(REFUND),
            solanaRefundAddress: bytes32(0),
            expiresAt: EXPIRES
        });
    }

    /// TIP-26, written out independently of the contracts: `keccak256(0x41 ‖ deployer ‖ salt ‖ hash)[12:]`.
    function _tip26(address deployer, bytes32 salt, bytes32 initCodeHash) internal pure returns (address) {
        return
            address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0x41), deployer, salt, initCodeHash)))));
    }

    function _sunswapPair(string memory a, string memory b) internal pure returns (address) {
        (address t0, address t1) = (TronAddress.decode(a), TronAddress.decode(b));
        if (t1 < t0) (t0, t1) = (t1, t0);
        return Create2Lib.predict(
            bytes1(0x41),
            TronAddress.decode(SUNSWAP_V2_FACTORY),
            keccak256(abi.encodePacked(t0, t1)),
            SUNSWAP_V2_PAIR_INIT_CODE_HASH
        );
    }

    /// What a TVM leaves at the receiver's address once the Tron factory's CREATE2 ran: the solady clone
    /// of the implementation, at the `0x41` address (forge cannot run that CREATE2 itself).
    function _tvmDeploysReceiver(DepositParams memory p) internal returns (address receiver) {
        receiver = _tip26(address(tronFactory), keccak256(abi.encode(p)), tronFactory.receiverInitCodeHash());
        vm.etch(
            receiver,
            abi.encodePacked(
                hex"3d3d3d3d363d3d37363d73", tronFactory.implementation(), hex"5af43d3d93803e602a57fd5bf3"
            )
        );
    }

    // ------------------------------------------- the 0x41 derivation against real Tron addresses

    function test_tronAddress_decodesTheResearchedHexForms() public pure {
        // The hex forms of tron-research.md's vector A, to check the base58check decoder itself.
        require(
            TronAddress.decode(SUNSWAP_V2_FACTORY)
                == address(bytes20(hex"689abaeeed3f0bb3585773192e23224cac25dd41")),
            "factory"
        );
        require(
            TronAddress.decode(WTRX) == address(bytes20(hex"891cdb91d149f23b1a45d9c5ca78a88d0cb44c18")),
            "WTRX"
        );
        require(
            TronAddress.decode(USDT) == address(bytes20(hex"a614f803b6fd780986a42c78ec9c7f77e6ded13c")),
            "USDT"
        );
    }

    /// Six pairs SunSwap V2's factory created on Tron mainnet, recomputed with `Create2Lib.predict` (the
    /// code behind every receiver and executor address) with prefix 0x41; the EVM prefix gives another
    /// address.
    function test_tron_create2DerivationMatchesPublishedSunSwapV2Pairs() public pure {
        vm.assertEq(
            _sunswapPair(WTRX, USDT), TronAddress.decode("TFGDbUyP8xez44C76fin3bn3Ss6jugoUwJ"), "WTRX/USDT"
        );
        vm.assertEq(
            _sunswapPair(WTRX, BBT), TronAddress.decode("TTJ9VB8kUptB1bztysnQZtcqaR5cYCbzAW"), "WTRX/BBT"
        );
        vm.assertEq(
            _sunswapPair(WTRX, CFT), TronAddress.decode("TDBm3WAEaykeMUhmrNe1eLNWhG8CwfmGCg"), "WTRX/CFT"
        );
        vm.assertEq(
            _sunswapPair(WTRX, KING), TronAddress.decode("TQ2HCSvpir3ELSJg3J2wKG6TskePh74rz8"), "WTRX/KING"
        );
        vm.assertEq(
            _sunswapPair(CFT, KING), TronAddress.decode("TXm1bnUSVSZWE5PpYzzyiZAoQVpFDbNq38"), "CFT/KING"
        );
        vm.assertEq(
            _sunswapPair(CFT, BBT), TronAddress.decode("TANnrhzkhjGtgAmD1GQ91rgrmRwKu7sedj"), "CFT/BBT"
        );

        (address t0, address t1) = (TronAddress.decode(WTRX), TronAddress.decode(USDT));
        address withEvmPrefix = Create2Lib.predict(
            bytes1(0xff),
            TronAddress.decode(SUNSWAP_V2_FACTORY),
            keccak256(abi.encodePacked(t0, t1)),
            SUNSWAP_V2_PAIR_INIT_CODE_HASH
        );
        vm.assertEq(
            withEvmPrefix, TronAddress.decode("TPwrJALAUV2EBr9FfGJu5ADfWvvoZ4CAUE"), "the 0xff address"
        );
        vm.assertTrue(withEvmPrefix != _sunswapPair(WTRX, USDT), "0xff does not name the pair Tron created");
    }

    /// The router's own destination view computes a Tron deployment's addresses exactly as Tron created
    /// SunSwap's pairs: a table entry naming SunSwap's factory, its pair init code hash and 0x41 yields the
    /// WTRX/USDT pair for its salt.
    function test_tron_routerDestinationViewMatchesAPairTronCreated() public {
        IDepositRouter.Destination[] memory table = new IDepositRouter.Destination[](1);
        table[0] = IDepositRouter.Destination(
            TRON, TronAddress.decode(SUNSWAP_V2_FACTORY), SUNSWAP_V2_PAIR_INIT_CODE_HASH, bytes1(0x41)
        );
        DepositRouter router = new DepositRouter(new address[](0), bytes1(0xff), table);
        (address t0, address t1) = (TronAddress.decode(WTRX), TronAddress.decode(USDT));
        vm.assertEq(
            router.destinationReceiver(TRON, keccak256(abi.encodePacked(t0, t1))),
            TronAddress.decode("TFGDbUyP8xez44C76fin3bn3Ss6jugoUwJ"),
            "the router names the address Tron's CREATE2 created"
        );
    }

    // -------------------------------------------- finding 1: a Tron router finds Tron receivers

    function test_tron_routerAndFactoryPredictWith0x41() public view {
        DepositParams memory p = _session("predict");
        bytes32 h = keccak256(abi.encode(p));
        vm.assertEq(tronRouter.create2Prefix(), bytes1(0x41), "router prefix");
        vm.assertEq(tronFactory.create2Prefix(), bytes1(0x41), "factory prefix");
        address expected = _tip26(address(tronFactory), h, tronFactory.receiverInitCodeHash());
        vm.assertEq(tronFactory.receiverAddress(p), expected, "receiver by TIP-26");
        vm.assertEq(tronFactory.receiverAddressOf(h), expected, "receiver by hash");
        bytes32 executorInitCodeHash = keccak256(
            abi.encodePacked(
                hex"602c3d8160093d39f33d3d3d3d363d3d37363d73",
                address(tronRouter.executorImplementation()),
                hex"5af43d3d93803e602a57fd5bf3"
            )
        );
        vm.assertEq(
            tronRouter.executorOf(h), _tip26(address(tronRouter), h, executorInitCodeHash), "executor"
        );
        vm.assertTrue(
            expected
                != Create2Lib.predict(
                    bytes1(0xff), address(tronFactory), h, tronFactory.receiverInitCodeHash()
                ),
            "differs from the EVM derivation"
        );
    }

    /// The review's critical finding: on Tron every entry point looked at the `0xff` address, which is
    /// empty, so every deposit was stuck, refunds included. The Tron router finds the receiver the TVM
    /// created and refunds Tron's USDT (whose `transfer` returns false) from it.
    function test_attack_tronRouterFindsTheReceiverTheTvmCreated() public {
        DepositParams memory p = _session("tron-refund");
        address receiver = _tvmDeploysReceiver(p);
        usdtTron.mint(receiver, 25e6);
        vm.warp(EXPIRES + 1);
        tronRouter.refund(p, address(usdtTron));
        vm.assertEq(usdtTron.balanceOf(REFUND), 25e6, "refunded from the receiver the TVM created");
        vm.assertEq(usdtTron.balanceOf(receiver), 0, "receiver emptied");
    }

    /// The other half: Tron → Base bridged to the Tron router's own address for the session, which on Base
    /// no contract controls. The bridge now sends to the receiver Base's deployment derives (Base's factory,
    /// its init code hash, 0xff), and the funds are delivered there.
    function test_attack_tronToBaseBridgeLandsAtTheReceiverBasesDeploymentDerives() public {
        DepositParams memory p = _session("tron-to-base");
        address tronReceiver = _tvmDeploysReceiver(p);
        address baseReceiver = baseFactory.receiverAddress(p);
        vm.assertEq(tronRouter.destinationReceiver(BASE, keccak256(abi.encode(p))), baseReceiver, "table");
        vm.assertTrue(tronReceiver != baseReceiver, "two deployments, two addresses");
        usdtTron.mint(tronReceiver, 25e6);

        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(tronRouter));
        emit IDepositRouter.Bridged(
            p.sessionId, tronReceiver, address(usdtTron), address(adapter), BASE, baseReceiver, 25e6
        );
        tronRouter.bridge(p, address(usdtTron), address(adapter), "");
        (bytes memory packet, bytes memory att) = _packet();
        (,,,, bytes32 to, uint256 amount) =
            abi.decode(packet, (uint32, uint32, uint32, uint64, bytes32, uint256));
        vm.assertEq(to, _b32(baseReceiver), "the OFT sends to Base's receiver");
        vm.assertEq(amount, 25e6, "the whole deposit");

        vm.chainId(BASE);
        oftBase.lzReceive(packet, att);
        baseRouter.claim(p);
        vm.assertEq(usdtBase.balanceOf(DEST), 25e6, "delivered on Base");
    }

    /// Forge's EVM creates with `0xff`: a router configured for `0x41` cannot deploy a receiver here. The
    /// same guard stops a misconfigured deployment on a real chain at its first receiver, instead of letting
    /// it read an address nothing will ever occupy.
    function test_tron_aRouterConfiguredFor0x41CannotDeployOnAnEvmChain() public {
        DepositParams memory p = _session("wrong-chain");
        bytes32 h = keccak256(abi.encode(p));
        address predicted = tronFactory.receiverAddressOf(h);
        address evmCreated =
            Create2Lib.predict(bytes1(0xff), address(tronFactory), h, tronFactory.receiverInitCodeHash());
        usdtTron.mint(predicted, 25e6);
        vm.warp(EXPIRES + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IDepositRouter.AddressDerivationMismatch.selector, predicted, evmCreated)
        );
        tronRouter.refund(p, address(usdtTron));
    }

    /// The same guard for executor clones: a calldata session on a `0x41` router cannot run here, since the
    /// clone lands at the `0xff` address instead of the one the router predicts (and would pay).
    function test_tron_aRouterConfiguredFor0x41CannotCreateAnExecutorOnAnEvmChain() public {
        DepositParams memory p = _session("call-on-tron");
        (p.toChainId, p.toToken, p.toAddress) = (TRON, _b32(address(usdtTron)), _b32(address(oftTron)));
        p.finalCall = abi.encodeCall(LocalOFT.token, ());
        address receiver = _tvmDeploysReceiver(p);
        usdtTron.mint(receiver, 25e6);
        bytes32 h = keccak256(abi.encode(p));
        address evmCreated = Create2Lib.predict(
            bytes1(0xff),
            address(tronRouter),
            h,
            keccak256(
                abi.encodePacked(
                    hex"602c3d8160093d39f33d3d3d3d363d3d37363d73",
                    address(tronRouter.executorImplementation()),
                    hex"5af43d3d93803e602a57fd5bf3"
                )
            )
        );
        vm.expectRevert(
            abi.encodeWithSelector(
                IDepositRouter.AddressDerivationMismatch.selector, tronRouter.executorOf(h), evmCreated
            )
        );
        tronRouter.settle(p, address(usdtTron));
    }

    // ------------------------------------------------------------ the destination table

    /// Base's table does not list Tron (a source-only chain): the adapter has a route there, yet nothing
    /// says which receiver would get the funds, so the router refuses.
    function test_bridge_RevertWhen_theDestinationIsNotInTheTable() public {
        DepositParams memory p = _session("to-tron");
        p.toChainId = TRON;
        p.toToken = _b32(address(usdtTron));
        vm.chainId(BASE);
        usdtBase.mint(baseFactory.receiverAddress(p), 1e6);
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.UnknownDestination.selector, TRON));
        baseRouter.bridge(p, address(usdtBase), address(adapter), "");
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.UnknownDestination.selector, TRON));
        baseRouter.destinationReceiver(TRON, keccak256(abi.encode(p)));
    }

    function test_destinations_viewsReturnTheTableAsConfigured() public view {
        IDepositRouter.Destination memory d = tronRouter.destination(BASE);
        vm.assertEq(d.chainId, BASE, "chain");
        vm.assertEq(d.factory, address(baseFactory), "Base's factory");
        vm.assertEq(d.receiverInitCodeHash, baseFactory.receiverInitCodeHash(), "Base's init code hash");
        vm.assertEq(d.create2Prefix, bytes1(0xff), "Base's prefix");
        vm.assertEq(tronRouter.destination(1).chainId, 0, "an unknown chain is all zero");
        vm.assertEq(tronRouter.destinations().length, 1, "one entry");
        IDepositRouter.Destination memory same = baseRouter.destinations()[1];
        vm.assertEq(same.chainId, 42161, "listed in order");
        vm.assertEq(same.factory, address(0), "the same deployment");
        vm.assertEq(
            baseRouter.destinationReceiver(42161, bytes32("s")), baseFactory.receiverAddressOf("s"), "own"
        );
    }

    function test_constructor_RevertWhen_thePrefixIsNotOneAChainUses() public {
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.UnsupportedCreate2Prefix.selector, bytes1(0)));
        new DepositRouter(new address[](0), bytes1(0), new IDepositRouter.Destination[](0));
        vm.expectRevert(
            abi.encodeWithSelector(IDepositRouter.UnsupportedCreate2Prefix.selector, bytes1(0xfe))
        );
        new DepositRouter(new address[](0), bytes1(0xfe), new IDepositRouter.Destination[](0));
    }

    function test_constructor_RevertWhen_aDestinationIsMalformed() public {
        IDepositRouter.Destination[6] memory bad = [
            IDepositRouter.Destination(0, address(0), bytes32(0), bytes1(0)), // no chain
            IDepositRouter.Destination(BASE, address(0), bytes32(uint256(1)), bytes1(0)), // same + hash
            IDepositRouter.Destination(BASE, address(0), bytes32(0), bytes1(0xff)), // same + prefix
            IDepositRouter.Destination(BASE, address(1), bytes32(0), bytes1(0xff)), // no init code hash
            IDepositRouter.Destination(BASE, address(1), bytes32(uint256(1)), bytes1(0)), // no prefix
            IDepositRouter.Destination(BASE, address(1), bytes32(uint256(1)), bytes1(0x42)) // unknown prefix
        ];
        for (uint256 i; i < bad.length; ++i) {
            IDepositRouter.Destination[] memory table = new IDepositRouter.Destination[](1);
            table[0] = bad[i];
            vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BadDestination.selector, bad[i].chainId));
            new DepositRouter(new address[](0), bytes1(0xff), table);
        }
        vm.expectRevert(abi.encodeWithSelector(IDepositRouter.BadDestination.selector, BASE));
        new DepositRouter(new address[](0), bytes1(0xff), Destinations.table(BASE, BASE)); // listed twice
    }

    // ------------------------------------------------ finding 3: only opcodes the TVM executes

    /// What is deployed on Tron (the router's creation code, which carries the factory's, the receiver's and
    /// the executor's; the deployed runtimes of all of them; the adapters; the clones) is scanned instruction
    /// by instruction. TVM runs the Cancun set since proposal #103 (2025-06-26: TLOAD, TSTORE, MCOPY; PUSH0
    /// since #89, 2023-08-04; CREATE2 and EXTCODEHASH since #18; CHAINID and SELFBALANCE since #44); refused
    /// here are the opcodes it lacks or answers differently: GASPRICE, PREVRANDAO and GASLIMIT (0 on TVM),
    /// BASEFEE (the energy fee), BLOBHASH and BLOBBASEFEE (stubs), CALLCODE, SELFDESTRUCT, and anything after
    /// Cancun (CLZ). Sources: /work/notes/tron-research.md §1 (java-tron OperationRegistry, TIPs, proposals).
    function test_tvm_deployedCodeUsesOnlyOpcodesTheTvmExecutes() public view {
        _assertTvmOpcodes(type(DepositRouter).creationCode, "router creation code");
        _assertTvmOpcodes(address(tronRouter).code, "router");
        _assertTvmOpcodes(address(tronFactory).code, "factory");
        _assertTvmOpcodes(tronFactory.implementation().code, "receiver implementation");
        _assertTvmOpcodes(address(tronRouter.executorImplementation()).code, "executor implementation");
        _assertTvmOpcodes(type(OFTAdapter).creationCode, "OFT adapter creation code");
        _assertTvmOpcodes(address(adapter).code, "OFT adapter");
        _assertTvmOpcodes(type(CCTPv2Adapter).creationCode, "CCTP adapter creation code");
        _assertTvmOpcodes(
            abi.encodePacked(
                hex"602c3d8160093d39f33d3d3d3d363d3d37363d73", address(0), hex"5af43d3d93803e602a57fd5bf3"
            ),
            "clone init code"
        );
        _assertTvmOpcodes(type(TestUSDT).runtimeCode, "devnet USDT");
    }

    function _assertTvmOpcodes(bytes memory code, string memory name) internal pure {
        for (uint256 i; i < code.length; ++i) {
            uint8 op = uint8(code[i]);
            if (!_tvmExecutes(op)) {
                revert(string.concat(name, ": opcode ", vm.toString(uint256(op)), " at ", vm.toString(i)));
            }
            if (op >= 0x60 && op <= 0x7f) i += op - 0x5f; // skip PUSH data
        }
    }

    function _tvmExecutes(uint8 op) internal pure returns (bool) {
        if (op <= 0x0b || (op >= 0x10 && op <= 0x1d) || op == 0x20) return true;
        if (op >= 0x30 && op <= 0x3f) return op != 0x3a; // not GASPRICE
        if (op >= 0x40 && op <= 0x4a) return op <= 0x43 || op == 0x46 || op == 0x47;
        if (op >= 0x50 && op <= 0xa4) return true; // ... TLOAD, TSTORE, MCOPY, PUSH0, PUSHn, DUPn, SWAPn, LOGn
        return op == 0xf0 || op == 0xf1 || op == 0xf3 || op == 0xf4 || op == 0xf5 || op == 0xfa || op == 0xfd
            || op == 0xfe;
    }

    /// @dev Reads the OFT packet `bridge` emitted and signs it as the devnet attester.
    function _packet() internal returns (bytes memory packet, bytes memory att) {
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
}
