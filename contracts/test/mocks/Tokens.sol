// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "solady/tokens/ERC20.sol";

/// @notice 18-decimal token with a faucet; the "other token" a session cannot use.
contract MockERC20 is ERC20 {
    function name() public pure override returns (string memory) {
        return "Mock";
    }

    function symbol() public pure override returns (string memory) {
        return "MOCK";
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice USDT-style token: `transfer`, `transferFrom` and `approve` return nothing, and `approve`
/// refuses to change a non-zero allowance to another non-zero value.
contract NoReturnToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint8 public constant decimals = 6;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transfer(address to, uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }

    function approve(address spender, uint256 amount) external {
        require(amount == 0 || allowance[msg.sender][spender] == 0, "USDT: approve from non-zero");
        allowance[msg.sender][spender] = amount;
    }
}

/// @notice Burns 1% of every transfer.
contract FeeOnTransferToken is ERC20 {
    function name() public pure override returns (string memory) {
        return "Fee";
    }

    function symbol() public pure override returns (string memory) {
        return "FEE";
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _afterTokenTransfer(address from, address to, uint256 amount) internal override {
        if (from != address(0) && to != address(0) && amount >= 100) _burn(to, amount / 100);
    }
}

/// @notice A minimal ERC-20 whose `transfer` outcome a test chooses, for the tokens the contracts must judge
/// by balance: Tron's USDT (returns `false`, moves), a token that returns `false` and moves nothing, one that
/// moves only part, and blacklists that fail softly (return `false`, move nothing) or loudly (revert).
contract QuirkyToken {
    enum Mode {
        FalseButMoves,
        FalseAndMovesNothing,
        FalseAndMovesHalf,
        TrueAndMovesNothing,
        RevertsWithTrueWord
    }

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public blacklisted;
    uint256 public totalSupply;
    Mode public mode;
    /// A blacklisted recipient makes `transfer` revert (USDC-style) instead of returning `false`.
    bool public revertOnBlacklist;

    constructor(Mode mode_) {
        mode = mode_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function blacklist(address account, bool loud) external {
        blacklisted[account] = true;
        revertOnBlacklist = loud;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        if (blacklisted[to]) {
            require(!revertOnBlacklist, "blacklisted");
            return false;
        }
        if (mode == Mode.RevertsWithTrueWord) {
            assembly {
                mstore(0x00, 1)
                revert(0x00, 0x20)
            }
        }
        if (mode == Mode.FalseAndMovesNothing || mode == Mode.TrueAndMovesNothing) {
            return mode == Mode.TrueAndMovesNothing;
        }
        uint256 moved = mode == Mode.FalseAndMovesHalf ? amount / 2 : amount;
        balanceOf[msg.sender] -= moved;
        balanceOf[to] += moved;
        return false;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }
}
