"""Closed vocabularies stored as strings with CHECK constraints on every backend."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum

# The check catalogue owns the kinds of check; check_runs.kind is a string it validates (see
# CheckKindType), so a new kind of check needs no migration.
from checks.catalogue import CheckKind as CheckKind

# Findings own their severities; the column stores the same values (see enum_column).
from checks.findings import Severity as Severity


class OrgKind(StrEnum):
    FORCE = "force"
    NATIONAL_BODY = "national_body"
    SUPPLIER = "supplier"
    PLATFORM = "platform"


class Role(StrEnum):
    SUPPLIER_ADMIN = "supplier_admin"
    SUPPLIER_MEMBER = "supplier_member"
    FORCE_ASSESSOR = "force_assessor"
    NATIONAL_ASSESSOR = "national_assessor"
    PROCUREMENT_OFFICER = "procurement_officer"
    CHALLENGE_MANAGER = "challenge_manager"
    CHALLENGE_JUDGE = "challenge_judge"
    PLATFORM_ADMIN = "platform_admin"
    # The Senior Information Risk Owner of a force: accepts risks and grants exceptions.
    SIRO = "siro"


# The roles that act for a supplier organisation (every other role acts for policing).
SUPPLIER_ROLES: tuple[Role, ...] = (Role.SUPPLIER_ADMIN, Role.SUPPLIER_MEMBER)


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"


class Provenance(StrEnum):
    """Where an answer's support comes from, weakest first."""

    SELF_ASSERTED = "self_asserted"
    DOCUMENTARY = "documentary"
    AUTOMATED_CHECK = "automated_check"
    INDEPENDENT = "independent"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SubjectKind(StrEnum):
    ORGANISATION = "organisation"
    PRODUCT = "product"


class ListingState(StrEnum):
    """A product's application to a framework lot. Which moves are allowed, and who may make
    each, is data (supplier_portal/procurement/lifecycle.py); deployments read "listed"."""

    APPLIED = "applied"
    UNDER_REVIEW = "under_review"
    LISTED = "listed"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class RiskSubjectKind(StrEnum):
    PRODUCT = "product"  # a supplier's product wherever it is used
    DEPLOYMENT = "deployment"  # a product as the owner force deploys it
    SUPPLIER = "supplier"
    ORGANISATION = "organisation"  # the owner force itself


class RiskStatus(StrEnum):
    OPEN = "open"
    TREATING = "treating"
    ACCEPTED = "accepted"
    CLOSED = "closed"


class TreatmentKind(StrEnum):
    ACCEPT = "accept"
    MITIGATE = "mitigate"
    TRANSFER = "transfer"
    AVOID = "avoid"


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class PassportStatus(StrEnum):
    """Where a passport stands by decision; expiry is read from its date, not stored."""

    ISSUED = "issued"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class ScheduleRunStatus(StrEnum):
    """A scheduled run's outcome; "running" until it finishes or is presumed dead."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def enum_column(enum_cls: type[StrEnum], name: str) -> Enum:
    """A VARCHAR with a named CHECK constraint, portable across SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
