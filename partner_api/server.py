"""How uvicorn serves the partner API: its options, and an HTTP protocol that bounds the time a
client may take to send a request's line and headers.

uvicorn (checked at 0.55) has no such bound: `timeout_keep_alive` only starts once a response is
complete, and `h11_max_incomplete_event_size` bounds the size of the headers, not their time. A
client that opens a connection and sends nothing, or a request line a byte at a time
(slowloris), would otherwise hold its socket for as long as it likes.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Seconds from a connection's first moment (or a kept-alive connection's next byte) until its
# request line and headers must be complete.
HEADER_READ_TIMEOUT = 10.0
# Seconds an idle kept-alive connection stays open after a response (uvicorn's default).
KEEP_ALIVE_TIMEOUT = 5


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers are not complete
    within `header_timeout` seconds. The clock starts when the connection is made and again
    with the first byte of each later request; it stops once the headers are in, so a slow
    endpoint or a large body is not cut short by it."""

    header_timeout: ClassVar[float] = HEADER_READ_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_clock()

    def data_received(self, data: bytes) -> None:
        if self.header_timer is None and self.conn.their_state is h11.IDLE:
            # The first byte of the next request on a kept-alive connection.
            self._start_header_clock()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._stop_header_clock()
        elif self.header_timer is None:
            # The cycle ended inside this read (a response sent before its request's body was
            # all in) and what followed may be the start of the next request's headers.
            self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def _start_header_clock(self) -> None:
        self._stop_header_clock()
        self.header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _stop_header_clock(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_too_slow(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing():
            self.logger.info(
                "closing a connection from %s: no complete request headers in %s s",
                self.client[0] if self.client else "unknown",
                self.header_timeout,
            )
            self.transport.close()


def server_options() -> dict[str, Any]:
    """uvicorn.Config / uvicorn.run keyword arguments shared by `assure api` and the tests."""
    return {
        "http": HeaderTimeoutProtocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        # Behind a TLS-terminating proxy the client address comes from it; not trusted here.
        "proxy_headers": False,
        "server_header": False,
        "date_header": True,
        "access_log": False,
    }
