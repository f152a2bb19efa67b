"""per-identity webhook signing keys replace the account-level secret

Every identity of an account that had an active signing secret gets that secret as its
own key (created_at = when the secret was last rotated), so receivers keep verifying
webhooks unchanged; then the account-level table is dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_signing_keys",
        sa.Column("agent_identity_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_identity_id"], ["agent_identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_identity_id"),
    )
    op.execute(
        "INSERT INTO identity_signing_keys (agent_identity_id, secret, created_at) "
        "SELECT agent_identities.id, webhook_signing_secrets.secret, "
        "COALESCE(webhook_signing_secrets.rotated_at, webhook_signing_secrets.created_at) "
        "FROM agent_identities JOIN webhook_signing_secrets "
        "ON webhook_signing_secrets.account_id = agent_identities.account_id "
        "WHERE webhook_signing_secrets.active"
    )
    op.drop_table("webhook_signing_secrets")


def downgrade() -> None:
    op.create_table(
        "webhook_signing_secrets",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    # Each account gets back its newest identity key as the account secret.
    op.execute(
        "INSERT INTO webhook_signing_secrets (account_id, secret, active, created_at, rotated_at) "
        "SELECT i.account_id, k.secret, TRUE, k.created_at, k.created_at "
        "FROM identity_signing_keys k JOIN agent_identities i ON i.id = k.agent_identity_id "
        "WHERE k.agent_identity_id = ("
        "SELECT k2.agent_identity_id FROM identity_signing_keys k2 "
        "JOIN agent_identities i2 ON i2.id = k2.agent_identity_id "
        "WHERE i2.account_id = i.account_id "
        "ORDER BY k2.created_at DESC, k2.agent_identity_id DESC LIMIT 1)"
    )
    op.drop_table("identity_signing_keys")
