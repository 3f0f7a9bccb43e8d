"""issue 14: communication indexes that hand every list its page in order

Revision ID: c0018
Revises: c0017

Every communication list sorts newest first with the id as tie-break (``ORDER BY occurred_at
DESC, id DESC LIMIT 50``; the review queue ``created_at DESC, id DESC``). Indexes that end with
that id let PostgreSQL read 50 index entries in order instead of joining and sorting:

- the customer log and the contact timeline: ``(tenant_id, customer_id|contact_id, occurred_at,
  id)``, replacing the same indexes without the id (names kept);
- the review queue: a partial index of the waiting captures, ``(tenant_id, created_at, id) WHERE
  resolved_at IS NULL``, replacing ``(tenant_id, resolved_at, created_at)`` — PostgreSQL does not
  take ``IS NULL`` as fixing a column for ordering, so that index never gave the order and the
  queue hash-joined every waiting capture (a second at 50,000 waiting);
- the Communications page: ``(tenant_id, occurred_at, id)``, replacing ``(occurred_at)``, an index
  across tenants the planner preferred for the log and then sorted large groups of equal times
  (also the dashboard's 7-day count filters by tenant first).

Downgrade restores the indexes of c0017."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0018"
down_revision: str | Sequence[str] | None = "c0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, table, its columns before c0018 (now the id follows)
WIDENED = (
    ("ix_crm_communications_tenant_customer", "crm_communications", ["tenant_id", "customer_id", "occurred_at"]),
    ("ix_crm_communications_tenant_contact", "crm_communications", ["tenant_id", "contact_id", "occurred_at"]),
)
WAITING = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    for name, table, columns in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [*columns, "id"], unique=False)
    op.drop_index("ix_crm_capture_reviews_queue", table_name="crm_capture_reviews")
    op.create_index("ix_crm_capture_reviews_waiting", "crm_capture_reviews", ["tenant_id", "created_at", "id"],
                    unique=False, postgresql_where=WAITING, sqlite_where=WAITING)
    op.drop_index("ix_crm_communications_occurred_at", table_name="crm_communications")
    op.create_index("ix_crm_communications_tenant_log", "crm_communications", ["tenant_id", "occurred_at", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_communications_tenant_log", table_name="crm_communications")
    op.create_index("ix_crm_communications_occurred_at", "crm_communications", ["occurred_at"], unique=False)
    op.drop_index("ix_crm_capture_reviews_waiting", table_name="crm_capture_reviews")
    op.create_index("ix_crm_capture_reviews_queue", "crm_capture_reviews", ["tenant_id", "resolved_at", "created_at"],
                    unique=False)
    for name, table, columns in WIDENED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
