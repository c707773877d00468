// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The parts of LayerZero's OFT standard (as USDT0 deploys it) the OFT adapter uses.
struct SendParam {
    uint32 dstEid;
    bytes32 to;
    uint256 amountLD;
    uint256 minAmountLD;
    bytes extraOptions;
    bytes composeMsg;
    bytes oftCmd;
}

/// @notice The messaging fee, paid in native coin (and optionally the LayerZero token).
struct MessagingFee {
    uint256 nativeFee;
    uint256 lzTokenFee;
}

/// @notice What the messaging layer assigned to the message.
struct MessagingReceipt {
    bytes32 guid;
    uint64 nonce;
    MessagingFee fee;
}

/// @notice What left and what will arrive, in local decimals.
struct OFTReceipt {
    uint256 amountSentLD;
    uint256 amountReceivedLD;
}

/// @title IOFT
interface IOFT {
    /// @notice The underlying token (`address(this)` for a native OFT).
    function token() external view returns (address);

    /// @notice The fee `send` would charge.
    function quoteSend(SendParam calldata sendParam, bool payInLzToken)
        external
        view
        returns (MessagingFee memory);

    /// @notice Takes `sendParam.amountLD` of the token from the caller and sends it to `sendParam.to` on
    /// `sendParam.dstEid`.
    function send(SendParam calldata sendParam, MessagingFee calldata fee, address refundAddress)
        external
        payable
        returns (MessagingReceipt memory, OFTReceipt memory);
}
