"""Just enough of a key exchange to read the server's host key: the client's half of curve25519,
NIST ECDH and Diffie-Hellman (fixed group 14 and group exchange), the server's reply, and the
exchange hash its signature covers (RFC 4253 8, RFC 4419, RFC 5656 4, RFC 8731). No keys are
derived and no authentication is attempted: the probe disconnects after the reply."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from checks.ssh.curves import SSH_CURVES, ssh_curve
from checks.ssh.transport import NAME_LISTS, KexInit, SshConnection, kexinit_payload
from checks.ssh.wire import SshProtocolError, WireReader, mpint, string, uint32

SSH_MSG_KEXDH_INIT = 30  # also KEX_ECDH_INIT
SSH_MSG_KEXDH_REPLY = 31  # also KEX_ECDH_REPLY and KEX_DH_GEX_GROUP
SSH_MSG_KEX_DH_GEX_INIT = 32
SSH_MSG_KEX_DH_GEX_REPLY = 33
SSH_MSG_KEX_DH_GEX_REQUEST = 34
# Group exchange sizes asked for: down to 1024 bits so that old servers still answer and a
# server that would hand a client a weak group shows it (SSH-013), preferring 2048 as OpenSSH
# clients do, up to RFC 8270's 8192.
GEX_MIN, GEX_WANTED, GEX_MAX = 1024, 2048, 8192
# RFC 3526's 2048-bit MODP group (Oakley group 14; OpenSSL's modp_2048), generator 2.
GROUP14_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)
GROUP14_G = 2


@dataclass(frozen=True)
class KexReply:
    kex: str  # the key exchange that carried it
    host_key: bytes  # K_S, the host key blob
    signature: bytes  # the signature blob over the exchange hash
    exchange_hash: bytes


def _ecdh(curve: ec.EllipticCurve) -> Callable[[], tuple[bytes, Callable[[bytes], int]]]:
    def start() -> tuple[bytes, Callable[[bytes], int]]:
        private = ec.generate_private_key(curve)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

        def shared(server: bytes) -> int:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, server)
            return int.from_bytes(private.exchange(ec.ECDH(), peer), "big")

        return public, shared

    return start


def _x25519() -> tuple[bytes, Callable[[bytes], int]]:
    private = x25519.X25519PrivateKey.generate()

    def shared(server: bytes) -> int:
        peer = x25519.X25519PublicKey.from_public_bytes(server)
        return int.from_bytes(private.exchange(peer), "big")

    return private.public_key().public_bytes_raw(), shared


ECDH_METHODS = {
    "curve25519-sha256": (_x25519, hashlib.sha256),
    "curve25519-sha256@libssh.org": (_x25519, hashlib.sha256),
    **{
        f"ecdh-sha2-{name}": (_ecdh(curve.curve), curve.hashlib_digest)
        for name in SSH_CURVES
        if (curve := ssh_curve(name)) is not None
    },
}
GEX_METHODS = {
    "diffie-hellman-group-exchange-sha256": hashlib.sha256,
    "diffie-hellman-group-exchange-sha1": hashlib.sha1,
}
GROUP14_METHODS = {
    "diffie-hellman-group14-sha256": hashlib.sha256,
    "diffie-hellman-group14-sha1": hashlib.sha1,
}
# The probe's own preference: it only needs one of these in common with the server.
PROBE_KEX = (*ECDH_METHODS, *GEX_METHODS, *GROUP14_METHODS)


NOTHING_IN_COMMON = "no key exchange in common with the probe (curve25519, ECDH or DH)"


def probe_kex(server: KexInit) -> str | None:
    """The key exchange the probe runs with this server: the first of its own it offers."""
    return next((name for name in PROBE_KEX if name in server.lists["kex_algorithms"]), None)


def read_host_key(connection: SshConnection, server: KexInit, host_key_algorithm: str) -> KexReply:
    """On a connection that has read the server's KEXINIT: offer one host key algorithm and the
    server's own ciphers, MACs and compression (so nothing but the host key can fail to match),
    run the key exchange and return the server's reply."""
    kex = probe_kex(server)
    if kex is None:
        raise SshProtocolError("SSH-005", NOTHING_IN_COMMON)
    client_kexinit = _send_kexinit(connection, server, list(PROBE_KEX), [host_key_algorithm])
    prefix = b"".join(
        string(part)
        for part in (
            connection.client_banner,
            connection.server_banner,
            client_kexinit,
            server.payload,
        )
    )
    if kex in ECDH_METHODS:
        return _ecdh_exchange(connection, kex, prefix)
    if kex in GEX_METHODS:
        return _gex_exchange(connection, kex, prefix)
    return _group14_exchange(connection, kex, prefix)


def _send_kexinit(
    connection: SshConnection, server: KexInit, kex: list[str], host_key_algorithms: list[str]
) -> bytes:
    """Send a KEXINIT with these key exchanges and host key algorithms and the server's own
    ciphers, MACs and compression (so nothing else can fail to match); return it as sent."""
    lists = {name: server.lists[name] for name in NAME_LISTS}
    lists["kex_algorithms"] = kex
    lists["server_host_key_algorithms"] = host_key_algorithms
    payload = kexinit_payload(lists)
    connection.send(payload)
    return payload


@dataclass(frozen=True)
class GexGroup:
    """The group a server handed out for a group exchange request, and how it breaks RFC 4419
    ("" when it does not). Only cheap sanity is checked: p's primality is not tested."""

    p: int
    g: int
    violation: str

    @property
    def bits(self) -> int:
        return self.p.bit_length()


def _unpadded(raw: bytes) -> int | None:
    """An mpint's value when its encoding is canonical (RFC 4251 5: no needless leading zero or
    0xff byte, not negative); None otherwise, since its length then says nothing of its size."""
    if not raw or raw[0] & 0x80 or (raw[0] == 0 and (len(raw) == 1 or not raw[1] & 0x80)):
        return None
    return int.from_bytes(raw, "big")


def read_gex_group(group: WireReader) -> GexGroup:
    """SSH_MSG_KEX_DH_GEX_GROUP's p and g, judged as an OpenSSH client judges them before it
    goes on (dh.c, kexgexc.c): within the sizes asked for, an odd p, 1 < g < p - 1."""
    raw_p, raw_g = group.string(), group.string()
    p, g = _unpadded(raw_p), _unpadded(raw_g)
    if p is None or g is None:
        what = "p" if p is None else "g"
        return GexGroup(p or 0, g or 0, f"{what} is not a canonical positive mpint")
    bits = p.bit_length()
    if not GEX_MIN <= bits <= GEX_MAX:
        violation = f"{bits} bits, outside the {GEX_MIN} to {GEX_MAX} asked for"
    elif not p % 2:
        violation = "an even p, which is no prime"
    elif not 1 < g < p - 1:
        violation = "a generator outside 2 to p-2"
    else:
        violation = ""
    return GexGroup(p, g, violation)


def request_gex_group(connection: SshConnection, server: KexInit, kex: str) -> GexGroup:
    """On a connection that has read the server's KEXINIT: start this group exchange, ask for a
    group as a current client would (RFC 4419 3: 1024 to 8192 bits, preferring 2048) and return
    the group the server picks. Harmless: the probe goes no further than the group."""
    _send_kexinit(connection, server, [kex], server.lists["server_host_key_algorithms"])
    sizes = uint32(GEX_MIN) + uint32(GEX_WANTED) + uint32(GEX_MAX)
    connection.send(bytes([SSH_MSG_KEX_DH_GEX_REQUEST]) + sizes)
    return read_gex_group(_expect(connection, SSH_MSG_KEXDH_REPLY, "DH group"))


def _expect(connection: SshConnection, number: int, what: str) -> WireReader:
    payload = connection.receive()
    if payload[0] != number:
        raise SshProtocolError("SSH-005", f"expected {what}, got message {payload[0]}")
    return WireReader(payload[1:], what)


def _ecdh_exchange(connection: SshConnection, kex: str, prefix: bytes) -> KexReply:
    start, digest = ECDH_METHODS[kex]
    client_public, shared = start()
    connection.send(bytes([SSH_MSG_KEXDH_INIT]) + string(client_public))
    reply = _expect(connection, SSH_MSG_KEXDH_REPLY, "ECDH reply")
    host_key, server_public, signature = reply.string(), reply.string(), reply.string()
    try:
        secret = shared(server_public)
    except ValueError as exc:
        raise SshProtocolError("SSH-005", f"unusable server ECDH key: {exc}") from exc
    hashed = prefix + string(host_key) + string(client_public) + string(server_public)
    return KexReply(kex, host_key, signature, digest(hashed + mpint(secret)).digest())


def _dh_reply(
    connection: SshConnection, number: int, p: int, g: int
) -> tuple[int, bytes, int, bytes, int]:
    """Send e = g^x mod p, read K_S, f and the signature; K = f^x mod p."""
    x = secrets.randbelow(2**512) + 2
    e = pow(g, x, p)
    connection.send(bytes([number]) + mpint(e))
    reply = _expect(connection, number + 1, "DH reply")
    host_key, f, signature = reply.string(), reply.mpint(), reply.string()
    if not 1 < f < p - 1:
        raise SshProtocolError("SSH-005", "the server's DH value is out of range")
    return e, host_key, f, signature, pow(f, x, p)


def _group14_exchange(connection: SshConnection, kex: str, prefix: bytes) -> KexReply:
    e, host_key, f, signature, secret = _dh_reply(
        connection, SSH_MSG_KEXDH_INIT, GROUP14_P, GROUP14_G
    )
    hashed = prefix + string(host_key) + mpint(e) + mpint(f) + mpint(secret)
    return KexReply(kex, host_key, signature, GROUP14_METHODS[kex](hashed).digest())


def _gex_exchange(connection: SshConnection, kex: str, prefix: bytes) -> KexReply:
    sizes = uint32(GEX_MIN) + uint32(GEX_WANTED) + uint32(GEX_MAX)
    connection.send(bytes([SSH_MSG_KEX_DH_GEX_REQUEST]) + sizes)
    group = read_gex_group(_expect(connection, SSH_MSG_KEXDH_REPLY, "DH group"))
    if group.violation:
        raise SshProtocolError("SSH-005", f"unusable DH group: {group.violation}")
    p, g = group.p, group.g
    e, host_key, f, signature, secret = _dh_reply(connection, SSH_MSG_KEX_DH_GEX_INIT, p, g)
    hashed = prefix + string(host_key) + sizes + mpint(p) + mpint(g)
    hashed += mpint(e) + mpint(f) + mpint(secret)
    return KexReply(kex, host_key, signature, GEX_METHODS[kex](hashed).digest())
