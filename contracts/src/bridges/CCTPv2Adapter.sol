// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBridgeAdapter} from "../interfaces/IBridgeAdapter.sol";
import {ITokenMessengerV2} from "../interfaces/ICCTPv2.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title CCTPv2Adapter
/// @notice Bridges USDC with Circle CCTP v2 `depositForBurn`, minting to the recipient (the session's
/// receiver address) on the destination chain.
/// @dev Takes one route table for all chains, so the same constructor arguments (and so the same address)
/// serve every chain; the entry whose `chainId` is this chain names the local USDC.
contract CCTPv2Adapter is IBridgeAdapter {
    /// @notice One chain CCTP serves.
    struct Route {
        uint256 chainId;
        address usdc;
        uint32 domain;
    }

    /// @notice The caller asked for a fee above the adapter's cap.
    error FeeTooHigh(uint256 maxFee, uint256 cap);
    /// @notice The token cannot be bridged to that chain.
    error Unsupported(address token, uint256 toChainId);
    /// @notice The route table is malformed (a zero chain id, or a chain listed twice).
    error BadRoutes();
    /// @notice The fee cap is above 100% of the amount.
    error FeeCapAboveWhole(uint256 maxFeeBps);

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
            if (routes[i].chainId == 0 || _routes[routes[i].chainId].chainId != 0) revert BadRoutes();
            _routes[routes[i].chainId] = routes[i];
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
        if (toChainId == block.chainid || local.chainId == 0 || local.usdc != token || remote.chainId == 0) {
            return bytes32(0);
        }
        return bytes32(uint256(uint160(remote.usdc)));
    }

    /// @inheritdoc IBridgeAdapter
    /// @dev `data` is empty (no fee, finalized transfer) or `abi.encode(uint256 maxFee, uint32 minFinality)`.
    function bridge(address token, uint256 amount, uint256 toChainId, bytes32 recipient, bytes calldata data)
        external
        returns (uint256)
    {
        if (bridgedToken(token, toChainId) == bytes32(0)) revert Unsupported(token, toChainId);
        (uint256 maxFee, uint32 minFinality) =
            data.length == 0 ? (0, FINALIZED) : abi.decode(data, (uint256, uint32));
        uint256 cap = amount * maxFeeBps / 10_000;
        if (maxFee > cap) revert FeeTooHigh(maxFee, cap);

        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        SafeTransferLib.safeApproveWithRetry(token, address(messenger), amount);
        messenger.depositForBurn(
            amount, _routes[toChainId].domain, recipient, token, bytes32(0), maxFee, minFinality
        );
        return amount;
    }
}
