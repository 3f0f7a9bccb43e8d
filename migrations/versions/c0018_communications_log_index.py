"""issue 14: communication indexes end with the id their lists sort by; the tenant-wide log's index

Revision ID: c0018
Revises: c0017

Every communication list sorts newest first with the id as tie-break (``ORDER BY occurred_at
DESC, id DESC LIMIT 50``; the review queue by ``created_at DESC, id DESC``). Indexes that end
with that id hand PostgreSQL the page in order, so it reads 50 index entries instead of joining
and sorting every pending capture (the queue took a second at 50,000 waiting messages) or
sorting a busy contact's messages. The Communications page gets ``(tenant_id, occurred_at, id)``
for the tenant's whole log. The replaced indexes keep their names; downgrade restores them."""
from collections.abc import Sequence

from alembic import op

revision: str = "c0018"
down_revision: str | Sequence[str] | None = "c0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, table, its columns before c0018 (now the id follows)
WIDENED = (
    ("ix_crm_communications_tenant_customer", "crm_communications", ["tenant_id", "customer_id", "occurred_at"]),
    ("ix_crm_communications_tenant_contact", "crm_communications", ["tenant_id", "contact_id", "occurred_at"]),
    ("ix_crm_capture_reviews_queue", "crm_capture_reviews", ["tenant_id", "resolved_at", "created_at"]),
)


def upgrade() -> None:
    for name, table, columns in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [*columns, "id"], unique=False)
    op.create_index("ix_crm_communications_tenant_log", "crm_communications", ["tenant_id", "occurred_at", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_communications_tenant_log", table_name="crm_communications")
    for name, table, columns in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
