// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestUSDT} from "../../src/devnet/TestUSDT.sol";
import {IOFT, MessagingFee, MessagingReceipt, OFTReceipt, SendParam} from "../../src/interfaces/IOFT.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice An OFT that charges a native messaging fee as LayerZero's endpoint does: `send` needs at least the
/// quoted fee in `msg.value`, keeps the fee and returns any excess to the caller's `refundAddress`. Records
/// what it sent so tests can check recipient and amount.
contract FeeOFT is IOFT {
    TestUSDT public immutable underlying;
    uint256 public immutable nativeFee;
    bytes32 public lastTo;
    uint256 public lastAmount;
    uint256 public sends;

    constructor(TestUSDT token_, uint256 nativeFee_) {
        underlying = token_;
        nativeFee = nativeFee_;
    }

    function token() external view returns (address) {
        return address(underlying);
    }

    function quoteSend(SendParam calldata, bool) external view returns (MessagingFee memory) {
        return MessagingFee(nativeFee, 0);
    }

    function send(SendParam calldata p, MessagingFee calldata fee, address refundAddress)
        external
        payable
        returns (MessagingReceipt memory receipt, OFTReceipt memory oft)
    {
        require(fee.nativeFee >= nativeFee && msg.value >= fee.nativeFee, "FeeOFT: fee");
        SafeTransferLib.safeTransferFrom(address(underlying), msg.sender, address(this), p.amountLD);
        underlying.burn(p.amountLD);
        if (msg.value > nativeFee) SafeTransferLib.safeTransferETH(refundAddress, msg.value - nativeFee);
        (lastTo, lastAmount) = (p.to, p.amountLD);
        ++sends;
        receipt = MessagingReceipt(bytes32(sends), uint64(sends), MessagingFee(nativeFee, 0));
        oft = OFTReceipt(p.amountLD, p.amountLD);
    }
}
