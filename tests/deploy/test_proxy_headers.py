"""The headers Streamlit cannot send itself are the same five, with the same values, in the nginx
file, the Caddyfile and the guide's table; the app server's routing and limits agree with what
the code needs. Read from the shipped files (deploy/), never from a copy."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.web.server.starlette.starlette_server_config import DEFAULT_WEBSOCKET_PING_INTERVAL

from kernel.settings import Settings
from supplier_portal.uploads import MAX_UPLOAD_BYTES
from tests.deploy.nginx_conf import (
    DEPLOY,
    UPSTREAMS,
    Directive,
    parse,
    read,
    tls_server_named,
    walk,
)

# The one list: what every answer from the app must carry (docs/reverse-proxy.md says why).
APP_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
APP_HOST = "assure.example.police.uk"
API_HOST = "api.assure.example.police.uk"
ROUTING_COOKIE = "assure_node"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "reverse-proxy.md"
NGINX_SIZES = {"k": 1024, "m": 1024**2, "g": 1024**3}


def _nginx_headers(server: Directive) -> dict[str, tuple[str, ...]]:
    return {d.args[0]: d.args[1:] for d in server.children("add_header")}


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * NGINX_SIZES.get(unit, 1)


def _seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(s|m)?", value).groups()
    return int(number) * (60 if unit == "m" else 1)


def test_the_nginx_app_server_sends_every_header_on_every_answer() -> None:
    headers = _nginx_headers(tls_server_named(read(), APP_HOST))
    cookie = headers.pop("Set-Cookie")
    assert {name: args[0] for name, args in headers.items()} == APP_HEADERS
    # `always`: error answers (a 502 while the app restarts) carry them too.
    assert all(args[1:] == ("always",) for args in headers.values())
    assert cookie[0].startswith(f"{ROUTING_COOKIE}=$assure_node;")
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {p.strip() for p in cookie[0].split(";")}


def test_no_location_drops_the_headers_by_adding_its_own() -> None:
    """nginx forgets every inherited add_header in a block that has one of its own."""
    app = tls_server_named(read(), APP_HOST)
    assert [d for d, depth in walk(app.block or ()) if d.name == "add_header" and depth] == []
    top_level = [d for d in read() if d.name == "add_header"]
    assert top_level == []


def test_the_api_server_adds_no_header_of_its_own() -> None:
    """The partner API sends its own (a stricter CSP); nginx would otherwise send each twice."""
    api = tls_server_named(read(), API_HOST)
    assert [d for d, _ in walk(api.block or ()) if d.name == "add_header"] == []


def test_the_caddyfile_sends_the_same_headers() -> None:
    text = (DEPLOY / "caddy" / "Caddyfile").read_text()
    site = text[text.index(f"\n{APP_HOST} {{") :]
    block = re.search(r"\n\theader \{\n(.*?)\n\t\}", site, re.S).group(1)
    lines = [line.strip() for line in block.splitlines() if line.strip()[:1] not in ("#", "-")]
    sent = dict(re.fullmatch(r'(\S+) "(.*)"', line).groups() for line in lines)
    assert sent == APP_HEADERS
    api_site = text[text.index(f"\n{API_HOST} {{") :]
    assert "header" not in api_site


def test_the_guide_lists_the_same_headers() -> None:
    rows = re.findall(r"^\| `([\w-]+)` \| `([^`]*)` \|", GUIDE.read_text(), re.M)
    assert dict(rows) == APP_HEADERS


def test_every_app_upstream_keeps_a_browser_on_one_node() -> None:
    """Streamlit's session, its uploads and media live in one process: sticky by cookie."""
    assert any(
        d.name == "include" and d.args == ("/etc/nginx/assure/upstreams.conf",) for d in read()
    )
    for path in UPSTREAMS:
        upstreams = {d.args[0]: d for d in parse(path.read_text()) if d.name == "upstream"}
        assert set(upstreams) == {"assure_app", "assure_api"}, path
        assert upstreams["assure_app"].children("hash")[0].args == ("$assure_node", "consistent")
        assert upstreams["assure_app"].children("server"), path
        assert upstreams["assure_api"].children("server"), path
    routing = next(
        d for d in read() if d.name == "map" and d.args[0] == f"$cookie_{ROUTING_COOKIE}"
    )
    assert {d.name for d in routing.block} == {"~^[0-9a-f]{32}$", "default"}


def test_the_app_is_proxied_whole_and_its_websocket_outlives_streamlits_ping() -> None:
    app = tls_server_named(read(), APP_HOST)
    locations = {d.args[0]: d for d in app.children("location")}
    assert set(locations) == {"/", "/_stcore/stream"}
    for location in locations.values():
        assert location.children("proxy_pass")[0].args == ("http://assure_app",)
        sent = {d.args[0]: d.args[1] for d in location.children("proxy_set_header")}
        assert sent["Upgrade"] == "$http_upgrade"
        assert sent["Connection"] == "$connection_upgrade"
        # The proxy's own view of the client, never the client's claim.
        assert sent["X-Forwarded-For"] == "$remote_addr"
    stream = locations["/_stcore/stream"]
    assert stream.children("proxy_buffering")[0].args == ("off",)
    read_timeout = _seconds(stream.children("proxy_read_timeout")[0].args[0])
    assert read_timeout >= 4 * DEFAULT_WEBSOCKET_PING_INTERVAL


def test_body_limits_fit_what_the_app_and_the_api_accept() -> None:
    app = tls_server_named(read(), APP_HOST)
    api = tls_server_named(read(), API_HOST)
    app_limit = _size(app.children("client_max_body_size")[0].args[0])
    # Room for a 10 MiB file and its multipart wrapping, not for Streamlit's 200 MB default.
    assert MAX_UPLOAD_BYTES < app_limit <= 2 * MAX_UPLOAD_BYTES
    api_default = Settings.model_fields["api_max_body_bytes"].default
    assert _size(api.children("client_max_body_size")[0].args[0]) == api_default


def test_plain_http_redirects_to_the_one_name_and_unknown_names_get_no_certificate() -> None:
    plain = [s for s in read() if any(d.args[0] == "80" for d in s.children("listen"))]
    assert len(plain) == 1
    assert plain[0].children("return")[0].args == ("301", f"https://{APP_HOST}$request_uri")
    default = [s for s in read() if any("default_server" in d.args for d in s.children("listen"))]
    assert [d.args for s in default for d in s.children("ssl_reject_handshake")] == [("on",)]


def test_the_guides_point_at_the_shipped_files_instead_of_copying_them() -> None:
    for guide in (GUIDE, GUIDE.with_name("deploy.md")):
        text = guide.read_text()
        assert "deploy/nginx/assure.conf" in text
        assert "deploy/caddy/Caddyfile" in text
        copies = re.findall(r"^```(nginx|caddyfile)$", text, re.M | re.I)
        assert copies == [], f"{guide.name} keeps a copy of a proxy configuration"
