// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBridgeAdapter} from "../interfaces/IBridgeAdapter.sol";
import {ITokenMessengerV2} from "../interfaces/ICCTPv2.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title CCTPv2Adapter
/// @notice Bridges USDC with Circle CCTP v2 `depositForBurn`, minting to the recipient (the session's
/// receiver address) on the destination chain. A destination that cannot mint to that address (Solana,
/// where the receiver is an EVM address) names an inbox in its route: the burn mints to the inbox and
/// carries the recipient as hook data, and the destination's deposit program releases it only to the
/// session whose receiver that recipient is.
/// @dev Takes one route table for all chains, so the same constructor arguments (and so the same address)
/// serve every chain; the entry whose `chainId` is this chain names the local USDC.
contract CCTPv2Adapter is IBridgeAdapter {
    /// @notice One chain CCTP serves.
    struct Route {
        uint256 chainId;
        /// @notice USDC there, as a `bytes32` (an EVM address left-padded; a Solana mint as it is).
        bytes32 usdc;
        uint32 domain;
        /// @notice Zero: mint to the recipient itself. Otherwise the token account every transfer to this
        /// chain mints to, with the recipient as hook data (fixed here, so no caller can choose it).
        bytes32 inbox;
    }

    /// @notice The caller asked for a fee above the adapter's cap.
    error FeeTooHigh(uint256 maxFee, uint256 cap);
    /// @notice The token cannot be bridged to that chain.
    error Unsupported(address token, uint256 toChainId);
    /// @notice The route table is malformed (a zero chain id, a chain listed twice, or a route for this chain
    /// whose USDC is not an address or that names an inbox).
    error BadRoutes();
    /// @notice The fee cap is above 100% of the amount.
    error FeeCapAboveWhole(uint256 maxFeeBps);
    /// @notice CCTP charges no native fee: native coin sent along would be stranded here.
    error NativeFeeNotAccepted(uint256 value);

    /// @notice Standard ("finalized") CCTP v2 finality threshold.
    uint32 public constant FINALIZED = 2000;

    /// @notice The CCTP v2 TokenMessenger on this chain.
    ITokenMessengerV2 public immutable messenger;
    /// @notice Largest fee a caller may choose, in basis points of the amount.
    uint256 public immutable maxFeeBps;
    /// @inheritdoc IBridgeAdapter
    /// @dev A fast transfer that finds no fast allowance falls back to standard finality, so this bounds
    /// the standard (finalized) path.
    uint256 public immutable maxDeliveryTime;

    mapping(uint256 chainId => Route) private _routes;

    constructor(
        ITokenMessengerV2 messenger_,
        Route[] memory routes,
        uint256 maxFeeBps_,
        uint256 maxDeliveryTime_
    ) {
        if (maxFeeBps_ > 10_000) revert FeeCapAboveWhole(maxFeeBps_);
        messenger = messenger_;
        maxFeeBps = maxFeeBps_;
        maxDeliveryTime = maxDeliveryTime_;
        for (uint256 i; i < routes.length; ++i) {
            Route memory r = routes[i];
            if (r.chainId == 0 || _routes[r.chainId].chainId != 0) revert BadRoutes();
            // The local entry is the only one with an EVM token here: it must be an address, and an inbox would
            // make no sense on it (nothing bridges to its own chain).
            if (r.chainId == block.chainid && (uint256(r.usdc) >> 160 != 0 || r.inbox != bytes32(0))) {
                revert BadRoutes();
            }
            _routes[r.chainId] = r;
        }
    }

    /// @notice The route of `chainId` (all zero when CCTP does not serve it here).
    function route(uint256 chainId) external view returns (Route memory) {
        return _routes[chainId];
    }

    /// @inheritdoc IBridgeAdapter
    function bridgedToken(address token, uint256 toChainId) public view returns (bytes32) {
        Route storage local = _routes[block.chainid];
        Route storage remote = _routes[toChainId];
        if (
            toChainId == block.chainid || local.chainId == 0 || local.usdc != bytes32(uint256(uint160(token)))
                || remote.chainId == 0
        ) {
            return bytes32(0);
        }
        return remote.usdc;
    }

    /// @inheritdoc IBridgeAdapter
    /// @dev CCTP's fee is taken from the amount (`maxFee`), never in native coin.
    function quoteFee(address, uint256, uint256, bytes32, bytes calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IBridgeAdapter
    /// @dev `data` is empty (no fee, finalized transfer) or `abi.encode(uint256 maxFee, uint32 minFinality)`.
    /// Takes no native value.
    function bridge(
        address token,
        uint256 amount,
        uint256 toChainId,
        bytes32 recipient,
        bytes calldata data,
        address
    ) external payable returns (uint256) {
        if (msg.value != 0) revert NativeFeeNotAccepted(msg.value);
        if (bridgedToken(token, toChainId) == bytes32(0)) revert Unsupported(token, toChainId);
        (uint256 maxFee, uint32 minFinality) =
            data.length == 0 ? (0, FINALIZED) : abi.decode(data, (uint256, uint32));
        uint256 cap = amount * maxFeeBps / 10_000;
        if (maxFee > cap) revert FeeTooHigh(maxFee, cap);

        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        SafeTransferLib.safeApproveWithRetry(token, address(messenger), amount);
        _burn(token, amount, _routes[toChainId], recipient, maxFee, minFinality);
        return amount;
    }

    function _burn(
        address token,
        uint256 amount,
        Route storage remote,
        bytes32 recipient,
        uint256 maxFee,
        uint32 minFinality
    ) internal {
        if (remote.inbox == bytes32(0)) {
            messenger.depositForBurn(amount, remote.domain, recipient, token, bytes32(0), maxFee, minFinality);
            return;
        }
        // The recipient travels as the hook: the inbox's program pays out only to the session it names.
        bytes memory hook = abi.encode(recipient);
        messenger.depositForBurnWithHook(
            amount, remote.domain, remote.inbox, token, bytes32(0), maxFee, minFinality, hook
        );
    }
}
