// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ICallExecutor} from "./interfaces/ICallExecutor.sol";
import {TransferOutLib} from "./libraries/TransferOutLib.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title CallExecutor
/// @notice Implementation behind every session's executor clone; see `ICallExecutor`.
/// @dev A clone is fresh when `execute` runs (the router creates it in the same transaction), so its whole
/// balance is the session's funds plus, at most, a stranger's donation to its predictable address. Only the
/// session's funds (`amount`, measured by the router as it moved them in) are approved: a donation can
/// neither join the call nor change the allowance a target sees; it goes to the refund target with the
/// leftovers.
contract CallExecutor is ICallExecutor {
    /// @inheritdoc ICallExecutor
    uint256 public constant FINAL_CALL_GAS = 1_000_000;
    /// Gas the CALL itself may cost before the callee starts (a cold account is 2,600), with room to spare.
    uint256 private constant CALL_OVERHEAD = 5_000;

    /// @inheritdoc ICallExecutor
    address public immutable router;

    constructor() {
        router = msg.sender;
    }

    /// @inheritdoc ICallExecutor
    function execute(address token, address target, bytes calldata data, address refundTo, uint256 amount)
        external
        returns (bool ok, uint256 spent, uint256 refunded)
    {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        uint256 before = SafeTransferLib.balanceOf(token, address(this));
        SafeTransferLib.safeApproveWithRetry(token, target, amount);
        ok = target.code.length != 0 && _callBounded(target, data);
        SafeTransferLib.safeApprove(token, target, 0);
        refunded = SafeTransferLib.balanceOf(token, address(this));
        // A target may even send tokens into the executor (`refunded > before`): all of it goes to the
        // refund target, and the report must not underflow into a revert that would leave the deposit stuck.
        if (refunded < before) spent = before - refunded;
        if (refunded != 0) TransferOutLib.transferOut(token, refundTo, refunded);
    }

    /// Calls `target` with exactly `FINAL_CALL_GAS`, copying no return data (no return-bomb griefing). The
    /// gas check runs after the calldata is laid out in memory, right before the call, so no memory
    /// expansion can come between the check and the call (a large committed `finalCall` cannot be used to
    /// starve it).
    function _callBounded(address target, bytes calldata data) private returns (bool ok) {
        uint256 gasLimit = FINAL_CALL_GAS;
        uint256 needed = gasLimit * 64 / 63 + CALL_OVERHEAD;
        uint256 left;
        /// @solidity memory-safe-assembly
        assembly {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            left := gas()
            if iszero(lt(left, needed)) {
                ok := call(gasLimit, target, 0, m, data.length, codesize(), 0x00)
            }
        }
        if (left < needed) revert InsufficientGasForCall(left, needed);
    }
}
