"""Real servers on loopback for check tests: TLS on OpenSSL 4 (pyOpenSSL), TLS on the system
OpenSSL 3.0 (stdlib ssl), misbehaving endpoints, and a connection-limiting proxy in front of
any of them. Each runs in threads and stops itself."""

from __future__ import annotations

import abc
import contextlib
import select
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from OpenSSL import SSL
from OpenSSL._util import lib as _openssl

Handler = Callable[[socket.socket], None]


class _Listener(abc.ABC):
    """Accepts on 127.0.0.1 in a thread of its own until stopped; `_accepted` takes each."""

    def __init__(self, backlog: int = 256) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self._accepted(connection)

    @abc.abstractmethod
    def _accepted(self, connection: socket.socket) -> None:
        """Serve one accepted connection (each kind of peer its own way)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.listener.close()


class LoopbackServer(_Listener):
    """Accepts on 127.0.0.1 and hands each connection to `handler` in its own thread."""

    def __init__(self, handler: Handler, backlog: int = 256) -> None:
        super().__init__(backlog)
        self.handler = handler
        # A pool, not a thread per connection: the peer should cost little next to the client.
        self._workers = ThreadPoolExecutor(max_workers=32)

    def _accepted(self, connection: socket.socket) -> None:
        self._workers.submit(self._handle, connection)

    def _handle(self, connection: socket.socket) -> None:
        with contextlib.suppress(Exception), connection:
            connection.settimeout(5)
            self.handler(connection)

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._workers.shutdown(wait=False, cancel_futures=True)


def pyopenssl_handler(
    cert: Path,
    key: Path,
    groups: str | None = None,
    server_preference: bool = False,
    ciphers: str | None = None,
    dh_params: Path | None = None,
) -> Handler:
    """OpenSSL 4 serving TLS. `groups` in OpenSSL's syntax: `:` separates groups of one tuple,
    in which the client's order decides unless `server_preference`; `/` starts a tuple the
    server ranks below the ones before it, whatever the client's order. `ciphers`: the TLS 1.2
    cipher list (at security level 0, so NULL and anonymous suites can be served); TLS 1.3
    suites stay as they are. `dh_params` (see `ffdhe2048`) for DHE suites."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    if groups is not None:
        assert _openssl.SSL_CTX_set1_curves_list(context._context, groups.encode()) == 1
    if ciphers is not None:
        context.set_cipher_list(f"{ciphers}:@SECLEVEL=0".encode())
    if dh_params is not None:
        context.load_tmp_dh(str(dh_params))
    if server_preference:
        context.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE)
    context.use_certificate_file(str(cert))
    context.use_privatekey_file(str(key))
    return handshaking(context)


def handshaking(context: SSL.Context, shutdown: bool = True) -> Handler:
    """A handler that completes one pyOpenSSL handshake with `context` (and closes cleanly)."""

    def handle(sock: socket.socket) -> None:
        sock.setblocking(True)
        connection = SSL.Connection(context, sock)
        connection.set_accept_state()
        connection.do_handshake()
        if shutdown:
            with contextlib.suppress(SSL.Error):
                connection.shutdown()

    return handle


def ffdhe2048(folder: Path) -> Path:
    """RFC 7919's ffdhe2048 as DH parameters, written by the openssl command line."""
    path = folder / "ffdhe2048.pem"
    command = ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"]
    with path.open("wb") as out:
        subprocess.run(command, check=True, stdout=out, timeout=30)
    return path


def stdlib_handler(cert: Path, key: Path) -> Handler:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def handle(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as wrapped:
            wrapped.unwrap()

    return handle


def garbage_handler(sock: socket.socket) -> None:
    sock.recv(4096)
    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def close_early_handler(sock: socket.socket) -> None:
    sock.recv(10)


def stall_handler(sock: socket.socket) -> None:
    sock.recv(4096)
    time.sleep(3)


def oversized_handler(sock: socket.socket) -> None:
    sock.recv(4096)
    sock.sendall(b"\x16\x03\x03\xff\xff" + b"\x00" * 1024)


def ssh_banner_only_handler(banner: bytes) -> Handler:
    def handle(sock: socket.socket) -> None:
        sock.sendall(banner)
        sock.recv(1024)

    return handle


@contextlib.contextmanager
def serving(handler: Handler) -> Iterator[LoopbackServer]:
    with LoopbackServer(handler) as server:
        yield server


class ConnectionLimitingProxy(_Listener):
    """A TCP proxy on 127.0.0.1 in front of a real server, as a per-client connection limit
    (nginx limit_conn, HAProxy maxconn, iptables connlimit with a reset) behaves: it relays at
    most `limit` connections at once and resets every other one as soon as it is accepted.
    With `total`, it relays that many connections in all and resets every later one, as a
    per-client quota does. `relayed` and `reset` count what it did."""

    def __init__(self, upstream_port: int, limit: int, total: int | None = None) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.limit = limit
        self.total = total
        self.relayed = 0
        self.reset = 0
        self._open = 0
        self._lock = threading.Lock()

    def _admit(self) -> bool:
        with self._lock:
            spent = self.total is not None and self.relayed >= self.total
            if self._open >= self.limit or spent:
                self.reset += 1
                return False
            self._open += 1
            self.relayed += 1
            return True

    def _accepted(self, client: socket.socket) -> None:
        if self._admit():
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()
            return
        # Linger 0: close sends a TCP reset, as a limiter refusing the connection does.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()

    def _relay(self, client: socket.socket) -> None:
        try:
            with client, socket.create_connection(("127.0.0.1", self.upstream_port), 5) as server:
                pipes = {client: server, server: client}
                for sock in pipes:
                    sock.setblocking(False)
                while not self._stop.is_set():
                    readable = select.select(list(pipes), [], [], 0.2)[0]
                    if any(not self._pass(sock, pipes[sock]) for sock in readable):
                        return
        except OSError:
            return
        finally:
            with self._lock:
                self._open -= 1

    @staticmethod
    def _pass(source: socket.socket, sink: socket.socket) -> bool:
        try:
            data = source.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        if not data:
            return False
        sink.setblocking(True)
        sink.sendall(data)
        sink.setblocking(False)
        return True

    def __enter__(self) -> ConnectionLimitingProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def limited(
    handler: Handler, limit: int, total: int | None = None
) -> Iterator[ConnectionLimitingProxy]:
    """A real server behind a connection-limiting proxy; connect to the proxy's port."""
    with (
        LoopbackServer(handler) as server,
        ConnectionLimitingProxy(server.port, limit, total) as proxy,
    ):
        yield proxy
