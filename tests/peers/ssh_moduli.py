"""OpenSSH moduli files for group exchange tests: the system's /etc/ssh/moduli cut to some sizes,
or one 1024-bit group (RFC 2409's Oakley group 2, the prime of diffie-hellman-group1-sha1), which
no shipped moduli file holds any more and which takes too long to generate in a test."""

from __future__ import annotations

from pathlib import Path

import pytest

SYSTEM_MODULI = Path("/etc/ssh/moduli")
OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


def moduli_1024(folder: Path) -> Path:
    """A moduli file whose only group is 1024 bits. The fields are OpenSSH's: time, type 2 (safe
    prime), tests 6 (sieve and Miller-Rabin), 100 tries, size less one, generator, prime."""
    path = folder / "moduli_1024"
    path.write_text(f"20240101000000 2 6 100 1023 2 {OAKLEY_GROUP_2:X}\n")
    return path


def system_moduli(folder: Path, bits: int) -> Path:
    """The system's moduli of this size only (the file gives each size less one)."""
    if not SYSTEM_MODULI.exists():
        pytest.skip(
            f"{SYSTEM_MODULI} comes with openssh-server, not installed (.ci/run installs it)"
        )
    lines = [
        line
        for line in SYSTEM_MODULI.read_text().splitlines()
        if not line.startswith("#") and line.split()[4] == str(bits - 1)
    ]
    if not lines:
        raise RuntimeError(f"{SYSTEM_MODULI} has no {bits}-bit group")
    path = folder / f"moduli_{bits}"
    path.write_text("\n".join(lines) + "\n")
    return path
