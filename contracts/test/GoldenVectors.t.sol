// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRouter} from "../src/DepositRouter.sol";
import {IDepositRouter} from "../src/interfaces/IDepositRouter.sol";
import {IReceiverFactory} from "../src/interfaces/IReceiverFactory.sol";
import {Create2Lib} from "../src/libraries/Create2Lib.sol";
import {DepositParams} from "../src/libraries/DepositParamsLib.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Checks the golden vectors that the Rust relayer also checks (`relayer/evm/tests/golden_vectors.rs`)
/// against a real deterministic deployment, and pins the receiver init-code hash: any change to router,
/// factory or receiver bytecode moves every deposit address, and must be deliberate.
/// @dev The canonical golden deployment is the router deployed through the deterministic deployment proxy
/// with `.deployment.salt`, no adapters, CREATE2 prefix `0xff` and an empty destination table. Each vector's
/// params are the v3 commitment (with `minAmount` and `solanaRefundAddress`), and `receiverTron` is the same
/// session's receiver under Tron's derivation, `keccak256(0x41 ‖ factory ‖ paramsHash ‖ initCodeHash)[12:]`,
/// with the golden deployment's factory (a cross-check of the 0x41 arithmetic between Rust and Solidity).
contract GoldenVectorsTest is TestBase {
    /// Changing this means every receiver address changes. Regenerate the fixture with
    /// `UPDATE_FIXTURES=1 cargo test -p relayer-evm --test golden_vectors` and update the constant.
    /// Issue 20 (commitment v3, the router's new constructor) moved it deliberately from
    /// 0xf95e8f49f455ff983172fd97a35ae1397f9a34b507778f0dab4a42d490322697, and issue 19's review (a final
    /// call's `Settled` reports what left the receiver) from
    /// 0x6f55c4697067be5857c871423883123e0ec4b48246b53d683eb1c8753d124260.
    bytes32 internal constant PINNED_RECEIVER_INIT_CODE_HASH =
        0x2748b7d453e7e713b169837d7a447958878a9eb33d602b04f45252406928bf29;

    string internal json;
    IReceiverFactory internal factory;
    DepositRouter internal router;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), "/contracts/test/fixtures/receivers.json"));
        bytes32 salt = vm.parseJsonBytes32(json, ".deployment.salt");
        address routerAddress = deployDeterministic(
            salt,
            abi.encodePacked(
                type(DepositRouter).creationCode,
                abi.encode(new address[](0), bytes1(0xff), new IDepositRouter.Destination[](0))
            )
        );
        router = DepositRouter(routerAddress);
        factory = router.factory();
    }

    function test_deterministicDeployment_matchesTheFixture() public view {
        vm.assertEq(
            address(factory.router()), vm.parseJsonAddress(json, ".deployment.router"), "router address"
        );
        vm.assertEq(address(factory), vm.parseJsonAddress(json, ".deployment.factory"), "factory address");
        vm.assertEq(
            factory.implementation(),
            vm.parseJsonAddress(json, ".deployment.implementation"),
            "implementation"
        );
        vm.assertEq(
            address(router.executorImplementation()),
            vm.parseJsonAddress(json, ".deployment.executorImplementation"),
            "executor implementation"
        );
    }

    function test_receiverInitCodeHash_isPinned() public view {
        vm.assertEq(
            factory.receiverInitCodeHash(), PINNED_RECEIVER_INIT_CODE_HASH, "receiver init code hash moved"
        );
        vm.assertEq(
            factory.receiverInitCodeHash(),
            vm.parseJsonBytes32(json, ".deployment.receiverInitCodeHash"),
            "fixture disagrees with the pin"
        );
    }

    function test_goldenVectors_matchTheContracts() public {
        uint256 count = vm.parseJsonUint(json, ".count");
        vm.assertTrue(count >= 5, "vectors missing");
        for (uint256 i; i < count; ++i) {
            string memory key = string.concat(".vectors[", vm.toString(i), "]");
            DepositParams memory p = _params(string.concat(key, ".params"));
            vm.assertEq(
                keccak256(abi.encode(p)), vm.parseJsonBytes32(json, string.concat(key, ".paramsHash")), "hash"
            );
            address expected = vm.parseJsonAddress(json, string.concat(key, ".receiver"));
            vm.assertEq(factory.receiverAddress(p), expected, "receiver address");
            vm.assertEq(
                Create2Lib.predict(
                    bytes1(0x41), address(factory), keccak256(abi.encode(p)), factory.receiverInitCodeHash()
                ),
                vm.parseJsonAddress(json, string.concat(key, ".receiverTron")),
                "receiver under Tron's 0x41 derivation"
            );
            vm.assertEq(
                router.executorOf(keccak256(abi.encode(p))),
                vm.parseJsonAddress(json, string.concat(key, ".executor")),
                "executor clone address"
            );
            vm.prank(factory.router());
            vm.assertEq(
                factory.deploy(keccak256(abi.encode(p))), expected, "deployed at the predicted address"
            );
            vm.assertTrue(expected.code.length != 0, "receiver deployed");
        }
    }

    function _params(string memory key) internal view returns (DepositParams memory p) {
        p.sessionId = vm.parseJsonBytes32(json, string.concat(key, ".sessionId"));
        p.toChainId = vm.parseJsonUint(json, string.concat(key, ".toChainId"));
        p.toToken = vm.parseJsonBytes32(json, string.concat(key, ".toToken"));
        p.toAddress = vm.parseJsonBytes32(json, string.concat(key, ".toAddress"));
        p.amount = vm.parseJsonUint(json, string.concat(key, ".amount"));
        p.minAmount = vm.parseJsonUint(json, string.concat(key, ".minAmount"));
        p.finalCall = vm.parseJsonBytes(json, string.concat(key, ".finalCall"));
        p.refundAddress = vm.parseJsonBytes32(json, string.concat(key, ".refundAddress"));
        p.solanaRefundAddress = vm.parseJsonBytes32(json, string.concat(key, ".solanaRefundAddress"));
        p.expiresAt = uint64(vm.parseJsonUint(json, string.concat(key, ".expiresAt")));
    }
}
