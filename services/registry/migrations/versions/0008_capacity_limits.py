"""capacity: a mapping's max_concurrent_calls, and how capacity decided in the journal

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_numbers", sa.Column("max_concurrent_calls", sa.Integer(), nullable=True))
    op.add_column("call_decisions", sa.Column("capacity", sa.String(512), nullable=True))


def downgrade() -> None:
    op.drop_column("call_decisions", "capacity")
    op.drop_column("inbound_numbers", "max_concurrent_calls")
