// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "solady/tokens/ERC20.sol";

/// @title TestUSDC
/// @notice Devnet and test token shaped like USDC (6 decimals). Anyone may mint: it is a faucet and must
/// never be deployed where it could be mistaken for value. Holds no constructor state, so the devnet can
/// place its runtime code at a real USDC address with `anvil_setCode`.
contract TestUSDC is ERC20 {
    /// @inheritdoc ERC20
    function name() public pure override returns (string memory) {
        return "Test USD Coin";
    }

    /// @inheritdoc ERC20
    function symbol() public pure override returns (string memory) {
        return "USDC";
    }

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Faucet: mints `amount` to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Burns `amount` of the caller's tokens (the local CCTP messenger burns what it bridges).
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
