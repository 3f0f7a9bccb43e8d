"""issue 11: interface polish, second part (if it needs CRM schema)

Revision ID: c0019
Revises: c0018

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in (renames the file and the docstring); until then it changes nothing."""
from collections.abc import Sequence

revision: str = "c0019"
down_revision: str | Sequence[str] | None = "c0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
