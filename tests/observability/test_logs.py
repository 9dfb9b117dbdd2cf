"""`assure api` writes one JSON access line per request carrying its request id, and never a
credential: not a bearer token, not a token in the query string, not a cookie. A hostile
X-Request-ID (a newline to forge a line, 10 KB, unicode) is replaced, never echoed or logged."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import sys
from pathlib import Path

from kernel.logs import JsonFormatter, mask_credentials
from tests.observability.conftest import get
from tests.partner_api.world import ApiWorld
from tests.peers.processes import free_port, serving

FORGED_JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJmb3JnZWQtc3ViamVjdCJ9.c2lnbmF0dXJlLXNlY3JldA"
QUERY_SECRET = "query-secret-0a1b2c"
COOKIE_SECRET = "cookie-secret-3d4e5f"


def _raw_request(port: int, request_id: bytes) -> tuple[int, dict[str, str]]:
    """A GET whose X-Request-ID is sent byte for byte (http.client refuses bad values)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET /v1/framework HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"X-Request-ID: " + request_id + b"\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


def _serve_api(template: Path, folder: Path, console: Path):  # type: ignore[no-untyped-def]
    shutil.copytree(template, folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000/minute"}
    port = free_port()
    argv = [sys.executable, "-m", "assure_cli.main", "api", "--port", str(port)]
    return port, serving(argv, env, f"http://127.0.0.1:{port}/livez", console=console)


def test_access_lines_are_json_with_the_request_id_and_no_credential(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, world = api_template
    token = world.tokens["s1"]
    product_id = world.world.orgs["s1"].product_id
    console = tmp_path / "api.log"
    port, running = _serve_api(template, tmp_path / "data", console)
    hostile = {
        "newline": b'abc\nforged-line {"level": "error"}',
        "ten kilobytes": b"x" * 10_240,
        "unicode": "caf\u00e9-\u202eevil".encode(),
        "spaces": b"has spaces",
    }
    with running:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = [
            ("/v1/framework", {"X-Request-ID": "trace-0001"}),
            (f"/v1/products/{product_id}", {"Authorization": f"Bearer {token}"}),
            ("/v1/framework", {"Authorization": f"Bearer {FORGED_JWT}"}),
            (f"/v1/framework?access_token={QUERY_SECRET}&token={FORGED_JWT}", {}),
            ("/v1/framework", {"Cookie": f"session={COOKIE_SECRET}"}),
        ]
        answers = []
        for path, headers in sent:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            answers.append((response.status, response.getheader("X-Request-ID")))
        connection.close()
        echoed = {name: _raw_request(port, value) for name, value in hostile.items()}
        get(f"http://127.0.0.1:{port}/livez")
    log = console.read_text("utf-8")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "assure.api.access"]

    assert answers[0] == (200, "trace-0001")
    assert answers[1][0] == 200
    first = next(line for line in access if line["request_id"] == "trace-0001")
    assert first["route"] == "/v1/framework"
    assert first["method"] == "GET"
    assert first["status"] == 200
    assert first["client"] == "127.0.0.1"
    assert isinstance(first["duration_ms"], float)
    assert {"time", "level", "logger", "message"} <= set(first)
    # Every request has exactly one line, under the id its response carried.
    for _, rid in answers:
        assert [line["request_id"] for line in access].count(rid) == 1
    assert any(line["route"] == "/v1/products/{product_id}" for line in access)
    # Nothing secret anywhere in what the process wrote.
    for secret in (token, FORGED_JWT, QUERY_SECRET, COOKIE_SECRET, "access_token", "Bearer"):
        assert secret not in log, secret
    # A bare newline inside a header is refused by the HTTP parser before the application.
    assert echoed.pop("newline")[0] == 400
    # The other hostile ids: answered, replaced by a generated id, and never written.
    for name, (status, headers) in echoed.items():
        assert status == 200, name
        assert len(headers["x-request-id"]) == 16, name
        assert headers["x-request-id"] in {line["request_id"] for line in access}, name
    assert "forged-line" not in log
    assert "x" * 100 not in log
    # (Not "caf" alone: a generated hex id may contain it.)
    assert "evil" not in log
    assert "caf\\u00e9" not in log
    # One record, one line: every line but the banner `assure api` prints parses on its own.
    rest = [line for line in log.splitlines() if line and not line.startswith("database at")]
    assert all(line.startswith("{") for line in rest), rest


def test_a_credential_in_a_log_message_or_field_is_masked_by_the_formatter() -> None:
    """The backstop for lines written by other code: a bearer value or a JWT in a message is
    masked, and an extra field named like a credential is dropped."""
    import logging

    record = logging.LogRecord(
        "assure.test",
        logging.INFO,
        __file__,
        1,
        "got %s and %s",
        ("Bearer abc.def", FORGED_JWT),
        None,
    )
    record.token = "should-not-appear"
    record.route = "/v1/x"
    line = json.loads(JsonFormatter().format(record))
    assert "abc.def" not in line["message"]
    assert FORGED_JWT not in line["message"]
    assert "token" not in line
    assert line["route"] == "/v1/x"
    assert mask_credentials("authorization: bearer  xyz") == "authorization: [redacted]"
