// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice CREATE2 address prediction with the chain's prefix byte as a parameter. EVM chains hash
/// `0xff ‖ deployer ‖ salt ‖ keccak256(initCode)`; Tron's TVM hashes the same 85 bytes with `0x41` in place
/// of `0xff` (TIP-26; java-tron `WalletUtil.generateContractAddress2`). solady's and OpenZeppelin's helpers
/// hard-code `0xff`, which names an address no contract on Tron will ever occupy.
library Create2Lib {
    /// @notice The EVM prefix.
    bytes1 internal constant EVM = 0xff;
    /// @notice Tron's TVM prefix (TIP-26).
    bytes1 internal constant TRON = 0x41;

    /// @notice `keccak256(prefix ‖ deployer ‖ salt ‖ initCodeHash)[12:]`.
    function predict(bytes1 prefix, address deployer, bytes32 salt, bytes32 initCodeHash)
        internal
        pure
        returns (address predicted)
    {
        /// @solidity memory-safe-assembly
        assembly {
            let m := mload(0x40)
            mstore(add(m, 0x35), initCodeHash)
            mstore(add(m, 0x01), shl(96, deployer))
            mstore8(m, shr(248, prefix))
            mstore(add(m, 0x15), salt)
            predicted := and(keccak256(m, 0x55), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @notice Whether `prefix` is one this code knows how chains use (`0xff` or `0x41`).
    function isKnownPrefix(bytes1 prefix) internal pure returns (bool) {
        return prefix == EVM || prefix == TRON;
    }
}
