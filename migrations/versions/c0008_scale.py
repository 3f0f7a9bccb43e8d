"""issue 9: scale: the contact list and board card indexes end with the id they sort by

Revision ID: c0008
Revises: c0007

* ``ix_crm_contacts_tenant_name`` gains ``id``: the list sorts by (last name, first name, id), so
  with the id in the index a page is a walk of the index that stops after the page (no sort of a
  tenant's ties), and the API's keyset cursor ``(last_name, first_name, id) > (...)`` is a seek.
* ``ix_crm_deals_tenant_stage`` gains ``id``: the board reads each column's newest open cards
  (``archived_at IS NULL ORDER BY id DESC LIMIT n``) straight from it, instead of sorting or
  filtering a stage's deals through the primary key.

On a big existing table each index build holds a write lock on its table for its duration (the
migration's transaction rules out CONCURRENTLY)."""
from collections.abc import Sequence

from alembic import op

revision: str = "c0008"
down_revision: str | Sequence[str] | None = "c0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_contacts") as batch_op:
        batch_op.drop_index("ix_crm_contacts_tenant_name")
        batch_op.create_index("ix_crm_contacts_tenant_name", ["tenant_id", "last_name", "first_name", "id"])
    with op.batch_alter_table("crm_deals") as batch_op:
        batch_op.drop_index("ix_crm_deals_tenant_stage")
        batch_op.create_index("ix_crm_deals_tenant_stage", ["tenant_id", "stage_id", "archived_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("crm_deals") as batch_op:
        batch_op.drop_index("ix_crm_deals_tenant_stage")
        batch_op.create_index("ix_crm_deals_tenant_stage", ["tenant_id", "stage_id", "archived_at"])
    with op.batch_alter_table("crm_contacts") as batch_op:
        batch_op.drop_index("ix_crm_contacts_tenant_name")
        batch_op.create_index("ix_crm_contacts_tenant_name", ["tenant_id", "last_name", "first_name"])
