"""issue 11: interface polish (if it needs schema)

Revision ID: c0015
Revises: c0014

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in (and renames the docstring); until then it changes nothing."""
from collections.abc import Sequence

revision: str = "c0015"
down_revision: str | Sequence[str] | None = "c0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
