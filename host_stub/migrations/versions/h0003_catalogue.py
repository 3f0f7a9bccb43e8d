"""issue 12: host product catalogue, subscriptions, billing events

Revision ID: h0003
Revises: h0002

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in; until then it changes nothing."""
from collections.abc import Sequence

revision: str = "h0003"
down_revision: str | Sequence[str] | None = "h0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
