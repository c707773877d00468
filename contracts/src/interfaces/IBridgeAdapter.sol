// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IBridgeAdapter
/// @notice One bridge behind a uniform call. The router approves exactly `amount` of `token`, calls
/// `bridge` (forwarding whatever native coin its caller sent for the bridge's messaging fee), then resets the
/// approval; the adapter must pull the tokens and send them to `recipient` on `toChainId`. An adapter never
/// pays a fee from a balance of its own: whoever bridges pays it, so nobody can drain an adapter and stall
/// everyone else's bridging.
interface IBridgeAdapter {
    /// @notice The token (left-padded to `bytes32`) that bridging `token` from this chain delivers on
    /// `toChainId`, or zero when this adapter has no such route. The router bridges a session's funds only
    /// when this equals the session's committed destination token.
    function bridgedToken(address token, uint256 toChainId) external view returns (bytes32);

    /// @notice Upper bound, in seconds, on how long a transfer takes to arrive, whatever options `data`
    /// chooses. The router refuses to bridge when the funds could arrive after the session's expiry.
    function maxDeliveryTime() external view returns (uint256);

    /// @notice The native-coin fee `bridge` would charge for these arguments now (zero for a bridge without
    /// one). Send at least this much with `bridge`; any excess is returned to `feeRefund`.
    function quoteFee(
        address token,
        uint256 amount,
        uint256 toChainId,
        bytes32 recipient,
        bytes calldata data
    ) external view returns (uint256 nativeFee);

    /// @notice Pulls `amount` of `token` from the caller and bridges it to `recipient` on `toChainId`, paying
    /// the bridge's messaging fee from `msg.value` and returning the excess to `feeRefund`.
    /// @param data Adapter-specific options chosen by the caller (bounded by the adapter).
    /// @return bridged The amount handed to the bridge.
    function bridge(
        address token,
        uint256 amount,
        uint256 toChainId,
        bytes32 recipient,
        bytes calldata data,
        address feeRefund
    ) external payable returns (uint256 bridged);
}
