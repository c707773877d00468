// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDepositRouter} from "../../src/interfaces/IDepositRouter.sol";

/// @notice Destination tables for routers under test.
library Destinations {
    /// @notice An entry meaning "the same deployment as this router" (EVM chains sharing the deterministic
    /// deployment, and the Solana sentinel).
    function same(uint256 chainId) internal pure returns (IDepositRouter.Destination memory) {
        return IDepositRouter.Destination(chainId, address(0), bytes32(0), bytes1(0));
    }

    function table(uint256 c0) internal pure returns (IDepositRouter.Destination[] memory d) {
        d = new IDepositRouter.Destination[](1);
        d[0] = same(c0);
    }

    function table(uint256 c0, uint256 c1) internal pure returns (IDepositRouter.Destination[] memory d) {
        d = new IDepositRouter.Destination[](2);
        (d[0], d[1]) = (same(c0), same(c1));
    }

    function table(uint256 c0, uint256 c1, uint256 c2)
        internal
        pure
        returns (IDepositRouter.Destination[] memory d)
    {
        d = new IDepositRouter.Destination[](3);
        (d[0], d[1], d[2]) = (same(c0), same(c1), same(c2));
    }
}
