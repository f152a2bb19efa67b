"""per-identity business hours and their outside-hours action

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:40:00
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
        "identity_business_hours",
        sa.Column("agent_identity_id", sa.String(length=36), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("outside_action", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_identity_id"], ["agent_identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_identity_id"),
    )


def downgrade() -> None:
    op.drop_table("identity_business_hours")
