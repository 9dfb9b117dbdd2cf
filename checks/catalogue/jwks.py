"""JWKS: judge every key of a JSON Web Key Set, from a file or the URL it is published at.

The check's result is typed (`JwksResult`): the check writes it, and the CBOM export reads it
back, from a fresh report or a stored run, through the same model.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field

from checks.catalogue import CheckKind, CheckResult, CheckSpec, InputKind, ResultPart
from checks.cbom_export import stored_algorithm_component
from pq_crypto.catalogue import AlgorithmClass, algorithm_index

if TYPE_CHECKING:
    from checks.egress import EgressPolicy
    from checks.report import CheckReport
    from checks.sandbox.request import ChildOrder

MAX_MEMBER_TEXT = 200


def _as_text(value: Any) -> str | None:
    """A key's member as the supplier wrote it: text, or any other JSON value as its JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)[:MAX_MEMBER_TEXT]


Member = Annotated[str | None, BeforeValidator(_as_text)]


class JwksKey(ResultPart):
    """One key of the set, as the set names it and as the algorithm policy classifies it."""

    index: int = Field(ge=0)
    kid: Member = None
    kty: Member = None
    alg: Member = None
    crv: Member = None
    use: Member = None
    algorithm: str | None = None  # the policy's algorithm id, when it knows the key's
    basis: str = ""
    algorithm_class: AlgorithmClass = Field(alias="class")
    # Why the key's material does not load (then its class is unknown, whatever alg claims).
    problem: str | None = None
    # The private or secret members the public set publishes: their names, never the values.
    private_members: tuple[str, ...] = ()

    @property
    def label(self) -> str | int:
        """How findings name the key: its kid, or its place in the set."""
        return self.kid or self.index

    @property
    def name(self) -> str:
        return self.algorithm or self.alg or self.kty or "unknown"


class JwksResult(CheckResult):
    keys: tuple[JwksKey, ...] = ()


def run(order: ChildOrder, policy: EgressPolicy) -> CheckReport:
    from checks.jwks import run_jwks_check

    return run_jwks_check(*order.read_input(policy))


def cbom_components(report: CheckReport) -> list[dict[str, Any]]:
    """Each key's algorithm, and the key itself as related crypto material; a malformed key is
    no algorithm in use, whatever its alg says."""
    result = JwksResult.model_validate(report.details)
    components = []
    for key in result.keys:
        if key.problem is not None:
            continue
        # The class the run stored, whatever the catalogue says today (checks/cbom_export.py).
        today = algorithm_index().name(key.name)
        algorithm = stored_algorithm_component(key.name, key.algorithm_class, today, "signature")
        components.append(algorithm)
        components.append(
            {
                "type": "cryptographic-asset",
                "bom-ref": f"key:{key.index}",
                "name": key.kid or f"key {key.index}",
                "cryptoProperties": {
                    "assetType": "related-crypto-material",
                    "relatedCryptoMaterialProperties": {
                        "type": "public-key",
                        "algorithmRef": algorithm["bom-ref"],
                    },
                },
            }
        )
    return components


SPEC = CheckSpec(
    kind=CheckKind.JWKS,
    label="JWKS file",
    summary="Every key of a JSON Web Key Set, including ML-DSA (AKP) keys, loaded and classified.",
    input=InputKind.FILE_OR_URL,
    run=run,
    post_quantum=True,
    cbom=cbom_components,
    result=JwksResult,
)
