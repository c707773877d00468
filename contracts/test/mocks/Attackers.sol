// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice An attacker's contract: armed with a list of calls, it makes them whenever it is called (as a
/// final-call target, or as a hook some victim's contract calls), swallowing failures and counting
/// successes, so a test can see what the attacker managed from inside someone else's transaction.
contract Relay {
    struct Call {
        address to;
        bytes data;
    }

    Call[] internal _calls;
    uint256 public succeeded;
    uint256 public attempted;

    function arm(address to, bytes calldata data) external {
        _calls.push(Call(to, data));
    }

    function run() public {
        for (uint256 i; i < _calls.length; ++i) {
            ++attempted;
            (bool ok,) = _calls[i].to.call(_calls[i].data);
            // A call to an address without code "succeeds" without doing anything.
            if (ok && _calls[i].to.code.length != 0) ++succeeded;
        }
    }

    fallback() external payable {
        run();
    }

    receive() external payable {}
}

/// @notice A victim's integration that hands control to an outside contract before pulling its allowance
/// (as a swap through a pool of an attacker's token would): the window in which a standing approval
/// could be used against whoever is paying it.
contract HookTarget {
    mapping(address => uint256) public received;

    function deposit(address token, address hook) external {
        (bool ok,) = hook.call(abi.encodeWithSignature("run()"));
        ok; // the hook's failure is not this contract's concern
        (bool okA, bytes memory ret) =
            token.staticcall(abi.encodeWithSignature("allowance(address,address)", msg.sender, address(this)));
        require(okA && ret.length >= 32, "allowance");
        uint256 amount = abi.decode(ret, (uint256));
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        received[token] += amount;
    }
}

/// @notice Succeeds only when it gets (nearly) the whole final-call budget, then pulls its allowance: a
/// starved call bounces, a fed one delivers.
contract GasHungryTarget {
    uint256 public constant NEEDS = 990_000;
    uint256 public calls;

    function run(address token, bytes calldata) external {
        require(gasleft() >= NEEDS, "starved");
        (bool ok, bytes memory ret) =
            token.staticcall(abi.encodeWithSignature("allowance(address,address)", msg.sender, address(this)));
        require(ok && ret.length >= 32, "allowance");
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), abi.decode(ret, (uint256)));
        ++calls;
    }
}

/// @notice Takes nothing and sends its caller a gift of the token instead (so the executor ends with more
/// than it was given).
contract GiftingTarget {
    function gift(address token, uint256 amount) external {
        SafeTransferLib.safeTransfer(token, msg.sender, amount);
    }
}
