"""A TLS run as CycloneDX 1.6 components that a CBOM reader can classify without guessing: each
supported group; the negotiated protocol with its cipher suite, whose algorithms name the group
and the suite's cipher and hash; each certificate with its signature algorithm (by its OID) and
its subject's public key (a key component referring to the key's algorithm)."""

from __future__ import annotations

from typing import Any

from checks.catalogue.certificate_seen import certificate_assets
from checks.catalogue.tls import TlsGroup, TlsResult
from checks.cbom_export import algorithm_component, stored_algorithm_component
from checks.tls.policy import cipher_suites
from pq_crypto.catalogue import algorithm_index

Component = dict[str, Any]


def _by_id(algorithm_id: str) -> Component:
    """An algorithm the run named but did not judge, as the catalogue classifies it."""
    algorithm = algorithm_index().get(algorithm_id)
    return algorithm_component(algorithm.id, algorithm_index().name(algorithm.id), algorithm.usage)


def _protocol(target: str, result: TlsResult) -> list[Component]:
    handshake = result.handshake
    if handshake is None or not handshake.protocol:
        return []
    components: list[Component] = []
    refs: list[str] = []
    group = _negotiated_group(result)
    if group is not None:
        components.append(group)
        refs.append(group["bom-ref"])
    cipher = handshake.cipher or "unknown"
    suite: dict[str, Any] = {"name": cipher}
    known = cipher_suites().named(cipher)
    if known is not None:
        # The run stores the suite's name, not a verdict on its cipher and hash: the catalogue
        # classifies those.
        components += [_by_id(algorithm) for algorithm in known.algorithms]
        suite = {
            "name": known.name,
            "identifiers": [f"0x{known.code >> 8:02X}", f"0x{known.code & 0xFF:02X}"],
        }
        refs += [f"algorithm:{algorithm}" for algorithm in known.algorithms]
    if refs:
        suite["algorithms"] = refs
    certificates = [f"certificate:{target}:{n}" for n in range(len(result.certificates))]
    properties: dict[str, Any] = {
        "type": "tls",
        "version": handshake.protocol.removeprefix("TLSv"),
        "cipherSuites": [suite],
    }
    related = refs[:1] + certificates if group is not None else certificates
    if related:
        properties["cryptoRefArray"] = related
    components.append(
        {
            "type": "cryptographic-asset",
            "bom-ref": f"protocol:{target}",
            "name": f"{handshake.protocol} at {target}",
            "cryptoProperties": {"assetType": "protocol", "protocolProperties": properties},
        }
    )
    return components


def _group(group: TlsGroup) -> Component:
    """A probed group with the class the run stored; the catalogue adds only what the run did
    not store (its usage, NIST category and OID), and only when it still agrees on the class."""
    index = algorithm_index()
    today = index.tls_group(group.code)
    usage = index.get(today.algorithm_id).usage if today.algorithm_id else "kem"
    return stored_algorithm_component(group.name, group.algorithm_class, today, usage)


def _negotiated_group(result: TlsResult) -> Component | None:
    """The handshake's group: as its probe stored it, or, when no probe did (a run stored before
    the probes named every group), as the catalogue names it; None when neither knows it."""
    name = result.handshake.group if result.handshake else None
    probed = next((group for group in result.groups if group.name == name), None)
    if probed is not None:
        return _group(probed)
    known = algorithm_index().name(name or "").algorithm_id
    return _by_id(known) if known is not None else None


def tls_components(target: str, result: TlsResult) -> list[Component]:
    """The groups the endpoint supports, the protocol it negotiated and its certificates, each
    component once, with the classes the run stored."""
    components: list[Component] = [_group(group) for group in result.groups if group.supported]
    components += _protocol(target, result)
    components += certificate_assets(target, result.certificates)
    unique: dict[str, Component] = {}
    for component in components:
        unique.setdefault(component["bom-ref"], component)
    return list(unique.values())
