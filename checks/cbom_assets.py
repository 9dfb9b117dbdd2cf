"""Every cryptographic asset of a CBOM, classified.

An algorithm is classified by what it says of itself (name, OID, parameter set, curve) against
the algorithm policy. The policy decides for every algorithm it knows: the CBOM's own
nistQuantumSecurityLevel is the supplier's claim, compared with the policy (a contradiction is a
finding) and used only for an algorithm the policy does not know. Keys, certificates and
protocols name their algorithm by reference (checks/cbom_graph.py), and take the worst their
references reach; one that reaches none is classified by its own name, or stays unknown with why.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from checks.catalogue.cbom import CbomAsset, Claim
from checks.cbom_graph import MAX_REFERENCE_DEPTH, Unresolved, Verdict, resolve_references
from checks.cbom_policy import cbom_policy
from pq_crypto.catalogue import UNKNOWN, AlgorithmClass, Classification, algorithm_index
from pq_crypto.names import Described, resolve, with_key_size

KEY_ESTABLISHMENT, SIGNATURE = "key-establishment", "signature"
USAGE_USE = {"kem": KEY_ESTABLISHMENT, "key-agreement": KEY_ESTABLISHMENT, "signature": SIGNATURE}
# What the CBOM's primitive says a public-key algorithm is used for: RSA's catalogue usage is
# signature, but "pke" RSA transports keys.
PRIMITIVE_USE = {
    "kem": KEY_ESTABLISHMENT,
    "key-agree": KEY_ESTABLISHMENT,
    "pke": KEY_ESTABLISHMENT,
    "signature": SIGNATURE,
}
RESISTANT = {AlgorithmClass.QUANTUM_SAFE, AlgorithmClass.HYBRID}
UNRESOLVED_REASON = {
    Unresolved.TOO_DEEP: f"its algorithm is more than {MAX_REFERENCE_DEPTH} references away",
    Unresolved.CYCLE: "its references go round a cycle without reaching an algorithm",
    Unresolved.DEAD_END: "its references lead to no algorithm",
}


def crypto_components(document: dict[str, Any]) -> list[dict[str, Any]]:
    # A deque: list.pop(0) is quadratic, half a second of copying at the 100,000 allowed.
    found, queue = [], deque(document.get("components", []))
    while queue:
        component = queue.popleft()
        found.append(component)
        queue.extend(component.get("components", []))
    return [c for c in found if c.get("type") == "cryptographic-asset"]


def _strings(value: Any) -> Iterator[str]:
    """The strings in a ref or a list of refs; anything else the schema let through is skipped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))


def _related(properties: dict[str, Any]) -> Iterator[str]:
    for related in properties.get("relatedCryptographicAssets") or []:  # CycloneDX 1.7
        if isinstance(related, dict):
            yield from _strings(related.get("ref"))


def own_references(crypto: dict[str, Any]) -> list[str]:
    """The bom-refs an asset names in its own properties (not its securedBy: that is what
    protects a key, not what the key is)."""
    refs: list[str] = []
    certificate = crypto.get("certificateProperties") or {}
    for key in ("signatureAlgorithmRef", "subjectPublicKeyRef"):
        refs += _strings(certificate.get(key))
    refs += _related(certificate)
    material = crypto.get("relatedCryptoMaterialProperties") or {}
    refs += _strings(material.get("algorithmRef"))
    refs += _related(material)
    protocol = crypto.get("protocolProperties") or {}
    for suite in protocol.get("cipherSuites") or []:
        if isinstance(suite, dict):
            refs += _strings(suite.get("algorithms"))
    refs += _strings(protocol.get("cryptoRefArray"))
    transforms = protocol.get("ikev2TransformTypes") or {}
    for value in transforms.values() if isinstance(transforms, dict) else []:
        refs += _strings(value)
    refs += _related(protocol)
    return refs


def dependency_references(document: dict[str, Any]) -> dict[str, list[str]]:
    """`dependencies`: what each ref depends on, and (CycloneDX 1.6) what it provides."""
    found: dict[str, list[str]] = {}
    for entry in document.get("dependencies") or []:
        if isinstance(entry, dict) and isinstance(entry.get("ref"), str):
            targets = found.setdefault(entry["ref"], [])
            targets += _strings(entry.get("dependsOn"))
            targets += _strings(entry.get("provides"))
    return found


@dataclass(frozen=True)
class _Algorithm:
    verdict: Verdict
    claimed_level: int | None
    claim: Claim | None


def _use(classification: Classification, primitive: str) -> str | None:
    if classification.algorithm_id is None:  # known only by a claim: the primitive is all
        return PRIMITIVE_USE.get(primitive)
    use = USAGE_USE.get(algorithm_index().get(classification.algorithm_id).usage)
    return PRIMITIVE_USE.get(primitive, use) if use else None


def _claim(classification: Classification, level: int) -> Claim:
    if classification.algorithm_class not in RESISTANT:
        return Claim.AGREES if level == 0 else Claim.CONTRADICTS
    category = classification.nist_category
    # A family's own entry has its weakest member's category: a higher claim may be right.
    family = classification.algorithm_id in algorithm_index().families
    if level == 0 or (category is not None and not family and level > category):
        return Claim.CONTRADICTS
    return Claim.AGREES


def classify_algorithm(component: dict[str, Any]) -> _Algorithm:
    crypto = component.get("cryptoProperties") or {}
    properties = crypto.get("algorithmProperties") or {}
    name = str(component.get("name") or "")
    described = Described(
        name=name,
        oid=str(crypto.get("oid") or ""),
        parameter=str(properties.get("parameterSetIdentifier") or ""),
        curve=str(properties.get("curve") or ""),
    )
    classification = resolve(described)
    primitive = str(properties.get("primitive") or "")
    level = properties.get("nistQuantumSecurityLevel")
    if not isinstance(level, int) or isinstance(level, bool):
        level = None
    claim = None
    if classification.algorithm_class is AlgorithmClass.UNKNOWN:
        why = cbom_policy().placeholder(name) if not described.oid else None
        if why:
            classification = replace(classification, basis=f"name {name!r}: {why}")
        if level is not None:
            claim = Claim.SUPPLIER_CLAIM
            classification = Classification(
                None,
                AlgorithmClass.QUANTUM_SAFE if level >= 1 else AlgorithmClass.QUANTUM_VULNERABLE,
                nist_category=level if 1 <= level <= 5 else None,
                basis=f"the supplier's claim, nistQuantumSecurityLevel {level}: the algorithm "
                f"policy does not know it ({classification.basis})",
            )
    elif level is not None:
        claim = _claim(classification, level)
    verdict = Verdict(classification, _use(classification, primitive))
    return _Algorithm(verdict, level, claim)


def classify_assets(document: dict[str, Any]) -> list[CbomAsset]:
    components = crypto_components(document)
    refs = [str(c.get("bom-ref") or "") for c in components]
    node_of: dict[str, int] = {}
    for node, ref in enumerate(refs):
        if ref:
            node_of.setdefault(ref, node)
    depends = dependency_references(document)
    algorithms: dict[int, _Algorithm] = {}
    links: list[Sequence[int]] = []
    named: list[Sequence[str]] = []
    own: list[Verdict | None] = []
    for node, component in enumerate(components):
        crypto = component.get("cryptoProperties") or {}
        if crypto.get("assetType") == "algorithm":
            # An algorithm decides by itself: what it depends on (Ed25519 on SHA-512) does not
            # change its class. One shared empty tuple, not a list per algorithm.
            algorithms[node] = classify_algorithm(component)
            named.append(())
            links.append(())
            own.append(algorithms[node].verdict)
            continue
        # Dependencies are keyed by bom-ref; a repeated ref keeps them for its first asset.
        extra = depends.get(refs[node], []) if node_of.get(refs[node]) == node else []
        names = own_references(crypto) + extra
        named.append(names)
        links.append([node_of[r] for r in names if r in node_of])
        own.append(None if names else _by_own_name(component))
    verdicts, unresolved = resolve_references(refs, links, own, _adapter(components))
    # What something refers to is in use; an algorithm nothing names is only listed.
    referenced = {ref for names in named for ref in names}
    # An algorithm's own dependencies (ML-KEM on SHA3) are what it is built from, not a use of it.
    built_from = {refs[node] for node in algorithms}
    for source, targets in depends.items():
        if source not in built_from:
            referenced.update(t for t in targets if t != source)
    rows = []
    for node, component in enumerate(components):
        crypto = component.get("cryptoProperties") or {}
        verdict = verdicts[node] or _by_own_name(component)
        if verdict is None:
            verdict = Verdict(
                replace(UNKNOWN, basis=_why_unknown(node, named, node_of, unresolved))
            )
        elif verdict.via:
            first = components[node_of[verdict.via[0]]].get("name") or verdict.via[0]
            basis = f"through {first}: {verdict.classification.basis}"
            verdict = replace(verdict, classification=replace(verdict.classification, basis=basis))
        algorithm = algorithms.get(node)
        rows.append(
            CbomAsset(
                bom_ref=component.get("bom-ref"),
                name=component.get("name"),
                asset_type=str(crypto.get("assetType") or "unknown"),
                algorithm_class=verdict.classification.algorithm_class,
                algorithm=verdict.classification.algorithm_id,
                basis=verdict.classification.basis,
                nist_category=verdict.classification.nist_category,
                claimed_level=algorithm.claimed_level if algorithm else None,
                claim=algorithm.claim if algorithm else None,
                use=verdict.use,
                via=verdict.via,
                referenced=bool(refs[node]) and refs[node] in referenced,
            )
        )
    return rows


def _by_own_name(component: dict[str, Any]) -> Verdict | None:
    """A key or certificate that names no algorithm by reference may still say it by name."""
    crypto = component.get("cryptoProperties") or {}
    described = Described(name=str(component.get("name") or ""), oid=str(crypto.get("oid") or ""))
    classification = resolve(described)
    if classification.algorithm_class is AlgorithmClass.UNKNOWN:
        return None
    return _adapted(crypto, Verdict(classification, _use(classification, "")))


def _adapted(crypto: dict[str, Any], reached: Verdict) -> Verdict:
    """What an asset makes of the algorithm it reached: a certificate signs, and a key's own
    size picks the member of a family named without one (RSA under 2048 bits is broken)."""
    if crypto.get("assetType") == "certificate":
        return replace(reached, use=SIGNATURE)
    size = (crypto.get("relatedCryptoMaterialProperties") or {}).get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return replace(reached, classification=with_key_size(reached.classification, size))
    return reached


def _adapter(components: list[dict[str, Any]]) -> Callable[[int, Verdict], Verdict]:
    def adapt(node: int, reached: Verdict) -> Verdict:
        return _adapted(components[node].get("cryptoProperties") or {}, reached)

    return adapt


def _why_unknown(
    node: int,
    named: list[Sequence[str]],
    node_of: dict[str, int],
    unresolved: dict[int, Unresolved],
) -> str:
    if node in unresolved:
        return UNRESOLVED_REASON[unresolved[node]]
    missing = [ref for ref in named[node] if ref not in node_of]
    if missing:
        return f"refers to {missing[0]}, which the CBOM does not list"
    return "names no algorithm, by name or by reference"
