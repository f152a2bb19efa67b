"""call decision journal

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("dialed_number", sa.String(length=256), nullable=False),
        sa.Column("dialed_normalized", sa.String(length=20), nullable=True),
        sa.Column("caller_number", sa.String(length=256), nullable=False),
        sa.Column("caller_normalized", sa.String(length=20), nullable=True),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("inbound_id", sa.String(length=36), nullable=True),
        sa.Column("assistant_id", sa.String(length=36), nullable=True),
        sa.Column("call_action_version", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_source", sa.String(length=32), nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("reject_reason", sa.String(length=32), nullable=True),
        sa.Column("edge_outcome", sa.String(length=32), nullable=False),
        sa.Column("reason_detail", sa.String(length=1024), nullable=True),
        sa.Column("webhook_status", sa.String(length=32), nullable=True),
        sa.Column("webhook_ms", sa.Float(), nullable=True),
        sa.Column("context_status", sa.String(length=32), nullable=True),
        sa.Column("context_ms", sa.Float(), nullable=True),
        sa.Column("decision_ms", sa.Float(), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_call_decisions_account_time",
        "call_decisions",
        ["account_id", "decided_at", "id"],
        unique=False,
    )
    op.create_index("ix_call_decisions_time", "call_decisions", ["decided_at", "id"], unique=False)
    op.create_index(
        "ix_call_decisions_call", "call_decisions", ["call_id", "decided_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_call_decisions_call", table_name="call_decisions")
    op.drop_index("ix_call_decisions_time", table_name="call_decisions")
    op.drop_index("ix_call_decisions_account_time", table_name="call_decisions")
    op.drop_table("call_decisions")
