"""The retention policy: versioned data (posture/data/retention.yaml) read through a schema that
refuses anything it does not understand, before any sweep runs.

A policy file may come from an operator (`assure retention sweep --policy FILE`), so it is
parsed as untrusted YAML: bounded in size, aliases and depth (checks/safe_parse.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from checks.safe_parse import InputRefused, Limits, load_yaml
from kernel.errors import ValidationFailed
from posture.retention.kinds import KINDS

POLICY_VERSION = 1
# The shipped file is under 4 KB; 64 KB leaves room for long `why` lines and nothing more.
MAX_POLICY_BYTES = 64 * 1024
POLICY_LIMITS = Limits(max_bytes=MAX_POLICY_BYTES, max_depth=8, max_aliases=0)
# A century: longer is a typo, and a period past datetime's range would fail mid-sweep.
MAX_DAYS = 36_500
# How a report names the policy when no file was given.
SHIPPED_POLICY = "posture/data/retention.yaml"


class RetentionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: str
    from_event: str = Field(alias="from")
    days: int = Field(ge=1, le=MAX_DAYS, strict=True)
    action: Literal["delete", "reduce"]
    clear: tuple[str, ...] = ()
    why: str = Field(min_length=10, max_length=1000)

    @model_validator(mode="after")
    def _matches_kind(self) -> RetentionRule:
        kind = KINDS.get(self.kind)
        if kind is None:
            raise ValueError(f"kind {self.kind!r} is not a known record kind ({', '.join(KINDS)})")
        if self.from_event != kind.event:
            raise ValueError(
                f"{self.kind}: the period runs from {kind.event!r}, not {self.from_event!r}"
            )
        if self.action not in kind.actions:
            raise ValueError(
                f"{self.kind}: action {self.action!r} is not offered"
                f" ({', '.join(sorted(kind.actions))})"
            )
        if self.action == "reduce":
            unknown = [name for name in self.clear if name not in kind.reducible]
            if unknown or not self.clear:
                raise ValueError(
                    f"{self.kind}: reduce clears some of {', '.join(kind.reducible)}"
                    + (f"; not {', '.join(unknown)}" if unknown else "")
                )
            if len(set(self.clear)) != len(self.clear):
                raise ValueError(f"{self.kind}: a field is named twice in clear")
        elif self.clear:
            raise ValueError(f"{self.kind}: clear is only for the reduce action")
        return self

    def cutoff(self, now: datetime) -> datetime:
        """Rows whose event happened at or before this instant are due."""
        return now - timedelta(days=self.days)


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    rules: tuple[RetentionRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_rule_per_kind(self) -> RetentionPolicy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.kind in seen:
                raise ValueError(f"kind {rule.kind!r} has two rules")
            seen.add(rule.kind)
        return self


def shipped_policy_text() -> str:
    return (resources.files("posture") / "data" / "retention.yaml").read_text("utf-8")


def parse_policy(text: str | bytes, source: str = "retention policy") -> RetentionPolicy:
    """The policy in `text`, or ValidationFailed naming what is wrong; nothing else runs first."""
    try:
        data = load_yaml(text, POLICY_LIMITS)
    except InputRefused as exc:
        raise ValidationFailed(f"{source}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    try:
        return RetentionPolicy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'document'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ValidationFailed(f"{source}: {problems}") from None


def load_policy(path: Path | None = None) -> RetentionPolicy:
    """The shipped policy, or the one in `path` (read no further than the size limit)."""
    if path is None:
        return parse_policy(shipped_policy_text(), SHIPPED_POLICY)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise ValidationFailed(
            f"{path}: larger than the {MAX_POLICY_BYTES // 1024} KB a policy may be"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path}: not UTF-8 text") from None
    return parse_policy(text, str(path))


def markdown_table(policy: RetentionPolicy) -> str:
    """The policy as the table docs/retention.md shows (tests keep the doc current)."""
    lines = [
        "| Record kind | Period runs from | Days | Action | Why |",
        "|---|---|---:|---|---|",
    ]
    for rule in policy.rules:
        action = rule.action
        if rule.clear:
            action += " (clear " + ", ".join(f"`{name}`" for name in rule.clear) + ")"
        why = " ".join(rule.why.split()).replace("|", "\\|")
        lines.append(f"| `{rule.kind}` | {rule.from_event} | {rule.days} | {action} | {why} |")
    return "\n".join(lines)
