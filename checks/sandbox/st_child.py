"""The schemathesis process: `python -I -m checks.sandbox.st_child GUARD.json -- st-args...`.

Before schemathesis is imported, it lowers its limits and installs the network guard with
the one (address, port) the egress policy vetted for the base URL: the base URL's name is
pinned to that address (Host header and TLS SNI keep the name), every other name lookup and
every other connection is refused, and no other program may be started. Whatever a supplier
writes in the description (remote $ref, externalValue, links, servers), schemathesis cannot
reach anything else.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from checks.sandbox import guard, lifeline, limits


def main(argv: list[str]) -> None:
    config_path, separator, *st_args = argv
    if separator != "--":
        raise SystemExit("usage: st_child GUARD.json -- schemathesis arguments")
    config = json.loads(Path(config_path).read_text("utf-8"))
    lifeline.die_with_parent(int(config["parent_pid"]))
    limits.apply(limits.SandboxLimits(**config["limits"]))
    endpoints = frozenset((str(a), int(p)) for a, p in config["endpoints"])
    record_fd = os.open(config["refusals"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    guard.install(
        guard.GuardRules(vet=lambda _address: None, endpoints=endpoints, pins=config["pins"]),
        record_fd,
    )
    import schemathesis.cli

    sys.argv = ["st", *st_args]
    schemathesis.cli.schemathesis()


if __name__ == "__main__":
    main(sys.argv[1:])
