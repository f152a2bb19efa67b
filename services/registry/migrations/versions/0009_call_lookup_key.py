"""journal: find a call's records through a compact hash key instead of an index on call_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.registry.models import call_lookup_key

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_BATCH = 5_000
_journal = sa.table(
    "call_decisions",
    sa.column("id", sa.String),
    sa.column("call_id", sa.String),
    sa.column("call_key", sa.BigInteger),
)


def upgrade() -> None:
    op.add_column("call_decisions", sa.Column("call_key", sa.BigInteger(), nullable=True))
    _backfill_call_keys()
    op.create_index("ix_call_decisions_call_key", "call_decisions", ["call_key"], unique=False)
    op.drop_index("ix_call_decisions_call", table_name="call_decisions")


def downgrade() -> None:
    op.create_index(
        "ix_call_decisions_call", "call_decisions", ["call_id", "decided_at"], unique=False
    )
    op.drop_index("ix_call_decisions_call_key", table_name="call_decisions")
    with op.batch_alter_table("call_decisions") as batch:
        batch.drop_column("call_key")


def _backfill_call_keys() -> None:
    connection = op.get_bind()
    unkeyed = (
        sa.select(_journal.c.id, _journal.c.call_id)
        .where(_journal.c.call_key.is_(None))
        .limit(_BACKFILL_BATCH)
    )
    set_key = (
        sa.update(_journal)
        .where(_journal.c.id == sa.bindparam("row_id"))
        .values(call_key=sa.bindparam("key"))
    )
    while rows := connection.execute(unkeyed).all():
        keys = [{"row_id": row_id, "key": call_lookup_key(call_id)} for row_id, call_id in rows]
        connection.execute(set_key, keys)
