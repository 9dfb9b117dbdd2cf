"""Which pages each role gets, from the permission table.

A page is registered only for a principal whose roles hold every permission the page needs, so a
page a role may not use cannot be reached at all. Each registered page checks the permissions
again before it draws anything, and the services behind it check them a third time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from posture.identity.permissions import PermissionDenied, Principal, visible_organisations
from ui.context import principal
from ui.pages import (
    administration,
    assurance,
    audit,
    challenges,
    checks,
    dashboards,
    findings,
    framework,
    my_posture,
    notifications,
    overview,
    passports,
    review_queue,
    risk_decisions,
    risk_register,
    risk_scenario,
    schedules,
    self_assessment,
    supplier,
    target_profiles,
)
from ui.plain import escape_markdown


@dataclass(frozen=True)
class PageSpec:
    render: Callable[[], None]
    title: str
    icon: str
    url_path: str
    group: str
    permissions: tuple[str, ...] = ()
    default: bool = False


GENERAL, WORK, INNOVATION = "PoliceTech Assure", "Work", "Innovation"

PAGES: tuple[PageSpec, ...] = (
    PageSpec(overview.render, "Overview", ":material/dashboard:", "overview", GENERAL, (), True),
    PageSpec(framework.render, "Framework", ":material/account_tree:", "framework", GENERAL),
    PageSpec(
        my_posture.my_posture_page,
        # Buyers and assessors see products that are not theirs: not "My posture".
        "Product posture",
        ":material/shield:",
        "my-posture",
        GENERAL,
        ("score.read",),
    ),
    PageSpec(
        dashboards.dashboards_page,
        "Posture dashboards",
        ":material/monitoring:",
        "dashboards",
        GENERAL,
        ("posture.dashboard",),
    ),
    PageSpec(
        supplier.products_page,
        "My products",
        ":material/inventory_2:",
        "products",
        WORK,
        ("product.write",),
    ),
    PageSpec(
        checks.checks_page,
        "Product checks",
        ":material/security:",
        "product-checks",
        WORK,
        ("product.write", "check.run"),
    ),
    PageSpec(
        self_assessment.assessment_page,
        "Self-assessment",
        ":material/checklist:",
        "self-assessment",
        WORK,
        ("assessment.write",),
    ),
    PageSpec(
        review_queue.review_page,
        "Review queue",
        ":material/fact_check:",
        "review-queue",
        WORK,
        ("assessment.review",),
    ),
    PageSpec(
        target_profiles.target_profiles_page,
        "Target profiles",
        ":material/tune:",
        "target-profiles",
        WORK,
        ("profile.raise",),
    ),
    PageSpec(
        findings.findings_page,
        "Findings",
        ":material/bug_report:",
        "findings",
        WORK,
        ("finding.read",),
    ),
    PageSpec(
        passports.passports_page,
        "Passports",
        ":material/verified:",
        "passports",
        WORK,
        ("passport.read",),
    ),
    PageSpec(
        notifications.notifications_page,
        "Notifications",
        ":material/notifications:",
        "notifications",
        WORK,
        ("delivery.read",),
    ),
    PageSpec(
        assurance.procurement_page,
        "Frameworks and listings",
        ":material/storefront:",
        "listings",
        WORK,
        ("listing.view",),
    ),
    PageSpec(
        assurance.shortlist_page,
        "Shortlists",
        ":material/format_list_numbered:",
        "shortlists",
        WORK,
        ("shortlist.manage",),
    ),
    PageSpec(
        risk_register.register_page,
        "Risk register",
        ":material/grid_on:",
        "risk-register",
        WORK,
        ("risk.read",),
    ),
    PageSpec(
        risk_scenario.scenarios_page,
        "Risk scenarios",
        ":material/report:",
        "risk-scenarios",
        WORK,
        ("risk.read", "risk.write"),
    ),
    PageSpec(
        risk_decisions.decisions_page,
        "Risk decisions",
        ":material/verified:",
        "risk-decisions",
        WORK,
        ("risk.accept",),
    ),
    PageSpec(
        audit.audit_page,
        "Audit trail",
        ":material/history:",
        "audit-trail",
        WORK,
        ("audit.read",),
    ),
    PageSpec(
        administration.administration_page,
        "Administration",
        ":material/manage_accounts:",
        "administration",
        WORK,
        ("user.manage",),
    ),
    PageSpec(
        schedules.schedules_page,
        "Schedules",
        ":material/schedule:",
        "schedules",
        WORK,
        ("schedule.read",),
    ),
    PageSpec(
        challenges.browse,
        "Challenges",
        ":material/emoji_objects:",
        "challenges",
        INNOVATION,
        ("challenge.view",),
    ),
    PageSpec(
        challenges.manage_page,
        "Manage challenges",
        ":material/tune:",
        "manage-challenges",
        INNOVATION,
        ("challenge.manage",),
    ),
    PageSpec(
        challenges.enter_page,
        "My challenge entries",
        ":material/edit_note:",
        "my-entries",
        INNOVATION,
        ("challenge.enter",),
    ),
    PageSpec(
        challenges.judge_page,
        "Judging",
        ":material/gavel:",
        "judging",
        INNOVATION,
        ("challenge.judge",),
    ),
)


def refusal(who: Principal, spec: PageSpec) -> str | None:
    """Why `who` may not use the page, or None when every permission it needs is granted."""
    for permission in spec.permissions:
        try:
            visible_organisations(who, permission)
        except PermissionDenied as exc:
            return str(exc)
    return None


def guarded(spec: PageSpec) -> Callable[[], None]:
    def page() -> None:
        reason = refusal(principal(), spec)
        if reason is not None:
            st.error(f"{spec.title}: {escape_markdown(reason)}.")
            st.stop()
        spec.render()

    page.__name__ = spec.render.__name__
    return page


ACCOUNT_PATH = "account"  # Account security, which every signed-in person has


def every_url_path() -> list[str]:
    """The address of every page anyone may have, for the sign-in page to answer on."""
    return [spec.url_path for spec in PAGES if not spec.default] + [ACCOUNT_PATH]


def pages_for(who: Principal) -> dict[str, list[st.Page]]:
    groups: dict[str, list[st.Page]] = {GENERAL: [], WORK: [], INNOVATION: []}
    for spec in PAGES:
        if refusal(who, spec) is None:
            groups[spec.group].append(
                st.Page(
                    guarded(spec),
                    title=spec.title,
                    icon=spec.icon,
                    url_path=spec.url_path,
                    default=spec.default,
                )
            )
    return {group: pages for group, pages in groups.items() if pages}
