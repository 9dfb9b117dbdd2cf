"""OpenSSH host certificates made with ssh-keygen, for sshd's HostCertificate option: a CA key,
and a host key signed by it as a host (or, to test the check, a user) certificate."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.peers.sshd import SSH_KEYGEN, KeySpec, host_key


def ca_key(folder: Path, spec: KeySpec) -> Path:
    """A CA key of this type and size, made once in `folder`/ca."""
    return host_key(folder / "ca", spec)


def sign_host_key(
    key: Path,
    ca: Path,
    validity: str = "-1d:+30d",
    principals: str = "localhost,127.0.0.1",
    host: bool = True,
    signature_algorithm: str | None = None,
) -> Path:
    """Sign `key`.pub with the CA (ssh-keygen -s ca [-h] -I id [-n principals] -V validity
    [-t algorithm]) and return the certificate's path (`key`-cert.pub, which sshd's
    HostCertificate takes). No principals (""): a certificate valid for any host.
    `signature_algorithm` for an RSA CA: rsa-sha2-512 (ssh-keygen's default), rsa-sha2-256 or
    ssh-rsa (SHA-1)."""
    command = [SSH_KEYGEN, "-q", "-s", str(ca), "-I", "assure-test-host"]
    command += ["-n", principals] if principals else []
    command += ["-t", signature_algorithm] if signature_algorithm else []
    command += ["-V", validity, *(["-h"] if host else []), f"{key}.pub"]
    subprocess.run(command, check=True, capture_output=True)
    return key.with_name(f"{key.name}-cert.pub")
