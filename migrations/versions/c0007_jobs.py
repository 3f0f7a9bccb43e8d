"""the job path: crm_jobs replaces crm_outbox

Revision ID: c0007
Revises: c0006

Mail was the only kind of outbox row; automation runs, webhook deliveries and imports join it as
jobs of one table. Rows still waiting in crm_outbox are carried over (sending -> pending, so a
claim lost with the old code is retried; sent -> done), then the old table goes. The downgrade
carries mail rows back the same way."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0007"
down_revision: str | Sequence[str] | None = "c0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_crm_jobs_dedupe_key")),
    )
    with op.batch_alter_table("crm_jobs") as batch_op:
        batch_op.create_index("ix_crm_jobs_due", ["status", "run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_jobs_tenant_id"), ["tenant_id"], unique=False)
    op.execute(
        "INSERT INTO crm_jobs (name, payload, dedupe_key, status, attempts, max_attempts, last_error,"
        " created_at, run_at, claimed_at, finished_at, tenant_id)"
        " SELECT kind, payload, dedupe_key,"
        " CASE status WHEN 'sending' THEN 'pending' WHEN 'sent' THEN 'done' ELSE status END, attempts, 8, last_error, created_at,"
        " next_attempt_at, NULL, sent_at, tenant_id FROM crm_outbox ORDER BY id"
    )
    with op.batch_alter_table("crm_outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_outbox_tenant_id"))
        batch_op.drop_index("ix_crm_outbox_due")
    op.drop_table("crm_outbox")


def downgrade() -> None:
    op.create_table(
        "crm_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_crm_outbox_dedupe_key")),
    )
    with op.batch_alter_table("crm_outbox") as batch_op:
        batch_op.create_index("ix_crm_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_outbox_tenant_id"), ["tenant_id"], unique=False)
    # Only mail existed before this revision; other kinds of jobs have nowhere to go.
    op.execute(
        "INSERT INTO crm_outbox (kind, payload, dedupe_key, status, attempts, last_error, created_at,"
        " next_attempt_at, claimed_at, sent_at, tenant_id)"
        " SELECT name, payload, COALESCE(dedupe_key, 'job:' || id),"
        " CASE status WHEN 'running' THEN 'pending' WHEN 'done' THEN 'sent' ELSE status END, attempts, last_error,"
        " created_at, run_at, NULL, finished_at, tenant_id FROM crm_jobs WHERE name = 'mail' ORDER BY id"
    )
    with op.batch_alter_table("crm_jobs") as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_jobs_tenant_id"))
        batch_op.drop_index("ix_crm_jobs_due")
    op.drop_table("crm_jobs")
