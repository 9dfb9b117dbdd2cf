"""The risk register's policy as shipped: the matrix, the appetite, the likelihood rules and the
threat vocabulary of one version, each read from frameworks/data/risk/ and checked against the
matrix, so a broken file is refused whole with the file, the place and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, model_validator

from checks.safe_parse import BoundedYamlLoader, InputRefused, Limits
from frameworks.loader import DATA_ROOT, FrameworkDataError, parse_model
from frameworks.risk.appetite import AppetiteStatement, RiskAppetite
from frameworks.risk.likelihood import EvidenceItem, LikelihoodRules, Suggestion, suggest
from frameworks.risk.matrix import RiskDataMismatch, RiskId, RiskMatrix, UnknownRiskId, Version
from frameworks.schema import Strict, Text, reject_duplicates

RISK_DATA = DATA_ROOT / "risk"
SHIPPED_VERSION = "1.0"
# The shipped files are a few kilobytes; a policy table of a megabyte is a mistake or an attack.
RISK_FILE_LIMITS = Limits(
    max_bytes=1024 * 1024, max_depth=16, max_aliases=20, max_expanded_nodes=20_000
)
MAX_THREATS = 100

Model = TypeVar("Model", bound=BaseModel)


class Threat(Strict):
    id: RiskId
    name: Text
    description: Text


class ThreatCatalogue(Strict):
    version: Version
    threats: list[Threat] = Field(min_length=1, max_length=MAX_THREATS)

    @model_validator(mode="after")
    def _ids_unique(self) -> ThreatCatalogue:
        reject_duplicates([threat.id for threat in self.threats])
        return self

    def threat(self, threat_id: str) -> Threat:
        for threat in self.threats:
            if threat.id == threat_id:
                return threat
        raise UnknownRiskId(f"{threat_id!r} is not a threat category of version {self.version}")


class _RiskYamlLoader(BoundedYamlLoader):
    """Bounded as supplier YAML is, and refusing a key written twice: PyYAML keeps the last
    silently, so a matrix row typed twice would lose the first without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"the key {key_node.value!r} is written twice",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def read_risk_document(path: Path) -> Any:
    """The plain data in one risk data file, or FrameworkDataError naming the file and why."""
    try:
        if path.stat().st_size > RISK_FILE_LIMITS.max_bytes:
            raise FrameworkDataError(
                path, "", f"larger than {RISK_FILE_LIMITS.max_bytes} bytes: refused"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FrameworkDataError(path, "", f"cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise FrameworkDataError(path, "", "is not UTF-8 text") from exc
    loader = _RiskYamlLoader(text, RISK_FILE_LIMITS)
    try:
        return loader.get_single_data()
    except InputRefused as exc:
        raise FrameworkDataError(path, "", str(exc)) from exc
    except RecursionError as exc:
        raise FrameworkDataError(path, "", "nested too deeply to read") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrameworkDataError(path, where, f"is not valid YAML: {problem}") from exc
    except ValueError as exc:  # a timestamp such as 2024-13-45
        raise FrameworkDataError(path, "", f"a value cannot be read: {exc}") from exc
    finally:
        loader.dispose()


def read_risk_file(path: Path, model: type[Model]) -> Model:
    return parse_model(path, model, read_risk_document(path))


@dataclass(frozen=True)
class RiskPolicy:
    matrix: RiskMatrix
    appetite: RiskAppetite
    likelihood_rules: LikelihoodRules
    threats: ThreatCatalogue

    @property
    def version(self) -> str:
        return self.matrix.version

    def suggest(self, evidence: list[EvidenceItem]) -> Suggestion:
        return suggest(self.likelihood_rules, self.matrix, evidence)


def _against_matrix(path: Path, check: Any) -> Any:
    try:
        return check()
    except RiskDataMismatch as exc:
        raise FrameworkDataError(path, exc.location, exc.problem) from exc


def load_risk_policy(folder: Path, version: str = SHIPPED_VERSION) -> RiskPolicy:
    """The policy in `folder`: matrix-, appetite-, likelihood- and threats-<version>.yaml."""
    matrix = read_risk_file(folder / f"matrix-{version}.yaml", RiskMatrix)
    appetite_file = folder / f"appetite-{version}.yaml"
    statement = read_risk_file(appetite_file, AppetiteStatement)
    appetite = _against_matrix(appetite_file, lambda: RiskAppetite(statement, matrix))
    rules_file = folder / f"likelihood-{version}.yaml"
    rules = read_risk_file(rules_file, LikelihoodRules)
    _against_matrix(rules_file, lambda: rules.check_against(matrix))
    threats = read_risk_file(folder / f"threats-{version}.yaml", ThreatCatalogue)
    return RiskPolicy(matrix=matrix, appetite=appetite, likelihood_rules=rules, threats=threats)


@cache
def risk_policy() -> RiskPolicy:
    """The shipped policy; cached because the files never change while the process runs."""
    return load_risk_policy(RISK_DATA, SHIPPED_VERSION)
