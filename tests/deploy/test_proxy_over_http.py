"""The shipped nginx files, run by a real nginx on loopback in front of two app nodes and an API:
every app answer carries the security headers once, errors included; a browser stays on one
node, also with 20 requests at once; a forged routing cookie or X-Forwarded-For is not
believed; the websocket upgrade reaches the node; the API's own headers pass once; unknown
names get no certificate; plain HTTP goes to the one name; a large body is refused."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.deploy import running_nginx
from tests.deploy.running_nginx import API_HEADERS, API_HOST, APP_HOST, RunningProxy
from tests.deploy.test_proxy_headers import APP_HEADERS

pytestmark = pytest.mark.skipif(
    not running_nginx.available(), reason="nginx is not installed (apt-get install nginx-light)"
)
COOKIE = re.compile(r"assure_node=([0-9a-f]{32});")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    with running_nginx.running(tmp_path_factory.mktemp("nginx")) as (running, _nodes):
        yield running


def _send(
    proxy: RunningProxy,
    lines: list[str],
    host: str = APP_HOST,
    body: bytes = b"",
    host_header: str | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request over a new TLS connection whose SNI is `host` (and its Host header, unless
    `host_header` names another)."""
    context = ssl.create_default_context(cafile=str(proxy.trust))
    with (
        socket.create_connection(("127.0.0.1", proxy.https_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        named = host_header or host
        request = "\r\n".join([*lines, f"Host: {named}", "Connection: close", "", ""])
        tls.sendall(request.encode() + body)
        response = http.client.HTTPResponse(tls)
        response.begin()
        return response.status, response.getheaders(), response.read()


def _get(proxy: RunningProxy, path: str = "/", *headers: str, host: str = APP_HOST):
    return _send(proxy, [f"GET {path} HTTP/1.1", *headers], host)


def _values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


def _node(body: bytes) -> str:
    return json.loads(body)["node"]


def _seen(body: bytes) -> dict[str, Any]:
    return {k.lower(): v for k, v in json.loads(body)["headers"]}


@pytest.mark.parametrize("path", ["/", "/fail", "/_stcore/health", "/_stcore/stream"])
def test_every_app_answer_carries_each_header_once(proxy: RunningProxy, path: str) -> None:
    status, headers, _ = _get(proxy, path)
    assert status == (500 if path == "/fail" else 200)
    for name, value in APP_HEADERS.items():
        assert _values(headers, name) == [value], name
    assert _values(headers, "Server") == ["nginx"]  # no version, and not the upstream's


def test_a_browser_stays_on_one_node_even_with_20_requests_at_once(proxy: RunningProxy) -> None:
    _, headers, body = _get(proxy)
    cookie = COOKIE.match(_values(headers, "Set-Cookie")[0])[1]
    first = _node(body)
    with ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(lambda _: _get(proxy, "/", f"Cookie: assure_node={cookie}"), range(20))
        )
    assert {_node(body) for _, _, body in answers} == {first}
    # Renewed with the same value, so the browser keeps its node.
    assert {COOKIE.match(_values(h, "Set-Cookie")[0])[1] for _, h, _ in answers} == {cookie}


def test_new_browsers_are_spread_over_the_nodes(proxy: RunningProxy) -> None:
    nodes = [_node(_get(proxy)[2]) for _ in range(40)]
    assert set(nodes) == {"node-a", "node-b"}


@pytest.mark.parametrize(
    "cookie", ["../../etc", "A" * 32, "0" * 31, "0" * 4000], ids=["path", "upper", "short", "huge"]
)
def test_a_forged_routing_cookie_is_replaced(proxy: RunningProxy, cookie: str) -> None:
    status, headers, _ = _get(proxy, "/", f"Cookie: assure_node={cookie}")
    assert status == 200
    issued = COOKIE.match(_values(headers, "Set-Cookie")[0])[1]
    assert issued != cookie


def test_the_websocket_upgrade_reaches_the_node_with_the_proxys_view_of_the_client(
    proxy: RunningProxy,
) -> None:
    status, headers, _ = _get(
        proxy,
        "/_stcore/stream",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    )
    assert status == 101
    assert _values(headers, "X-Node") in (["node-a"], ["node-b"])
    _, _, body = _get(proxy, "/", "X-Forwarded-For: 203.0.113.9")
    seen = _seen(body)
    assert seen["x-forwarded-for"] == "127.0.0.1"  # the forged address is dropped
    assert seen["x-forwarded-proto"] == "https"
    assert seen["host"] == APP_HOST


def test_the_api_sends_its_own_headers_once_and_gets_no_routing_cookie(proxy: RunningProxy) -> None:
    status, headers, body = _get(proxy, "/v1/products", host=API_HOST)
    assert status == 200
    assert _node(body) == "api"
    for name, value in API_HEADERS.items():
        assert _values(headers, name) == [value], name
    assert _values(headers, "Set-Cookie") == []
    assert _values(headers, "Strict-Transport-Security") == []  # the stand-in sends none


def test_a_name_the_proxy_does_not_serve_gets_no_certificate(proxy: RunningProxy) -> None:
    with pytest.raises(ssl.SSLError):
        _get(proxy, host="other.example.police.uk")


def test_a_request_for_another_host_over_our_handshake_gets_no_answer(proxy: RunningProxy) -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        _send(proxy, ["GET / HTTP/1.1"], host=APP_HOST, host_header="other.example.police.uk")


def test_plain_http_is_sent_to_the_one_name(proxy: RunningProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.http_port), timeout=5) as plain:
        plain.sendall(b"GET /x?y=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        response = http.client.HTTPResponse(plain)
        response.begin()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{APP_HOST}/x?y=1"


def test_a_body_over_the_limit_is_refused_before_it_is_read(proxy: RunningProxy) -> None:
    lines = ["POST /_stcore/upload_file/s/f HTTP/1.1", f"Content-Length: {13 * 2**20}"]
    status, headers, _ = _send(proxy, lines)
    assert status == 413
    assert _values(headers, "X-Frame-Options") == ["DENY"]
