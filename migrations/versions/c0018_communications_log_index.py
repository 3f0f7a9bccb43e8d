"""issue 14: the tenant-wide communication log's index

Revision ID: c0018
Revises: c0017

The Communications page lists a tenant's whole log newest first (``ORDER BY occurred_at DESC, id
DESC LIMIT 50``, optionally by channel, direction or source); ``(tenant_id, occurred_at, id)`` lets
it read the first page straight off the index instead of sorting every row of the tenant."""
from collections.abc import Sequence

from alembic import op

revision: str = "c0018"
down_revision: str | Sequence[str] | None = "c0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_crm_communications_tenant_log", "crm_communications", ["tenant_id", "occurred_at", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_communications_tenant_log", table_name="crm_communications")
