// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The commitment of one deposit session. Its hash is the CREATE2 salt of the session's receiver,
/// so every field is fixed the moment a receiver address is handed out.
/// @dev Addresses are `bytes32` so one struct names EVM (left-padded 20 bytes) and Solana (32-byte key)
/// endpoints alike.
struct DepositParams {
    /// @notice Unique session id; makes every receiver address single-use.
    bytes32 sessionId;
    /// @notice Chain id the funds must end up on.
    uint256 toChainId;
    /// @notice Token to deliver on the destination chain.
    bytes32 toToken;
    /// @notice Recipient, or the contract to call when `finalCall` is set.
    bytes32 toAddress;
    /// @notice Requested amount in base units, 0 for an open amount. Informational on chain: whatever
    /// arrives is delivered, as the API promises integrators.
    uint256 amount;
    /// @notice Calldata for `toAddress`, empty for a plain transfer.
    bytes finalCall;
    /// @notice Where funds go when the call reverts, on expiry, and for tokens the session cannot use.
    bytes32 refundAddress;
    /// @notice Unix time after which unsettled funds may only be refunded.
    uint64 expiresAt;
}

/// @notice Hashing and address helpers for `DepositParams`.
library DepositParamsLib {
    /// @notice A `bytes32` that should hold an EVM address has dirty upper bits, or is zero.
    error NotAnEvmAddress(bytes32 value);

    /// @notice The commitment: `keccak256(abi.encode(params))`.
    function hash(DepositParams calldata params) internal pure returns (bytes32) {
        return keccak256(abi.encode(params));
    }

    /// @notice The EVM address held in a left-padded `bytes32`; reverts unless it is a non-zero address.
    function toEvmAddress(bytes32 value) internal pure returns (address) {
        if (uint256(value) >> 160 != 0 || value == bytes32(0)) revert NotAnEvmAddress(value);
        return address(uint160(uint256(value)));
    }

    /// @notice Left-pads an EVM address to `bytes32`.
    function toBytes32(address value) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(value)));
    }
}
