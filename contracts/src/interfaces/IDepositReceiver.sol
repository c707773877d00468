// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDepositReceiver
/// @notice The single-use deposit address of one session: a minimal clone that holds funds and moves them
/// only when the router tells it to. The router's immutable code decides where they may go.
interface IDepositReceiver {
    /// @notice The caller is not the router.
    error OnlyRouter(address caller);

    /// @notice The router, the only account this receiver obeys.
    function router() external view returns (address);

    /// @notice Sends `amount` of `token` (address(0) for the native coin) to `to`.
    /// @dev Only the router. An ERC-20 leaves through `TransferOutLib.transferOut`: a token that returns
    /// `false` or nothing (Tron's and Ethereum's USDT) is judged by this receiver's balance falling by
    /// exactly `amount`.
    function pull(address token, address to, uint256 amount) external;
}
