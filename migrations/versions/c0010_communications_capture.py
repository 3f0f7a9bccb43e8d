"""communications capture: provenance columns, conversations, the capture review queue

Revision ID: c0010
Revises: c0009

Captured mail is stored as communications with provenance (message id unique per tenant, thread,
sender, recipients, capture source and mode, linkage basis, reviewer). Messages that cannot be
linked wait with no customer and a review row. Channels follow contract 8.2: stored ``call``
becomes ``phone`` and ``letter`` becomes ``other``."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0010"
down_revision: str | Sequence[str] | None = "c0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_conversations")),
        sa.UniqueConstraint("tenant_id", "customer_id", "thread_id",
                            name=op.f("uq_crm_conversations_tenant_id_customer_id_thread_id")),
    )
    with op.batch_alter_table("crm_conversations") as batch:
        batch.create_index("ix_crm_conversations_customer_status",
                           ["tenant_id", "customer_id", "status", "last_message_at"], unique=False)
        batch.create_index(batch.f("ix_crm_conversations_tenant_id"), ["tenant_id"], unique=False)

    # The first wave stored contact and deal ids without foreign keys: drop any that dangle.
    for column, table in (("contact_id", "crm_contacts"), ("deal_id", "crm_deals")):
        op.execute(f"UPDATE crm_communications SET {column} = NULL WHERE {column} IS NOT NULL "  # noqa: S608
                   f"AND {column} NOT IN (SELECT id FROM {table})")
    with op.batch_alter_table("crm_communications") as batch:
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("activity_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("direction", sa.String(length=10), server_default="outbound", nullable=False))
        batch.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("thread_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("sender", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("recipients", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("capture_source", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("capture_mode", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("linkage_basis", sa.String(length=20), server_default="manual", nullable=False))
        batch.add_column(sa.Column("matched_address", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("body_truncated", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(batch.f("fk_crm_communications_conversation_id_crm_conversations"),
                                 "crm_conversations", ["conversation_id"], ["id"], ondelete="SET NULL")
        batch.create_index(batch.f("ix_crm_communications_conversation_id"), ["conversation_id"], unique=False)
        for column, table in (("contact_id", "crm_contacts"), ("deal_id", "crm_deals"),
                              ("activity_id", "crm_activities")):
            batch.create_foreign_key(batch.f(f"fk_crm_communications_{column}_{table}"), table, [column], ["id"],
                                     ondelete="SET NULL")
        batch.create_index(batch.f("ix_crm_communications_deal_id"), ["deal_id"], unique=False)
        batch.create_index(batch.f("ix_crm_communications_activity_id"), ["activity_id"], unique=False)
        batch.create_index("ix_crm_communications_tenant_contact", ["tenant_id", "contact_id", "occurred_at"],
                           unique=False)
        batch.create_index("uq_crm_communications_tenant_message", ["tenant_id", "message_id"], unique=True)

    op.create_table(
        "crm_capture_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("communication_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["communication_id"], ["crm_communications.id"],
                                name=op.f("fk_crm_capture_reviews_communication_id_crm_communications"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_capture_reviews")),
        sa.UniqueConstraint("communication_id", name=op.f("uq_crm_capture_reviews_communication_id")),
    )
    with op.batch_alter_table("crm_capture_reviews") as batch:
        batch.create_index("ix_crm_capture_reviews_queue", ["tenant_id", "resolved_at", "created_at"], unique=False)
        batch.create_index(batch.f("ix_crm_capture_reviews_tenant_id"), ["tenant_id"], unique=False)

    op.execute("UPDATE crm_communications SET channel = 'phone' WHERE channel = 'call'")
    op.execute("UPDATE crm_communications SET channel = 'other' WHERE channel = 'letter'")


def downgrade() -> None:
    with op.batch_alter_table("crm_capture_reviews") as batch:
        batch.drop_index(batch.f("ix_crm_capture_reviews_tenant_id"))
        batch.drop_index("ix_crm_capture_reviews_queue")
    op.drop_table("crm_capture_reviews")
    # Messages still waiting for review have no customer and cannot survive the old NOT NULL.
    op.execute("DELETE FROM crm_communications WHERE customer_id IS NULL")
    op.execute("UPDATE crm_communications SET channel = 'call' WHERE channel = 'phone'")
    with op.batch_alter_table("crm_communications") as batch:
        batch.drop_index("uq_crm_communications_tenant_message")
        batch.drop_index("ix_crm_communications_tenant_contact")
        batch.drop_index(batch.f("ix_crm_communications_activity_id"))
        batch.drop_index(batch.f("ix_crm_communications_deal_id"))
        for column, table in (("contact_id", "crm_contacts"), ("deal_id", "crm_deals"),
                              ("activity_id", "crm_activities")):
            batch.drop_constraint(batch.f(f"fk_crm_communications_{column}_{table}"), type_="foreignkey")
        batch.drop_index(batch.f("ix_crm_communications_conversation_id"))
        batch.drop_constraint(batch.f("fk_crm_communications_conversation_id_crm_conversations"), type_="foreignkey")
        for column in ("reviewed_at", "reviewed_by_id", "body_truncated", "matched_address", "linkage_basis",
                       "capture_mode", "capture_source", "recipients", "sender", "thread_id", "message_id",
                       "direction", "conversation_id", "activity_id"):
            batch.drop_column(column)
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("crm_conversations") as batch:
        batch.drop_index(batch.f("ix_crm_conversations_tenant_id"))
        batch.drop_index("ix_crm_conversations_customer_status")
    op.drop_table("crm_conversations")
