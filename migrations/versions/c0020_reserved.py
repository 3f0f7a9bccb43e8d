"""issue 16: integration surface, second part (if it needs CRM schema)

Revision ID: c0020
Revises: c0019

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in (renames the file and the docstring); until then it changes nothing."""
from collections.abc import Sequence

revision: str = "c0020"
down_revision: str | Sequence[str] | None = "c0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
