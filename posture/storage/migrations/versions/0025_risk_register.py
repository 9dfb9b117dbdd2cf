"""the risk register: deployments, risk scenarios, linked evidence, treatments and actions,
time-limited acceptances and outcome exceptions; and the SIRO role that accepts risk

Revision ID: 0025_risk_register
Revises: 0024_product_facts
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from posture.storage.base import UtcDateTime

revision: str = "0025_risk_register"
down_revision: str | None = "0024_product_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE_CONSTRAINT = "ck_memberships_role"
ROLES_0001 = (
    "supplier_admin",
    "supplier_member",
    "force_assessor",
    "national_assessor",
    "procurement_officer",
    "challenge_manager",
    "challenge_judge",
    "platform_admin",
)


def _roles(roles: Sequence[str]) -> str:
    return "role IN (" + ", ".join(f"'{role}'" for role in roles) + ")"


def _check(column: str, name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{columns[0]}"), table, list(columns), unique=False)


def upgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(ROLE_CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(ROLE_CONSTRAINT), _roles((*ROLES_0001, "siro")))

    op.create_table(
        "deployments",
        _id(),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True),
        _fk("deployments", "organisation_id", "organisations"),
        _fk("deployments", "product_id", "products"),
        _fk("deployments", "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint(
            "organisation_id", "product_id", name=op.f("uq_deployments_organisation_id_product_id")
        ),
    )
    _index("deployments", "organisation_id")
    _index("deployments", "product_id")

    op.create_table(
        "risk_scenarios",
        _id(),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "subject_kind",
            _check(
                "subject_kind",
                "risk_subject_kind",
                ("product", "deployment", "supplier", "organisation"),
            ),
            nullable=False,
        ),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("threat", sa.String(length=64), nullable=False),
        sa.Column("threat_text", sa.Text(), nullable=False),
        sa.Column("vulnerability_text", sa.Text(), nullable=False),
        sa.Column("matrix_version", sa.String(length=16), nullable=False),
        sa.Column("inherent_likelihood", sa.String(length=64), nullable=False),
        sa.Column("inherent_impact", sa.String(length=64), nullable=False),
        sa.Column("current_likelihood", sa.String(length=64), nullable=False),
        sa.Column("current_impact", sa.String(length=64), nullable=False),
        sa.Column("suggested_likelihood", sa.String(length=64), nullable=False),
        sa.Column("differs_because", sa.Text(), nullable=True),
        sa.Column("residual_likelihood", sa.String(length=64), nullable=True),
        sa.Column("residual_impact", sa.String(length=64), nullable=True),
        sa.Column("facts_digest", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            _check("status", "risk_status", ("open", "treating", "accepted", "closed")),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        _fk("risk_scenarios", "organisation_id", "organisations"),
        _fk("risk_scenarios", "product_id", "products"),
        _fk("risk_scenarios", "supplier_id", "organisations"),
        _fk("risk_scenarios", "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scenarios")),
    )
    _index("risk_scenarios", "organisation_id")
    op.create_index("ix_risk_scenarios_product_threat", "risk_scenarios", ["product_id", "threat"])

    op.create_table(
        "risk_evidence_links",
        _id(),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        _fk("risk_evidence_links", "scenario_id", "risk_scenarios", "CASCADE"),
        _fk("risk_evidence_links", "finding_id", "findings"),
        _fk("risk_evidence_links", "alert_id", "alerts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_evidence_links")),
        sa.UniqueConstraint(
            "scenario_id", "kind", "ref", name=op.f("uq_risk_evidence_links_scenario_id_kind_ref")
        ),
    )
    _index("risk_evidence_links", "scenario_id")

    op.create_table(
        "risk_treatments",
        _id(),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _check("kind", "treatment_kind", ("accept", "mitigate", "transfer", "avoid")),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        _fk("risk_treatments", "scenario_id", "risk_scenarios", "CASCADE"),
        _fk("risk_treatments", "created_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_treatments")),
    )
    _index("risk_treatments", "scenario_id")

    op.create_table(
        "risk_actions",
        _id(),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            _check("status", "action_status", ("planned", "in_progress", "done")),
            nullable=False,
        ),
        sa.Column(
            "addresses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("done_at", UtcDateTime(timezone=True), nullable=True),
        _fk("risk_actions", "treatment_id", "risk_treatments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_actions")),
    )
    _index("risk_actions", "treatment_id")

    op.create_table(
        "risk_acceptances",
        _id(),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("approver_user_id", sa.Integer(), nullable=False),
        sa.Column("approver_role", sa.String(length=32), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("residual_level", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("expiry_alerted_at", UtcDateTime(timezone=True), nullable=True),
        _fk("risk_acceptances", "scenario_id", "risk_scenarios", "CASCADE"),
        _fk("risk_acceptances", "approver_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_acceptances")),
    )
    _index("risk_acceptances", "scenario_id")
    _index("risk_acceptances", "expires_on")

    op.create_table(
        "outcome_exceptions",
        _id(),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("outcome_id", sa.String(length=64), nullable=False),
        sa.Column("compensating_controls", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("approver_user_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("expiry_alerted_at", UtcDateTime(timezone=True), nullable=True),
        _fk("outcome_exceptions", "organisation_id", "organisations"),
        _fk("outcome_exceptions", "product_id", "products"),
        _fk("outcome_exceptions", "approver_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_exceptions")),
    )
    _index("outcome_exceptions", "organisation_id")
    _index("outcome_exceptions", "product_id")
    _index("outcome_exceptions", "expires_on")


def downgrade() -> None:
    for table in (
        "outcome_exceptions",
        "risk_acceptances",
        "risk_actions",
        "risk_treatments",
        "risk_evidence_links",
        "risk_scenarios",
        "deployments",
    ):
        op.drop_table(table)
    op.execute("DELETE FROM memberships WHERE role = 'siro'")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(ROLE_CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(ROLE_CONSTRAINT), _roles(ROLES_0001))
