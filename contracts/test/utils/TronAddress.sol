// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Tron's address text: base58check of `0x41 ‖ 20 bytes ‖ first 4 bytes of sha256(sha256(21 bytes))`.
/// Decoded here, checksum verified, so vectors can be written exactly as Tron publishes them.
library TronAddress {
    bytes internal constant ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// @notice The 20-byte address a `T…` base58check string names; reverts on a bad character, length,
    /// prefix or checksum.
    function decode(string memory text) internal pure returns (address) {
        bytes memory s = bytes(text);
        require(s.length == 34, "tron address: length");
        // 25 bytes fit a word: 58^34 < 2^200.
        uint256 value;
        for (uint256 i; i < s.length; ++i) {
            value = value * 58 + _digit(s[i]);
        }
        require(value >> 200 == 0, "tron address: too large");
        bytes25 raw = bytes25(bytes32(value << 56));
        bytes21 payload = bytes21(raw);
        require(payload[0] == 0x41, "tron address: prefix");
        bytes4 checksum = bytes4(raw << 168);
        require(bytes4(sha256(abi.encodePacked(sha256(abi.encodePacked(payload))))) == checksum, "checksum");
        return address(uint160(uint168(payload)));
    }

    function _digit(bytes1 c) private pure returns (uint256) {
        for (uint256 d; d < 58; ++d) {
            if (ALPHABET[d] == c) return d;
        }
        revert("tron address: not base58");
    }
}
