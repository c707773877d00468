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
/// chain). The messaging fee is paid in native coin from the adapter's own balance (the router sends none):
/// whoever operates the adapter keeps it funded; `bridge` reverts while it cannot pay, and the funds stay in
/// the receiver. The amount delivered is bounded below by the caller's `minAmountLD`, itself bounded by the
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

    /// @notice Pays OFT messaging fees.
    receive() external payable {}

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
    /// @dev `data` is empty (nothing may be lost on the way) or `abi.encode(uint256 minAmountLD)`.
    function bridge(address token, uint256 amount, uint256 toChainId, bytes32 recipient, bytes calldata data)
        external
        returns (uint256)
    {
        if (bridgedToken(token, toChainId) == bytes32(0)) revert Unsupported(token, toChainId);
        uint256 floor = amount - amount * maxFeeBps / 10_000;
        uint256 minAmount = data.length == 0 ? amount : abi.decode(data, (uint256));
        if (minAmount < floor) revert MinAmountTooLow(minAmount, floor);

        Route storage local = _routes[block.chainid];
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        SafeTransferLib.safeApproveWithRetry(token, local.oft, amount);
        SendParam memory send = SendParam({
            dstEid: _routes[toChainId].eid,
            to: recipient,
            amountLD: amount,
            minAmountLD: minAmount,
            extraOptions: "",
            composeMsg: "",
            oftCmd: ""
        });
        MessagingFee memory fee = IOFT(local.oft).quoteSend(send, false);
        IOFT(local.oft).send{value: fee.nativeFee}(send, fee, address(this));
        SafeTransferLib.safeApprove(token, local.oft, 0);
        return amount;
    }
}
