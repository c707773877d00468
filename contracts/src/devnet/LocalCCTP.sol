// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMessageTransmitterV2, ITokenMessengerV2} from "../interfaces/ICCTPv2.sol";
import {TestUSDC} from "./TestUSDC.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title LocalMessageTransmitter
/// @notice Devnet stand-in for CCTP v2's MessageTransmitterV2, speaking Circle's message format byte for
/// byte (`MessageV2.sol`: packed, big-endian, a 148-byte header, then the body): emits `MessageSent(message)`
/// with the nonce and `finalityThresholdExecuted` zero, as Circle's contract does; the devnet attester plays
/// Circle's attestation service (Iris): it assigns the nonce, fills in the finality and the burn's fee, and
/// signs `keccak256` of the result. On the destination chain a message is accepted once per nonce, when the
/// attester key signed it, and handed to the paired token messenger. What it does not reproduce of Circle's:
/// several attesters and a signature threshold (one key here), attester rotation and pausing, and the
/// `recipient` check (the message always goes to the paired messenger).
contract LocalMessageTransmitter is IMessageTransmitterV2 {
    /// @notice A message left this domain (Circle's event).
    event MessageSent(bytes message);
    /// @notice A message was delivered here (Circle's event).
    event MessageReceived(
        address indexed caller,
        uint32 sourceDomain,
        bytes32 indexed nonce,
        bytes32 sender,
        uint32 indexed finalityThresholdExecuted,
        bytes messageBody
    );

    /// @notice Only the paired token messenger sends.
    error OnlyMessenger();
    /// @notice Not a message in Circle's format, or of another version.
    error MalformedMessage();
    /// @notice The message is for another domain.
    error WrongDomain(uint32 destinationDomain);
    /// @notice The message names another deliverer.
    error WrongCaller(bytes32 destinationCaller);
    /// @notice The attestation is not the attester's signature of this message.
    error BadAttestation(address signer);
    /// @notice This nonce was delivered already.
    error AlreadyReceived(bytes32 nonce);

    /// @notice Message format version (Circle's v2 messages are version 1).
    uint32 public constant VERSION = 1;
    /// @notice Where a message's body starts.
    uint256 internal constant BODY = 148;
    /// @notice A message attested at this finality or above is finalized.
    uint32 internal constant FINALIZED = 2000;

    uint32 public immutable localDomain;
    address public immutable attester;
    LocalTokenMessenger public immutable messenger;

    /// @notice Nonces delivered here (Circle's `usedNonces`).
    mapping(bytes32 => bool) public usedNonces;

    constructor(uint32 localDomain_, address attester_) {
        localDomain = localDomain_;
        attester = attester_;
        messenger = LocalTokenMessenger(msg.sender);
    }

    /// @notice Emits a message for `destinationDomain`, as Circle's `sendMessage` does: the nonce and the
    /// executed finality are left zero for the attester to fill in.
    function sendMessage(
        uint32 destinationDomain,
        bytes32 recipient,
        bytes32 destinationCaller,
        uint32 minFinalityThreshold,
        bytes calldata body
    ) external {
        if (msg.sender != address(messenger)) revert OnlyMessenger();
        bytes32 sender = bytes32(uint256(uint160(msg.sender)));
        emit MessageSent(abi.encodePacked(
                VERSION,
                localDomain,
                destinationDomain,
                bytes32(0),
                sender,
                recipient,
                destinationCaller,
                minFinalityThreshold,
                uint32(0),
                body
            ));
    }

    /// @inheritdoc IMessageTransmitterV2
    function receiveMessage(bytes calldata message, bytes calldata attestation) external returns (bool) {
        if (message.length < BODY || uint32(bytes4(message[0:4])) != VERSION) revert MalformedMessage();
        uint32 sourceDomain = uint32(bytes4(message[4:8]));
        uint32 destinationDomain = uint32(bytes4(message[8:12]));
        bytes32 nonce = bytes32(message[12:44]);
        bytes32 sender = bytes32(message[44:76]);
        bytes32 caller = bytes32(message[108:140]);
        uint32 finality = uint32(bytes4(message[144:148]));
        if (destinationDomain != localDomain) revert WrongDomain(destinationDomain);
        if (caller != bytes32(0) && caller != bytes32(uint256(uint160(msg.sender)))) {
            revert WrongCaller(caller);
        }
        address signer = ECDSA.recoverCalldata(keccak256(message), attestation);
        if (signer != attester) revert BadAttestation(signer);
        if (usedNonces[nonce]) revert AlreadyReceived(nonce);
        usedNonces[nonce] = true;
        bytes calldata body = message[BODY:];
        emit MessageReceived(msg.sender, sourceDomain, nonce, sender, finality, body);
        return finality >= FINALIZED
            ? messenger.handleReceiveFinalizedMessage(sourceDomain, sender, finality, body)
            : messenger.handleReceiveUnfinalizedMessage(sourceDomain, sender, finality, body);
    }
}

/// @title LocalTokenMessenger
/// @notice Devnet stand-in for CCTP v2's TokenMessengerV2 over `TestUSDC`, with Circle's burn message
/// (`BurnMessageV2.sol`: a 228-byte packed body, then the hook data): burns on `depositForBurn`, mints on
/// attested receipt the amount less the fee the attestation executed (to the fee's recipient: kept, here).
/// The devnet attester executes the whole `maxFee` the sender allowed (the worst case real CCTP permits),
/// so tests see what a fee-paying transfer delivers.
contract LocalTokenMessenger is ITokenMessengerV2 {
    /// @notice Tokens were burnt here for minting on `destinationDomain` (Circle's event).
    event DepositForBurn(
        address indexed burnToken,
        uint256 amount,
        address indexed depositor,
        bytes32 mintRecipient,
        uint32 destinationDomain,
        bytes32 destinationTokenMessenger,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 indexed minFinalityThreshold,
        bytes hookData
    );
    /// @notice Tokens were minted here for a burn on another domain (Circle's event).
    event MintAndWithdraw(
        address indexed mintRecipient, uint256 amount, address indexed mintToken, uint256 feeCollected
    );

    /// @notice Only `token` can be bridged.
    error UnsupportedToken(address token);
    /// @notice Only the transmitter may deliver.
    error OnlyTransmitter();
    /// @notice Only the owner registers remote token messengers.
    error OnlyOwner();
    /// @notice Circle's source-side rules: a nonzero amount and recipient, a fee below the amount, a hook
    /// when one is asked for.
    error InvalidBurn();
    /// @notice Not a burn message in Circle's format.
    error MalformedBurn();
    /// @notice The executed fee is above the burn's `maxFee`, or not below its amount.
    error FeeExceeded(uint256 feeExecuted);
    /// @notice The burn's `expirationBlock` has passed.
    error Expired(uint256 expirationBlock);
    /// @notice Finality below what Circle's messenger accepts (500).
    error UnsupportedFinality(uint32 finalityThresholdExecuted);
    /// @notice The message was not sent by the token messenger of its source domain (Circle's
    /// `onlyRemoteTokenMessenger`): anyone may send a body through a transmitter, only a messenger burns.
    error NotARemoteTokenMessenger(uint32 sourceDomain, bytes32 sender);

    /// @notice Solana's CCTP domain.
    uint32 internal constant SOLANA_DOMAIN = 5;
    /// @notice Circle's TokenMessengerMinterV2 on Solana (`CCTPV2vPZJS2u2BBsUoscuikbYjnpFmbFsvVuJdgUMQe`),
    /// where the devnet runs its stand-in: the sender of every burn from Solana.
    bytes32 internal constant SOLANA_TOKEN_MESSENGER =
        0xa65fc81d0fefa8860cb3b83f089b0224be8a6687b7ae49f594c0b9b4d7e93893;

    /// @notice The bridged token (burnt here, minted on the other side).
    TestUSDC public immutable token;
    /// @notice The paired transmitter, created by this messenger.
    LocalMessageTransmitter public immutable transmitter;

    /// @notice Who may register remote token messengers (Circle's owner; here the deployer).
    address public immutable owner;
    /// @notice Token messengers registered for a domain other than the devnet's defaults.
    mapping(uint32 => bytes32) internal _remoteTokenMessengers;

    constructor(TestUSDC token_, uint32 localDomain, address attester) {
        token = token_;
        owner = msg.sender;
        transmitter = new LocalMessageTransmitter(localDomain, attester);
    }

    /// @notice Registers `tokenMessenger` as `domain`'s (Circle's `addRemoteTokenMessenger`).
    function addRemoteTokenMessenger(uint32 domain, bytes32 tokenMessenger) external {
        if (msg.sender != owner) revert OnlyOwner();
        _remoteTokenMessengers[domain] = tokenMessenger;
    }

    /// @notice The token messenger burns from `domain` must come from: the registered one, else the
    /// devnet's (every devnet EVM chain has its messenger at this one address; Solana's is Circle's
    /// program id, where the devnet runs its stand-in).
    function remoteTokenMessenger(uint32 domain) public view returns (bytes32) {
        bytes32 registered = _remoteTokenMessengers[domain];
        if (registered != bytes32(0)) return registered;
        return domain == SOLANA_DOMAIN ? SOLANA_TOKEN_MESSENGER : bytes32(uint256(uint160(address(this))));
    }

    /// @inheritdoc ITokenMessengerV2
    function depositForBurn(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 minFinalityThreshold
    ) external {
        _burn(
            amount,
            destinationDomain,
            mintRecipient,
            burnToken,
            destinationCaller,
            maxFee,
            minFinalityThreshold,
            ""
        );
    }

    /// @inheritdoc ITokenMessengerV2
    function depositForBurnWithHook(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 minFinalityThreshold,
        bytes calldata hookData
    ) external {
        if (hookData.length == 0) revert InvalidBurn();
        _burn(
            amount,
            destinationDomain,
            mintRecipient,
            burnToken,
            destinationCaller,
            maxFee,
            minFinalityThreshold,
            hookData
        );
    }

    function _burn(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 minFinalityThreshold,
        bytes memory hookData
    ) internal {
        if (burnToken != address(token)) revert UnsupportedToken(burnToken);
        if (amount == 0 || mintRecipient == bytes32(0) || maxFee >= amount) revert InvalidBurn();
        SafeTransferLib.safeTransferFrom(burnToken, msg.sender, address(this), amount);
        token.burn(amount);
        bytes memory body = abi.encodePacked(
            uint32(1),
            bytes32(uint256(uint160(burnToken))),
            mintRecipient,
            amount,
            bytes32(uint256(uint160(msg.sender))),
            maxFee,
            uint256(0), // feeExecuted: the attester's
            uint256(0), // expirationBlock: the attester's
            hookData
        );
        // The message goes to the destination's token messenger, as Circle's does (Solana's is Circle's
        // program, whose transmitter hands a message only to the recipient it names).
        bytes32 remoteMessenger = remoteTokenMessenger(destinationDomain);
        transmitter.sendMessage(
            destinationDomain, remoteMessenger, destinationCaller, minFinalityThreshold, body
        );
        emit DepositForBurn(
            burnToken,
            amount,
            msg.sender,
            mintRecipient,
            destinationDomain,
            remoteMessenger,
            destinationCaller,
            maxFee,
            minFinalityThreshold,
            hookData
        );
    }

    /// @notice Mints a delivered, finalized burn; called by the transmitter.
    function handleReceiveFinalizedMessage(uint32 sourceDomain, bytes32 sender, uint32, bytes calldata body)
        external
        returns (bool)
    {
        return _mint(sourceDomain, sender, body);
    }

    /// @notice Mints a delivered burn attested before finality (Circle's Fast Transfer); called by the
    /// transmitter.
    function handleReceiveUnfinalizedMessage(
        uint32 sourceDomain,
        bytes32 sender,
        uint32 finality,
        bytes calldata body
    ) external returns (bool) {
        if (finality < 500) revert UnsupportedFinality(finality);
        return _mint(sourceDomain, sender, body);
    }

    function _mint(uint32 sourceDomain, bytes32 sender, bytes calldata body) internal returns (bool) {
        if (msg.sender != address(transmitter)) revert OnlyTransmitter();
        if (sender != remoteTokenMessenger(sourceDomain)) {
            revert NotARemoteTokenMessenger(sourceDomain, sender);
        }
        if (body.length < 228 || uint32(bytes4(body[0:4])) != 1) revert MalformedBurn();
        address to = address(uint160(uint256(bytes32(body[36:68]))));
        uint256 amount = uint256(bytes32(body[68:100]));
        uint256 maxFee = uint256(bytes32(body[132:164]));
        uint256 fee = uint256(bytes32(body[164:196]));
        uint256 expiration = uint256(bytes32(body[196:228]));
        if (fee > maxFee || fee >= amount) revert FeeExceeded(fee);
        if (expiration != 0 && expiration <= block.number) revert Expired(expiration);
        token.mint(to, amount - fee);
        emit MintAndWithdraw(to, amount - fee, address(token), fee);
        return true;
    }
}
