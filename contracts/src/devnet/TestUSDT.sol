// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title TestUSDT
/// @notice Devnet and test token shaped like Tron's USDT (`TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t`): 6 decimals,
/// and `transfer` returns `false` after a successful transfer, as the real one does (its
/// `StandardTokenWithFees.transfer` has no return statement, so it returns 32 zero bytes), while
/// `transferFrom` and `approve` return `true`. A caller that trusts the returned `bool` (or OpenZeppelin's
/// and solady's `safeTransfer`) reverts on it; the contracts judge it by balance. Like Ethereum's USDT (and
/// stricter than Tron's copy), `approve` refuses to change a non-zero allowance to another non-zero one.
/// Anyone may mint (a faucet). Holds no constructor state, so the devnet can place its runtime code at a
/// real USDT address with `anvil_setCode`.
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

    /// @notice Moves `value` to `to`, then returns `false` although it succeeded, like Tron's USDT.
    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return false;
    }

    /// @notice Moves `value` from `from` to `to` under the caller's allowance; returns `true`.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    /// @notice Sets an allowance and returns `true`; a non-zero allowance must be reset to zero first.
    function approve(address spender, uint256 value) external returns (bool) {
        require(value == 0 || allowance[msg.sender][spender] == 0, "reset first");
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
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
