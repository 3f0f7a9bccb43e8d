"""activities: title (was subject), updated_at, completion actor, queue indexes

Revision ID: c0009
Revises: c0008

Seed 004 calls an activity's headline its ``title``; the column is renamed from ``subject`` (the
API still accepts and returns ``subject`` as a copy). ``updated_at`` and ``completed_by_id``
make edits, completions and reopenings traceable. Two indexes serve the queue pages:
``(tenant_id, completed_at, due_date)`` for the tenant-wide table and the overdue sweep, and
``(tenant_id, customer_id, completed_at)`` for the customer workspace's ranked rows."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0009"
down_revision: str | Sequence[str] | None = "c0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_activities", schema=None) as batch_op:
        batch_op.alter_column("subject", new_column_name="title", existing_type=sa.String(length=255),
                              existing_nullable=False)
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("completed_by_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_crm_activities_tenant_open_due", ["tenant_id", "completed_at", "due_date"],
                              unique=False)
        batch_op.create_index("ix_crm_activities_tenant_customer_open", ["tenant_id", "customer_id", "completed_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_activities_tenant_customer_open")
        batch_op.drop_index("ix_crm_activities_tenant_open_due")
        batch_op.drop_column("completed_by_id")
        batch_op.drop_column("updated_at")
        batch_op.alter_column("title", new_column_name="subject", existing_type=sa.String(length=255),
                              existing_nullable=False)
