"""identity capacity: max_concurrent_calls and the overflow chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines (no batch rebuild: the table's cascading children
    # would be emptied by SQLite's copy-and-rename).
    op.add_column(
        "agent_identities", sa.Column("max_concurrent_calls", sa.Integer(), nullable=True)
    )
    op.add_column("agent_identities", sa.Column("overflow_chain", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("agent_identities", "overflow_chain")
    op.drop_column("agent_identities", "max_concurrent_calls")
