"""Encryption at rest for secrets the platform must read back (TOTP seeds), with a key kept in
the data folder, so a copy of the database (a dump, a replica, a backup) alone reveals none."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kernel.data_dir import SECRET_BOX_FILE, ensure_data_dir
from kernel.errors import AssureError
from kernel.files import create_once
from kernel.settings import Settings

NONCE_BYTES = 12


class SecretUnreadable(AssureError):
    """A stored secret does not open with this platform's key (wrong key, or tampered)."""


@dataclass(frozen=True)
class SecretBox:
    key: bytes

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt; `context` (e.g. "totp:user:7") is bound in, so a sealed secret moved to
        another user's row does not open there."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, token: str, context: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            return AESGCM(self.key).decrypt(nonce, sealed, context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretUnreadable(
                "a stored second-factor secret cannot be read with this data folder's key; "
                "reset the user's second factor with `assure admin reset-mfa`"
            ) from exc


def secret_box(settings: Settings) -> SecretBox:
    path = ensure_data_dir(settings) / SECRET_BOX_FILE
    create_once(path, lambda: base64.b64encode(AESGCM.generate_key(bit_length=256)))
    key = base64.b64decode(path.read_bytes())
    if len(key) != 32:
        raise SecretUnreadable(f"{path} does not hold a 256-bit key")
    return SecretBox(key)
