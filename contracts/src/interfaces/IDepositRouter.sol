// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositParams} from "../libraries/DepositParamsLib.sol";
import {IReceiverFactory} from "./IReceiverFactory.sol";

/// @title IDepositRouter
/// @notice Moves funds out of session receivers. Every entry point is permissionless: a relayer only pays
/// gas. Funds leave a receiver only to the committed destination, to the committed refund address, or
/// (after a relayer fronted the delivery) back to that relayer for exactly the amount it fronted.
interface IDepositRouter {
    /// @notice How a settlement ended.
    enum Outcome {
        /// Funds reached the destination (plain transfer, or the final call succeeded).
        Delivered,
        /// The final call reverted; everything went to the refund address.
        Bounced,
        /// Funds went to the refund address without a delivery attempt (expiry, unusable token, or a
        /// later deposit to a calldata session whose call already ran).
        Refunded
    }

    /// @notice Per-session router state, keyed by params hash.
    struct SessionState {
        /// Relayer that fronted the delivery with `fastFinish`, or zero.
        address fronter;
        /// The final call was attempted; it never runs again.
        bool callExecuted;
        /// The fronting relayer was repaid.
        bool repaid;
        /// Amount the fronting relayer paid.
        uint256 fronted;
    }

    /// @notice Funds left `receiver` (or, for `fastFinish`, a relayer) for the destination or refund address.
    /// @param amount Amount taken for this settlement.
    /// @param delivered Amount that reached the destination (measured, not assumed).
    /// @param refunded Amount sent to the refund address.
    event Settled(
        bytes32 indexed sessionId,
        address indexed receiver,
        address indexed token,
        Outcome outcome,
        uint256 amount,
        uint256 delivered,
        uint256 refunded
    );

    /// @notice Funds left `receiver` through `adapter` towards the same receiver address on `toChainId`.
    event Bridged(
        bytes32 indexed sessionId,
        address indexed receiver,
        address indexed token,
        address adapter,
        uint256 toChainId,
        uint256 amount
    );

    /// @notice `relayer` paid `amount` of its own to deliver the session now (a `Settled` event follows).
    event FastFinished(
        bytes32 indexed sessionId, address indexed receiver, address indexed relayer, uint256 amount
    );

    /// @notice Bridged funds at `receiver` repaid `relayer` the `amount` it fronted.
    event Repaid(
        bytes32 indexed sessionId, address indexed receiver, address indexed relayer, uint256 amount
    );

    /// @notice The entry point must run on the session's destination chain.
    error WrongChain(uint256 toChainId, uint256 chainId);
    /// @notice `bridge` must run on a chain other than the destination.
    error SameChain(uint256 chainId);
    /// @notice The session cannot use `token` here (not its destination token).
    error UnusableToken(address token);
    /// @notice `refund` of a usable token before the session's expiry.
    error NotExpired(uint64 expiresAt);
    /// @notice The receiver holds nothing of the token.
    error NothingToSettle(address receiver, address token);
    /// @notice The adapter is not on the router's immutable allow-list.
    error AdapterNotAllowed(address adapter);
    /// @notice The adapter cannot move `token` to `toChainId`.
    error AdapterUnsupported(address adapter, address token, uint256 toChainId);
    /// @notice The session's receiver is already in use (deployed, so settled, claimed or refunded) or was
    /// fronted already; fronting now could pay the destination twice.
    error AlreadyStarted(bytes32 paramsHash);
    /// @notice A zero amount.
    error ZeroAmount();
    /// @notice The receiver holds less than the relayer fronted; bridged funds have not fully arrived.
    error InsufficientForRepayment(uint256 balance, uint256 owed);
    /// @notice Funds at the receiver are owed to the relayer that fronted the session; claim them instead.
    error OwedToRelayer(address relayer, uint256 owed);
    /// @notice Too little gas was forwarded to give the final call its full budget.
    error InsufficientGasForCall(uint256 gasLeft, uint256 needed);

    /// @notice Gas the final call receives; the router refuses to run it with less.
    function FINAL_CALL_GAS() external view returns (uint256);

    /// @notice The factory that deploys this router's receivers.
    function factory() external view returns (IReceiverFactory);

    /// @notice Whether `adapter` is on the immutable allow-list.
    function isAdapter(address adapter) external view returns (bool);

    /// @notice The allow-listed adapters.
    function adapters() external view returns (address[] memory);

    /// @notice Router state of the session whose params hash is `paramsHash`.
    function sessionState(bytes32 paramsHash) external view returns (SessionState memory);

    /// @notice Same-chain delivery of the receiver's whole `token` balance: deploys the receiver if
    /// needed, then a plain transfer, or approve exact → `finalCall` → approval reset → leftovers to the
    /// refund address (everything to the refund address if the call reverts). A later balance on a used
    /// receiver is delivered again (plain) or refunded (calldata: the call never runs twice). If a relayer
    /// fronted the session, the balance repays it first.
    function settle(DepositParams calldata params, address token) external;

    /// @notice Sends the receiver's whole `token` balance through `adapter` to the same receiver address on
    /// `params.toChainId`. `data` carries adapter options, bounded by the adapter.
    function bridge(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external;

    /// @notice Destination chain: the caller pays `amount` of the destination token now and the router
    /// delivers it like `settle`; the caller is recorded and repaid by `claim` once bridged funds arrive.
    /// Only before the receiver is deployed: any settlement deploys it, so a deployed receiver means the
    /// session may have been delivered already.
    function fastFinish(DepositParams calldata params, uint256 amount) external;

    /// @notice Destination chain, once bridged funds reached the receiver: repays the fronting relayer
    /// exactly once (anything above goes on like `settle`), or delivers if nobody fronted.
    function claim(DepositParams calldata params) external;

    /// @notice Sends the receiver's whole `token` balance to the refund address: any time for a token the
    /// session cannot use, after `expiresAt` for a usable one. Never takes funds owed to a fronting relayer.
    function refund(DepositParams calldata params, address token) external;
}
