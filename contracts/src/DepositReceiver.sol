// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDepositReceiver} from "./interfaces/IDepositReceiver.sol";
import {TransferOutLib} from "./libraries/TransferOutLib.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title DepositReceiver
/// @notice Implementation behind every session's receiver clone. Holds funds; obeys only the router, whose
/// immutable code is what restricts funds to the committed destination or refund address.
contract DepositReceiver is IDepositReceiver {
    /// @inheritdoc IDepositReceiver
    address public immutable router;

    /// @param router_ The router this implementation (and so every clone of it) obeys.
    constructor(address router_) {
        router = router_;
    }

    /// @notice Accepts the native coin, so a mistaken native deposit can be refunded instead of bouncing.
    receive() external payable {}

    /// @inheritdoc IDepositReceiver
    function pull(address token, address to, uint256 amount) external {
        if (msg.sender != router) revert OnlyRouter(msg.sender);
        if (token == address(0)) SafeTransferLib.safeTransferETH(to, amount);
        else TransferOutLib.transferOut(token, to, amount);
    }
}
