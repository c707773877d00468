// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBridgeAdapter} from "../interfaces/IBridgeAdapter.sol";
import {IOFT, MessagingFee, SendParam} from "../interfaces/IOFT.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title OFTAdapter
/// @notice Bridges a token through a LayerZero OFT (`send`), as USDT0 moves USDT, to the recipient (the
/// session's receiver address) on the destination chain. The second adapter behind `IBridgeAdapter`: the
/// router knows nothing of the bridge behind it.
/// @dev One route table for all chains (the same constructor arguments, so the same address, on every
/// chain). The messaging fee is paid by whoever bridges: the router forwards its caller's `msg.value`, the
/// adapter pays the OFT's quoted fee from it and returns the excess to `feeRefund` (the router's caller). It
/// holds no native balance of its own and has no `receive`, so no one can drain what others rely on (the
/// review found anyone could empty the operator-funded balance by bridging dust, after which every bridge
/// reverted). The amount delivered is bounded below by the caller's `minAmountLD`, itself bounded by the
/// adapter's `maxFeeBps`.
contract OFTAdapter is IBridgeAdapter {
    /// @notice One chain the OFT mesh serves.
    struct Route {
        uint256 chainId;
        address token;
        address oft;
        uint32 eid;
    }

    /// @notice The token cannot be bridged to that chain.
    error Unsupported(address token, uint256 toChainId);
    /// @notice The caller accepted losing more than the adapter's cap on the way.
    error MinAmountTooLow(uint256 minAmount, uint256 floor);
    /// @notice The route table is malformed (a zero chain id, or a chain listed twice).
    error BadRoutes();
    /// @notice The fee cap is above 100% of the amount.
    error FeeCapAboveWhole(uint256 maxFeeBps);
    /// @notice The caller sent `provided` native coin, less than the OFT's messaging fee `required`.
    error InsufficientFee(uint256 provided, uint256 required);

    /// @notice Largest loss on the way a caller may accept, in basis points of the amount.
    uint256 public immutable maxFeeBps;
    /// @inheritdoc IBridgeAdapter
    uint256 public immutable maxDeliveryTime;

    mapping(uint256 chainId => Route) private _routes;

    constructor(Route[] memory routes, uint256 maxFeeBps_, uint256 maxDeliveryTime_) {
        if (maxFeeBps_ > 10_000) revert FeeCapAboveWhole(maxFeeBps_);
        maxFeeBps = maxFeeBps_;
        maxDeliveryTime = maxDeliveryTime_;
        for (uint256 i; i < routes.length; ++i) {
            if (routes[i].chainId == 0 || _routes[routes[i].chainId].chainId != 0) revert BadRoutes();
            _routes[routes[i].chainId] = routes[i];
        }
    }

    /// @notice The route of `chainId` (all zero when the mesh does not serve it here).
    function route(uint256 chainId) external view returns (Route memory) {
        return _routes[chainId];
    }

    /// @inheritdoc IBridgeAdapter
    function bridgedToken(address token, uint256 toChainId) public view returns (bytes32) {
        Route storage local = _routes[block.chainid];
        Route storage remote = _routes[toChainId];
        if (toChainId == block.chainid || local.chainId == 0 || local.token != token || remote.chainId == 0) {
            return bytes32(0);
        }
        return bytes32(uint256(uint160(remote.token)));
    }

    /// @inheritdoc IBridgeAdapter
    function quoteFee(
        address token,
        uint256 amount,
        uint256 toChainId,
        bytes32 recipient,
        bytes calldata data
    ) external view returns (uint256) {
        SendParam memory send = _sendParam(token, amount, toChainId, recipient, data);
        return IOFT(_routes[block.chainid].oft).quoteSend(send, false).nativeFee;
    }

    /// @inheritdoc IBridgeAdapter
    /// @dev `data` is empty (nothing may be lost on the way) or `abi.encode(uint256 minAmountLD)`. The OFT's
    /// own refund address (for a fee it charges below the quote) is `feeRefund` too.
    function bridge(
        address token,
        uint256 amount,
        uint256 toChainId,
        bytes32 recipient,
        bytes calldata data,
        address feeRefund
    ) external payable returns (uint256) {
        SendParam memory send = _sendParam(token, amount, toChainId, recipient, data);
        address oft = _routes[block.chainid].oft;
        MessagingFee memory fee = IOFT(oft).quoteSend(send, false);
        if (msg.value < fee.nativeFee) revert InsufficientFee(msg.value, fee.nativeFee);

        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        SafeTransferLib.safeApproveWithRetry(token, oft, amount);
        IOFT(oft).send{value: fee.nativeFee}(send, fee, feeRefund);
        SafeTransferLib.safeApprove(token, oft, 0);
        // Last, once nothing else can change: whatever the caller sent above the fee goes back.
        uint256 excess = msg.value - fee.nativeFee;
        if (excess != 0) SafeTransferLib.safeTransferETH(feeRefund, excess);
        return amount;
    }

    /// The OFT send for these arguments, after the route and loss-cap checks.
    function _sendParam(
        address token,
        uint256 amount,
        uint256 toChainId,
        bytes32 recipient,
        bytes calldata data
    ) private view returns (SendParam memory) {
        if (bridgedToken(token, toChainId) == bytes32(0)) {
            revert Unsupported(token, toChainId);
        }
        uint256 floor = amount - amount * maxFeeBps / 10_000;
        uint256 minAmount = data.length == 0 ? amount : abi.decode(data, (uint256));
        if (minAmount < floor) revert MinAmountTooLow(minAmount, floor);
        return SendParam({
            dstEid: _routes[toChainId].eid,
            to: recipient,
            amountLD: amount,
            minAmountLD: minAmount,
            extraOptions: "",
            composeMsg: "",
            oftCmd: ""
        });
    }
}
