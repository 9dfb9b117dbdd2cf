"""The secrets in a backup (signing keys, the second-factor secret box, the config file) sealed
with a passphrase: argon2id stretches it into a 256-bit key, AES-256-GCM encrypts the files
with the manifest as associated data. A wrong passphrase and an altered archive look the same
from here, and both are refused before a restore writes anything."""

from __future__ import annotations

import base64
import json
import secrets

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from posture.backup.manifest import BackupError, KdfParameters

# OWASP's argon2id guidance, and what the platform hashes passwords with (64 MiB, 3 passes).
DEFAULT_KDF = {"time_cost": 3, "memory_cost_kib": 64 * 1024, "parallelism": 4}
MIN_PASSPHRASE = 12
NONCE_BYTES = 12


def new_kdf() -> KdfParameters:
    return KdfParameters(**DEFAULT_KDF, salt=secrets.token_hex(16))


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(
            f"the backup passphrase must be at least {MIN_PASSPHRASE} characters; a backup "
            "holds the platform's signing keys"
        )


def _key(passphrase: str, kdf: KdfParameters) -> bytes:
    return hash_secret_raw(
        passphrase.encode(),
        bytes.fromhex(kdf.salt),
        time_cost=kdf.time_cost,
        memory_cost=kdf.memory_cost_kib,
        parallelism=kdf.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def seal(
    files: dict[str, bytes], passphrase: str, kdf: KdfParameters, nonce: str, context: bytes
) -> bytes:
    document = {name: base64.b64encode(data).decode("ascii") for name, data in files.items()}
    plain = json.dumps(document, sort_keys=True).encode()
    return AESGCM(_key(passphrase, kdf)).encrypt(bytes.fromhex(nonce), plain, context)


def unseal(
    sealed: bytes, passphrase: str, kdf: KdfParameters, nonce: str, context: bytes
) -> dict[str, bytes]:
    try:
        plain = AESGCM(_key(passphrase, kdf)).decrypt(bytes.fromhex(nonce), sealed, context)
    except InvalidTag:
        raise BackupError(
            "the passphrase does not open this backup's keys (or the archive was altered after "
            "it was written); nothing was restored"
        ) from None
    document = json.loads(plain)
    return {name: base64.b64decode(text, validate=True) for name, text in document.items()}
