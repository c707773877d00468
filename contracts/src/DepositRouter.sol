// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CallExecutor} from "./CallExecutor.sol";
import {ReceiverFactory} from "./ReceiverFactory.sol";
import {IBridgeAdapter} from "./interfaces/IBridgeAdapter.sol";
import {ICallExecutor} from "./interfaces/ICallExecutor.sol";
import {IDepositReceiver} from "./interfaces/IDepositReceiver.sol";
import {IDepositRouter} from "./interfaces/IDepositRouter.sol";
import {IReceiverFactory} from "./interfaces/IReceiverFactory.sol";
import {Create2Lib} from "./libraries/Create2Lib.sol";
import {DepositParams, DepositParamsLib} from "./libraries/DepositParamsLib.sol";
import {TransferOutLib} from "./libraries/TransferOutLib.sol";
import {LibClone} from "solady/utils/LibClone.sol";
import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title DepositRouter
/// @notice The only account receivers obey. No owner, no setters: the adapter allow-list, the CREATE2 prefix
/// and the destination table are fixed at construction, so no key can redirect funds. The router never makes
/// an integrator's call itself: each session's final call runs from that session's own fresh executor clone,
/// which holds only that session's funds and which nothing obeys. Amounts are measured as balance deltas, so
/// tokens that return nothing or charge transfer fees are accounted for what moved; tokens leave through
/// `TransferOutLib`, so a token whose `transfer` returns `false` on success (Tron's USDT) moves, and one that
/// returns `false` without moving does not pass for delivered.
contract DepositRouter is IDepositRouter, ReentrancyGuardTransient {
    using DepositParamsLib for DepositParams;
    using DepositParamsLib for bytes32;
    using DepositParamsLib for address;

    /// @inheritdoc IDepositRouter
    IReceiverFactory public immutable factory;
    /// @inheritdoc IDepositRouter
    ICallExecutor public immutable executorImplementation;
    /// @inheritdoc IDepositRouter
    bytes1 public immutable create2Prefix;

    /// The receiver implementation, the constant of every receiver's CREATE2 address.
    address private immutable _receiverImplementation;
    /// `keccak256` of the init code of a receiver clone and of an executor clone (CREATE2 constants).
    bytes32 private immutable _receiverInitCodeHash;
    bytes32 private immutable _executorInitCodeHash;
    /// `extcodehash` of every deployed receiver clone and of every executor clone.
    bytes32 private immutable _receiverCodeHash;
    bytes32 private immutable _executorCodeHash;

    /// A destination as stored: one slot for what every bridge reads; the init code hash of another
    /// deployment only when `factory` names one.
    struct DestinationEntry {
        address factory;
        bytes1 create2Prefix;
        bool known;
    }

    address[] private _adapters;
    mapping(address adapter => bool) private _isAdapter;
    mapping(bytes32 paramsHash => SessionState) private _sessions;
    uint256[] private _destinationChainIds;
    mapping(uint256 chainId => DestinationEntry) private _destinations;
    mapping(uint256 chainId => bytes32) private _destinationInitCodeHash;

    /// @param adapters_ Bridge adapters, fixed forever. Pass the same list on every chain (adapters are
    /// themselves deployed deterministically) to get the same router, factory and receiver addresses.
    /// @param create2Prefix_ The byte this chain's CREATE2 hashes first: `0xff` on EVM chains, `0x41` on
    /// Tron (TIP-26). Every receiver and executor address this router predicts uses it.
    /// @param destinations_ Where bridged funds land: per destination chain, the deployment whose receiver
    /// receives them (see `Destination`). Fixed forever, like the adapters.
    constructor(address[] memory adapters_, bytes1 create2Prefix_, Destination[] memory destinations_) {
        if (!Create2Lib.isKnownPrefix(create2Prefix_)) revert UnsupportedCreate2Prefix(create2Prefix_);
        create2Prefix = create2Prefix_;
        // Creation order fixes the addresses: factory at nonce 1, executor implementation at nonce 2.
        factory = new ReceiverFactory(create2Prefix_);
        executorImplementation = new CallExecutor();
        _receiverImplementation = factory.implementation();
        _receiverInitCodeHash = factory.receiverInitCodeHash();
        _executorInitCodeHash = LibClone.initCodeHash(address(executorImplementation));
        _receiverCodeHash = _cloneCodeHash(_receiverImplementation);
        _executorCodeHash = _cloneCodeHash(address(executorImplementation));
        for (uint256 i; i < adapters_.length; ++i) {
            if (!_isAdapter[adapters_[i]]) {
                _isAdapter[adapters_[i]] = true;
                _adapters.push(adapters_[i]);
            }
        }
        for (uint256 i; i < destinations_.length; ++i) {
            Destination memory d = destinations_[i];
            if (d.chainId == 0 || _destinations[d.chainId].known) revert BadDestination(d.chainId);
            if (d.factory == address(0)) {
                // "This deployment": its own factory, init code hash and prefix, nothing else may be given.
                if (d.receiverInitCodeHash != 0 || d.create2Prefix != 0) revert BadDestination(d.chainId);
            } else if (d.receiverInitCodeHash == 0 || !Create2Lib.isKnownPrefix(d.create2Prefix)) {
                revert BadDestination(d.chainId);
            } else {
                _destinationInitCodeHash[d.chainId] = d.receiverInitCodeHash;
            }
            _destinations[d.chainId] = DestinationEntry(d.factory, d.create2Prefix, true);
            _destinationChainIds.push(d.chainId);
        }
    }

    /// @dev Transient storage (EIP-1153) on every chain: all chains this router targets support it (Tron's
    /// TVM executes TLOAD/TSTORE/MCOPY since proposal #103, GreatVoyage-v4.8.0, 2025-06-26; PUSH0 since #89),
    /// and the storage fallback solady uses off mainnet would cost a fresh 20k-gas slot write on every
    /// settlement. `test_tvm_deployedCodeUsesOnlyOpcodesTheTvmExecutes` scans what is deployed.
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
    function executorOf(bytes32 paramsHash) public view returns (address) {
        return Create2Lib.predict(create2Prefix, address(this), paramsHash, _executorInitCodeHash);
    }

    /// @inheritdoc IDepositRouter
    function destination(uint256 chainId) public view returns (Destination memory d) {
        DestinationEntry memory e = _destinations[chainId];
        if (e.known) d = Destination(chainId, e.factory, _destinationInitCodeHash[chainId], e.create2Prefix);
    }

    /// @inheritdoc IDepositRouter
    function destinations() external view returns (Destination[] memory list) {
        list = new Destination[](_destinationChainIds.length);
        for (uint256 i; i < list.length; ++i) {
            list[i] = destination(_destinationChainIds[i]);
        }
    }

    /// @inheritdoc IDepositRouter
    function destinationReceiver(uint256 chainId, bytes32 paramsHash) public view returns (address) {
        DestinationEntry memory e = _destinations[chainId];
        if (!e.known) revert UnknownDestination(chainId);
        if (e.factory == address(0)) return _receiverAddress(paramsHash);
        return Create2Lib.predict(e.create2Prefix, e.factory, paramsHash, _destinationInitCodeHash[chainId]);
    }

    /// @inheritdoc IDepositRouter
    function quoteBridge(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        view
        returns (uint256 nativeFee)
    {
        _requireRoute(params, token, adapter);
        bytes32 paramsHash = params.hash();
        address toReceiver = destinationReceiver(params.toChainId, paramsHash);
        uint256 balance = _balanceOf(token, _receiverAddress(paramsHash));
        return
            IBridgeAdapter(adapter).quoteFee(token, balance, params.toChainId, toReceiver.toBytes32(), data);
    }

    /// @inheritdoc IDepositRouter
    function refundTarget(DepositParams calldata params) public pure returns (address) {
        if (params.refundAddress.isEvmAddress()) return address(uint160(uint256(params.refundAddress)));
        if (params.toAddress.isEvmAddress()) return address(uint160(uint256(params.toAddress)));
        return address(0);
    }

    /// @inheritdoc IDepositRouter
    function isAllowedTarget(address target, address token) public view returns (bool) {
        if (
            target == token || target == address(this) || target == address(factory)
                || target == address(executorImplementation) || target == _receiverImplementation
                || _isAdapter[target]
        ) return false;
        bytes32 codeHash = target.codehash;
        return codeHash != _receiverCodeHash && codeHash != _executorCodeHash;
    }

    /// @inheritdoc IDepositRouter
    function settle(DepositParams calldata params, address token) external nonReentrant {
        _requireDestinationChain(params);
        if (token != params.toToken.toEvmAddress()) revert UnusableToken(token);
        if (_expired(params)) revert Expired(params.expiresAt);
        _drain(params, params.hash(), token);
    }

    /// @inheritdoc IDepositRouter
    function claim(DepositParams calldata params) external nonReentrant {
        _requireDestinationChain(params);
        _drain(params, params.hash(), params.toToken.toEvmAddress());
    }

    /// @inheritdoc IDepositRouter
    function refund(DepositParams calldata params, address token) external nonReentrant {
        bytes32 paramsHash = params.hash();
        if (_isUsable(params, token)) {
            if (!_expired(params)) revert NotExpired(params.expiresAt);
            // After expiry `_drain` repays what a fronter is owed and refunds everything else.
            _drain(params, paramsHash, token);
            return;
        }
        address refundTo = _requireRefundTarget(params);
        (address receiver, bool created) = _receiver(paramsHash);
        // Deploying the receiver to refund a token the session cannot use starts nothing: remember that, so
        // this does not stop a relayer from fronting (the griefer pays for the write).
        if (created && params.toChainId == block.chainid) _sessions[paramsHash].receiverIdle = true;
        uint256 balance = _requireBalance(token, receiver);
        uint256 refunded = _pullMeasured(receiver, token, refundTo, balance);
        emit Settled(params.sessionId, receiver, token, Outcome.Refunded, balance, 0, refunded);
    }

    /// @inheritdoc IDepositRouter
    function bridge(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        payable
        nonReentrant
    {
        if (params.toChainId == block.chainid) revert SameChain(block.chainid);
        _requireRoute(params, token, adapter);
        uint256 arrivesBy = block.timestamp + IBridgeAdapter(adapter).maxDeliveryTime();
        if (arrivesBy > params.expiresAt) revert TooLateToBridge(arrivesBy, params.expiresAt);
        bytes32 paramsHash = params.hash();
        // The destination chain's own deployment decides where the funds land there, never this one's.
        address toReceiver = destinationReceiver(params.toChainId, paramsHash);
        (address receiver, uint256 amount) =
            _bridgeOut(paramsHash, token, adapter, params.toChainId, toReceiver, data);
        emit Bridged(params.sessionId, receiver, token, adapter, params.toChainId, toReceiver, amount);
    }

    /// @inheritdoc IDepositRouter
    function refundHome(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        payable
        nonReentrant
    {
        address refundTo = refundTarget(params);
        if (refundTo != address(0)) revert RefundAddressUsable(refundTo);
        if (params.toChainId == block.chainid) revert SameChain(block.chainid);
        _requireRoute(params, token, adapter);
        // No delivery-time bound: funds that arrive after expiry are refunded by the destination's own rules,
        // to the refund address of that chain's family (the only one the session commits).
        bytes32 paramsHash = params.hash();
        address toReceiver = destinationReceiver(params.toChainId, paramsHash);
        (address receiver, uint256 amount) =
            _bridgeOut(paramsHash, token, adapter, params.toChainId, toReceiver, data);
        emit SentHome(params.sessionId, receiver, token, adapter, params.toChainId, toReceiver, amount);
    }

    /// @inheritdoc IDepositRouter
    function fastFinish(DepositParams calldata params, uint256 amount) external nonReentrant {
        _requireDestinationChain(params);
        if (_expired(params)) revert Expired(params.expiresAt);
        // Tied to the commitment: a 1-wei fronting cannot burn a calldata session's only call, and no fronter
        // can become owed more than the session asked for. Open-amount sessions are delivered on arrival.
        if (params.amount == 0) revert CannotFrontOpenAmount();
        if (amount != params.amount) revert WrongFrontAmount(amount, params.amount);
        bytes32 paramsHash = params.hash();
        SessionState storage s = _sessions[paramsHash];
        address receiver = _receiverAddress(paramsHash);
        // A deployed receiver means a router entry point ran here; only an idle one (deployed to refund an
        // unusable token) has not started a delivery.
        if (s.fronter != address(0) || (receiver.code.length != 0 && !s.receiverIdle)) {
            revert AlreadyStarted(paramsHash);
        }
        s.fronter = msg.sender;
        s.fronted = SafeCastLib.toUint128(amount);
        s.owed = uint128(amount);
        emit FastFinished(params.sessionId, receiver, msg.sender, amount);

        address token = params.toToken.toEvmAddress();
        if (params.finalCall.length == 0) {
            uint256 delivered = _transferFromMeasured(token, params.toAddress.toEvmAddress(), amount);
            emit Settled(params.sessionId, receiver, token, Outcome.Delivered, amount, delivered, 0);
            return;
        }
        address executor = _startCall(params, paramsHash, s, token);
        if (executor == address(0)) {
            uint256 refunded = _transferFromMeasured(token, _requireRefundTarget(params), amount);
            emit Settled(params.sessionId, receiver, token, Outcome.Bounced, amount, 0, refunded);
        } else {
            uint256 before = SafeTransferLib.balanceOf(token, executor);
            SafeTransferLib.safeTransferFrom(token, msg.sender, executor, amount);
            _execute(
                params, receiver, token, executor, amount, SafeTransferLib.balanceOf(token, executor) - before
            );
        }
    }

    /// Moves the receiver's whole `token` balance (`token` is the session's destination token, on its
    /// destination chain): what a fronter is still owed first, then the rest by the session's rules.
    function _drain(DepositParams calldata params, bytes32 paramsHash, address token) private {
        (address receiver, bool created) = _receiver(paramsHash);
        uint256 balance = _requireBalance(token, receiver);
        SessionState storage s = _sessions[paramsHash];
        address fronter = s.fronter;
        bool idle = s.receiverIdle;
        bool expired = _expired(params);
        // Nothing starts the session below its committed minimum (a delivery, its final call), so dust sent
        // ahead of the deposit cannot burn the call or turn fronting off. Whether this is the start is known
        // without a storage write: the receiver is created now, or idle, and nobody fronted. Refunds (after
        // expiry) are never bound by it, nor are later arrivals of a started session.
        if (!expired && fronter == address(0) && (created || idle) && balance < params.minAmount) {
            revert BelowMinimum(balance, params.minAmount);
        }
        if (idle) s.receiverIdle = false; // a delivery starts now
        if (fronter != address(0)) {
            uint256 owed = s.owed;
            if (owed != 0) {
                uint256 pay = balance < owed ? balance : owed;
                // The fronter carries any shortfall: it gets what arrived, up to what it is owed, and the
                // rest stays owed (to be paid from later arrivals), never blocking anything above it.
                s.owed = uint128(owed - pay);
                IDepositReceiver(receiver).pull(token, fronter, pay);
                emit Repaid(params.sessionId, receiver, fronter, pay, owed - pay);
                balance -= pay;
                if (balance == 0) return;
            }
        }
        _settleRest(params, paramsHash, s, receiver, token, balance, expired);
    }

    /// Refunds (after expiry, or a calldata session whose call ran), delivers (plain) or runs the session's
    /// only final call with `balance`.
    function _settleRest(
        DepositParams calldata params,
        bytes32 paramsHash,
        SessionState storage s,
        address receiver,
        address token,
        uint256 balance,
        bool expired
    ) private {
        // The refund target is read only where funds go to it: a plain delivery never depends on it.
        if (expired || (params.finalCall.length != 0 && s.callExecuted)) {
            uint256 refunded = _pullMeasured(receiver, token, _requireRefundTarget(params), balance);
            emit Settled(params.sessionId, receiver, token, Outcome.Refunded, balance, 0, refunded);
        } else if (params.finalCall.length == 0) {
            uint256 delivered = _pullMeasured(receiver, token, params.toAddress.toEvmAddress(), balance);
            emit Settled(params.sessionId, receiver, token, Outcome.Delivered, balance, delivered, 0);
        } else {
            address executor = _startCall(params, paramsHash, s, token);
            if (executor == address(0)) {
                uint256 refunded = _pullMeasured(receiver, token, _requireRefundTarget(params), balance);
                emit Settled(params.sessionId, receiver, token, Outcome.Bounced, balance, 0, refunded);
            } else {
                // What already sat at the executor's predictable address (a stranger's donation) is not the
                // session's: only what moves in now is approved to the target.
                uint256 before = SafeTransferLib.balanceOf(token, executor);
                IDepositReceiver(receiver).pull(token, executor, balance);
                _execute(
                    params,
                    receiver,
                    token,
                    executor,
                    balance,
                    SafeTransferLib.balanceOf(token, executor) - before
                );
            }
        }
    }

    /// The route check shared by every bridging: an allow-listed adapter that delivers `token` on the
    /// destination chain as the session's destination token.
    function _requireRoute(DepositParams calldata params, address token, address adapter) private view {
        // An adapter answers zero for a route it lacks: a zero destination token would match every one.
        if (params.toToken == bytes32(0)) revert NoDestinationToken();
        if (!_isAdapter[adapter]) revert AdapterNotAllowed(adapter);
        if (IBridgeAdapter(adapter).bridgedToken(token, params.toChainId) != params.toToken) {
            revert AdapterUnsupported(adapter, token, params.toChainId);
        }
    }

    /// Moves the receiver's whole `token` balance through `adapter` to `toReceiver` on `toChainId`; returns
    /// the source receiver and the amount the adapter took.
    function _bridgeOut(
        bytes32 paramsHash,
        address token,
        address adapter,
        uint256 toChainId,
        address toReceiver,
        bytes calldata data
    ) private returns (address receiver, uint256 amount) {
        (receiver,) = _receiver(paramsHash);
        uint256 balance = _requireBalance(token, receiver);
        // The router holds the session's funds only for the duration of the allow-listed adapter's call.
        // Measured against what it held before, so a donation to the router can neither join nor block it.
        uint256 base = SafeTransferLib.balanceOf(token, address(this));
        IDepositReceiver(receiver).pull(token, address(this), balance);
        uint256 got = SafeTransferLib.balanceOf(token, address(this)) - base;
        SafeTransferLib.safeApproveWithRetry(token, adapter, got);
        // The bridge's messaging fee is the caller's: all of `msg.value` goes to the adapter, which pays the
        // fee from it and returns the excess to the caller. The router holds no native coin of its own.
        IBridgeAdapter(adapter).bridge{value: msg.value}(
            token, got, toChainId, toReceiver.toBytes32(), data, msg.sender
        );
        SafeTransferLib.safeApprove(token, adapter, 0);

        // Whatever the adapter did not take stays the session's: back to the receiver.
        uint256 left = SafeTransferLib.balanceOf(token, address(this)) - base;
        if (left != 0) TransferOutLib.transferOut(token, receiver, left);
        amount = got - left;
    }

    /// Consumes the session's only final call and returns the fresh executor clone to fund, or zero when
    /// the target is refused (the funds then bounce to the refund address without any call).
    function _startCall(
        DepositParams calldata params,
        bytes32 paramsHash,
        SessionState storage s,
        address token
    ) private returns (address executor) {
        s.callExecuted = true;
        if (!isAllowedTarget(params.toAddress.toEvmAddress(), token)) return address(0);
        executor = LibClone.cloneDeterministic(address(executorImplementation), paramsHash);
        address predicted = executorOf(paramsHash);
        if (executor != predicted) revert AddressDerivationMismatch(predicted, executor);
    }

    /// Runs the session's final call from its funded executor clone with exactly `amount`, what the router
    /// just moved in. `refunded` is everything the executor sent to the refund target afterwards: the
    /// session's leftovers, plus anything a stranger had sent to the executor's address. The event's
    /// `amount` is `taken`, what left the receiver (or the fronter) as on every other path, not what a
    /// fee-on-transfer token let reach the executor: whoever reads it (the relayer deciding that this is
    /// the session's delivery, its books of what is left at the receiver) sees the receiver's side.
    function _execute(
        DepositParams calldata params,
        address receiver,
        address token,
        address executor,
        uint256 taken,
        uint256 amount
    ) private {
        (bool ok, uint256 spent, uint256 refunded) = ICallExecutor(executor)
            .execute(
                token, params.toAddress.toEvmAddress(), params.finalCall, _requireRefundTarget(params), amount
            );
        emit Settled(
            params.sessionId,
            receiver,
            token,
            ok ? Outcome.Delivered : Outcome.Bounced,
            taken,
            spent,
            refunded
        );
    }

    /// The receiver address of `paramsHash` here (the factory's CREATE2 arithmetic, without calling it).
    function _receiverAddress(bytes32 paramsHash) private view returns (address) {
        return Create2Lib.predict(create2Prefix, address(factory), paramsHash, _receiverInitCodeHash);
    }

    /// The receiver of `paramsHash`, deployed now if it was not. A deployment whose prefix is not the one
    /// this chain's CREATE2 uses fails here, loudly, at its first receiver.
    function _receiver(bytes32 paramsHash) private returns (address receiver, bool created) {
        receiver = _receiverAddress(paramsHash);
        if (receiver.code.length == 0) {
            address deployed = factory.deploy(paramsHash);
            if (deployed != receiver) revert AddressDerivationMismatch(receiver, deployed);
            created = true;
        }
    }

    /// Moves `amount` from the caller (a fronting relayer) to `to`; returns what `to` actually gained.
    function _transferFromMeasured(address token, address to, uint256 amount) private returns (uint256) {
        uint256 before = SafeTransferLib.balanceOf(token, to);
        SafeTransferLib.safeTransferFrom(token, msg.sender, to, amount);
        return SafeTransferLib.balanceOf(token, to) - before;
    }

    /// Moves `amount` from `receiver` to `to`; returns what `to` actually gained.
    function _pullMeasured(address receiver, address token, address to, uint256 amount)
        private
        returns (uint256)
    {
        uint256 before = _balanceOf(token, to);
        IDepositReceiver(receiver).pull(token, to, amount);
        return _balanceOf(token, to) - before;
    }

    /// Where refunds go on this chain (`refundTarget`); reverts when the session commits none usable here.
    function _requireRefundTarget(DepositParams calldata params) private pure returns (address refundTo) {
        refundTo = refundTarget(params);
        if (refundTo == address(0)) revert NoRefundAddress();
    }

    function _requireBalance(address token, address receiver) private view returns (uint256 balance) {
        balance = _balanceOf(token, receiver);
        if (balance == 0) revert NothingToSettle(receiver, token);
    }

    /// The session can be delivered here: this is its destination chain and it names a destination token.
    function _requireDestinationChain(DepositParams calldata params) private view {
        if (params.toChainId != block.chainid) revert WrongChain(params.toChainId, block.chainid);
        if (params.toToken == bytes32(0)) revert NoDestinationToken();
    }

    function _expired(DepositParams calldata params) private view returns (bool) {
        return block.timestamp > params.expiresAt;
    }

    /// Whether the session can use `token` on this chain: its destination token here, or a token an
    /// allow-listed adapter bridges to the destination as the session's destination token.
    function _isUsable(DepositParams calldata params, address token) private view returns (bool) {
        // A zero destination token makes no token usable: adapters answer zero for routes they lack, so it
        // would otherwise make every token "bridgeable" and junk unrefundable until expiry.
        if (token == address(0) || params.toToken == bytes32(0)) return false;
        // Compared as bytes32: a `toToken` that is no EVM address must make the token unusable (refundable),
        // not make `refund` revert for every token of the session.
        if (params.toChainId == block.chainid) return token.toBytes32() == params.toToken;
        for (uint256 i; i < _adapters.length; ++i) {
            if (IBridgeAdapter(_adapters[i]).bridgedToken(token, params.toChainId) == params.toToken) {
                return true;
            }
        }
        return false;
    }

    function _balanceOf(address token, address account) private view returns (uint256) {
        return token == address(0) ? account.balance : SafeTransferLib.balanceOf(token, account);
    }

    /// `extcodehash` of a solady minimal-proxy clone of `implementation` (its 44-byte runtime).
    function _cloneCodeHash(address implementation) private pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(hex"3d3d3d3d363d3d37363d73", implementation, hex"5af43d3d93803e602a57fd5bf3")
        );
    }
}
