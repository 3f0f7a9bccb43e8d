"""One live subscription per customer and product, enforced by the database

Revision ID: h0004
Revises: h0003

``billing.subscribe`` checks for a live subscription first, but two conversions racing for
the same customer and product (two deals, two admins) could both pass that check. A partial
unique index over the subscriptions that are not cancelled makes the second insert fail, so
the CRM answers it with a 409 and rolls its conversion back."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h0004"
down_revision: str | Sequence[str] | None = "h0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("status <> 'cancelled' AND product_id IS NOT NULL")


def upgrade() -> None:
    op.create_index("uq_subscriptions_live_product", "subscriptions", ["customer_id", "product_id"],
                    unique=True, postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade() -> None:
    op.drop_index("uq_subscriptions_live_product", table_name="subscriptions")
