"""the job path (lead): crm_jobs table replacing crm_outbox

Revision ID: c0007
Revises: c0006

Reserved in the chain up front so parallel branches never fork the history: the branch of this
work fills it in (and renames the docstring); until then it changes nothing."""
from collections.abc import Sequence

revision: str = "c0007"
down_revision: str | Sequence[str] | None = "c0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
