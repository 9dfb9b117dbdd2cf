"""answers refer to their outcome by URN (ids are labels and collide across catalogues), and may
be held as inferred from another catalogue's answers until a person confirms them

Revision ID: 0023_outcome_urns
Revises: 0022_imported_profiles
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from frameworks.urns import outcome_urn

revision: str = "0023_outcome_urns"
down_revision: str | None = "0022_imported_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch_alter_table: rebuilding `answers` on SQLite would drop the
    # answers_revision triggers of 0018.
    op.add_column(
        "answers",
        sa.Column("outcome_urn", sa.String(length=200), nullable=False, server_default=""),
    )
    op.add_column(
        "answers",
        sa.Column(
            "inferred_from",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True), "postgresql"
            ),
            nullable=True,
        ),
    )
    bind = op.get_bind()
    # One UPDATE per framework version and outcome label (tens of statements, whatever the
    # estate's size), with the URN made by the same code that makes it for new answers.
    pairs = bind.execute(
        sa.text(
            "SELECT DISTINCT fv.id, fv.framework_id, fv.version, a.outcome_id "
            "FROM answers a JOIN assessments s ON s.id = a.assessment_id "
            "JOIN framework_versions fv ON fv.id = s.framework_version_id"
        )
    ).all()
    for version_id, framework_id, version, outcome_id in pairs:
        bind.execute(
            sa.text(
                "UPDATE answers SET outcome_urn = :urn WHERE outcome_id = :outcome AND "
                "assessment_id IN (SELECT id FROM assessments WHERE framework_version_id = :fv)"
            ),
            {
                "urn": outcome_urn(framework_id, version, outcome_id),
                "outcome": outcome_id,
                "fv": version_id,
            },
        )


def downgrade() -> None:
    op.drop_column("answers", "inferred_from")
    op.drop_column("answers", "outcome_urn")
