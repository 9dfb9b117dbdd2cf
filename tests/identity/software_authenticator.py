"""A software authenticator and browser in one, following the WebAuthn spec: it makes real P-256
keys, "none" attestation and ECDSA-signed assertions, so the server's verification runs for real.
Unlike a browser it signs for any origin or relying party id it is told to, which is how the
hostile tests forge answers a browser would never produce."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    counter: int = 0

    @property
    def id_text(self) -> str:
        return b64url(self.credential_id)


@dataclass
class SoftwareAuthenticator:
    origin: str
    # How much the signature counter grows per use; 0 for authenticators that keep none.
    counter_step: int = 1
    credentials: list[Credential] = field(default_factory=list)

    def create(
        self, options_json: str, *, origin: str | None = None, rp_id: str | None = None
    ) -> str:
        """navigator.credentials.create() with these options; the answer as the page sends it."""
        options = json.loads(options_json)
        rp_id = rp_id or options["rp"]["id"]
        credential = Credential(os.urandom(32), ec.generate_private_key(ec.SECP256R1()), rp_id)
        self.credentials.append(credential)
        numbers = credential.key.public_key().public_numbers()
        cose_key = {
            1: 2,  # kty: EC2
            3: -7,  # alg: ES256
            -1: 1,  # crv: P-256
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        attested = (
            bytes(16)  # AAGUID: none
            + len(credential.credential_id).to_bytes(2, "big")
            + credential.credential_id
            + cbor2.dumps(cose_key)
        )
        auth_data = self._auth_data(rp_id, FLAG_UP | FLAG_UV | FLAG_AT, credential.counter)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data + attested})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["usb", "carrier-pigeon"],
                },
            }
        )

    def get(
        self,
        options_json: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
        credential: Credential | None = None,
    ) -> str:
        """navigator.credentials.get(): the first of our credentials the options allow, signed."""
        options = json.loads(options_json)
        allowed = {item["id"] for item in options.get("allowCredentials", [])}
        if credential is None:
            credential = next(c for c in self.credentials if b64url(c.credential_id) in allowed)
        if counter is None:
            credential.counter += self.counter_step
            counter = credential.counter
        auth_data = self._auth_data(rp_id or options["rpId"], FLAG_UP | FLAG_UV, counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = credential.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                },
            }
        )

    @staticmethod
    def _auth_data(rp_id: str, flags: int, counter: int) -> bytes:
        rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + counter.to_bytes(4, "big")

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}, separators=(",", ":")).encode()
