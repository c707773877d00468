// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The commitment of one deposit session. Its hash is the CREATE2 salt of the session's receiver,
/// so every field is fixed the moment a receiver address is handed out.
/// @dev Addresses are `bytes32` so one struct names EVM (left-padded 20 bytes) and Solana (32-byte key)
/// endpoints alike. Field order is the ABI order of the commitment (v3).
struct DepositParams {
    /// @notice Unique session id; makes every receiver address single-use.
    bytes32 sessionId;
    /// @notice Chain id the funds must end up on.
    uint256 toChainId;
    /// @notice Token to deliver on the destination chain. Zero makes no token usable (everything paid in is
    /// refundable at once) and nothing can be delivered.
    bytes32 toToken;
    /// @notice Recipient, or the contract to call when `finalCall` is set.
    bytes32 toAddress;
    /// @notice Requested amount in base units, 0 for an open amount. Bounds fronting (a fronter pays
    /// exactly this); deliveries move whatever arrived.
    uint256 amount;
    /// @notice Nothing starts the session on its destination chain (a delivery, its final call) until at
    /// least this much of the destination token is there; 0 = no minimum. Later arrivals of a started
    /// session are not bound by it, and refunds never are.
    uint256 minAmount;
    /// @notice Calldata for `toAddress`, empty for a plain transfer.
    bytes finalCall;
    /// @notice The refund address on EVM-shaped chains (EVM and Tron: one 20-byte address, left-padded),
    /// or zero when none is committed.
    bytes32 refundAddress;
    /// @notice The refund address on Solana (a public key), or zero when none is committed. Never read by
    /// the EVM contracts; part of the commitment so one hash serves every family.
    bytes32 solanaRefundAddress;
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
        if (!isEvmAddress(value)) revert NotAnEvmAddress(value);
        return address(uint160(uint256(value)));
    }

    /// @notice Whether `value` holds a non-zero EVM address (its upper 12 bytes are zero).
    function isEvmAddress(bytes32 value) internal pure returns (bool) {
        return uint256(value) >> 160 == 0 && value != bytes32(0);
    }

    /// @notice Left-pads an EVM address to `bytes32`.
    function toBytes32(address value) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(value)));
    }
}
