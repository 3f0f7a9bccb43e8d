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


def upgrade() -> None:
    with op.batch_alter_table("crm_stages") as batch_op:
        batch_op.add_column(sa.Column("stale_after_days", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_crm_stages_stale_after_days_range"), "stale_after_days IS NULL OR (stale_after_days >= 1 AND stale_after_days <= 3650)")
    with op.batch_alter_table("crm_deals") as batch_op:
        batch_op.add_column(sa.Column("stage_changed_at", sa.DateTime(), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("crm_deals") as batch_op:
        batch_op.alter_column("stage_changed_at", existing_type=sa.DateTime(), nullable=False,
                              server_default=sa.text("(CURRENT_TIMESTAMP)"))
        batch_op.create_index("ix_crm_deals_tenant_closed", ["tenant_id", "closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_deals") as batch_op:
        batch_op.drop_index("ix_crm_deals_tenant_closed")
        batch_op.drop_column("stage_changed_at")
    with op.batch_alter_table("crm_stages") as batch_op:
        batch_op.drop_constraint("ck_crm_stages_stale_after_days_range", type_="check")
        batch_op.drop_column("stale_after_days")
