"""TLS 1.2 cipher suites by class: one ClientHello per class, so a handful of connections tell
which kinds of suite the server accepts. RSA key transport (TLS_RSA_WITH_*) has no forward
secrecy: a recorded session falls to whoever later breaks or obtains the server's RSA key, ML-KEM
in TLS 1.3 notwithstanding. CBC suites are legacy (padding-oracle history, no AEAD); 3DES, RC4,
NULL, EXPORT and anonymous suites are broken. Every TLS 1.3 suite is AEAD (RFC 8446 B.4)."""

from __future__ import annotations

from checks.catalogue.tls import SuiteClass

# IANA code -> (IANA name, weak family or "" when not weak)
SUITES: dict[int, tuple[str, str]] = {
    0x009C: ("TLS_RSA_WITH_AES_128_GCM_SHA256", ""),
    0x009D: ("TLS_RSA_WITH_AES_256_GCM_SHA384", ""),
    0x002F: ("TLS_RSA_WITH_AES_128_CBC_SHA", ""),
    0x0035: ("TLS_RSA_WITH_AES_256_CBC_SHA", ""),
    0x003C: ("TLS_RSA_WITH_AES_128_CBC_SHA256", ""),
    0x003D: ("TLS_RSA_WITH_AES_256_CBC_SHA256", ""),
    0xC02B: ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", ""),
    0xC02F: ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ""),
    0xC02C: ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", ""),
    0xC030: ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ""),
    0xCCA9: ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", ""),
    0xCCA8: ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ""),
    0xC009: ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", ""),
    0xC013: ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", ""),
    0xC00A: ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", ""),
    0xC014: ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", ""),
    0xC023: ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", ""),
    0xC027: ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", ""),
    0xC024: ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", ""),
    0xC028: ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", ""),
    0x009E: ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", ""),
    0x009F: ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", ""),
    0xCCAA: ("TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ""),
    0x0033: ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA", ""),
    0x0039: ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA", ""),
    0x0067: ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", ""),
    0x006B: ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", ""),
    0x000A: ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0x0016: ("TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0xC008: ("TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0xC012: ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "3DES"),
    0x0004: ("TLS_RSA_WITH_RC4_128_MD5", "RC4"),
    0x0005: ("TLS_RSA_WITH_RC4_128_SHA", "RC4"),
    0xC007: ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "RC4"),
    0xC011: ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", "RC4"),
    0x0001: ("TLS_RSA_WITH_NULL_MD5", "NULL"),
    0x0002: ("TLS_RSA_WITH_NULL_SHA", "NULL"),
    0x003B: ("TLS_RSA_WITH_NULL_SHA256", "NULL"),
    0xC006: ("TLS_ECDHE_ECDSA_WITH_NULL_SHA", "NULL"),
    0xC010: ("TLS_ECDHE_RSA_WITH_NULL_SHA", "NULL"),
    0x0003: ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXPORT"),
    0x0006: ("TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "EXPORT"),
    0x0008: ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXPORT"),
    0x0014: ("TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXPORT"),
    0x0034: ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "anon"),
    0x003A: ("TLS_DH_anon_WITH_AES_256_CBC_SHA", "anon"),
    0x00A6: ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", "anon"),
    0x00A7: ("TLS_DH_anon_WITH_AES_256_GCM_SHA384", "anon"),
    0xC018: ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "anon"),
    0xC019: ("TLS_ECDH_anon_WITH_AES_256_CBC_SHA", "anon"),
}

_CBC = (0xC009, 0xC013, 0xC00A, 0xC014, 0xC023, 0xC027, 0xC024, 0xC028)
_CBC += (0x002F, 0x0035, 0x003C, 0x003D, 0x0033, 0x0039, 0x0067, 0x006B)

# What each class's probe offers, and nothing else: the server either picks one of them or says
# no. The CBC probe offers no weak suite, the weak probe every weak one.
OFFERED: dict[SuiteClass, tuple[int, ...]] = {
    SuiteClass.RSA_KEY_TRANSPORT: (0x009C, 0x009D, 0x003C, 0x003D, 0x002F, 0x0035),
    SuiteClass.ECDHE: tuple(c for c in SUITES if 0xC000 <= c < 0xCCAA and not SUITES[c][1]),
    SuiteClass.DHE: (0x009E, 0x009F, 0xCCAA, 0x0067, 0x006B, 0x0033, 0x0039),
    SuiteClass.CBC: _CBC,
    SuiteClass.WEAK: tuple(c for c, (_, family) in SUITES.items() if family),
}

TLS13_AEAD = frozenset({0x1301, 0x1302, 0x1303, 0x1304, 0x1305})  # all there are


def suite_name(code: int) -> str:
    return SUITES.get(code, (f"0x{code:04X}", ""))[0]


def weak_family(code: int) -> str:
    return SUITES.get(code, ("", ""))[1]
