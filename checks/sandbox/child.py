"""The sandboxed check process: `python -I -m checks.sandbox.child FOLDER`.

It lowers its own limits and installs the network guard before importing any check, then
runs the one check the parent wrote into FOLDER/order.json and writes FOLDER/report.json (or
FOLDER/failure.json). Nothing it does can reach further than the egress policy allows.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks.sandbox import guard, lifeline, limits

if TYPE_CHECKING:
    from checks.egress import EgressPolicy

# Kept until a MemoryError, then freed so the failure can still be written.
_reserve: bytearray | None = None
ST_CHILD_MODULE = "checks.sandbox.st_child"
# jsonschema compiles this package's lark grammar on import (about 0.9 s CPU, a sixth of an API
# check's own cost) only to check the "iri" formats. No schema this process validates with
# jsonschema names them: the OpenAPI 3.0/3.1 meta-schemas use "uri" and "uri-reference", and the
# CBOM check validates with jsonschema_rs. The schemathesis child is a separate process and keeps
# it, since it checks responses against the supplier's own schemas.
UNUSED_IMPORTS = ("rfc3987_syntax",)
# pydantic's plugin loader imports importlib.metadata (and with it email, zipfile, csv: some
# 10 ms of a TLS check's start-up) only to scan installed distributions for plugins, which it
# does not do when PYDANTIC_DISABLE_PLUGINS is "__all__", as it is in every sandbox
# (environment.py). Its stand-in answers as the loader does then: no plugins.
PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[object]:
    return ()


def skip_plugin_discovery() -> None:
    """Before pydantic is imported, when plugins are disabled for this process."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") != "__all__" or PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PLUGIN_LOADER, "no plugins: PYDANTIC_DISABLE_PLUGINS is __all__")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[PLUGIN_LOADER] = loader


def may_launch(executable: str, argv: list[str]) -> bool:
    """Only the API check starts a program: the schemathesis child, under its own guard."""
    return executable == sys.executable and argv[1:4] == ["-I", "-m", ST_CHILD_MODULE]


def _policy(order: dict[str, Any]) -> EgressPolicy:
    from checks.egress import EgressPolicy

    return EgressPolicy.from_cidrs(tuple(order["egress_allow"]), tuple(order["dns_servers"]))


def dns_endpoints(policy: EgressPolicy) -> frozenset[tuple[str, int]]:
    if not policy.dns_servers:
        return frozenset()  # and the settings module is not loaded
    from kernel.settings import server_address

    return frozenset(server_address(server) for server in policy.dns_servers)


def peak_memory() -> dict[str, int]:
    """This process's high-water marks since exec (rusage would count the parent's pages
    the child had at fork): resident (VmHWM) and address space (VmPeak), in bytes."""
    wanted = {"VmHWM:": "peak_memory_bytes", "VmPeak:": "peak_address_space_bytes"}
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            fields = line.split()
            if fields and fields[0] in wanted:
                found[wanted[fields[0]]] = int(fields[1]) * 1024
    return found


def _write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(folder: Path) -> int:
    global _reserve
    raw_order = json.loads((folder / "order.json").read_text("utf-8"))
    lifeline.die_with_parent(int(raw_order["parent_pid"]))
    limits.apply(limits.SandboxLimits(**raw_order["limits"]))
    record_fd = os.open(folder / "egress-refusals.jsonl", os.O_WRONLY | os.O_CREAT, 0o600)
    policy = _policy(raw_order)
    rules = guard.GuardRules(
        vet=policy.vet_text, may_launch=may_launch, infrastructure=dns_endpoints(policy)
    )
    guard.install(rules, record_fd)
    _reserve = bytearray(4 * 1024 * 1024)
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[assignment]
    skip_plugin_discovery()

    from checks.catalogue import load_plugin
    from checks.sandbox.execute import execute
    from checks.sandbox.request import ChildFailure, ChildOrder
    from kernel.errors import AssureError

    if raw_order.get("check_module"):
        # A registered check: its module is loaded (under the guard) before its kind is read.
        load_plugin(raw_order["check_module"])
    order = ChildOrder.model_validate(raw_order)
    try:
        report = execute(order, policy)
    except MemoryError:
        _reserve = None
        failure = ChildFailure(kind="limit", limit="memory", message="the check ran out of memory")
    except RecursionError:
        failure = ChildFailure(
            kind="limit", limit="depth", message="the input is nested too deeply to check"
        )
    except AssureError as exc:
        failure = ChildFailure(kind="refused", message=str(exc), error_type=type(exc).__name__)
    except ValueError as exc:
        failure = ChildFailure(kind="invalid", message=str(exc), error_type=type(exc).__name__)
    else:
        _write(folder, "report.json", report.model_dump_json())
        _write(folder, "cost.json", json.dumps(peak_memory()))
        return 0
    _write(folder, "failure.json", failure.model_dump_json())
    _write(folder, "cost.json", json.dumps(peak_memory()))
    return 0


if __name__ == "__main__":
    status = main(Path(sys.argv[1]))
    # Everything the parent reads is written and closed: skip the interpreter's teardown of
    # some three hundred modules, which the parent would otherwise wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
