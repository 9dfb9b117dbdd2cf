"""Each kind's report details as the checks wrote them before their results were typed, and as
stored runs still hold them (CheckRun.result["details"]): the typed results must read these and
write them back unchanged."""

from __future__ import annotations

from typing import Any

CERTIFICATE = {
    "subject": "CN=portal.example",
    "issuer": "CN=Example Issuing CA",
    "not_after": "2027-03-01T12:00:00+00:00",
    "key_type": "EC secp256r1",
    "key_bits": 256,
    "key_class": "quantum-vulnerable",
    "signature_algorithm": "ecdsa-with-SHA256",
    "signature_class": "quantum-vulnerable",
    "not_before": "2026-03-01T12:00:00+00:00",
    "key_security_bits": 128,
    "key_oid": "1.2.840.10045.2.1",
    "signature_oid": "1.2.840.10045.4.3.2",
}

TLS: dict[str, Any] = {
    "address": "192.0.2.10",
    "groups": [
        {
            "name": "X25519MLKEM768",
            "code": 0x11EC,
            "algorithm_class": "hybrid",
            "obsolete": False,
            "supported": True,
            "answer": "server_hello",
            "support": "supported",
        },
        {
            "name": "X25519",
            "code": 0x001D,
            "algorithm_class": "quantum-vulnerable",
            "obsolete": False,
            "supported": False,
            "answer": "named 0x11EC instead",
            "support": "not-supported",
        },
    ],
    "versions": {"TLSv1.3": True, "TLSv1.2": True, "TLSv1.1": False, "TLSv1.0": False},
    "handshake": {
        "ok": True,
        "group": "X25519MLKEM768",
        "protocol": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384",
        "error": "",
    },
    "certificates": [CERTIFICATE],
    "clients": [
        {
            "client": "browser",
            "label": "Browser (Chrome and Edge 131+, Firefox 132+)",
            "offered": ["X25519MLKEM768", "X25519", "ECDH-P256", "ECDH-P384"],
            "group": "X25519MLKEM768",
            "code": 0x11EC,
            "algorithm_class": "hybrid",
            "protocol": "TLSv1.3",
            "answer": "server_hello",
            "inconclusive": False,
        }
    ],
    "preference": "pq-even-when-classical-first",
    "tls12_suites": [
        {
            "suite_class": "rsa-key-transport",
            "support": "not-supported",
            "suite": None,
            "family": "",
            "protocol": None,
            "answer": "alert 40",
        },
        {
            "suite_class": "ecdhe",
            "support": "supported",
            "suite": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "family": "",
            "protocol": "TLSv1.2",
            "answer": "server_hello",
        },
    ],
    "forward_secrecy_tls12": True,
    "tls13_suites_aead": True,
    "chain": {
        "presented": 1,
        "considered": 1,
        "unreadable": 0,
        "trust_store": "/etc/ssl/certs/ca-certificates.crt",
        "trusted": False,
        "trust_error": "validation failed: candidates exhausted: all candidates exhausted with "
        "no interior errors",
        "path": [],
        "server_name": "portal.example",
        "name_matches": True,
        "names": ["portal.example"],
        "self_signed_leaf": False,
        "in_order": True,
        "complete": False,
        "missing_issuer": "CN=Example Issuing CA",
        "duplicates": 0,
        "unrelated": 0,
        "ocsp": "unverified",
        "ocsp_detail": "the leaf's issuer was not sent and is no anchor, so its signature is "
        "unproven",
        "ocsp_this_update": "2026-05-01T09:00:00+00:00",
        "ocsp_next_update": "2026-05-08T09:00:00+00:00",
        "ocsp_responder_named": True,
    },
    "safeguards": [
        {
            "safeguard": "dh-parameters",
            "verdict": "missing",
            "protocol": "TLSv1.2",
            "answer": "1024-bit prime with TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
            "dh_bits": 1024,
        },
    ],
    "implied": [],
}

SSH: dict[str, Any] = {
    "banner": "SSH-2.0-OpenSSH_9.9",
    "kex_algorithms": [
        {"name": "mlkem768x25519-sha256", "class": "hybrid"},
        {"name": "curve25519-sha256", "class": "quantum-vulnerable"},
    ],
    "host_key_algorithms": [{"name": "ssh-ed25519", "class": "quantum-vulnerable"}],
    "encryption": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
    "mac": ["hmac-sha2-256-etm@openssh.com"],
    "address": "192.0.2.22",
    "extensions": [],
    "strict_kex": False,
    "terrapin": "vulnerable",
    "clients": [
        {
            "client": "openssh-9.0",
            "label": "OpenSSH 9.0 to 9.8",
            "kex": "curve25519-sha256",
            "class": "quantum-vulnerable",
            "post_quantum_capable": True,
        }
    ],
    "host_keys": [
        {
            "algorithm": "ssh-ed25519",
            "key_type": "Ed25519",
            "key_bits": 256,
            "fingerprint": "SHA256:RvV/ByM/84ddG7D+aCr9Z0u2phY9eRu03ozGaD7nVx0",
            "kex": "curve25519-sha256",
            "signature_verified": True,
        }
    ],
    "host_keys_not_read": [
        {"algorithm": "ssh-rsa", "reason": "no answer in time", "attempted": True}
    ],
    "weak_ciphers": [],
    "weak_macs": [],
    "terrapin_exposures": ["chacha20-poly1305@openssh.com"],
    "host_keys_unverified": [],
    "host_certificates": [],
    "dh_groups": [],
}

CERT: dict[str, Any] = {"certificates": [CERTIFICATE]}

JWKS: dict[str, Any] = {
    "keys": [
        {
            "index": 0,
            "kid": "pq-1",
            "kty": "AKP",
            "alg": "ML-DSA-65",
            "crv": None,
            "use": "sig",
            "algorithm": "ML-DSA-65",
            "basis": "JOSE alg ML-DSA-65",
            "class": "quantum-safe",
            "problem": None,
            "private_members": [],
        }
    ]
}

CBOM: dict[str, Any] = {
    "spec_version": "1.6",
    "assets": [
        {
            "bom_ref": "algorithm:RSA-2048",
            "name": "RSA-2048",
            "asset_type": "algorithm",
            "class": "quantum-vulnerable",
            "algorithm": "RSA-2048",
            "basis": "name",
            "nist_category": None,
            "claimed_level": 3,
            "claim": "contradicts",
            "use": "signature",
            "via": [],
            "referenced": False,
        },
        {
            "bom_ref": None,
            "name": "mystery cipher",
            "asset_type": "algorithm",
            "class": "unknown",
            "algorithm": None,
            "basis": "",
            "nist_category": None,
            "claimed_level": None,
            "claim": None,
            "use": None,
            "via": [],
            "referenced": False,
        },
    ],
    "counts": {"quantum-vulnerable": 1, "unknown": 1},
    "readiness": {
        "assets": 2,
        "public_key": 1,
        "unmigrated": 1,
        "migrating": 0,
        "unmigrated_uses": ["signature"],
        "broken": 0,
        "unknown": 1,
        "supplier_claim": 0,
        "confidence": 50.0,
        "points_lost": {
            "unmigrated_public_key": 80.0,
            "migrating_public_key": 0.0,
            "broken": 0.0,
            "unknown": 50.0,
            "supplier_claim": 0.0,
        },
        "capped_at": None,
    },
}

API_LIVE: dict[str, Any] = {
    "completed": True,
    "timed_out": False,
    "operations_tested": 9,
    "operations_total": 10,
    "coverage": 0.9,
    "operations_unanswered": ["DELETE /v1/notes/{note_id}"],
    "seed": 20261126,
    "command": ["st", "run", "openapi.json"],
    "seconds": 12.5,
    "identities": 2,
    "identity_proofs": [
        {
            "identity": "primary",
            "status": "proven",
            "responses": {"200": 12, "401": 1},
            "secured_tried": 4,
            "secured_accepted": 3,
            "secured_refused": 1,
            "accepted_share": 0.75,
            "untested": None,
        },
        {
            "identity": "secondary",
            "status": "refused",
            "responses": {"401": 3},
            "secured_tried": 3,
            "secured_accepted": 0,
            "secured_refused": 3,
            "accepted_share": 0.0,
            "untested": None,
        },
    ],
    "bola_not_tested": "fewer than two identities were proven to work",
    "authz_matrix": {
        "objects": [
            {
                "owner": "primary",
                "path": "/v1/notes/17",
                "operation": "GET /v1/notes/{note_id}",
                "source": "file",
                "status": 200,
                "usable": True,
                "not_usable": None,
            }
        ],
        "cells": [
            {
                "path": "/v1/notes/17",
                "owner": "primary",
                "requester": "anonymous",
                "method": "GET",
                "status": 401,
                "outcome": "refused",
                "note": None,
            }
        ],
        "writes": False,
        "writes_note": "writes change data, so they were not replayed",
        "requests": 4,
        "seconds": 0.2,
        "notes": ["no object of primary was found through a list operation"],
    },
    "not_followed": ["an externalValue was dropped: #/paths/~1notes/post"],
    "unconfirmed": [
        {
            "code": "ST201",
            "operation": "POST /v1/notes",
            "curl": "curl -X POST http://127.0.0.1:8000/v1/notes",
            "reason": "the request sent was valid for the schema",
        }
    ],
    "probes": [
        {
            "probe": "jwt",
            "ran": True,
            "requests": 6,
            "operation": "GET /v1/notes",
            "findings": ["API-PROBE-003"],
            "skipped": None,
            "notes": ["signature removed: 401"],
        },
        {
            "probe": "mass_assignment",
            "ran": False,
            "requests": 0,
            "operation": None,
            "findings": [],
            "skipped": "no identity was proven",
            "notes": [],
        },
    ],
    "stop_reason": "completed",
    "stopped_for_time": False,
    "operations_not_reached": ["DELETE /v1/notes/{note_id}"],
}

API: dict[str, Any] = {
    "openapi_version": "3.1.0",
    "spec_bytes": 4096,
    "operations": 10,
    "gate_failed": ["API-001", "ST401"],
    "verdict": "fail",
    "provisional": False,
    "live": API_LIVE,
}

# Lint only: no live run, so the score is provisional; a gate can fail all the same.
API_LINTED: dict[str, Any] = {**API, "gate_failed": ["API-001"], "provisional": True, "live": None}

WRITTEN: dict[str, dict[str, Any]] = {
    "tls": TLS,
    "ssh": SSH,
    "cert": CERT,
    "jwks": JWKS,
    "cbom": CBOM,
    "api": API,
}


def shape(value: Any) -> Any:
    """The keys of a details dict, nested, without the values: what a reader depends on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "value"
