"""capacity slots: the leases of max_concurrent_calls

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capacity_slots",
        sa.Column("scope_key", sa.String(length=80), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_key", "slot"),
    )
    op.create_index(
        "ix_capacity_slots_free",
        "capacity_slots",
        ["scope_key", "expires_at", "slot"],
        unique=False,
    )
    op.create_index("ix_capacity_slots_call", "capacity_slots", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_capacity_slots_call", table_name="capacity_slots")
    op.drop_index("ix_capacity_slots_free", table_name="capacity_slots")
    op.drop_table("capacity_slots")
