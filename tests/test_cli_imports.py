"""The command line loads what the command in hand uses: `assure --help`, `assure check tls` and
serve's supervisor never import the database, the queue, pandas or Streamlit, and every command
is still listed with its own help."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assure_cli.main import COMMANDS
from tests.peers.certificates import make_certificate
from tests.peers.servers import pyopenssl_handler, serving

HEAVY = {"pandas", "numpy", "sqlalchemy", "alembic", "huey", "redis", "psycopg", "streamlit"}
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", re.MULTILINE)


def _imports(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules `python -X importtime` reports for one run of `args`, and its stdout."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**(env or os.environ), "COLUMNS": "200"},
        check=False,
    )
    modules = set(IMPORTED.findall(done.stderr))
    assert modules, done.stderr[-2000:]
    return modules, done.stdout


def _packages(modules: set[str]) -> set[str]:
    return {module.split(".")[0] for module in modules}


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("check", "--help"),
        ("check", "tls", "--help"),
        ("serve", "--help"),
        ("version",),
    ],
    ids=" ".join,
)
def test_listing_and_help_import_nothing_heavy(args: tuple[str, ...]) -> None:
    modules, output = _imports("-m", "assure_cli.main", *args)
    assert not _packages(modules) & HEAVY, sorted(_packages(modules) & HEAVY)
    assert output.strip(), "the command printed nothing"


def test_check_tls_imports_neither_the_database_nor_what_only_the_sandbox_child_runs(
    tmp_path: Path,
) -> None:
    cert, key = make_certificate(tmp_path, "ecdsa")
    env = {**os.environ, "ASSURE_DATA_DIR": str(tmp_path / "data")}
    env["ASSURE_EGRESS_ALLOW"] = "127.0.0.1/32"
    with serving(pyopenssl_handler(cert, key)) as peer:
        modules, output = _imports(
            "-m", "assure_cli.main", "check", "tls", f"127.0.0.1:{peer.port}", "--json", env=env
        )
    assert '"kind": "tls"' in output, output[-2000:]
    assert not _packages(modules) & HEAVY, sorted(_packages(modules) & HEAVY)
    # The probes, the TLS library and the other kinds' specs run or load in the child only.
    child_only = {m for m in modules if m.startswith(("checks.tls", "cryptography", "OpenSSL"))}
    assert not child_only, sorted(child_only)
    other_kinds = {f"checks.catalogue.{kind}" for kind in ("ssh", "jwks", "cbom", "cert")}
    assert not modules & other_kinds, sorted(modules & other_kinds)


def test_the_serve_supervisor_loads_no_database_queue_or_validation_library() -> None:
    modules, _ = _imports("-c", "import assure_cli.serve")
    # Its children (db upgrade, worker, settle-worker, the app) load what they need.
    assert not _packages(modules) & (HEAVY | {"pydantic", "posture.storage"}), sorted(
        _packages(modules) & (HEAVY | {"pydantic"})
    )
    assert not {m for m in modules if m.startswith(("posture.storage", "posture.jobs.queue"))}


def _first_paragraph(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n")[0].replace("\n", " ").strip()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_line_is_the_commands_own_help(name: str) -> None:
    entry = COMMANDS[name]
    command = entry.load(name)
    assert command.name == name
    assert _first_paragraph(command.help) == entry.help
    assert bool(command.hidden) == entry.hidden


def test_help_lists_every_command_with_its_line_and_hides_the_hidden_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "assure_cli.main", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=60,
        check=True,
    )
    panel = done.stdout.split("Commands", 1)[1]
    listed = re.findall(r"^│ (\S+)\s+(.+?)\s*│$", panel, re.MULTILINE)
    shown = {name: entry.help for name, entry in COMMANDS.items() if not entry.hidden}
    assert dict(listed) == shown
    assert [name for name, _ in listed] == list(shown)


def test_a_mistyped_command_is_refused_with_a_suggestion_and_loads_nothing() -> None:
    modules, _ = _imports("-m", "assure_cli.main", "chek", "tls")
    done = subprocess.run(
        [sys.executable, "-m", "assure_cli.main", "chek"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "No such command 'chek'. Did you mean 'check'?" in done.stderr
    assert "assure_cli.check" not in modules
