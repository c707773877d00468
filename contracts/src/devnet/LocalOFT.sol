// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOFT, MessagingFee, MessagingReceipt, OFTReceipt, SendParam} from "../interfaces/IOFT.sol";
import {TestUSDT} from "./TestUSDT.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @title LocalOFT
/// @notice Devnet stand-in for a LayerZero OFT over `TestUSDT` (as USDT0 is over USDT): `send` burns here
/// and emits `PacketSent(packet)`; on the destination chain `lzReceive` accepts a packet once, when the
/// devnet attester key signed its hash, and mints to the recipient. Same `send` and `quoteSend` as an OFT;
/// no messaging fee. Packet layout: `abi.encode(version, srcEid, dstEid, nonce, to, amount)`.
contract LocalOFT is IOFT {
    /// @notice A packet left this endpoint. Relayers fetch an attestation for `keccak256(packet)`.
    event PacketSent(bytes packet);
    /// @notice A packet was delivered here.
    event PacketReceived(uint32 indexed srcEid, uint64 indexed nonce, address indexed to, uint256 amount);

    /// @notice The packet is addressed to another endpoint.
    error WrongEndpoint(uint32 dstEid);
    /// @notice The attestation is not the attester's signature of the packet hash.
    error BadAttestation(address signer);
    /// @notice The packet was delivered already.
    error AlreadyReceived(uint32 srcEid, uint64 nonce);
    /// @notice Less than `minAmountLD` would arrive.
    error SlippageExceeded(uint256 amount, uint256 minAmount);

    /// @notice Packet format version.
    uint32 public constant VERSION = 1;
    /// @notice The token burnt here and minted on the other side.
    TestUSDT public immutable underlying;
    /// @notice This chain's endpoint id.
    uint32 public immutable localEid;
    /// @notice Key whose signatures count as attestations.
    address public immutable attester;

    /// @notice Next outgoing nonce.
    uint64 public nextNonce;
    /// @notice Delivered packets by `keccak256(srcEid, nonce)`.
    mapping(bytes32 => bool) public received;

    constructor(TestUSDT token_, uint32 localEid_, address attester_) {
        underlying = token_;
        localEid = localEid_;
        attester = attester_;
    }

    /// @inheritdoc IOFT
    function token() external view returns (address) {
        return address(underlying);
    }

    /// @inheritdoc IOFT
    function quoteSend(SendParam calldata, bool) external pure returns (MessagingFee memory) {
        return MessagingFee(0, 0);
    }

    /// @inheritdoc IOFT
    function send(SendParam calldata p, MessagingFee calldata, address)
        external
        payable
        returns (MessagingReceipt memory receipt, OFTReceipt memory oft)
    {
        if (p.amountLD < p.minAmountLD) revert SlippageExceeded(p.amountLD, p.minAmountLD);
        SafeTransferLib.safeTransferFrom(address(underlying), msg.sender, address(this), p.amountLD);
        underlying.burn(p.amountLD);
        uint64 nonce = nextNonce++;
        bytes memory packet = abi.encode(VERSION, localEid, p.dstEid, nonce, p.to, p.amountLD);
        emit PacketSent(packet);
        receipt = MessagingReceipt(keccak256(packet), nonce, MessagingFee(0, 0));
        oft = OFTReceipt(p.amountLD, p.amountLD);
    }

    /// @notice Delivers an attested packet: mints its amount to its recipient, once.
    function lzReceive(bytes calldata packet, bytes calldata attestation) external {
        (, uint32 srcEid, uint32 dstEid, uint64 nonce, bytes32 to, uint256 amount) =
            abi.decode(packet, (uint32, uint32, uint32, uint64, bytes32, uint256));
        if (dstEid != localEid) revert WrongEndpoint(dstEid);
        address signer = ECDSA.recoverCalldata(keccak256(packet), attestation);
        if (signer != attester) revert BadAttestation(signer);
        bytes32 key = keccak256(abi.encode(srcEid, nonce));
        if (received[key]) revert AlreadyReceived(srcEid, nonce);
        received[key] = true;
        address recipient = address(uint160(uint256(to)));
        underlying.mint(recipient, amount);
        emit PacketReceived(srcEid, nonce, recipient, amount);
    }
}
