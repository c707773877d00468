// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMessageTransmitterV2, ITokenMessengerV2} from "../interfaces/ICCTPv2.sol";
import {TestUSDC} from "./TestUSDC.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title LocalMessageTransmitter
/// @notice Devnet stand-in for CCTP v2's MessageTransmitter: emits `MessageSent(message)` on the source
/// chain; on the destination chain accepts a message once, when a devnet attester key signed its hash,
/// and hands it to the paired token messenger. Same external calls as CCTP v2; message layout is
/// `abi.encode(version, sourceDomain, destinationDomain, nonce, sender, recipient, destinationCaller, body)`.
contract LocalMessageTransmitter is IMessageTransmitterV2 {
    /// @notice A message left this domain. Relayers fetch an attestation for `keccak256(message)`.
    event MessageSent(bytes message);
    /// @notice A message was delivered here.
    event MessageReceived(
        uint32 indexed sourceDomain, uint64 indexed nonce, bytes32 sender, bytes messageBody
    );

    /// @notice Only the paired messenger may send.
    error OnlyMessenger();
    /// @notice The message is addressed to another domain.
    error WrongDomain(uint32 destinationDomain);
    /// @notice The message names a destination caller other than the sender of this call.
    error WrongCaller(bytes32 destinationCaller);
    /// @notice The attestation is not the attester's signature of the message hash.
    error BadAttestation(address signer);
    /// @notice The message was delivered already.
    error AlreadyReceived(uint32 sourceDomain, uint64 nonce);

    /// @notice Message format version.
    uint32 public constant VERSION = 1;
    /// @notice This chain's CCTP domain.
    uint32 public immutable localDomain;
    /// @notice Key whose signatures count as attestations.
    address public immutable attester;
    /// @notice The token messenger that created this transmitter.
    LocalTokenMessenger public immutable messenger;

    /// @notice Next outgoing nonce.
    uint64 public nextNonce;
    /// @notice Delivered messages by `keccak256(sourceDomain, nonce)`.
    mapping(bytes32 => bool) public received;

    constructor(uint32 localDomain_, address attester_) {
        localDomain = localDomain_;
        attester = attester_;
        messenger = LocalTokenMessenger(msg.sender);
    }

    /// @notice Emits a message for `destinationDomain`; called by the paired messenger.
    function sendMessage(
        uint32 destinationDomain,
        bytes32 recipient,
        bytes32 destinationCaller,
        bytes calldata body
    ) external returns (uint64 nonce) {
        if (msg.sender != address(messenger)) revert OnlyMessenger();
        nonce = nextNonce++;
        bytes32 sender = bytes32(uint256(uint160(msg.sender)));
        emit MessageSent(abi.encode(
                VERSION, localDomain, destinationDomain, nonce, sender, recipient, destinationCaller, body
            ));
    }

    /// @inheritdoc IMessageTransmitterV2
    function receiveMessage(bytes calldata message, bytes calldata attestation) external returns (bool) {
        (
            ,
            uint32 sourceDomain,
            uint32 destinationDomain,
            uint64 nonce,
            bytes32 sender,,
            bytes32 caller,
            bytes memory body
        ) = abi.decode(message, (uint32, uint32, uint32, uint64, bytes32, bytes32, bytes32, bytes));
        if (destinationDomain != localDomain) revert WrongDomain(destinationDomain);
        if (caller != bytes32(0) && caller != bytes32(uint256(uint160(msg.sender)))) {
            revert WrongCaller(caller);
        }
        address signer = ECDSA.recoverCalldata(keccak256(message), attestation);
        if (signer != attester) revert BadAttestation(signer);
        bytes32 key = keccak256(abi.encode(sourceDomain, nonce));
        if (received[key]) revert AlreadyReceived(sourceDomain, nonce);
        received[key] = true;
        emit MessageReceived(sourceDomain, nonce, sender, body);
        // One messenger per chain, deployed at the same address everywhere on a real network; locally the
        // paired messenger is the recipient by construction.
        return messenger.handleReceiveFinalizedMessage(sourceDomain, sender, body);
    }
}

/// @title LocalTokenMessenger
/// @notice Devnet stand-in for CCTP v2's TokenMessenger over `TestUSDC`: burns on `depositForBurn`, mints
/// on attested receipt. Charges the whole `maxFee` the sender allowed (the worst case real CCTP permits), so
/// tests see what a fee-paying transfer delivers.
contract LocalTokenMessenger is ITokenMessengerV2 {
    /// @notice Tokens were burnt here for minting on `destinationDomain`.
    event DepositForBurn(
        address indexed burnToken,
        uint256 amount,
        address indexed depositor,
        bytes32 mintRecipient,
        uint32 destinationDomain,
        uint64 nonce
    );
    /// @notice Tokens were minted here for a burn on another domain.
    event MintAndWithdraw(address indexed mintRecipient, uint256 amount, address indexed mintToken);
    /// @notice The burn's fee was kept (not minted) on delivery.
    event FeeCharged(address indexed mintRecipient, uint256 fee);

    /// @notice Only `token` can be bridged.
    error UnsupportedToken(address token);
    /// @notice Only the transmitter may deliver.
    error OnlyTransmitter();

    /// @notice The bridged token (burnt here, minted on the other side).
    TestUSDC public immutable token;
    /// @notice The paired transmitter, created by this messenger.
    LocalMessageTransmitter public immutable transmitter;

    constructor(TestUSDC token_, uint32 localDomain, address attester) {
        token = token_;
        transmitter = new LocalMessageTransmitter(localDomain, attester);
    }

    /// @inheritdoc ITokenMessengerV2
    function depositForBurn(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32
    ) external {
        _burn(
            amount,
            destinationDomain,
            mintRecipient,
            burnToken,
            destinationCaller,
            abi.encode(
                uint32(1), bytes32(uint256(uint160(burnToken))), mintRecipient, amount, msg.sender, maxFee
            )
        );
    }

    /// @inheritdoc ITokenMessengerV2
    /// @dev The body is the plain burn's with `hookData` appended as a seventh (dynamic) field.
    function depositForBurnWithHook(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32,
        bytes calldata hookData
    ) external {
        bytes memory body = _hookBody(burnToken, mintRecipient, amount, maxFee, hookData);
        _burn(amount, destinationDomain, mintRecipient, burnToken, destinationCaller, body);
    }

    function _hookBody(
        address burnToken,
        bytes32 mintRecipient,
        uint256 amount,
        uint256 maxFee,
        bytes calldata hookData
    ) internal view returns (bytes memory) {
        return abi.encode(
            uint32(1),
            bytes32(uint256(uint160(burnToken))),
            mintRecipient,
            amount,
            msg.sender,
            maxFee,
            hookData
        );
    }

    function _burn(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        bytes memory body
    ) internal {
        if (burnToken != address(token)) revert UnsupportedToken(burnToken);
        SafeTransferLib.safeTransferFrom(burnToken, msg.sender, address(this), amount);
        token.burn(amount);
        uint64 nonce = transmitter.sendMessage(
            destinationDomain, bytes32(uint256(uint160(address(this)))), destinationCaller, body
        );
        emit DepositForBurn(burnToken, amount, msg.sender, mintRecipient, destinationDomain, nonce);
    }

    /// @notice Mints a delivered burn; called by the transmitter.
    function handleReceiveFinalizedMessage(uint32, bytes32, bytes calldata body) external returns (bool) {
        if (msg.sender != address(transmitter)) revert OnlyTransmitter();
        (,, bytes32 mintRecipient, uint256 amount,, uint256 maxFee) =
            abi.decode(body, (uint32, bytes32, bytes32, uint256, address, uint256));
        address to = address(uint160(uint256(mintRecipient)));
        uint256 fee = maxFee < amount ? maxFee : amount;
        token.mint(to, amount - fee);
        if (fee != 0) emit FeeCharged(to, fee);
        emit MintAndWithdraw(to, amount - fee, address(token));
        return true;
    }
}
