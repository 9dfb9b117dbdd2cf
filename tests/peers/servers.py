"""Real servers on loopback for check tests: TLS on OpenSSL 4 (pyOpenSSL), TLS on the system
OpenSSL 3.0 (stdlib ssl), and misbehaving endpoints. Each runs in threads and stops itself."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from OpenSSL import SSL
from OpenSSL._util import lib as _openssl

Handler = Callable[[socket.socket], None]


class LoopbackServer:
    """Accepts on 127.0.0.1 and hands each connection to `handler` in its own thread."""

    def __init__(self, handler: Handler, backlog: int = 256) -> None:
        self.handler = handler
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        # A pool, not a thread per connection: the peer should cost little next to the client.
        self._workers = ThreadPoolExecutor(max_workers=32)

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self._workers.submit(self._handle, connection)

    def _handle(self, connection: socket.socket) -> None:
        with contextlib.suppress(Exception), connection:
            connection.settimeout(5)
            self.handler(connection)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.listener.close()
        self._workers.shutdown(wait=False, cancel_futures=True)


def pyopenssl_handler(cert: Path, key: Path, groups: str | None = None) -> Handler:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    if groups is not None:
        assert _openssl.SSL_CTX_set1_curves_list(context._context, groups.encode()) == 1
    context.use_certificate_file(str(cert))
    context.use_privatekey_file(str(key))

    def handle(sock: socket.socket) -> None:
        sock.setblocking(True)
        connection = SSL.Connection(context, sock)
        connection.set_accept_state()
        connection.do_handshake()
        with contextlib.suppress(SSL.Error):
            connection.shutdown()

    return handle


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
