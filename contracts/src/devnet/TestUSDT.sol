// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title TestUSDT
/// @notice Devnet and test token shaped like Tether's USDT: 6 decimals, and `transfer`, `transferFrom` and
/// `approve` return nothing (not `true`), as real USDT's do, so callers that expect a `bool` break on it
/// and balance-delta accounting must carry them. Anyone may mint (a faucet). Holds no constructor state, so
/// the devnet can place its runtime code at a real USDT address with `anvil_setCode`.
contract TestUSDT {
    /// @notice ERC-20 `Transfer`.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice ERC-20 `Approval`.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice Balances.
    mapping(address => uint256) public balanceOf;
    /// @notice Allowances.
    mapping(address => mapping(address => uint256)) public allowance;
    /// @notice Total supply.
    uint256 public totalSupply;

    /// @notice Token name.
    function name() external pure returns (string memory) {
        return "Test Tether USD";
    }

    /// @notice Token symbol.
    function symbol() external pure returns (string memory) {
        return "USDT";
    }

    /// @notice Decimals.
    function decimals() external pure returns (uint8) {
        return 6;
    }

    /// @notice Moves `value` to `to`; returns nothing, like USDT.
    function transfer(address to, uint256 value) external {
        _move(msg.sender, to, value);
    }

    /// @notice Moves `value` from `from` to `to` under the caller's allowance; returns nothing, like USDT.
    function transferFrom(address from, address to, uint256 value) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
    }

    /// @notice Sets an allowance; like USDT, a non-zero allowance must be reset to zero first.
    function approve(address spender, uint256 value) external {
        require(value == 0 || allowance[msg.sender][spender] == 0, "reset first");
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    /// @notice Faucet: mints `value` to `to`.
    function mint(address to, uint256 value) external {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    /// @notice Burns `value` of the caller's tokens (the local OFT burns what it sends).
    function burn(uint256 value) external {
        require(balanceOf[msg.sender] >= value, "balance");
        balanceOf[msg.sender] -= value;
        totalSupply -= value;
        emit Transfer(msg.sender, address(0), value);
    }

    function _move(address from, address to, uint256 value) private {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
