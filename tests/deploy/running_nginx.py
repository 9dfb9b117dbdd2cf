"""The shipped nginx files run by the nginx installed here, on loopback, in front of small HTTP
servers standing in for app nodes and the API, so headers and routing are seen over HTTP.

Only what a test machine needs is changed, each edit made on text that must be there: loopback
ports instead of 80 and 443 (and no IPv6 listeners), test certificates, two app nodes and one
API in the shipped upstreams file. On an nginx older than 1.25.1 `http2 on` goes (HTTP/1.1 is
what these tests speak), and on one built with OpenSSL before 3.5 the ML-KEM tuple goes from
`ssl_ecdh_curve` (tests/deploy/test_proxy_tls.py covers TLS with OpenSSL 4)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.deploy.nginx_conf import DEPLOY, PROXY_CONF
from tests.peers import tls_chains
from tests.peers.certificates import write_key, write_pem
from tests.peers.processes import free_port, listening

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
APP_HOST = "assure.example.police.uk"
API_HOST = "api.assure.example.police.uk"
# What the stand-in API sends, as the real one does (partner_api/middleware.py), so a proxy
# that added its own would show them twice.
API_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'"}


def available() -> bool:
    return Path(NGINX).exists()


def _version() -> tuple[str, str]:
    """(nginx version, OpenSSL version it was built with), from `nginx -V`."""
    out = subprocess.run([NGINX, "-V"], capture_output=True, text=True, check=True).stderr
    nginx = re.search(r"nginx/([\d.]+)", out)[1]
    openssl = re.search(r"built with OpenSSL ([\d.]+)", out)
    return nginx, openssl[1] if openssl else "0"


def _older(version: str, than: tuple[int, ...]) -> bool:
    return tuple(int(p) for p in version.split(".")[:3]) < than


class _Node(BaseHTTPRequestHandler):
    """Answers every request with its node's name and the headers it received, as JSON; a
    websocket upgrade gets 101 and the connection closes."""

    node = "node"
    extra: dict[str, str] = {}  # noqa: RUF012 (per-class constant, set by subclassing)
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("X-Node", self.node)
            self.end_headers()
            self.close_connection = True
            return
        body = json.dumps({"node": self.node, "headers": self.headers.items()}).encode()
        self.send_response(500 if self.path == "/fail" else 200)
        for name, value in self.extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        return


@contextlib.contextmanager
def _upstream(node: str, extra: dict[str, str]) -> Iterator[int]:
    handler = type(f"Node_{node}", (_Node,), {"node": node, "extra": extra})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) == count, f"{old!r} is in the shipped file {text.count(old)} times"
    return text.replace(old, new)


@dataclass(frozen=True)
class RunningProxy:
    https_port: int
    http_port: int
    trust: Path  # the test CA, for clients
    edits: tuple[str, ...]  # what was changed beyond ports, paths and upstreams


def _configure(folder: Path, app_ports: list[int], api_port: int) -> tuple[Path, RunningProxy]:
    pki = tls_chains.pki()
    served = tls_chains.leaf(pki.intermediate, (APP_HOST, API_HOST), ocsp_url=None)
    chain = write_pem(folder / "fullchain.pem", served.certificate, pki.intermediate.certificate)
    key = write_key(folder / "privkey.pem", served.key)
    https_port, http_port = free_port(), free_port()
    text = PROXY_CONF.read_text()
    text = _replace(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = _replace(text, "listen [::]:80;", "")
    text = _replace(text, "listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", 3)
    text = re.sub(r"listen \[::\]:443 ssl[^;]*;", "", text)
    text = re.sub(r"/etc/ssl/assure/[\w-]*fullchain\.pem", str(chain), text)
    text = re.sub(r"/etc/ssl/assure/[\w-]*privkey\.pem", str(key), text)
    upstreams = (DEPLOY / "nginx" / "upstreams.conf").read_text()
    nodes = "".join(f"server 127.0.0.1:{port};\n    " for port in app_ports)
    upstreams = _replace(upstreams, "server 127.0.0.1:8501;\n    ", nodes)
    upstreams = _replace(upstreams, "server 127.0.0.1:8000;", f"server 127.0.0.1:{api_port};")
    (folder / "upstreams.conf").write_text(upstreams)
    text = _replace(text, "/etc/nginx/assure/upstreams.conf", str(folder / "upstreams.conf"))
    edits = []
    nginx_version, openssl_version = _version()
    if _older(nginx_version, (1, 25, 1)):
        text = _replace(text, "http2 on;", "", 2)
        edits.append(f"http2 on removed (nginx {nginx_version})")
    if _older(openssl_version, (3, 5)):
        text = _replace(text, "ssl_ecdh_curve X25519MLKEM768/", "ssl_ecdh_curve ")
        edits.append(f"X25519MLKEM768 removed (OpenSSL {openssl_version})")
    (folder / "assure.conf").write_text(text)
    temp = "".join(
        f"{kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # One process, no privilege drop: the test's temporary folder is its own.
    main = (
        f"daemon off;\nmaster_process off;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp}include {folder / 'assure.conf'};\n}}\n"
    )
    (folder / "nginx.conf").write_text(main)
    return folder / "nginx.conf", RunningProxy(
        https_port, http_port, pki.bundle(folder), tuple(edits)
    )


@contextlib.contextmanager
def running(folder: Path) -> Iterator[tuple[RunningProxy, dict[int, str]]]:
    """nginx with the shipped files in front of two app nodes and an API; yields the proxy and
    the app nodes' names by port."""
    with (
        _upstream("node-a", {}) as a,
        _upstream("node-b", {}) as b,
        _upstream("api", API_HEADERS) as api,
    ):
        config, proxy = _configure(folder, [a, b], api)
        command = [NGINX, "-p", str(folder), "-c", str(config)]
        process = subprocess.Popen(command, stderr=subprocess.PIPE)
        with listening(process, proxy.https_port, "nginx"):
            yield proxy, {a: "node-a", b: "node-b"}
