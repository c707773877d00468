// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDepositRouter} from "../../src/interfaces/IDepositRouter.sol";
import {DepositParams} from "../../src/libraries/DepositParamsLib.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice The integration the spec asks for: reads its allowance from the caller and pulls all of it.
contract PullAllowanceTarget {
    event Deposited(address indexed beneficiary, uint256 amount);

    mapping(address => uint256) public credited;
    mapping(address => uint256) public callsFor;
    uint256 public calls;
    address public lastCaller;

    function deposit(address token, address beneficiary) external {
        lastCaller = msg.sender;
        uint256 amount = _allowance(token, msg.sender);
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        credited[beneficiary] += amount;
        ++calls;
        ++callsFor[beneficiary];
        emit Deposited(beneficiary, amount);
    }

    /// @notice Pulls only half, to show leftovers go to the refund address.
    function depositHalf(address token, address beneficiary) external {
        uint256 amount = _allowance(token, msg.sender) / 2;
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        credited[beneficiary] += amount;
        ++calls;
        ++callsFor[beneficiary];
    }

    /// @notice Burns gas until it runs out.
    function burnAllGas() external pure {
        while (true) {}
    }

    function _allowance(address token, address owner) private view returns (uint256 a) {
        (bool ok, bytes memory ret) =
            token.staticcall(abi.encodeWithSignature("allowance(address,address)", owner, address(this)));
        require(ok && ret.length >= 32, "allowance");
        a = abi.decode(ret, (uint256));
    }
}

/// @notice Always reverts.
contract RevertingTarget {
    error Nope();

    function deposit(address, address) external pure {
        revert Nope();
    }
}

/// @notice Tries to re-enter the router during its final call, then pulls its allowance.
contract ReentrantTarget {
    IDepositRouter public immutable router;
    bool public reentered;
    bool public reentryFailed;
    DepositParams internal _params;

    constructor(IDepositRouter router_) {
        router = router_;
    }

    function arm(DepositParams calldata params) external {
        _params = params;
    }

    function deposit(address token, address) external {
        try router.settle(_params, token) {
            reentered = true;
        } catch {
            reentryFailed = true;
        }
        uint256 amount = abi.decode(
            _call(token, abi.encodeWithSignature("allowance(address,address)", msg.sender, address(this))),
            (uint256)
        );
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
    }

    function _call(address to, bytes memory data) private view returns (bytes memory ret) {
        bool ok;
        (ok, ret) = to.staticcall(data);
        require(ok, "call");
    }
}

/// @notice An integration that checks it was handed exactly what it expects (as many do: a vault deposit of
/// a quoted amount), then pulls it; any other allowance reverts.
contract ExactAmountTarget {
    uint256 public immutable expected;
    uint256 public received;

    constructor(uint256 expected_) {
        expected = expected_;
    }

    function deposit(address token) external {
        (bool ok, bytes memory ret) =
            token.staticcall(abi.encodeWithSignature("allowance(address,address)", msg.sender, address(this)));
        require(ok && ret.length >= 32 && abi.decode(ret, (uint256)) == expected, "not the expected amount");
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), expected);
        received += expected;
    }
}
