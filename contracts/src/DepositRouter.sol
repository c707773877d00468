// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReceiverFactory} from "./ReceiverFactory.sol";
import {IBridgeAdapter} from "./interfaces/IBridgeAdapter.sol";
import {IDepositReceiver} from "./interfaces/IDepositReceiver.sol";
import {IDepositRouter} from "./interfaces/IDepositRouter.sol";
import {IReceiverFactory} from "./interfaces/IReceiverFactory.sol";
import {DepositParams, DepositParamsLib} from "./libraries/DepositParamsLib.sol";
import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title DepositRouter
/// @notice The only account receivers obey. No owner, no setters: the adapter allow-list is fixed at
/// construction, so no key can redirect funds. Amounts are measured as balance deltas, so tokens that
/// return nothing, return `false`-free success, or charge transfer fees are accounted for what moved.
contract DepositRouter is IDepositRouter, ReentrancyGuardTransient {
    using DepositParamsLib for DepositParams;
    using DepositParamsLib for bytes32;
    using DepositParamsLib for address;

    /// @inheritdoc IDepositRouter
    uint256 public constant FINAL_CALL_GAS = 1_000_000;
    /// Gas kept back for the work after the final call (approval reset, sweep, event).
    uint256 private constant POST_CALL_GAS = 60_000;

    /// @inheritdoc IDepositRouter
    IReceiverFactory public immutable factory;

    address[] private _adapters;
    mapping(address adapter => bool) private _isAdapter;
    mapping(bytes32 paramsHash => SessionState) private _sessions;

    /// @param adapters_ Bridge adapters, fixed forever. Pass the same list on every chain (adapters are
    /// themselves deployed deterministically) to get the same router, factory and receiver addresses.
    constructor(address[] memory adapters_) {
        factory = new ReceiverFactory();
        for (uint256 i; i < adapters_.length; ++i) {
            if (!_isAdapter[adapters_[i]]) {
                _isAdapter[adapters_[i]] = true;
                _adapters.push(adapters_[i]);
            }
        }
    }

    /// @dev Transient storage (EIP-1153) on every chain: all chains this router targets support it, and the
    /// storage fallback solady uses off mainnet would cost a fresh 20k-gas slot write on every settlement.
    function _useTransientReentrancyGuardOnlyOnMainnet() internal pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IDepositRouter
    function isAdapter(address adapter) external view returns (bool) {
        return _isAdapter[adapter];
    }

    /// @inheritdoc IDepositRouter
    function adapters() external view returns (address[] memory) {
        return _adapters;
    }

    /// @inheritdoc IDepositRouter
    function sessionState(bytes32 paramsHash) external view returns (SessionState memory) {
        return _sessions[paramsHash];
    }

    /// @inheritdoc IDepositRouter
    function settle(DepositParams calldata params, address token) external nonReentrant {
        _requireDestinationChain(params);
        if (token != params.toToken.toEvmAddress()) revert UnusableToken(token);
        _settleOrRepay(params, token);
    }

    /// @inheritdoc IDepositRouter
    function claim(DepositParams calldata params) external nonReentrant {
        _requireDestinationChain(params);
        _settleOrRepay(params, params.toToken.toEvmAddress());
    }

    /// @inheritdoc IDepositRouter
    function bridge(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        nonReentrant
    {
        if (params.toChainId == block.chainid) revert SameChain(block.chainid);
        if (!_isAdapter[adapter]) revert AdapterNotAllowed(adapter);
        if (!IBridgeAdapter(adapter).canBridge(token, params.toChainId)) {
            revert AdapterUnsupported(adapter, token, params.toChainId);
        }
        address receiver = factory.deploy(params);
        uint256 balance = _balanceOf(token, receiver);
        if (balance == 0) revert NothingToSettle(receiver, token);

        uint256 base = _balanceOf(token, address(this));
        IDepositReceiver(receiver).pull(token, address(this), balance);
        uint256 got = _balanceOf(token, address(this)) - base;

        SafeTransferLib.safeApproveWithRetry(token, adapter, got);
        IBridgeAdapter(adapter).bridge(token, got, params.toChainId, receiver.toBytes32(), data);
        SafeTransferLib.safeApproveWithRetry(token, adapter, 0);

        // Whatever the adapter did not take stays the session's: back to the receiver.
        uint256 left = _balanceOf(token, address(this)) - base;
        if (left != 0) SafeTransferLib.safeTransfer(token, receiver, left);
        emit Bridged(params.sessionId, receiver, token, adapter, params.toChainId, got - left);
    }

    /// @inheritdoc IDepositRouter
    function fastFinish(DepositParams calldata params, uint256 amount) external nonReentrant {
        _requireDestinationChain(params);
        if (amount == 0) revert ZeroAmount();
        bytes32 paramsHash = params.hash();
        SessionState storage s = _sessions[paramsHash];
        address receiver = factory.receiverAddress(params);
        if (receiver.code.length != 0 || s.fronter != address(0)) revert AlreadyStarted(paramsHash);
        s.fronter = msg.sender;
        s.fronted = amount;

        address token = params.toToken.toEvmAddress();
        uint256 base = _balanceOf(token, address(this));
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        uint256 got = _balanceOf(token, address(this)) - base;
        emit FastFinished(params.sessionId, receiver, msg.sender, amount);
        _deliver(params, s, receiver, token, got, false);
    }

    /// @inheritdoc IDepositRouter
    function refund(DepositParams calldata params, address token) external nonReentrant {
        bool usable = _isUsable(params, token);
        if (usable && block.timestamp <= params.expiresAt) revert NotExpired(params.expiresAt);
        address refundTo = params.refundAddress.toEvmAddress();
        SessionState storage s = _sessions[params.hash()];
        if (usable && s.fronter != address(0) && !s.repaid) revert OwedToRelayer(s.fronter, s.fronted);

        address receiver = factory.deploy(params);
        uint256 balance = _balanceOf(token, receiver);
        if (balance == 0) revert NothingToSettle(receiver, token);
        uint256 refunded = _moveMeasured(token, receiver, refundTo, balance, true);
        emit Settled(params.sessionId, receiver, token, Outcome.Refunded, balance, 0, refunded);
    }

    /// Repays a fronting relayer first (exactly once), then delivers whatever is above that.
    function _settleOrRepay(DepositParams calldata params, address token) private {
        address receiver = factory.deploy(params);
        uint256 balance = _balanceOf(token, receiver);
        if (balance == 0) revert NothingToSettle(receiver, token);
        SessionState storage s = _sessions[params.hash()];
        if (s.fronter != address(0) && !s.repaid) {
            uint256 owed = s.fronted;
            if (balance < owed) revert InsufficientForRepayment(balance, owed);
            s.repaid = true;
            IDepositReceiver(receiver).pull(token, s.fronter, owed);
            emit Repaid(params.sessionId, receiver, s.fronter, owed);
            balance -= owed;
            if (balance == 0) return;
        }
        _deliver(params, s, receiver, token, balance, true);
    }

    /// Delivers `amount` held by the receiver (`fromReceiver`) or already by the router.
    function _deliver(
        DepositParams calldata params,
        SessionState storage s,
        address receiver,
        address token,
        uint256 amount,
        bool fromReceiver
    ) private {
        if (params.finalCall.length == 0) {
            uint256 delivered = _moveMeasured(
                token,
                fromReceiver ? receiver : address(this),
                params.toAddress.toEvmAddress(),
                amount,
                fromReceiver
            );
            emit Settled(params.sessionId, receiver, token, Outcome.Delivered, amount, delivered, 0);
            return;
        }
        address refundTo = params.refundAddress.toEvmAddress();
        if (s.callExecuted) {
            uint256 refunded =
                _moveMeasured(token, fromReceiver ? receiver : address(this), refundTo, amount, fromReceiver);
            emit Settled(params.sessionId, receiver, token, Outcome.Refunded, amount, 0, refunded);
            return;
        }
        s.callExecuted = true;

        // Funds sit in the router for the call; `base` is what the router held before this session's funds.
        uint256 base = _balanceOf(token, address(this));
        if (fromReceiver) IDepositReceiver(receiver).pull(token, address(this), amount);
        else base -= amount;
        uint256 got = _balanceOf(token, address(this)) - base;

        address target = params.toAddress.toEvmAddress();
        SafeTransferLib.safeApproveWithRetry(token, target, got);
        bool ok = _callBounded(target, params.finalCall);
        SafeTransferLib.safeApproveWithRetry(token, target, 0);

        uint256 left = _balanceOf(token, address(this)) - base;
        if (left != 0) SafeTransferLib.safeTransfer(token, refundTo, left);
        if (ok) emit Settled(params.sessionId, receiver, token, Outcome.Delivered, got, got - left, left);
        else emit Settled(params.sessionId, receiver, token, Outcome.Bounced, got, 0, left);
    }

    /// Calls `target` with exactly `FINAL_CALL_GAS`, copying no return data (no return-bomb griefing).
    /// Refuses to start with less gas, so a relayer cannot force a bounce by starving the call.
    function _callBounded(address target, bytes calldata data) private returns (bool ok) {
        uint256 needed = FINAL_CALL_GAS * 64 / 63 + POST_CALL_GAS;
        if (gasleft() < needed) revert InsufficientGasForCall(gasleft(), needed);
        uint256 gasLimit = FINAL_CALL_GAS;
        /// @solidity memory-safe-assembly
        assembly {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            ok := call(gasLimit, target, 0, m, data.length, codesize(), 0x00)
        }
    }

    /// Moves `amount` from `from` (a receiver when `fromReceiver`, else the router) to `to`; returns what
    /// `to` actually gained.
    function _moveMeasured(address token, address from, address to, uint256 amount, bool fromReceiver)
        private
        returns (uint256)
    {
        uint256 before = _balanceOf(token, to);
        if (fromReceiver) IDepositReceiver(from).pull(token, to, amount);
        else if (token == address(0)) SafeTransferLib.safeTransferETH(to, amount);
        else SafeTransferLib.safeTransfer(token, to, amount);
        return _balanceOf(token, to) - before;
    }

    function _requireDestinationChain(DepositParams calldata params) private view {
        if (params.toChainId != block.chainid) revert WrongChain(params.toChainId, block.chainid);
    }

    /// Whether the session can use `token` on this chain: its destination token here, or a token an
    /// allow-listed adapter can bridge to the destination.
    function _isUsable(DepositParams calldata params, address token) private view returns (bool) {
        if (token == address(0)) return false;
        if (params.toChainId == block.chainid) return token == params.toToken.toEvmAddress();
        for (uint256 i; i < _adapters.length; ++i) {
            if (IBridgeAdapter(_adapters[i]).canBridge(token, params.toChainId)) return true;
        }
        return false;
    }

    function _balanceOf(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : SafeTransferLib.balanceOf(token, account);
    }
}
