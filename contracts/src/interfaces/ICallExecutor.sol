// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICallExecutor
/// @notice Runs one session's final call, in isolation. The router clones a fresh executor for every session
/// whose call it runs (`CREATE2(router, paramsHash, clone(implementation))`, with the deployment's CREATE2
/// prefix), hands it that session's funds and calls `execute` once with the amount it moved in. The executor
/// approves the target exactly that amount (never a balance a stranger may have sent to its predictable
/// address beforehand), calls it with a fixed gas budget, resets the approval and sends everything it holds
/// to the refund target, so it holds nothing after the transaction. Nothing obeys an executor: receivers, the
/// factory and adapters answer only the router, and an approval a final call makes the executor grant is
/// worthless, because that executor never holds funds again.
interface ICallExecutor {
    /// @notice The caller is not the router.
    error OnlyRouter(address caller);
    /// @notice Too little gas is left to give the final call its full budget; the whole transaction reverts,
    /// so a relayer cannot force a bounce by starving the call.
    error InsufficientGasForCall(uint256 gasLeft, uint256 needed);

    /// @notice The router, the only account an executor obeys.
    function router() external view returns (address);

    /// @notice Gas the final call receives, exactly.
    function FINAL_CALL_GAS() external view returns (uint256);

    /// @notice Approves `target` for exactly `amount` of `token` (what the router moved in for the session),
    /// calls it with `data` and exactly `FINAL_CALL_GAS`, resets the approval and sends everything this
    /// executor holds to `refundTo` (the session's leftovers, and anything sent here before it existed).
    /// @return ok Whether the call succeeded (a revert, or a target without code, is a bounce).
    /// @return spent What left the executor during the call (at most `amount`; zero on a bounce).
    /// @return refunded What went to `refundTo` afterwards (everything when the call failed).
    function execute(address token, address target, bytes calldata data, address refundTo, uint256 amount)
        external
        returns (bool ok, uint256 spent, uint256 refunded);
}
