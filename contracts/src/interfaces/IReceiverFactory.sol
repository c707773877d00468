// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositParams} from "../libraries/DepositParamsLib.sol";

/// @title IReceiverFactory
/// @notice Deploys one EIP-1167 clone of the receiver implementation per session, at the CREATE2 address
/// salted with the session's params hash. Counterfactual: the address is known and can be funded before
/// anything is deployed.
interface IReceiverFactory {
    /// @notice A receiver was deployed for the session committed by `paramsHash`.
    event ReceiverDeployed(bytes32 indexed paramsHash, address indexed receiver);

    /// @notice The router every receiver of this factory obeys.
    function router() external view returns (address);

    /// @notice The receiver implementation the clones delegate to.
    function implementation() external view returns (address);

    /// @notice `keccak256` of a receiver clone's init code, the constant of the CREATE2 derivation.
    function receiverInitCodeHash() external view returns (bytes32);

    /// @notice The receiver address of `params`, deployed or not.
    function receiverAddress(DepositParams calldata params) external view returns (address);

    /// @notice Deploys the receiver of `params` if it is not deployed yet; returns its address either way.
    function deploy(DepositParams calldata params) external returns (address receiver);
}
