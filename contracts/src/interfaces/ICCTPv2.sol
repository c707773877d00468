// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The parts of Circle's CCTP v2 TokenMessenger the adapter uses.
interface ITokenMessengerV2 {
    /// @notice Burns `amount` of `burnToken` here so that it is minted to `mintRecipient` on
    /// `destinationDomain`, less at most `maxFee`.
    function depositForBurn(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 minFinalityThreshold
    ) external;

    /// @notice As `depositForBurn`, with `hookData` carried in the message for the destination side.
    function depositForBurnWithHook(
        uint256 amount,
        uint32 destinationDomain,
        bytes32 mintRecipient,
        address burnToken,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 minFinalityThreshold,
        bytes calldata hookData
    ) external;
}

/// @notice The parts of Circle's CCTP v2 MessageTransmitter a relayer uses on the destination chain.
interface IMessageTransmitterV2 {
    /// @notice Delivers an attested message (mints the bridged tokens).
    function receiveMessage(bytes calldata message, bytes calldata attestation)
        external
        returns (bool success);
}
