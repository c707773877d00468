"""A KMS-compatible server for the tests: moto's, with `MessageType=DIGEST` honoured.

moto 5.2.5 (pinned in scripts/kms-requirements.txt) signs the 32-byte digest an Ethereum signer
sends as if it were the message, hashing it again, so the signature never recovers to the key.
AWS signs a DIGEST as given. The fix below does that (upstream: getmoto/moto#10202, open); it
refuses to run on any other moto, so an upgrade cannot silently keep or drop it.
"""

import base64
import json
import logging
import sys

import moto
from cryptography.hazmat.primitives.asymmetric import ec, utils as asym_utils
from moto.kms import models, responses
from moto.kms import utils as kms_utils
from moto.server import ThreadedMotoServer

if moto.__version__ != "5.2.5":
    sys.exit(f"kms-server.py patches moto 5.2.5, not {moto.__version__}")

_DIGEST_SIZE = {"ECDSA_SHA_256": 32, "ECDSA_SHA_384": 48, "ECDSA_SHA_512": 64}


def _ecdsa_sign(self, message, signing_algorithm, message_type="RAW"):
    kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    algorithm = self._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
    if message_type == "DIGEST":
        if len(message) != _DIGEST_SIZE[signing_algorithm]:
            raise models.ValidationException(
                f"Digest is invalid length for algorithm {signing_algorithm}."
            )
        return self.private_key.sign(message, ec.ECDSA(asym_utils.Prehashed(algorithm)))
    return self.private_key.sign(message, ec.ECDSA(algorithm))


def _backend_sign(self, key_id, message, signing_algorithm, message_type="RAW"):
    key = self.describe_key(key_id)
    self._KmsBackend__ensure_valid_sign_and_verify_key(key)
    self._KmsBackend__ensure_valid_signing_algorithm(key, signing_algorithm)
    if message_type == "DIGEST" and not isinstance(key.private_key, kms_utils.ECDSAPrivateKey):
        raise models.ValidationException("this server signs digests with ECC keys only")
    if isinstance(key.private_key, kms_utils.ECDSAPrivateKey):
        signature = key.private_key.sign(message, signing_algorithm, message_type)
    else:
        signature = key.private_key.sign(message, signing_algorithm)
    return key.arn, signature, signing_algorithm


def _response_sign(self):
    """moto's `KmsResponse.sign`, passing `MessageType` on."""
    key_id = self._get_param("KeyId")
    message = self._get_param("Message")
    message_type = self._get_param("MessageType") or "RAW"
    signing_algorithm = self._get_param("SigningAlgorithm")
    self._validate_key_id(key_id)
    if isinstance(message, str):
        message = message.encode("utf-8")
    if message == b"":
        raise models.ValidationException("Message must have length greater than or equal to 1")
    if message_type not in ("RAW", "DIGEST"):
        raise models.ValidationException(f"MessageType {message_type} is not RAW or DIGEST")
    key_arn, signature, signing_algorithm = self.kms_backend.sign(
        key_id, message, signing_algorithm, message_type
    )
    return json.dumps(
        {
            "KeyId": key_arn,
            "Signature": base64.b64encode(signature).decode("utf-8"),
            "SigningAlgorithm": signing_algorithm,
        }
    )


kms_utils.ECDSAPrivateKey.sign = _ecdsa_sign
models.KmsBackend.sign = _backend_sign
responses.KmsResponse.sign = _response_sign

if __name__ == "__main__":
    # Usage: kms-server.py HOST PORT. Prints one line once it answers; stops when stdin closes.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    host, port = sys.argv[1], int(sys.argv[2])
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(f"kms listening on {host}:{port}", flush=True)
    try:
        sys.stdin.read()  # runs until its parent closes stdin (or kills it)
    finally:
        server.stop()
