"""issue 12: products and conversion on deals, per-stage automation settings, automation runs

Revision ID: c0012
Revises: c0011

Deals gain the host catalogue's product and plan plus what a conversion records (subscription,
time, contract snapshot). Stages gain their automation settings; existing tenants get the
defaults new tenants get (a follow-up on open stages, a finance hand-off on NEGOTIATION and
WON). Runs and their steps are new tables."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0012"
down_revision: str | Sequence[str] | None = "c0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLLOWUP_DAYS = {"LEAD": 2, "QUALIFIED": 3, "PROPOSAL": 3, "NEGOTIATION": 2}
FINANCE_HANDOFF = ("NEGOTIATION", "WON")


def upgrade() -> None:
    with op.batch_alter_table("crm_deals") as batch:
        batch.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("converted_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("subscription_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("contract_snapshot", sa.JSON(), nullable=True))
    with op.batch_alter_table("crm_stages") as batch:
        batch.add_column(sa.Column("followup_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("finance_handoff", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("notify_owner", sa.Boolean(), server_default="0", nullable=False))
    stages = sa.table("crm_stages", sa.column("key", sa.String), sa.column("outcome", sa.String),
                      sa.column("followup_days", sa.Integer), sa.column("finance_handoff", sa.Boolean))
    for key, days in FOLLOWUP_DAYS.items():
        op.execute(stages.update().where(stages.c.key == key, stages.c.outcome.is_(None)).values(followup_days=days))
    op.execute(stages.update().where(stages.c.key.in_(FINANCE_HANDOFF)).values(finance_handoff=True))

    op.create_table(
        "crm_automation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=False),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"], name=op.f("fk_crm_automation_runs_deal_id_crm_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_automation_runs")),
    )
    op.create_index("ix_crm_automation_runs_tenant_deal", "crm_automation_runs", ["tenant_id", "deal_id", "id"])
    op.create_index(op.f("ix_crm_automation_runs_tenant_id"), "crm_automation_runs", ["tenant_id"])
    op.create_table(
        "crm_automation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["crm_automation_runs.id"],
                                name=op.f("fk_crm_automation_steps_run_id_crm_automation_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_automation_steps")),
        sa.UniqueConstraint("run_id", "name", name=op.f("uq_crm_automation_steps_run_id_name")),
    )
    op.create_index(op.f("ix_crm_automation_steps_run_id"), "crm_automation_steps", ["run_id"])
    op.create_index(op.f("ix_crm_automation_steps_tenant_id"), "crm_automation_steps", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_automation_steps_tenant_id"), table_name="crm_automation_steps")
    op.drop_index(op.f("ix_crm_automation_steps_run_id"), table_name="crm_automation_steps")
    op.drop_table("crm_automation_steps")
    op.drop_index(op.f("ix_crm_automation_runs_tenant_id"), table_name="crm_automation_runs")
    op.drop_index("ix_crm_automation_runs_tenant_deal", table_name="crm_automation_runs")
    op.drop_table("crm_automation_runs")
    # plain columns: ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) instead of a table copy, which
    # SQLite refuses while crm_deals' foreign keys point at the table
    with op.batch_alter_table("crm_stages", recreate="never") as batch:
        batch.drop_column("notify_owner")
        batch.drop_column("finance_handoff")
        batch.drop_column("followup_days")
    with op.batch_alter_table("crm_deals", recreate="never") as batch:
        batch.drop_column("contract_snapshot")
        batch.drop_column("subscription_id")
        batch.drop_column("converted_at")
        batch.drop_column("plan_id")
        batch.drop_column("product_id")
