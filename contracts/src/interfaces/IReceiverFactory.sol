// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositParams} from "../libraries/DepositParamsLib.sol";

/// @title IReceiverFactory
/// @notice Deploys one EIP-1167 clone of the receiver implementation per session, at the CREATE2 address
/// salted with the session's params hash. Counterfactual: the address is known and can be funded before
/// anything is deployed. Address derivation is a property of the deployment: `create2Prefix` is the byte this
/// chain's CREATE2 hashes first (`0xff` on EVM chains, `0x41` on Tron's TVM). Only the router deploys, so a
/// deployed receiver always means a router entry point ran for that session (the router records the one kind
/// of deployment that starts nothing).
interface IReceiverFactory {
    /// @notice A receiver was deployed for the session committed by `paramsHash`.
    event ReceiverDeployed(bytes32 indexed paramsHash, address indexed receiver);

    /// @notice The caller is not the router.
    error OnlyRouter(address caller);

    /// @notice The router every receiver of this factory obeys, and the only account that may deploy.
    function router() external view returns (address);

    /// @notice The receiver implementation the clones delegate to.
    function implementation() external view returns (address);

    /// @notice `keccak256` of a receiver clone's init code, the constant of the CREATE2 derivation.
    function receiverInitCodeHash() external view returns (bytes32);

    /// @notice The CREATE2 prefix byte of this deployment's chain: `0xff` (EVM) or `0x41` (Tron, TIP-26).
    function create2Prefix() external view returns (bytes1);

    /// @notice The receiver address of `params`, deployed or not, on this deployment's chain:
    /// `keccak256(create2Prefix ‖ factory ‖ paramsHash ‖ receiverInitCodeHash)[12:]`.
    function receiverAddress(DepositParams calldata params) external view returns (address);

    /// @notice The receiver address of the session committed by `paramsHash`, deployed or not.
    function receiverAddressOf(bytes32 paramsHash) external view returns (address);

    /// @notice Deploys the receiver of the session committed by `paramsHash` (router only). Reverts if it
    /// is deployed already: the router checks the code first.
    function deploy(bytes32 paramsHash) external returns (address receiver);
}
