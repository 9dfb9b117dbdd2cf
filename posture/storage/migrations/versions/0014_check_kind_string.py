"""check_runs.kind is a plain string the check catalogue validates: no constraint lists the kinds,
so adding a kind of check needs no migration

Revision ID: 0014_check_kind_string
Revises: 0013_passkeys
Create Date: 2026-12-14
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_check_kind_string"
down_revision: str | None = "0013_passkeys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The name the naming convention gave it in 0001 (op.f: used as is, not converted again).
CONSTRAINT = "ck_check_runs_check_kind"
# The kinds the constraint of 0001 allowed; a downgrade refuses rows of any other kind.
KINDS_0001 = ("tls", "ssh", "cert", "jwks", "cbom", "api")


def upgrade() -> None:
    # On SQLite the batch rebuilds the table (data kept) without the constraint; elsewhere it
    # is an ALTER TABLE ... DROP CONSTRAINT. The column stays VARCHAR(32).
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")


def downgrade() -> None:
    listed = ", ".join(f"'{kind}'" for kind in KINDS_0001)
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f(CONSTRAINT), f"kind IN ({listed})")
