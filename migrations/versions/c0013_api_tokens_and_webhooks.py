"""issue 16: API tokens, webhook endpoints and their delivery log

Revision ID: c0013
Revises: c0012
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0013"
down_revision: str | Sequence[str] | None = "c0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_crm_api_tokens_token_hash")),
    )
    with op.batch_alter_table("crm_api_tokens") as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_api_tokens_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "crm_webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_webhook_endpoints")),
    )
    with op.batch_alter_table("crm_webhook_endpoints") as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_webhook_endpoints_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "crm_webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["crm_webhook_endpoints.id"],
                                name=op.f("fk_crm_webhook_deliveries_endpoint_id_crm_webhook_endpoints"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_webhook_deliveries")),
    )
    with op.batch_alter_table("crm_webhook_deliveries") as batch_op:
        batch_op.create_index("ix_crm_webhook_deliveries_endpoint", ["tenant_id", "endpoint_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_webhook_deliveries_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("crm_webhook_deliveries")
    op.drop_table("crm_webhook_endpoints")
    op.drop_table("crm_api_tokens")
