"""issue 10: hardening (if it needs CRM schema)

Revision ID: c0016
Revises: c0015

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in (and renames the docstring); until then it changes nothing."""
from collections.abc import Sequence

revision: str = "c0016"
down_revision: str | Sequence[str] | None = "c0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
