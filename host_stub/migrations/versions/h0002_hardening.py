"""issue 10: server-side session invalidation (users.session_generation)

Revision ID: h0002
Revises: h0001

A session cookie names the user *and* the generation it was issued in; logging out or changing
the password moves the user to the next generation, so every older cookie stops working at once
(the cookie itself cannot be recalled: it is signed, not stored)."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h0002"
down_revision: str | Sequence[str] | None = "h0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
