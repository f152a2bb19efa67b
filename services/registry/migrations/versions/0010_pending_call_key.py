"""journal: an unindexed column where SQLite's writer parks call keys until it indexes them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_journal = sa.table(
    "call_decisions",
    sa.column("call_key", sa.BigInteger),
    sa.column("pending_call_key", sa.BigInteger),
)


def upgrade() -> None:
    op.add_column("call_decisions", sa.Column("pending_call_key", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Keys still parked would otherwise be lost with the column: index them first.
    op.execute(
        sa.update(_journal)
        .where(_journal.c.call_key.is_(None), _journal.c.pending_call_key.is_not(None))
        .values(call_key=_journal.c.pending_call_key)
    )
    with op.batch_alter_table("call_decisions") as batch:
        batch.drop_column("pending_call_key")
