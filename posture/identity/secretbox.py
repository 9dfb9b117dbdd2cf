"""Encryption at rest for secrets the platform must read back (TOTP seeds), with a key kept in
the data folder, so a copy of the database (a dump, a replica, a backup) alone reveals none."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from posture.config import Settings, ensure_data_dir
from posture.errors import AssureError

KEY_FILE = "secret-box.key"
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


def _create_once(path: Path) -> None:
    """Write a new key beside the final name, then link it into place: concurrent first starts
    agree on one key, and no reader ever sees a half-written file."""
    staged = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def secret_box(settings: Settings) -> SecretBox:
    path = ensure_data_dir(settings) / KEY_FILE
    if not path.exists():
        _create_once(path)
    key = base64.b64decode(path.read_bytes())
    if len(key) != 32:
        raise SecretUnreadable(f"{path} does not hold a 256-bit key")
    return SecretBox(key)
