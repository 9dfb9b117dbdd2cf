"""A TCP relay on 127.0.0.1 in front of a real server that a test can cut (every connection
reset and the port closed: the peer is gone) or stall (connections stay open, nothing moves:
the peer hangs)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class Relay:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.stalled.is_set():
                self._keep(client)  # accepted, never answered
                continue
            server = socket.create_connection(self.upstream)
            self._keep(client, server)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _keep(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.extend(sockets)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        pair = {a: b, b: a}
        while not self.closed.is_set():
            try:
                ready, _, _ = select.select(list(pair), [], [], 0.1)
            except (OSError, ValueError):  # cut() closed the sockets under this select
                return
            if self.stalled.is_set():
                continue
            for source in ready:
                try:
                    data = source.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    pair[source].sendall(data)
                except OSError:
                    return

    def stall(self) -> None:
        self.stalled.set()

    def cut(self) -> None:
        self.closed.set()
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
