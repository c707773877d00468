// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The one way the contracts send an ERC-20 out (receiver `pull`, the executor's leftovers, the
/// router's remainder after a bridge). The return value of `transfer` cannot be trusted on every chain:
/// Tron's USDT returns `false` from a successful `transfer` (its `StandardTokenWithFees.transfer` has no
/// return statement), and Ethereum's USDT returns nothing. So a returned `true` is success, and anything
/// else (`false`, no data, or data that is not a `true` word) is judged by the sender's own balance, which
/// must fall by exactly `amount`. A token that returns `false` and moves nothing (a blacklisted recipient
/// on a token that fails softly) still fails, as does a call that reverts.
library TransferOutLib {
    /// @notice `token` did not move exactly `amount` from this contract towards `to`.
    error TransferOutFailed(address token, address to, uint256 amount);

    /// @notice Sends `amount` of `token` from this contract to `to`; reverts unless it moved (see above).
    /// @dev The balance is read before the call even when the token then returns `true`: whether it will
    /// cannot be known beforehand, and a balance cannot be read into the past.
    function transferOut(address token, address to, uint256 amount) internal {
        uint256 before = balanceOfSelf(token);
        bool ok;
        bool returnedTrue;
        /// @solidity memory-safe-assembly
        assembly {
            mstore(0x14, to)
            mstore(0x34, amount)
            mstore(0x00, 0xa9059cbb000000000000000000000000) // `transfer(address,uint256)`
            ok := call(gas(), token, 0, 0x10, 0x44, 0x00, 0x20)
            returnedTrue := and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1))
            mstore(0x34, 0) // restore the part of the free memory pointer that was overwritten
        }
        if (!ok) revert TransferOutFailed(token, to, amount);
        if (returnedTrue) return;
        uint256 afterwards = balanceOfSelf(token);
        if (afterwards > before || before - afterwards != amount) {
            revert TransferOutFailed(token, to, amount);
        }
    }

    /// @notice This contract's balance of `token`; reverts when the token does not answer `balanceOf` with
    /// a word (no code, or a revert), so a missing token can never pass the balance check.
    function balanceOfSelf(address token) internal view returns (uint256 amount) {
        bool ok;
        /// @solidity memory-safe-assembly
        assembly {
            mstore(0x14, address())
            mstore(0x00, 0x70a08231000000000000000000000000) // `balanceOf(address)`
            ok := and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0x10, 0x24, 0x20, 0x20))
            amount := mload(0x20)
        }
        if (!ok) revert TransferOutFailed(token, address(this), 0);
    }
}
