"""deploy/systemd/: the units parse as systemd reads them, every service carries the same
hardening, writes only the data folder, runs a command the `assure` command line accepts, and
the target starts the app, the API and the workers. Where systemd-analyze is installed, systemd
verifies the units itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.cli_args import parse_assure
from tests.deploy.nginx_conf import DEPLOY

UNITS = DEPLOY / "systemd"
SECTIONS = {"Unit", "Service", "Install"}
EXECUTABLE = "/opt/assure/venv/bin/assure"
DATA_DIR = "/var/lib/assure"
HARDENING = {
    "User": "assure",
    "Group": "assure",
    "UMask": "0077",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ReadWritePaths": DATA_DIR,
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectHome": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "SystemCallArchitectures": "native",
}
# systemd-analyze security's exposure score, 0 (locked down) to 10; the units reach 1.7.
MOST_EXPOSURE = 2.0

Unit = dict[str, dict[str, list[str]]]


def parse_unit(text: str) -> Unit:
    """Sections of key=value lines, a key given more than once keeping every value, as systemd
    reads them; anything else is refused."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if header := re.fullmatch(r"\[(\w+)\]", line):
            if header[1] not in SECTIONS or header[1] in unit:
                raise ValueError(f"line {number}: section [{header[1]}] unknown or repeated")
            section = unit[header[1]] = {}
        elif section is not None and (pair := re.fullmatch(r"([A-Za-z]\w*)=(.*)", line)):
            section.setdefault(pair[1], []).append(pair[2].strip())
        else:
            raise ValueError(f"line {number}: not a section, a key=value or a comment: {raw!r}")
    return unit


def _services() -> dict[str, Unit]:
    return {p.name: parse_unit(p.read_text()) for p in sorted(UNITS.glob("*.service"))}


def test_the_shipped_units_are_the_ones_the_guide_names() -> None:
    names = {p.name for p in UNITS.iterdir()}
    assert names == {
        "assure.target",
        "assure-migrate.service",
        "assure-app.service",
        "assure-api.service",
        "assure-worker@.service",
    }
    guide = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    assert all(name in guide for name in names)


def test_every_service_carries_the_hardening() -> None:
    for name, unit in _services().items():
        service = unit["Service"]
        for key, value in HARDENING.items():
            assert service.get(key) == [value], (name, key)
        assert "MemoryDenyWriteExecute" not in service, name  # pyOpenSSL's cffi callbacks


def test_every_service_runs_a_command_the_command_line_accepts() -> None:
    for name, unit in _services().items():
        service = unit["Service"]
        assert "ASSURE_DATA_DIR=" + DATA_DIR in service["Environment"], name
        (command,) = service["ExecStart"]
        executable, *args = command.replace("${LISTEN_ADDRESS}", "127.0.0.1").split()
        assert executable == EXECUTABLE, name
        parse_assure(args)


def test_the_target_starts_the_app_the_api_and_workers() -> None:
    target = parse_unit((UNITS / "assure.target").read_text())
    wanted = target["Unit"]["Wants"][0].split()
    assert {"assure-app.service", "assure-api.service"} <= set(wanted)
    assert any(w.startswith("assure-worker@") for w in wanted)
    for name, unit in _services().items():
        assert unit["Install"]["WantedBy"] == ["assure.target"], name
    worker = _services()["assure-worker@.service"]["Service"]
    assert worker["KillSignal"] == ["SIGINT"]  # huey finishes running jobs on SIGINT only


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Description=outside a section", "not a section"),
        ("[Service]\nnot a key value", "not a section"),
        ("[Servce]\nUser=x", "unknown or repeated"),
        ("[Service]\nUser=x\n[Service]\nUser=y", "unknown or repeated"),
    ],
    ids=["key-before-section", "garbage-line", "misspelt-section", "repeated-section"],
)
def test_a_malformed_unit_is_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_unit(text)


def _installed_root(folder: Path) -> Path:
    """A root for systemd-analyze: the units, the system's own units, and an executable at the
    path the units name (verification checks it exists)."""
    shutil.copytree(UNITS, folder / "etc/systemd/system")
    shutil.copytree("/usr/lib/systemd/system", folder / "usr/lib/systemd/system", symlinks=True)
    executable = folder / EXECUTABLE.lstrip("/")
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    return folder


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or not Path("/usr/lib/systemd/system").is_dir(),
    reason="systemd-analyze not installed",
)
def test_systemd_verifies_the_units_and_rates_their_exposure_low(tmp_path: Path) -> None:
    root = _installed_root(tmp_path)
    units = [p.name for p in UNITS.iterdir() if "@." not in p.name] + ["assure-worker@1.service"]
    verify = ["systemd-analyze", "verify", "--man=no", f"--root={root}", *units]
    done = subprocess.run(verify, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr
    for unit in units:
        if unit.endswith(".service"):
            security = ["systemd-analyze", "security", "--offline=true", f"--root={root}", unit]
            out = subprocess.run(security, capture_output=True, text=True, timeout=60).stdout
            exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out)[1])
            assert exposure <= MOST_EXPOSURE, (unit, exposure)
