"""contact rules: at most one rule per side (inbound, outbound) of a mapping's caller number

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INBOUND = "direction IN ('inbound', 'both')"
_OUTBOUND = "direction IN ('outbound', 'both')"


def upgrade() -> None:
    # Every existing rule was unique per (mapping, number), so no side is covered twice.
    with op.batch_alter_table("contact_rules", schema=None) as batch_op:
        batch_op.drop_index("uq_contact_rules_number_target")
        batch_op.create_index(
            "uq_contact_rules_inbound_side",
            ["inbound_id", "match_target_normalized"],
            unique=True,
            sqlite_where=sa.text(_INBOUND),
            postgresql_where=sa.text(_INBOUND),
        )
        batch_op.create_index(
            "uq_contact_rules_outbound_side",
            ["inbound_id", "match_target_normalized"],
            unique=True,
            sqlite_where=sa.text(_OUTBOUND),
            postgresql_where=sa.text(_OUTBOUND),
        )


def downgrade() -> None:
    # Refused while a number has an inbound and an outbound rule for one caller.
    with op.batch_alter_table("contact_rules", schema=None) as batch_op:
        batch_op.drop_index("uq_contact_rules_outbound_side")
        batch_op.drop_index("uq_contact_rules_inbound_side")
        batch_op.create_index(
            "uq_contact_rules_number_target",
            ["inbound_id", "match_target_normalized"],
            unique=True,
        )
