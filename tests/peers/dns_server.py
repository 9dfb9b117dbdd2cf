"""A real DNS server on loopback (UDP) that gives a different answer to each query for a
name: the attacker's resolver in a DNS-rebinding attack."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.message
import dns.rdatatype
import dns.rrset


@dataclass
class RebindingDns:
    name: str
    # Answers in turn, one per A query; the last one repeats.
    answers: list[str]
    queries: list[str] = field(default_factory=list)
    port: int = 0

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        reply = dns.message.make_response(query)
        question = query.question[0]
        asked = question.name.to_text().rstrip(".")
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append(f"{kind} {asked}")
        if asked == self.name and kind == "A":
            address = self.answers[min(len(self.queries_for("A")) - 1, len(self.answers) - 1)]
            reply.answer.append(dns.rrset.from_text(question.name, 0, "IN", "A", address))
        return reply.to_wire()

    def queries_for(self, kind: str) -> list[str]:
        return [q for q in self.queries if q.startswith(f"{kind} ")]


@contextmanager
def serving_dns(server: RebindingDns) -> Iterator[RebindingDns]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    server.port = sock.getsockname()[1]
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            try:
                wire, client = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(server.answer(wire), client)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join(timeout=2)
        sock.close()
