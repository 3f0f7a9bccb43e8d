"""issue 15: forecasting and the pipeline workspace (stage age, stale thresholds, trend index)

Revision ID: c0011
Revises: c0010

- ``crm_deals.stage_changed_at``: when the deal last entered its stage, so a deal sitting in a
  stage longer than the stage allows can be marked stale. Existing deals are backfilled from
  their audit trail (the latest stage change, win or loss), else their creation time.
- ``crm_stages.stale_after_days``: the per-stage "days without change" threshold (NULL: never
  stale).
- ``ix_crm_deals_tenant_closed``: the won/lost trend reads a tenant's deals closed in a window.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0011"
down_revision: str | Sequence[str] | None = "c0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE crm_deals SET stage_changed_at = COALESCE(
    (SELECT max(a.created_at) FROM crm_audit_events a
      WHERE a.tenant_id = crm_deals.tenant_id AND a.entity_type = 'deal' AND a.entity_id = crm_deals.id
        AND a.action IN ('stage_changed', 'closed_won', 'closed_lost')),
    crm_deals.created_at)
"""


# Plain ALTER TABLE statements, valid on SQLite and PostgreSQL alike, instead of batch operations:
# on SQLite a batch "move and copy" drops the old table, and with foreign keys enforced that
# DROP deletes its rows first - refused for crm_stages (deals reference it) and, for crm_deals,
# a cascade that would delete every activity linked to a deal. So no table is rebuilt here: the
# CHECK rides on the new column, and stage_changed_at stays nullable (no constant default fits;
# every write path sets it and the backfill fills the rest).

def upgrade() -> None:
    op.execute("ALTER TABLE crm_stages ADD COLUMN stale_after_days INTEGER "
               "CONSTRAINT ck_crm_stages_stale_after_days_range "
               "CHECK (stale_after_days IS NULL OR (stale_after_days >= 1 AND stale_after_days <= 3650))")
    op.add_column("crm_deals", sa.Column("stage_changed_at", sa.DateTime(), nullable=True))
    op.execute(BACKFILL)
    op.create_index("ix_crm_deals_tenant_closed", "crm_deals", ["tenant_id", "closed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_deals_tenant_closed", table_name="crm_deals")
    # SQLite >= 3.35 drops a column in place (its own CHECK goes with it); no table rebuild
    op.execute("ALTER TABLE crm_deals DROP COLUMN stage_changed_at")
    op.execute("ALTER TABLE crm_stages DROP COLUMN stale_after_days")
