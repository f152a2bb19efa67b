"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:40:09.349472
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "inbound_context_strategies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("strategy_type", sa.String(length=32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbound_context_strategies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_strategies_account_created", ["account_id", "created_at"], unique=False
        )

    op.create_table(
        "inbound_numbers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("phone_number", sa.String(length=64), nullable=False),
        sa.Column("phone_number_normalized", sa.String(length=20), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("inbound_config", sa.JSON(), nullable=False),
        sa.Column("assistant_id", sa.String(length=36), nullable=True),
        sa.Column("inbound_context_strategy_id", sa.String(length=36), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_context_strategy_id"], ["inbound_context_strategies.id"], ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbound_numbers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_numbers_account_list",
            ["account_id", "active", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_numbers_assistant_id"), ["assistant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_numbers_inbound_context_strategy_id"),
            ["inbound_context_strategy_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_inbound_numbers_active_normalized",
            ["phone_number_normalized"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )


def downgrade() -> None:

    with op.batch_alter_table("inbound_numbers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_inbound_numbers_active_normalized",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.drop_index(batch_op.f("ix_inbound_numbers_inbound_context_strategy_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_numbers_assistant_id"))
        batch_op.drop_index("ix_inbound_numbers_account_list")

    op.drop_table("inbound_numbers")
    with op.batch_alter_table("inbound_context_strategies", schema=None) as batch_op:
        batch_op.drop_index("ix_strategies_account_created")

    op.drop_table("inbound_context_strategies")
