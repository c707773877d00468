// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IBridgeAdapter
/// @notice One bridge behind a uniform call. The router approves exactly `amount` of `token`, calls
/// `bridge`, then resets the approval; the adapter must pull the tokens and send them to `recipient`
/// on `toChainId`.
interface IBridgeAdapter {
    /// @notice Whether this adapter can move `token` from this chain to `toChainId`.
    function canBridge(address token, uint256 toChainId) external view returns (bool);

    /// @notice Pulls `amount` of `token` from the caller and bridges it to `recipient` on `toChainId`.
    /// @param data Adapter-specific options chosen by the relayer (bounded by the adapter).
    /// @return bridged The amount handed to the bridge.
    function bridge(address token, uint256 amount, uint256 toChainId, bytes32 recipient, bytes calldata data)
        external
        returns (uint256 bridged);
}
