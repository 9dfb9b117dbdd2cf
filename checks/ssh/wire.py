"""SSH's wire encodings (RFC 4251 section 5): what the probe writes and the bounded reader of what a
server sends. Pure: no I/O."""

from __future__ import annotations

import struct
from collections.abc import Iterable


class SshProtocolError(Exception):
    """The server's answer is not SSH as the probe needs it; `code` is the finding it becomes
    when it ends the whole check."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def string(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


def uint32(value: int) -> bytes:
    return struct.pack("!I", value)


def mpint(value: int) -> bytes:
    """A non-negative integer, big-endian, with a leading zero byte when its top bit is set."""
    if value == 0:
        return string(b"")
    # One byte more than the bits need when they fill whole bytes: the sign byte.
    return string(value.to_bytes(value.bit_length() // 8 + 1, "big"))


def name_list(names: Iterable[str]) -> bytes:
    return string(",".join(names).encode("ascii"))


class WireReader:
    """Reads fields out of one message; running past its end is a protocol error, never an
    IndexError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.offset, self.what = data, 0, what

    def _take(self, count: int) -> bytes:
        if count < 0 or self.offset + count > len(self.data):
            raise SshProtocolError("SSH-005", f"truncated {self.what}")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def byte(self) -> int:
        return self._take(1)[0]

    def uint32(self) -> int:
        (value,) = struct.unpack("!I", self._take(4))
        return value

    def uint64(self) -> int:
        (value,) = struct.unpack("!Q", self._take(8))
        return value

    def string(self) -> bytes:
        return self._take(self.uint32())

    def at_end(self) -> bool:
        return self.offset >= len(self.data)

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise SshProtocolError("SSH-005", f"negative integer in {self.what}")
        return int.from_bytes(raw, "big")

    def name_list(self) -> list[str]:
        text = self.string().decode("ascii", errors="replace")
        return [item for item in text.split(",") if item]

    def skip(self, count: int) -> None:
        self._take(count)
