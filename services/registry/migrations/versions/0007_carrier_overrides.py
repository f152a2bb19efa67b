"""carrier overrides per account, and the SIP status of each journaled decision

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_overrides",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    with op.batch_alter_table("call_decisions") as batch:
        batch.add_column(sa.Column("sip_status", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_decisions") as batch:
        batch.drop_column("sip_status")
    op.drop_table("carrier_overrides")
