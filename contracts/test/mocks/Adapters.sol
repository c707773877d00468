// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBridgeAdapter} from "../../src/interfaces/IBridgeAdapter.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice An allow-listed adapter that takes only half of what it is offered (a bridge with a per-transfer
/// cap, say): the router must return the rest to the receiver.
contract HalfAdapter is IBridgeAdapter {
    bytes32 public immutable deliversAs;

    constructor(bytes32 deliversAs_) {
        deliversAs = deliversAs_;
    }

    function bridgedToken(address, uint256) external view returns (bytes32) {
        return deliversAs;
    }

    function maxDeliveryTime() external pure returns (uint256) {
        return 0;
    }

    function quoteFee(address, uint256, uint256, bytes32, bytes calldata) external pure returns (uint256) {
        return 0;
    }

    function bridge(address token, uint256 amount, uint256, bytes32, bytes calldata, address)
        external
        payable
        returns (uint256)
    {
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount / 2);
        return amount / 2;
    }
}
