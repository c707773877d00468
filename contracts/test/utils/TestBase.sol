// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @notice Minimal test base: the cheatcode handle, `bound`, and invariant target registration.
abstract contract TestBase {
    /// @dev Marks the contract as a test suite for forge.
    bool public IS_TEST = true;

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// The deterministic deployment proxy forge (like anvil and public chains) has at this address.
    address internal constant CREATE2_PROXY = 0x4e59b44847b379578588920cA78FbF26c0B4956C;

    /// @dev A contract's selectors, as forge's invariant runner reads them.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targets;
    address[] private _senders;
    FuzzSelector[] private _excludedSelectors;

    /// @dev Maps `x` uniformly-ish into `[min, max]` (forge-std's semantics, without `vm.assume` rejections).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        return min + (x % size);
    }

    /// @dev Registers a handler contract for invariant fuzzing.
    function targetContract(address target) internal {
        _targets.push(target);
    }

    /// @dev Read by forge's invariant runner.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    /// @dev Keeps the invariant runner from calling `selectors` of `target` (helpers the test itself calls).
    function excludeSelector(address target, bytes4[] memory selectors) internal {
        _excludedSelectors.push(FuzzSelector(target, selectors));
    }

    /// @dev Read by forge's invariant runner.
    function excludeSelectors() public view returns (FuzzSelector[] memory) {
        return _excludedSelectors;
    }

    /// @dev Restricts the accounts invariant calls come from (otherwise forge draws them from its dictionary,
    /// which holds the very addresses whose balances the books read).
    function targetSender(address sender) internal {
        _senders.push(sender);
    }

    /// @dev Read by forge's invariant runner.
    function targetSenders() public view returns (address[] memory) {
        return _senders;
    }

    /// @dev Deploys `initCode` through the deterministic deployment proxy with `salt`.
    function deployDeterministic(bytes32 salt, bytes memory initCode) internal returns (address deployed) {
        (bool ok, bytes memory ret) = CREATE2_PROXY.call(abi.encodePacked(salt, initCode));
        require(ok && ret.length == 20, "deterministic deployment failed");
        deployed = address(bytes20(ret));
    }
}
