// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DepositReceiver} from "./DepositReceiver.sol";
import {IReceiverFactory} from "./interfaces/IReceiverFactory.sol";
import {Create2Lib} from "./libraries/Create2Lib.sol";
import {DepositParams, DepositParamsLib} from "./libraries/DepositParamsLib.sol";
import {LibClone} from "solady/utils/LibClone.sol";

/// @title ReceiverFactory
/// @notice Counterfactual receivers: EIP-1167 clones at `CREATE2(factory, paramsHash, cloneInitCode)`, derived
/// with this deployment's CREATE2 prefix (`0xff` on EVM chains, `0x41` on Tron).
/// @dev Created by the router's constructor, so `router` and the prefix are fixed without any setter. On
/// EVM chains the router is deployed through the deterministic deployment proxy with the same arguments,
/// which puts router, factory, implementation and so every receiver at one address on all of them; a chain
/// that derives addresses differently (Tron) has a deployment, and receiver addresses, of its own.
contract ReceiverFactory is IReceiverFactory {
    using DepositParamsLib for DepositParams;

    /// @inheritdoc IReceiverFactory
    address public immutable router;
    /// @inheritdoc IReceiverFactory
    address public immutable implementation;
    /// @inheritdoc IReceiverFactory
    bytes32 public immutable receiverInitCodeHash;
    /// @inheritdoc IReceiverFactory
    bytes1 public immutable create2Prefix;

    /// @param create2Prefix_ The prefix this chain's CREATE2 hashes first (the router checked it).
    constructor(bytes1 create2Prefix_) {
        router = msg.sender;
        create2Prefix = create2Prefix_;
        implementation = address(new DepositReceiver(msg.sender));
        receiverInitCodeHash = LibClone.initCodeHash(implementation);
    }

    /// @inheritdoc IReceiverFactory
    function receiverAddress(DepositParams calldata params) external view returns (address) {
        return receiverAddressOf(params.hash());
    }

    /// @inheritdoc IReceiverFactory
    function receiverAddressOf(bytes32 paramsHash) public view returns (address) {
        return Create2Lib.predict(create2Prefix, address(this), paramsHash, receiverInitCodeHash);
    }

    /// @inheritdoc IReceiverFactory
    function deploy(bytes32 paramsHash) external returns (address receiver) {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        receiver = LibClone.cloneDeterministic(implementation, paramsHash);
        emit ReceiverDeployed(paramsHash, receiver);
    }
}
