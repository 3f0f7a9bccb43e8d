"""issue 10: host sessions / login throttling

Revision ID: h0002
Revises: h0001

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in; until then it changes nothing."""
from collections.abc import Sequence

revision: str = "h0002"
down_revision: str | Sequence[str] | None = "h0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
