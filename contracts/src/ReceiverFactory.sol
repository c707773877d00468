// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DepositReceiver} from "./DepositReceiver.sol";
import {IReceiverFactory} from "./interfaces/IReceiverFactory.sol";
import {DepositParams, DepositParamsLib} from "./libraries/DepositParamsLib.sol";
import {LibClone} from "solady/utils/LibClone.sol";

/// @title ReceiverFactory
/// @notice Counterfactual receivers: EIP-1167 clones at `CREATE2(factory, paramsHash, cloneInitCode)`.
/// @dev Created by the router's constructor, so `router` is fixed without any setter. The router itself is
/// deployed through the deterministic deployment proxy with the same arguments on every chain, which puts
/// router, factory, implementation and therefore every receiver at the same address on every EVM chain.
contract ReceiverFactory is IReceiverFactory {
    using DepositParamsLib for DepositParams;

    /// @inheritdoc IReceiverFactory
    address public immutable router;
    /// @inheritdoc IReceiverFactory
    address public immutable implementation;

    constructor() {
        router = msg.sender;
        implementation = address(new DepositReceiver(msg.sender));
    }

    /// @inheritdoc IReceiverFactory
    function receiverInitCodeHash() external view returns (bytes32) {
        return LibClone.initCodeHash(implementation);
    }

    /// @inheritdoc IReceiverFactory
    function receiverAddress(DepositParams calldata params) external view returns (address) {
        return receiverAddressOf(params.hash());
    }

    /// @inheritdoc IReceiverFactory
    function receiverAddressOf(bytes32 paramsHash) public view returns (address) {
        return LibClone.predictDeterministicAddress(implementation, paramsHash, address(this));
    }

    /// @inheritdoc IReceiverFactory
    function deploy(bytes32 paramsHash) external returns (address receiver) {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        receiver = LibClone.cloneDeterministic(implementation, paramsHash);
        emit ReceiverDeployed(paramsHash, receiver);
    }
}
