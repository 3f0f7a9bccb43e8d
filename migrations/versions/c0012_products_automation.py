"""issue 12: products, conversion, automation runs

Revision ID: c0012
Revises: c0011

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in (and renames the docstring); until then it changes nothing."""
from collections.abc import Sequence

revision: str = "c0012"
down_revision: str | Sequence[str] | None = "c0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
