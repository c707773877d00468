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
    function receiverAddress(DepositParams calldata params) public view returns (address) {
        return LibClone.predictDeterministicAddress(implementation, params.hash(), address(this));
    }

    /// @inheritdoc IReceiverFactory
    function deploy(DepositParams calldata params) external returns (address receiver) {
        bytes32 paramsHash = params.hash();
        receiver = LibClone.predictDeterministicAddress(implementation, paramsHash, address(this));
        if (receiver.code.length == 0) {
            LibClone.cloneDeterministic(implementation, paramsHash);
            emit ReceiverDeployed(paramsHash, receiver);
        }
    }
}
