"""check_runs: the index that ranks each subject's runs of a kind holds them newest first with
their status and score (ix_check_runs_latest replaces ix_check_runs_subject_kind), so the
ranking is read from the index alone

Revision ID: 0019_dashboard_indexes
Revises: 0018_answer_encodings
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dashboard_indexes"
down_revision: str | None = "0018_answer_encodings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECT_KIND = ["organisation_id", "product_id", "kind"]


def upgrade() -> None:
    op.create_index(
        "ix_check_runs_latest",
        "check_runs",
        [
            *SUBJECT_KIND,
            sa.text("finished_at DESC"),
            sa.text("id DESC"),
            "status",
            "score",
        ],
        unique=False,
    )
    op.drop_index("ix_check_runs_subject_kind", table_name="check_runs")


def downgrade() -> None:
    op.create_index(
        "ix_check_runs_subject_kind", "check_runs", [*SUBJECT_KIND, "finished_at"], unique=False
    )
    op.drop_index("ix_check_runs_latest", table_name="check_runs")
