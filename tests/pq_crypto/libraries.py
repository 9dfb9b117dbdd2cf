"""Real files where liboqs is looked for, and a fresh Python process to find them in.

Each case runs in its own child process because the liboqs probe is kept for the life of a
process. The child's PATH starts with a tripwire folder whose `git` and `cmake` record that they
were run, so an attempt by liboqs-python to download and build liboqs shows up as a fact.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What a liboqs older than liboqs-python 0.16 expects looks like to it: the four symbols every
# liboqs exports, and none of the enumeration functions liboqs-python calls on import.
OLD_LIBOQS_SOURCE = """
int OQS_init(void) { return 0; }
const char *OQS_version(void) { return "0.9.0"; }
void *OQS_KEM_new(const char *name) { (void)name; return 0; }
void *OQS_SIG_new(const char *name) { (void)name; return 0; }
"""
# liboqs's C API as liboqs-python 0.16 calls it, built with no algorithm (as OQS_MINIMAL_BUILD can
# be narrowed): it loads and imports, and offers nothing. Its version differs from liboqs-python's.
_LIBOQS_API = [
    "OQS_KEM_alg_count",
    "OQS_KEM_alg_identifier",
    "OQS_KEM_alg_is_enabled",
    "OQS_KEM_decaps",
    "OQS_KEM_encaps",
    "OQS_KEM_free",
    "OQS_KEM_keypair",
    "OQS_KEM_keypair_derand",
    "OQS_KEM_new",
    "OQS_MEM_cleanse",
    "OQS_MEM_secure_free",
    "OQS_SIG_STFL_SECRET_KEY_SET_store_cb",
    "OQS_SIG_STFL_SECRET_KEY_deserialize",
    "OQS_SIG_STFL_SECRET_KEY_free",
    "OQS_SIG_STFL_SECRET_KEY_new",
    "OQS_SIG_STFL_SECRET_KEY_serialize",
    "OQS_SIG_STFL_alg_count",
    "OQS_SIG_STFL_alg_identifier",
    "OQS_SIG_STFL_alg_is_enabled",
    "OQS_SIG_STFL_free",
    "OQS_SIG_STFL_keypair",
    "OQS_SIG_STFL_new",
    "OQS_SIG_STFL_sign",
    "OQS_SIG_STFL_sigs_remaining",
    "OQS_SIG_STFL_sigs_total",
    "OQS_SIG_STFL_verify",
    "OQS_SIG_alg_count",
    "OQS_SIG_alg_identifier",
    "OQS_SIG_alg_is_enabled",
    "OQS_SIG_free",
    "OQS_SIG_keypair",
    "OQS_SIG_new",
    "OQS_SIG_sign",
    "OQS_SIG_sign_with_ctx_str",
    "OQS_SIG_supports_ctx_str",
    "OQS_SIG_verify",
    "OQS_SIG_verify_with_ctx_str",
    "OQS_init",
]
EMPTY_LIBOQS_SOURCE = 'const char *OQS_version(void) { return "0.15.0"; }\n' + "".join(
    f"long {name}(void) {{ return 0; }}\n" for name in _LIBOQS_API
)
# A valid shared library that is not liboqs at all.
UNRELATED_LIBRARY_SOURCE = "int answer(void) { return 42; }\n"

TRIPWIRE = """#!/bin/sh
echo "$0 $*" >> "{log}"
exit 1
"""

# Run in the child: use the registry the way the platform does, several times, and report.
PROBE = """
import json, sys
executions = 0

def count(event, args):
    global executions
    code = args[0] if args else None
    if event == "exec" and getattr(code, "co_filename", "").replace("\\\\", "/").endswith(
        "oqs/oqs.py"
    ):
        executions += 1

sys.addaudithook(count)
from pq_crypto import backend_oqs, registry
from pq_crypto.interface import UnsupportedAlgorithm

for _ in range(3):
    registry.available_kems(), registry.available_signatures(), backend_oqs.unavailable_reason()
refusals = {}
for kind, name in [("signature", "SLH-DSA-SHA2-128f"), ("signature", "FN-DSA-512"),
                   ("kem", "ML-KEM-512")]:
    try:
        getattr(registry, kind)(name)
        refusals[name] = None
    except UnsupportedAlgorithm as exc:
        refusals[name] = str(exc)
signer = registry.signature("ML-DSA-65")
pair = signer.generate_keypair()
signed = signer.verify(pair.public_key, b"report", signer.sign(pair.secret_key, b"report"))
kem = registry.kem("ML-KEM-768")
keys = kem.generate_keypair()
sealed = kem.encapsulate(keys.public_key)
shared = kem.decapsulate(keys.secret_key, sealed.ciphertext) == sealed.shared_secret
print("RESULT " + json.dumps({
    "statuses": {s.name: {"available": s.available, "detail": s.detail}
                 for s in registry.backend_statuses()},
    "oqs_executions": executions,
    "oqs_imported": "oqs" in sys.modules,
    "refusals": refusals,
    "mldsa65": [signer.backend, signed],
    "mlkem768": [kem.backend, shared],
}))
"""


def liboqs_python_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("oqs") is not None


def compile_library(source: str, target: Path) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("needs a C compiler (gcc) to build a real shared library")
    target.parent.mkdir(parents=True, exist_ok=True)
    source_file = target.with_name(target.name + ".c")
    source_file.write_text(source)
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(target), str(source_file)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target


def random_bytes_file(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"not a shared library\n" + os.urandom(8192))
    return target


@dataclass
class ChildWorld:
    """A clean environment: no ASSURE_* or OQS_* settings, an empty home, git/cmake tripwires."""

    root: Path
    env: dict[str, str]

    @classmethod
    def make(cls, root: Path, **settings: str) -> ChildWorld:
        tripwires = root / "tripwire-bin"
        tripwires.mkdir(parents=True)
        for program in ("git", "cmake"):
            script = tripwires / program
            script.write_text(TRIPWIRE.format(log=root / "tripwire.log"))
            script.chmod(0o755)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ASSURE_", "OQS_", "PYOQS_"))
        }
        (root / "home").mkdir()
        env.update(
            HOME=str(root / "home"),
            PATH=f"{tripwires}{os.pathsep}{env.get('PATH', '')}",
            ASSURE_DATA_DIR=str(root / "data"),
            **settings,
        )
        return cls(root, env)

    @property
    def programs_run(self) -> str:
        log = self.root / "tripwire.log"
        return log.read_text() if log.exists() else ""

    def probe(self) -> tuple[dict, subprocess.CompletedProcess[str]]:
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        result = done.stdout.strip().splitlines()[-1]
        assert result.startswith("RESULT "), done.stdout
        return json.loads(result.removeprefix("RESULT ")), done
