"""Debian's OpenSSH server on a high loopback port, with its own host keys and config."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.peers.processes import free_port, listening

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH = shutil.which("ssh") or "/usr/bin/ssh"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
# A host key: its ssh-keygen type and size (the size is ignored for ed25519).
KeySpec = tuple[str, int]
ED25519: KeySpec = ("ed25519", 256)


def sshd_unavailable() -> str | None:
    if not Path(SSHD).exists():
        return "openssh-server is not installed (.ci/run installs it with apt-get)"
    if not Path(SSH_KEYGEN).exists():
        return "ssh-keygen (openssh-client) is not installed"
    if os.geteuid() != 0 and not Path("/run/sshd").is_dir():
        return (
            "sshd needs /run/sshd (its privilege-separation directory), which only root can create"
        )
    return None


def openssh_version() -> tuple[int, int] | None:
    """The installed sshd's version, from `sshd -V` (it prints e.g. OpenSSH_9.2p1)."""
    if not Path(SSHD).exists():
        return None
    answer = subprocess.run([SSHD, "-V"], capture_output=True, text=True, check=False)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", answer.stderr + answer.stdout)
    return (int(found[1]), int(found[2])) if found else None


def host_key(folder: Path, spec: KeySpec) -> Path:
    """A host key of this type and size in `folder`, made once with ssh-keygen."""
    key_type, bits = spec
    path = folder / f"ssh_host_{key_type}_{bits}_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [SSH_KEYGEN, "-q", "-t", key_type, "-b", str(bits), "-N", "", "-f", str(path)],
            check=True,
        )
    return path


def fingerprint(key: Path) -> str:
    """The key's SHA256 fingerprint as ssh-keygen prints it."""
    line = subprocess.run(
        [SSH_KEYGEN, "-l", "-E", "sha256", "-f", f"{key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return line.split()[1]


@contextlib.contextmanager
def running_sshd(
    folder: Path,
    kex: str | None = None,
    host_keys: Sequence[KeySpec] = (ED25519,),
    host_key_algorithms: str | None = None,
    ciphers: str | None = None,
    macs: str | None = None,
    extra: Sequence[str] = (),
) -> Iterator[int]:
    """sshd on 127.0.0.1 with these host keys and, where given, these algorithm lists (sshd's
    own syntax: a list, or +/-/^ a list) and `extra` configuration lines (HostCertificate,
    ModuliFile); yields its port."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [host_key(folder, spec) for spec in host_keys]
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    lines = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        *(f"HostKey {key}" for key in keys),
        f"PidFile {folder / f'sshd_{port}.pid'}",
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    ]
    for keyword, value in (
        ("KexAlgorithms", kex),
        ("HostKeyAlgorithms", host_key_algorithms),
        ("Ciphers", ciphers),
        ("MACs", macs),
    ):
        if value:
            lines.append(f"{keyword} {value}")
    lines += extra
    config = folder / f"sshd_config_{port}"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    with listening(process, port, "sshd") as ready:
        yield ready


def client_kex_order() -> list[str]:
    """The installed OpenSSH client's default KexAlgorithms, most preferred first (ssh -G with
    no configuration file prints the defaults)."""
    output = subprocess.run(
        [SSH, "-F", "/dev/null", "-G", "127.0.0.1"],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    for line in output.splitlines():
        if line.startswith("kexalgorithms "):
            return line.split(" ", 1)[1].split(",")
    raise RuntimeError("ssh -G printed no kexalgorithms")


def client_negotiates(port: int) -> str:
    """The key exchange the installed OpenSSH client really negotiates with the server on this
    port (its debug output names it; authentication then fails, which is fine)."""
    answer = subprocess.run(
        [
            SSH,
            "-F",
            "/dev/null",
            "-v",
            "-p",
            str(port),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "nobody@127.0.0.1",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    found = re.search(r"kex: algorithm: (\S+)", answer.stderr)
    if found is None:
        raise RuntimeError(f"ssh negotiated no key exchange: {answer.stderr[-500:]}")
    return found[1]
