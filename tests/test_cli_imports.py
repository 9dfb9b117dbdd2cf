"""The command line loads what the command in hand uses: `assure --help`, `assure check tls` and
serve's supervisor never import the database, the queue, pandas or Streamlit, and every command
is still listed with its own help. The sandbox child of a TLS check loads the TLS check alone:
no other kind's code, no settings model, no DNS library, no renderer (issue 20: start-up).

What a process imported is read from its sys.modules as it exits: `python -X importtime` does
not report a module imported with importlib.import_module, which is how check kinds load."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from assure_cli.main import COMMANDS
from tests.peers.certificates import make_certificate
from tests.peers.servers import pyopenssl_handler, serving

HEAVY = {"pandas", "numpy", "sqlalchemy", "alembic", "huey", "redis", "psycopg", "streamlit"}
OTHER_KINDS = {f"checks.catalogue.{kind}" for kind in ("ssh", "jwks", "cbom", "cert", "api")}
# Runs module `argv[2]` (or the code `argv[2]` after `-c`) as __main__ with the rest of argv,
# and writes every module loaded to the file `argv[1]` when the process exits (at exit, or at
# os._exit, which the sandbox child ends with).
MODULES_AT_EXIT = """\
import atexit, os, runpy, sys
PLUGINS_SCANNED = "<pydantic-plugins-scanned>"
out, target, *rest = sys.argv[1:]
def record():
    loader = sys.modules.get("pydantic.plugin._loader")
    scanned = [PLUGINS_SCANNED] if getattr(loader, "_plugins", None) is not None else []
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\\n".join(sorted(sys.modules) + scanned))
atexit.register(record)
os_exit = os._exit
def exit_recorded(status):  # the sandbox child ends with os._exit, past atexit
    record()
    os_exit(status)
os._exit = exit_recorded
if target == "-c":
    sys.argv = ["-c", *rest[1:]]
    exec(compile(rest[0], "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def _run_recording(
    args: tuple[str, ...],
    env: dict[str, str] | None = None,
    flags: tuple[str, ...] = (),
    cwd: Path | None = None,
) -> tuple[set[str], str]:
    """The modules one run of `python -m MODULE ARGS` or `python -c CODE` loaded, and its
    stdout. `flags`: the interpreter's own, e.g. -I."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "modules.txt"
        target = args[1] if args[0] == "-m" else "-c"
        rest = args[2:] if args[0] == "-m" else args[1:]
        done = subprocess.run(
            [sys.executable, *flags, "-c", MODULES_AT_EXIT, str(out), target, *rest],
            capture_output=True,
            text=True,
            timeout=120,
            env={**(env if env is not None else os.environ), "COLUMNS": "200"},
            cwd=cwd,
            check=False,
        )
        assert out.exists(), done.stderr[-2000:]
        modules = set(out.read_text("utf-8").split())
    assert "sys" in modules, done.stderr[-2000:]
    return modules, done.stdout


def _imports(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    return _run_recording(args, env)


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
    assert "checks.catalogue.tls" in modules  # the recording sees import_module's imports
    assert not _packages(modules) & HEAVY, sorted(_packages(modules) & HEAVY)
    # The probes, the TLS library and the other kinds' specs run or load in the child only.
    child_only = {m for m in modules if m.startswith(("checks.tls", "cryptography", "OpenSSL"))}
    assert not child_only, sorted(child_only)
    assert not modules & OTHER_KINDS, sorted(modules & OTHER_KINDS)
    # No data file is read (YAML), no name is resolved here (dnspython), --json needs no other
    # renderer, and the objects file's size limit comes without the API check's parser.
    not_here = {"yaml", "dns", "checks.outputs", "checks.api.authz_objects", "xml.etree"}
    assert not modules & not_here, sorted(modules & not_here)


def _tls_child_order(folder: Path, port: int) -> None:
    """The order run_sandboxed writes for `assure check tls 127.0.0.1:PORT`."""
    from checks.egress import EgressPolicy
    from checks.sandbox.limits import SandboxLimits
    from checks.sandbox.request import ChildOrder, SandboxedCheck

    policy = EgressPolicy.from_cidrs(("127.0.0.1/32",))
    order = ChildOrder(
        check=SandboxedCheck(kind="tls", target=f"127.0.0.1:{port}", timeout=3.0),
        egress_allow=tuple(str(network) for network in policy.allow),
        limits=SandboxLimits().as_dict(),
        parent_pid=os.getpid(),
    )
    (folder / "order.json").write_text(order.model_dump_json(), "utf-8")


def test_the_sandbox_child_of_a_tls_check_loads_the_tls_check_alone(tmp_path: Path) -> None:
    from checks.sandbox.environment import child_environment

    cert, key = make_certificate(tmp_path, "ecdsa")
    folder = tmp_path / "run"
    folder.mkdir()
    with serving(pyopenssl_handler(cert, key)) as peer:
        _tls_child_order(folder, peer.port)
        # As run.py starts it: isolated mode, the sandbox's bare environment, in its folder.
        modules, _ = _run_recording(
            ("-m", "checks.sandbox.child", str(folder)),
            env=child_environment(),
            flags=("-I",),
            cwd=folder,
        )
    report = json.loads((folder / "report.json").read_text("utf-8"))
    assert report["kind"] == "tls", report
    assert report["status"] == "completed", report
    assert {"checks.catalogue.tls", "checks.tls.check", "OpenSSL.SSL"} <= modules
    assert not modules & OTHER_KINDS, sorted(modules & OTHER_KINDS)
    other_code = {m for m in modules if m.startswith(("checks.api.", "checks.ssh", "checks.cbom_"))}
    assert other_code <= {"checks.api.objects_limits", "checks.cbom_export"}, sorted(other_code)
    # The policy comes from the order, not the settings model; names are not resolved with
    # dnspython unless DNS servers are configured; reports are rendered by the caller.
    not_here = {"kernel.settings", "platformdirs", "tomllib", "dns", "checks.outputs", "jsonschema"}
    assert not modules & not_here, sorted(modules & not_here)
    # Data files are read as files, not through importlib.resources (tempfile, shutil, zipfile).
    assert "importlib.resources" not in modules
    # No pydantic plugin runs in the sandbox, so no installed distribution is scanned for one,
    # and the metadata reader that would scan them is not even imported (child.PLUGIN_LOADER).
    assert "pydantic.plugin._loader" in modules
    assert "<pydantic-plugins-scanned>" not in modules
    assert "importlib.metadata" not in modules
    assert not _packages(modules) & HEAVY, sorted(_packages(modules) & HEAVY)


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
