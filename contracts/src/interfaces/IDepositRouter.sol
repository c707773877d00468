// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositParams} from "../libraries/DepositParamsLib.sol";
import {ICallExecutor} from "./ICallExecutor.sol";
import {IReceiverFactory} from "./IReceiverFactory.sol";

/// @title IDepositRouter
/// @notice Moves funds out of session receivers. Every entry point is permissionless: a relayer only pays
/// gas. Funds leave a receiver only to the committed destination (directly, or through the session's own
/// call executor), to the committed refund address, or to the relayer that fronted the session, for at most
/// what it is still owed.
///
/// The expiry rule: `expiresAt` is the last moment a session's funds may start towards the destination.
/// Up to and including `expiresAt`, `settle`, `claim`, `bridge` and `fastFinish` work. After it, `settle`,
/// `bridge` and `fastFinish` revert with `Expired`; `claim` and `refund` first repay what a fronting relayer
/// is still owed (it fronted before expiry, and these are the funds it paid forward), then send everything
/// else to the refund address. `bridge` also refuses while the bridged funds could arrive after expiry.
/// Tokens the session cannot use are refundable at any time.
///
/// The refund rule (per family): on this EVM-shaped chain refunds go to `refundAddress` if it holds an EVM
/// address, else to `toAddress` if that does (an EVM destination: the other place the session's funds may
/// go), else nowhere here: the session's destination token can then only be sent home (`refundHome`), to its
/// receiver on the destination chain, whose family refunds it to the refund address committed for that
/// family (`solanaRefundAddress` on Solana). `solanaRefundAddress` is never read here.
///
/// The start rule: nothing starts a session on its destination chain (a delivery from its receiver, its
/// final call) until at least `minAmount` of the destination token is there (`BelowMinimum`). Fronting is
/// not bound by it (the fronter pays exactly `amount` of its own); once started, later arrivals are
/// delivered (plain) or refunded (calldata) whatever their size; refunds are never bound by it.
///
/// The fronting rule: only a fixed-amount session (`amount != 0`) may be fronted, with exactly `amount`,
/// once, and only before anything started it on this chain (open-amount sessions are delivered when the
/// funds arrive). The fronter is repaid from the destination token arriving at the receiver, up to what it
/// is owed: the first `amount` to arrive is the deposit it paid forward. It carries any shortfall itself (a
/// bridge fee, a payer who paid less) until later arrivals cover it, and what it is owed never blocks the
/// delivery or refund of anything above that.
///
/// The derivation rule: receiver and executor addresses are a property of each deployment. This router
/// predicts its own with its `create2Prefix` (`0xff` on EVM chains, `0x41` on Tron), and sends bridged funds
/// to the receiver that the destination chain's deployment derives (`destination`), never to its own
/// address for the session unless the table says the destination is the same deployment.
interface IDepositRouter {
    /// @notice Where bridged funds land on one destination chain: the session's receiver there, at
    /// `keccak256(create2Prefix ‖ factory ‖ paramsHash ‖ receiverInitCodeHash)[12:]`.
    /// @dev `factory == address(0)` means "the same deployment as this router" (its factory, init code hash
    /// and prefix; the other fields must then be zero): EVM chains that share the deterministic deployment
    /// name each other so (a router's own factory address depends on its init code, which holds this table).
    /// For Solana (chain 501) that entry is the sentinel: the bridge's inbox route carries this chain's own
    /// receiver as hook data, and the Solana program recomputes it. A Tron router lists Base explicitly
    /// (Base's factory, init code hash and `0xff`).
    struct Destination {
        uint256 chainId;
        address factory;
        bytes32 receiverInitCodeHash;
        bytes1 create2Prefix;
    }

    /// @notice How a settlement ended.
    enum Outcome {
        /// Funds reached the destination (plain transfer, or the final call succeeded).
        Delivered,
        /// The final call reverted, or its target was refused; everything went to the refund address.
        Bounced,
        /// Funds went to the refund address without a delivery attempt (expiry, unusable token, or a
        /// later deposit to a calldata session whose call already ran).
        Refunded
    }

    /// @notice Per-session router state, keyed by params hash.
    struct SessionState {
        /// Relayer that fronted the delivery with `fastFinish`, or zero.
        address fronter;
        /// The final call was attempted (or refused); it never runs again.
        bool callExecuted;
        /// The receiver was deployed on this chain only to refund a token the session cannot use; no
        /// delivery has started, so fronting is still allowed.
        bool receiverIdle;
        /// Amount the fronting relayer paid.
        uint128 fronted;
        /// Amount the fronting relayer is still owed.
        uint128 owed;
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

    /// @notice Funds left `receiver` through `adapter` towards the session's receiver on `toChainId`,
    /// `toReceiver` (derived from that chain's deployment; equal to `receiver` when it is this deployment).
    event Bridged(
        bytes32 indexed sessionId,
        address indexed receiver,
        address indexed token,
        address adapter,
        uint256 toChainId,
        address toReceiver,
        uint256 amount
    );

    /// @notice A session without a refund address usable here sent `amount` of its destination token home:
    /// through `adapter` to its receiver on `toChainId` (`toReceiver`), where that chain's family refunds it
    /// to the refund address committed for it (or delivers it, before expiry).
    event SentHome(
        bytes32 indexed sessionId,
        address indexed receiver,
        address indexed token,
        address adapter,
        uint256 toChainId,
        address toReceiver,
        uint256 amount
    );

    /// @notice `relayer` paid `amount` of its own to deliver the session now (a `Settled` event follows).
    event FastFinished(
        bytes32 indexed sessionId, address indexed receiver, address indexed relayer, uint256 amount
    );

    /// @notice Funds at `receiver` repaid `relayer` `amount` of what it fronted; `stillOwed` remains.
    event Repaid(
        bytes32 indexed sessionId,
        address indexed receiver,
        address indexed relayer,
        uint256 amount,
        uint256 stillOwed
    );

    /// @notice The entry point must run on the session's destination chain.
    error WrongChain(uint256 toChainId, uint256 chainId);
    /// @notice `bridge` must run on a chain other than the destination.
    error SameChain(uint256 chainId);
    /// @notice The session cannot use `token` here (not its destination token).
    error UnusableToken(address token);
    /// @notice `refund` of a usable token before the session's expiry.
    error NotExpired(uint64 expiresAt);
    /// @notice The session expired: nothing may start towards the destination any more.
    error Expired(uint64 expiresAt);
    /// @notice The receiver holds nothing of the token.
    error NothingToSettle(address receiver, address token);
    /// @notice The adapter is not on the router's immutable allow-list.
    error AdapterNotAllowed(address adapter);
    /// @notice The adapter cannot move `token` to `toChainId` as the session's destination token.
    error AdapterUnsupported(address adapter, address token, uint256 toChainId);
    /// @notice Bridged funds could arrive (by `arrivesBy`) after the session's expiry.
    error TooLateToBridge(uint256 arrivesBy, uint64 expiresAt);
    /// @notice Something already started the session on this chain (a delivery, or a fronting); fronting
    /// now could pay the destination twice.
    error AlreadyStarted(bytes32 paramsHash);
    /// @notice A fixed-amount session must be fronted with exactly its amount.
    error WrongFrontAmount(uint256 amount, uint256 committed);
    /// @notice An open-amount session cannot be fronted: nothing on chain bounds what the fronter would be
    /// owed, nor the amount its final call would run with.
    error CannotFrontOpenAmount();
    /// @notice Only `available` of the destination token is at the receiver, below the session's committed
    /// `minAmount`: nothing may start the session yet (wait for the deposit; after expiry it is refunded).
    error BelowMinimum(uint256 available, uint256 minAmount);
    /// @notice The session names no destination token (zero): nothing can be delivered or bridged, and
    /// everything paid in is refundable at once.
    error NoDestinationToken();
    /// @notice The session commits no refund address usable on this chain: `refundAddress` is not an EVM
    /// address, and neither is `toAddress`. Its destination token can only go home (`refundHome`); anything
    /// else stays in the receiver.
    error NoRefundAddress();
    /// @notice `refundHome` is only for sessions without a refund address here; this one refunds to
    /// `refundTo` (use `refund`).
    error RefundAddressUsable(address refundTo);
    /// @notice The destination table has no entry for `chainId`: there is no receiver to bridge to.
    error UnknownDestination(uint256 chainId);
    /// @notice Constructor: a destination entry is malformed (zero or repeated chain id, a "same deployment"
    /// entry with other fields set, or another deployment without an init code hash or a known prefix).
    error BadDestination(uint256 chainId);
    /// @notice Constructor: the CREATE2 prefix is neither `0xff` (EVM) nor `0x41` (Tron).
    error UnsupportedCreate2Prefix(bytes1 prefix);
    /// @notice The chain created a clone somewhere other than where this deployment predicts: its
    /// `create2Prefix` is not the one this chain's CREATE2 uses (a misconfigured deployment).
    error AddressDerivationMismatch(address predicted, address deployed);

    /// @notice The factory that deploys this router's receivers.
    function factory() external view returns (IReceiverFactory);

    /// @notice The implementation behind every session's call executor clone.
    function executorImplementation() external view returns (ICallExecutor);

    /// @notice The call executor of the session committed by `paramsHash` (deployed only when its call runs).
    function executorOf(bytes32 paramsHash) external view returns (address);

    /// @notice The byte this deployment's chain hashes first in CREATE2: `0xff` (EVM) or `0x41` (Tron).
    function create2Prefix() external view returns (bytes1);

    /// @notice The destination table's entry for `chainId`, as configured (all zero when there is none).
    function destination(uint256 chainId) external view returns (Destination memory);

    /// @notice The whole destination table, in constructor order.
    function destinations() external view returns (Destination[] memory);

    /// @notice The session's receiver on `chainId` by the destination table: where `bridge` sends the
    /// session committed by `paramsHash`. Reverts `UnknownDestination` for a chain the table lacks.
    function destinationReceiver(uint256 chainId, bytes32 paramsHash) external view returns (address);

    /// @notice Whether `adapter` is on the immutable allow-list.
    function isAdapter(address adapter) external view returns (bool);

    /// @notice The allow-listed adapters.
    function adapters() external view returns (address[] memory);

    /// @notice Router state of the session whose params hash is `paramsHash`.
    function sessionState(bytes32 paramsHash) external view returns (SessionState memory);

    /// @notice Where refunds of `params` go on this chain (see the refund rule): `refundAddress` if it holds an
    /// EVM address, else `toAddress` if it does, else zero (none: only `refundHome` can move its funds).
    function refundTarget(DepositParams calldata params) external pure returns (address);

    /// @notice Whether `target` may receive a session's final call for `token`: not the token itself, the
    /// router, the factory, the executor implementation, an allow-listed adapter, a receiver or an executor
    /// clone. A refused target bounces the session to its refund address.
    function isAllowedTarget(address target, address token) external view returns (bool);

    /// @notice Same-chain delivery of the receiver's whole `token` balance, until `expiresAt`: deploys the
    /// receiver if needed, refuses to start the session below `minAmount` (`BelowMinimum`), repays a
    /// fronting relayer what it is still owed, then a plain transfer, or hands
    /// the funds to the session's fresh call executor (approve exact → `finalCall` → approval reset →
    /// leftovers to the refund address; everything to the refund address if the call reverts or its target
    /// is refused). A later balance on a used receiver is delivered again (plain) or refunded (calldata:
    /// the call never runs twice).
    function settle(DepositParams calldata params, address token) external;

    /// @notice The native-coin fee `bridge` (or `refundHome`) would need with these arguments now: the
    /// adapter's quote for the receiver's current `token` balance. Send it as `msg.value` (a margin is
    /// fine: the excess is returned to the caller).
    function quoteBridge(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        view
        returns (uint256 nativeFee);

    /// @notice Sends the receiver's whole `token` balance through `adapter` to the session's receiver on
    /// `params.toChainId` as that chain's deployment derives it (`destinationReceiver`; a chain missing from
    /// the table reverts `UnknownDestination`), until the latest moment at which the adapter still delivers
    /// by `expiresAt`. The
    /// route must deliver the session's destination token. `data` carries adapter options, bounded by the
    /// adapter; anyone may choose them. The bridge's native messaging fee (if any) is paid by the caller:
    /// send at least `quoteBridge` as `msg.value`; it is forwarded to the adapter, which returns any excess
    /// to the caller.
    function bridge(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        payable;

    /// @notice Destination chain, until `expiresAt`: the caller pays `amount` of the destination token now
    /// and the router delivers it like `settle`; the caller is recorded and repaid from the destination
    /// token that later reaches the receiver. See the fronting rule above.
    function fastFinish(DepositParams calldata params, uint256 amount) external;

    /// @notice Destination chain: repays a fronting relayer from the receiver's destination-token balance
    /// (up to what it is owed), then goes on like `settle` with the rest, or, after expiry, refunds the rest.
    function claim(DepositParams calldata params) external;

    /// @notice Sends the receiver's whole `token` balance to the refund target (`refundTarget`): any time
    /// for a token the session cannot use; after `expiresAt` for a usable one, once a fronting relayer got
    /// what it is owed. Reverts `NoRefundAddress` when the session commits none usable here.
    function refund(DepositParams calldata params, address token) external;

    /// @notice For a session without a refund address usable on this chain (`refundTarget` is zero), any
    /// time: sends the receiver's whole `token` balance home, through an allow-listed adapter whose route
    /// delivers the session's destination token, to the session's receiver on its destination chain
    /// (`destinationReceiver`), which refunds it by its own family's rule (or delivers it before expiry).
    /// No delivery-time bound applies. Emits `SentHome`. The bridge's fee is the caller's, as for `bridge`.
    function refundHome(DepositParams calldata params, address token, address adapter, bytes calldata data)
        external
        payable;
}
