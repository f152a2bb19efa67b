"""incoming-call action extensions: secondary webhook URL, signed call context in the URL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incoming_call_actions") as batch:
        batch.add_column(sa.Column("secondary_webhook_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("call_context_in_url", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incoming_call_actions") as batch:
        batch.drop_column("call_context_in_url")
        batch.drop_column("secondary_webhook_url")
