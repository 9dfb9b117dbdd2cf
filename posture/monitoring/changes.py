"""Which changes between two runs of the same check, or two snapshot runs, raise an alert.

The rules are data (posture/data/monitoring.yaml): a finding transition (seen before, now gone
or now present) or a score drop past a threshold for check runs; a band change for snapshots.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from checks.catalogue import InputKind, KindName, spec_for
from checks.findings import Severity
from checks.report import CheckReport

if TYPE_CHECKING:
    import pandas as pd  # only a type here; the worker that files alerts need not load it

BAND_CHANGE = "MON-BAND-CHANGE"
PROFILE_RETARGETED = "MON-PROFILE-RETARGETED"
PROFILE_TARGET_FELL = "MON-PROFILE-TARGET-FELL"
ACCEPTANCE_EXPIRED = "RISK-ACCEPTANCE-EXPIRED"
EXCEPTION_EXPIRED = "RISK-EXCEPTION-EXPIRED"
PASSPORT_SUSPENDED = "PASSPORT-SUSPENDED"
PASSPORT_REVOKED = "PASSPORT-REVOKED"
# Raised by decisions, not by comparing runs: each must be defined for its code to be raised.
DECISION_ALERTS = (
    BAND_CHANGE,
    PROFILE_RETARGETED,
    PROFILE_TARGET_FELL,
    ACCEPTANCE_EXPIRED,
    EXCEPTION_EXPIRED,
    PASSPORT_SUSPENDED,
    PASSPORT_REVOKED,
)


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    severity: Severity
    title: str
    advice: str
    kinds: list[KindName]
    before_any: list[str] = Field(default_factory=list)
    before_none: list[str] = Field(default_factory=list)
    now_any: list[str] = Field(default_factory=list)
    score_drop: float | None = Field(default=None, gt=0, le=100)
    # Every force that deploys the product gets the alert too, with its deployment's
    # criticality (posture.portfolio.blast_radius).
    deployers: bool = False


class MonitoringPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # The kinds of check that can be monitored (an endpoint, or a file at a URL), and how often.
    schedule_days: dict[KindName, int]
    alerts: dict[str, AlertRule]

    @model_validator(mode="after")
    def _sane(self) -> MonitoringPolicy:
        if any(days < 1 for days in self.schedule_days.values()):
            raise ValueError("schedule_days: every interval is at least one day")
        for kind in self.schedule_days:
            if spec_for(kind).input is InputKind.FILE:
                raise ValueError(f"schedule_days: a {kind} check reads an uploaded file only")
        for code in DECISION_ALERTS:
            if code not in self.alerts:
                raise ValueError(f"alerts: {code} must be defined")
        return self


class AlertDraft(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    severity: Severity
    title: str
    advice: str
    detail: dict[str, Any]


@cache
def monitoring_policy() -> MonitoringPolicy:
    text = (resources.files("posture") / "data" / "monitoring.yaml").read_text("utf-8")
    return MonitoringPolicy.model_validate(yaml.safe_load(text))


def decision_alert(code: str, detail: dict[str, Any]) -> AlertDraft:
    """The alert a decision raises (a re-targeted profile), worded by the policy."""
    return _draft(code, monitoring_policy().alerts[code], detail)


def _draft(code: str, rule: AlertRule, detail: dict[str, Any]) -> AlertDraft:
    return AlertDraft(
        code=code, severity=rule.severity, title=rule.title, advice=rule.advice, detail=detail
    )


def check_run_alerts(
    previous: CheckReport | None, current: CheckReport, policy: MonitoringPolicy | None = None
) -> list[AlertDraft]:
    """Alerts for the change from `previous` to `current` (same endpoint, same kind)."""
    if previous is None or previous.kind != current.kind:
        return []
    policy = policy or monitoring_policy()
    before = {f.code for f in previous.findings}
    now = {f.code for f in current.findings}
    drafts = []
    for code, rule in policy.alerts.items():
        if current.kind not in rule.kinds:
            continue
        if rule.score_drop is not None:
            if previous.score is None or current.score is None:
                continue
            drop = previous.score - current.score
            if drop >= rule.score_drop:
                detail = {"before": previous.score, "now": current.score, "drop": round(drop, 2)}
                drafts.append(_draft(code, rule, detail))
            continue
        seen_before = not rule.before_any or bool(before & set(rule.before_any))
        clear_before = not before & set(rule.before_none)
        present_now = bool(now & set(rule.now_any))
        if seen_before and clear_before and present_now:
            detail = {
                "findings_before": sorted(before & set(rule.before_any + rule.before_none)),
                "findings_now": sorted(now & set(rule.now_any)),
                "target": current.target,
            }
            drafts.append(_draft(code, rule, detail))
    return drafts


def band_change_alerts(
    standings: pd.DataFrame, policy: MonitoringPolicy | None = None
) -> list[tuple[int, AlertDraft]]:
    """(product id, alert) for each product whose band differs from the previous snapshot run."""
    rule = (policy or monitoring_policy()).alerts[BAND_CHANGE]
    changed = standings.dropna(subset=["previous_band"])
    changed = changed[changed["band"] != changed["previous_band"]]
    return [
        (
            int(row.product_id),
            _draft(BAND_CHANGE, rule, {"before": row.previous_band, "now": row.band}),
        )
        for row in changed.itertuples(index=False)
    ]
