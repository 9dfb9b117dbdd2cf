"""The liboqs backend in its three states, with real files where liboqs is looked for: absent,
present but unloadable, present and loadable. Whatever the state, ML-DSA and ML-KEM keep working
through `cryptography`, nothing is downloaded or built, and the state is one clear line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pq_crypto import backend_oqs
from pq_crypto.import_guard import DownloadRefused, no_launch_or_network
from pq_crypto.liboqs_loader import liboqs_status, locate
from tests.cli import assure
from tests.pq_crypto.libraries import (
    EMPTY_LIBOQS_SOURCE,
    OLD_LIBOQS_SOURCE,
    UNRELATED_LIBRARY_SOURCE,
    ChildWorld,
    compile_library,
    liboqs_python_installed,
    random_bytes_file,
)

ONLY_LIBOQS = ("SLH-DSA-SHA2-128f", "FN-DSA-512", "ML-KEM-512")


def _cryptography_still_serves(result: dict) -> None:
    assert result["mldsa65"] == ["cryptography", True]
    assert result["mlkem768"] == ["cryptography", True]
    assert result["statuses"]["cryptography"]["available"]


def test_absent_liboqs_leaves_cryptography_serving_and_names_what_is_missing(
    tmp_path: Path,
) -> None:
    world = ChildWorld.make(tmp_path)
    found = locate(world.env)
    if found is not None:
        pytest.skip(f"this machine has a liboqs ({found.path}, {found.source}): not absent")
    result, _ = world.probe()
    _cryptography_still_serves(result)
    liboqs = result["statuses"]["liboqs"]
    assert not liboqs["available"]
    assert "the liboqs C library is not installed" in liboqs["detail"]
    for name in ONLY_LIBOQS:
        assert "it needs the liboqs backend, which is unavailable" in result["refusals"][name]
    assert not result["oqs_imported"]
    assert result["oqs_executions"] == 0


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("missing/liboqs.so", "does not exist"), ("off", "switched off (ASSURE_LIBOQS)")],
)
def test_the_configured_library_is_the_one_used(
    tmp_path: Path, setting: str, expected: str
) -> None:
    value = setting if setting == "off" else str(tmp_path / setting)
    result, _ = ChildWorld.make(tmp_path, ASSURE_LIBOQS=value).probe()
    _cryptography_still_serves(result)
    assert expected in result["statuses"]["liboqs"]["detail"]
    assert result["oqs_executions"] == 0


def test_an_install_prefix_in_the_setting_means_the_library_inside_it(tmp_path: Path) -> None:
    library = random_bytes_file(tmp_path / "prefix" / "lib" / "liboqs.so")
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(tmp_path / "prefix"))
    result, _ = world.probe()
    assert result["statuses"]["liboqs"]["detail"].startswith(
        f"liboqs at {library} (ASSURE_LIBOQS) cannot be loaded: "
    )


def test_random_bytes_where_liboqs_should_be_do_not_stop_attest_sign(tmp_path: Path) -> None:
    """Before: liboqs-python counted down, ran `git clone` and raised SystemExit: exit 1."""
    install = tmp_path / "oqs-install"
    library = random_bytes_file(install / "lib" / "liboqs.so")
    world = ChildWorld.make(tmp_path, OQS_INSTALL_PATH=str(install))
    report = tmp_path / "report.json"
    report.write_text('{"score": 91}\n')

    signed = assure("attest", "sign", str(report), env=world.env)

    assert signed.returncode == 0, signed.stdout + signed.stderr
    # One line, nothing else: no countdown or log lines from liboqs-python.
    assert signed.stdout.startswith(f"signed {report}")
    assert signed.stdout.count("\n") == 1
    assert signed.stderr == ""
    assert world.programs_run == ""
    checked = assure("attest", "verify", str(report), f"{report}.sig.json", env=world.env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result, _ = world.probe()
    _cryptography_still_serves(result)
    detail = result["statuses"]["liboqs"]["detail"]
    assert detail.startswith(f"liboqs at {library} (OQS_INSTALL_PATH) cannot be loaded: ")
    assert "invalid ELF header" in detail
    assert result["oqs_executions"] == 0
    assert world.programs_run == ""


def test_a_shared_library_that_is_not_liboqs_is_named_as_such(tmp_path: Path) -> None:
    library = compile_library(UNRELATED_LIBRARY_SOURCE, tmp_path / "lib" / "libanswer.so")
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(library))
    result, _ = world.probe()
    _cryptography_still_serves(result)
    assert result["statuses"]["liboqs"]["detail"] == (
        f"liboqs at {library} (ASSURE_LIBOQS) cannot be loaded: it lacks OQS_init, "
        "OQS_version, OQS_KEM_new, OQS_SIG_new, so it is not liboqs"
    )
    assert result["oqs_executions"] == 0
    for name in ONLY_LIBOQS:
        assert "cannot be loaded" in result["refusals"][name]
    assert world.programs_run == ""


@pytest.mark.skipif(
    not liboqs_python_installed(), reason="liboqs-python is not installed (pip install '.[oqs]')"
)
@pytest.mark.parametrize(
    ("setting", "place"),
    [("OQS_INSTALL_PATH", "oqs/lib/liboqs.so"), ("ASSURE_LIBOQS", "elsewhere/liboqs-0.9.so")],
)
def test_a_liboqs_too_old_for_liboqs_python_is_imported_once_and_quietly(
    tmp_path: Path, setting: str, place: str
) -> None:
    """Before: each use re-imported `oqs` (three imports here), printing each time."""
    library = compile_library(OLD_LIBOQS_SOURCE, tmp_path / place)
    value = str(tmp_path / "oqs") if setting == "OQS_INSTALL_PATH" else str(library)
    world = ChildWorld.make(tmp_path, **{setting: value})
    result, done = world.probe()
    _cryptography_still_serves(result)
    assert result["oqs_executions"] == 1
    assert not result["oqs_imported"]
    detail = result["statuses"]["liboqs"]["detail"]
    # liboqs-python was pointed at the very file checked: its error names that file's symbols.
    assert detail.startswith(f"liboqs-python cannot use liboqs at {library}: AttributeError")
    assert "undefined symbol: OQS_KEM_alg_identifier" in detail
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""
    assert world.programs_run == ""


@pytest.mark.skipif(
    not liboqs_python_installed(), reason="liboqs-python is not installed (pip install '.[oqs]')"
)
def test_a_liboqs_with_no_algorithms_loads_once_quietly_and_says_what_it_lacks(
    tmp_path: Path,
) -> None:
    library = compile_library(EMPTY_LIBOQS_SOURCE, tmp_path / "opt" / "libempty-oqs.so")
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(library))
    result, done = world.probe()
    _cryptography_still_serves(result)
    liboqs = result["statuses"]["liboqs"]
    assert liboqs["available"]
    assert liboqs["detail"].startswith(f"liboqs 0.15.0 at {library} (ASSURE_LIBOQS); ")
    assert "liboqs-python warned: liboqs version (major, minor) 0.15.0 differs" in liboqs["detail"]
    assert result["oqs_executions"] == 1
    assert result["oqs_imported"]
    for name in ONLY_LIBOQS:
        assert "this liboqs does not enable" in result["refusals"][name]
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""
    assert world.programs_run == ""


def test_inside_the_import_guard_no_program_starts_and_no_connection_opens() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = listener.getsockname()
        with no_launch_or_network():
            with pytest.raises(DownloadRefused, match=r"subprocess\.Popen"):
                subprocess.run(["git", "--version"], check=False)
            with pytest.raises(DownloadRefused, match="socket"):
                socket.create_connection(address, timeout=2)
        # Outside the block nothing is refused.
        socket.create_connection(address, timeout=2).close()
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0


OQS_MISSING = backend_oqs.unavailable_reason()


@pytest.mark.skipif(OQS_MISSING is not None, reason=f"no loadable liboqs here: {OQS_MISSING}")
def test_a_loadable_liboqs_is_imported_once_and_serves_catalogue_names(tmp_path: Path) -> None:
    world = ChildWorld.make(tmp_path, ASSURE_LIBOQS=str(liboqs_status().file))
    result, done = world.probe()
    assert result["statuses"]["liboqs"]["available"], json.dumps(result)
    assert result["oqs_executions"] == 1
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""
    for name in ONLY_LIBOQS:
        # Served, or refused naming the mechanism this liboqs build lacks.
        refusal = result["refusals"][name]
        assert refusal is None or "this liboqs does not enable" in refusal
    assert world.programs_run == ""
