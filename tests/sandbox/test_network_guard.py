"""The guard in a sandboxed process refuses what the policy does not allow, whichever library
asks. Audit hooks cannot be removed, so each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.peers.recording_http import RecordingServer, recording

PRELUDE = """
import json, socket, subprocess, sys, urllib.request
from checks.sandbox import guard
allowed = {allowed!r}
rules = guard.GuardRules(
    vet=lambda address: None if address == allowed else "not allowed",
    endpoints={endpoints},
    pins={pins!r},
)
guard.install(rules)
def attempt(name, action):
    try:
        action()
        print(json.dumps([name, "done"]))
    except guard.EgressBlocked as exc:
        print(json.dumps([name, "blocked", str(exc)]))
    except Exception as exc:  # libraries wrap the refusal in their own error types
        print(json.dumps([name, type(exc).__name__, str(exc)]))
"""


def _run(body: str, allowed: str, endpoints: str = "None", pins: dict | None = None) -> dict:
    script = PRELUDE.format(allowed=allowed, endpoints=endpoints, pins=pins or {})
    script += textwrap.dedent(body)
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return {row[0]: row[1:] for row in map(json.loads, result.stdout.splitlines())}


@pytest.fixture
def forbidden() -> RecordingServer:
    with recording(RecordingServer("127.0.0.1")) as server:
        yield server


def test_a_connection_to_a_forbidden_address_is_refused_for_every_library(forbidden) -> None:
    url = f"http://127.0.0.1:{forbidden.port}/"
    outcome = _run(
        f"""
        import requests, httpx
        attempt("socket", lambda: socket.create_connection(("127.0.0.1", {forbidden.port})))
        attempt("urllib", lambda: urllib.request.urlopen("{url}", timeout=2))
        attempt("requests", lambda: requests.get("{url}", timeout=2))
        attempt("httpx", lambda: httpx.get("{url}", timeout=2))
        """,
        allowed="127.0.0.2",
    )
    assert forbidden.requests == []
    assert outcome["socket"][0] == "blocked"
    for library in ("urllib", "requests", "httpx"):
        assert "egress policy" in json.dumps(outcome[library]), (library, outcome[library])


def test_datagrams_unix_sockets_and_programs_are_refused() -> None:
    outcome = _run(
        """
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attempt("udp", lambda: udp.sendto(b"x", ("127.0.0.1", 53)))
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        attempt("unix", lambda: unix.connect("/var/run/postgresql/.s.PGSQL.5432"))
        attempt("program", lambda: subprocess.run(["curl", "http://127.0.0.1/"]))
        import os
        attempt("system", lambda: os.system("true"))
        """,
        allowed="127.0.0.2",
    )
    assert {name: row[0] for name, row in outcome.items()} == {
        "udp": "blocked",
        "unix": "blocked",
        "program": "blocked",
        "system": "blocked",
    }


def test_a_pinned_run_reaches_only_its_one_address_and_resolves_no_names() -> None:
    with recording(RecordingServer("127.0.0.2")) as allowed:
        outcome = _run(
            f"""
            import requests
            attempt("pinned", lambda: requests.get("http://api.example.test:{allowed.port}/"))
            attempt("other port", lambda: socket.create_connection(("127.0.0.2", 9)))
            attempt("other name", lambda: socket.getaddrinfo("example.org", 80))
            attempt("lookup", lambda: socket.gethostbyname("example.org"))
            """,
            allowed="127.0.0.2",
            endpoints=f"frozenset({{('127.0.0.2', {allowed.port})}})",
            pins={"api.example.test": "127.0.0.2"},
        )
    assert outcome["pinned"] == ["done"]
    # The name travelled in the Host header; the address came from the pin, not DNS.
    assert [r.split()[:2] for r in allowed.requests] == [["GET", "/"]]
    assert [outcome[name][0] for name in ("other port", "other name", "lookup")] == ["blocked"] * 3
