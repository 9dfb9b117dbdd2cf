"""A failed liboqs probe leaves the process as it found it: the environment, stdout and stderr,
sys.modules (no half-imported `oqs`), liboqs-python's logger and the libraries mapped; it is
probed once, and ML-DSA-65 still signs through `cryptography`. Each case runs in a fresh process
(tests/pq_crypto/libraries.py), since the probe's outcome is kept for the life of a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pq_crypto.liboqs_loader import locate
from tests.pq_crypto.libraries import (
    OLD_LIBOQS_SOURCE,
    REPO,
    UNRELATED_LIBRARY_SOURCE,
    ChildWorld,
    compile_library,
    liboqs_python_installed,
    random_bytes_file,
)

# Run in the child: what the process looks like before and after the probe, twice probed.
CHILD = """
import json, logging, os, sys
from pq_crypto import registry
from pq_crypto.liboqs_loader import liboqs_status

environ, stdout, stderr = dict(os.environ), sys.stdout, sys.stderr
modules = set(sys.modules)

def mapped():
    with open("/proc/self/maps") as maps:
        return {line.split()[-1] for line in maps if "/" in line}

libraries = mapped()
first = liboqs_status()
second = liboqs_status()
oqs_logger = logging.getLogger("oqs.oqs")
signer = registry.signature("ML-DSA-65", backend="cryptography")
pair = signer.generate_keypair()
signed = signer.verify(pair.public_key, b"report", signer.sign(pair.secret_key, b"report"))
print("RESULT " + json.dumps({
    "available": first.available,
    "reason": first.reason,
    "cached": first is second,
    "environ_changed": sorted(set(os.environ.items()) ^ set(environ.items())),
    "stdout_kept": sys.stdout is stdout and sys.stderr is stderr,
    "oqs_modules": sorted(n for n in set(sys.modules) - modules if n.split(".")[0] == "oqs"),
    "oqs_handlers": [repr(h) for h in oqs_logger.handlers],
    "oqs_level": oqs_logger.level,
    "newly_mapped": sorted(mapped() - libraries),
    "signed": signed,
}))
"""


def _probe(world: ChildWorld) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=world.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # The child prints one line: nothing of liboqs-python's reached stdout.
    assert done.stdout.count("\n") == 1, done.stdout
    return json.loads(done.stdout.removeprefix("RESULT "))


def _left_as_found(result: dict, library: Path | None = None) -> None:  # type: ignore[type-arg]
    assert not result["available"]
    assert result["cached"]
    assert result["environ_changed"] == []
    assert result["stdout_kept"]
    assert result["oqs_modules"] == []
    assert result["oqs_handlers"] == []
    assert result["oqs_level"] == 0  # logging.NOTSET: as a logger nobody configured
    assert result["signed"]
    if library is not None:
        assert not [m for m in result["newly_mapped"] if Path(m).name == library.name]


def test_an_absent_liboqs_leaves_the_process_as_it_was(tmp_path: Path) -> None:
    world = ChildWorld.make(tmp_path)
    if locate(world.env) is not None:
        pytest.skip("this machine has a liboqs: not absent")
    result = _probe(world)
    _left_as_found(result)
    assert "not installed" in result["reason"]
    assert world.programs_run == ""


def test_garbage_named_liboqs_so_leaves_the_process_as_it_was(tmp_path: Path) -> None:
    library = random_bytes_file(tmp_path / "liboqs.so")
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(library))
    result = _probe(world)
    _left_as_found(result, library)
    assert result["reason"].startswith(f"liboqs at {library} (ASSURE_LIBOQS) cannot be loaded")
    assert world.programs_run == ""


def test_a_shared_library_that_is_not_liboqs_is_unloaded_again(tmp_path: Path) -> None:
    """Before: the library stayed mapped in the process after it was found not to be liboqs."""
    library = compile_library(UNRELATED_LIBRARY_SOURCE, tmp_path / "lib" / "libanswer.so")
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(library))
    result = _probe(world)
    _left_as_found(result, library)
    assert "so it is not liboqs" in result["reason"]


@pytest.mark.skipif(
    not liboqs_python_installed(), reason="liboqs-python is not installed (pip install '.[oqs]')"
)
def test_a_failed_import_of_liboqs_python_leaves_no_logger_on_a_dead_buffer(
    tmp_path: Path,
) -> None:
    """Before: liboqs-python's logger kept its handler on the capture buffer, at level INFO,
    after its import failed: anything it logged later went nowhere."""
    library = compile_library(OLD_LIBOQS_SOURCE, tmp_path / "old" / "liboqs-0.9.so")
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(library))
    result = _probe(world)
    # liboqs-python mapped it too, and its handle cannot be closed: only ours is.
    _left_as_found(result)
    assert "liboqs-python cannot use" in result["reason"]
    assert world.programs_run == ""
