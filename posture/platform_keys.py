"""The platform's hybrid signing keys (Ed25519 + ML-DSA-65), kept in the data directory: what
signs check-run exports, passports and the passport revocation list."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kernel.data_dir import keys_folder
from kernel.settings import Settings
from pq_crypto.attestation import AttestationKeys, load_or_create_keys


def platform_keys(settings: Settings) -> AttestationKeys:
    """Created on first use; read once per process for each keys folder."""
    return _keys(keys_folder(settings))


@cache
def _keys(folder: Path) -> AttestationKeys:
    return load_or_create_keys(folder)
