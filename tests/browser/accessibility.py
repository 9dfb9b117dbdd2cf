"""axe-core in the Chromium journeys: `assert_accessible(page)` fails on any violation of impact
"serious" or "critical" on the page as drawn, after Streamlit has finished its rerun.

axe-core comes bundled with axe-playwright-python (no network). We inject it and call
`axe.run` ourselves so the context and options travel as JSON (the package formats them with
Python's repr, which breaks on booleans).

Exclusions: only for Streamlit's own markup that we cannot change, each an exact rule id and a
CSS selector for the element, with the element and the reason named (STREAMLIT_EXCLUSIONS).
Nothing else is excluded: another rule on the same element, or the same rule elsewhere, fails.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

FAILING_IMPACTS = frozenset({"serious", "critical"})
RUNNING = "[data-testid='stStatusWidgetRunningIcon']"
STALE = "[data-testid='stElementContainer'][data-stale='true']"


@dataclass(frozen=True)
class Exclusion:
    rule: str
    # A CSS selector the offending element itself must match (checked in the page): stable
    # data-testid selectors, not the generated class names axe reports.
    selector: str
    why: str


# Streamlit's own markup that the app cannot change; each is named in the report.
STREAMLIT_EXCLUSIONS: tuple[Exclusion, ...] = (
    Exclusion(
        "list",
        "ul[data-testid='stSidebarNavItems']",
        "Streamlit's sidebar navigation (st.navigation with sections) puts each section's "
        "<div> (its header and links) straight inside the <ul>; only Streamlit can fix it",
    ),
    Exclusion(
        "listitem",
        "ul[data-testid='stSidebarNavItems'] > div > li",
        "the same navigation's links: <li> inside a section <div>, not directly in the <ul>",
    ),
)


def wait_until_idle(page: Any, *, quiet_ms: int = 600, timeout_s: float = 30.0) -> None:
    """Until Streamlit's status widget has shown no "Running..." and no element has been stale
    for `quiet_ms` in a row: a rerun that starts just after a check must not be missed."""
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        busy = page.locator(RUNNING).count() > 0 or page.locator(STALE).count() > 0
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif (now - quiet_since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"Streamlit was still running after {timeout_s:.0f}s")


def run_axe(page: Any, *, context: Any = None) -> dict[str, Any]:
    """axe's raw result for the page (or `context`, an axe context: selector, list or dict)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    options = {"resultTypes": ["violations"]}
    return page.evaluate(
        """([context, options]) => context === null
            ? axe.run(document, options)
            : axe.run(context, options)""",
        [context, options],
    )


def serious_violations(
    page: Any,
    result: dict[str, Any],
    exclusions: tuple[Exclusion, ...] = STREAMLIT_EXCLUSIONS,
) -> list[dict[str, Any]]:
    """The serious and critical violations, each keeping only the nodes that no exclusion for
    its rule matches (the node's element, found in `page`, matches the exclusion's selector)."""
    found = []
    for violation in result.get("violations", []):
        if violation.get("impact") not in FAILING_IMPACTS:
            continue
        selectors = [ex.selector for ex in exclusions if ex.rule == violation["id"]]
        nodes = [
            node
            for node in violation.get("nodes", [])
            if not (selectors and _matches(page, node, selectors))
        ]
        if nodes:
            found.append({**violation, "nodes": nodes})
    return found


def _matches(page: Any, node: dict[str, Any], selectors: list[str]) -> bool:
    target = node.get("target") or []
    # A nested list is a target inside a shadow root or frame: never excluded.
    if len(target) != 1 or not isinstance(target[0], str):
        return False
    return bool(
        page.evaluate(
            """([target, selectors]) => {
                const element = document.querySelector(target);
                return element !== null && selectors.some(s => element.matches(s));
            }""",
            [target[0], selectors],
        )
    )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = [f"axe-core found {len(violations)} serious or critical rule(s) violated:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation.get('helpUrl', '')}")
        for node in violation["nodes"]:
            lines.append(f"    at {json.dumps(node.get('target'))}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page: Any, *, context: Any = None) -> None:
    """Wait for Streamlit to be idle, run axe-core, and fail on serious or critical violations
    naming the rule, its help and the offending selectors."""
    wait_until_idle(page)
    violations = serious_violations(page, run_axe(page, context=context))
    assert not violations, describe(violations) + f"\n(page: {page.url})"
