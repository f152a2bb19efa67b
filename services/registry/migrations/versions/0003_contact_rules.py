"""caller allow/block rules and each number's filter mode

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing mappings keep today's behaviour: every caller is let through.
    with op.batch_alter_table("inbound_numbers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "filter_mode", sa.String(length=16), server_default="blacklist", nullable=False
            )
        )

    op.create_table(
        "contact_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("inbound_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("match_type", sa.String(length=32), nullable=False),
        sa.Column("match_target_normalized", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_numbers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact_rules", schema=None) as batch_op:
        batch_op.create_index(
            "uq_contact_rules_number_target",
            ["inbound_id", "match_target_normalized"],
            unique=True,
        )
        batch_op.create_index(
            "ix_contact_rules_account_created", ["account_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_rules_account_created")
        batch_op.drop_index("uq_contact_rules_number_target")
    op.drop_table("contact_rules")
    with op.batch_alter_table("inbound_numbers", schema=None) as batch_op:
        batch_op.drop_column("filter_mode")
