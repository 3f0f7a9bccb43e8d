"""contact search: pg_trgm GIN index on the normalized search text (PostgreSQL only)

Revision ID: c0006
Revises: c0005
Create Date: 2026-11-22 22:40:00

The contact list searches ``lower(first || ' ' || last || E'\\n' || coalesce(email, '') || E'\\n' ||
coalesce(company, '')) LIKE '%q%'`` (kw_crm.models.contact.search_text). On PostgreSQL a GIN
trigram index on that very expression lets the planner answer searches of 3+ characters from the
index instead of scanning every contact. The expression is written out here (not imported) so
this revision stays what it was when later model code changes; the model and this text must
produce the same expression or the planner will not use the index (tests/test_contacts_search_index).

pg_trgm is a contrib extension. When the migrating role may not create it, the revision still
succeeds without the index (logged as a warning): the search is then the same query, answered
by a scan - correct, only slower. Create the extension as a superuser and re-run the statements
below (or downgrade/upgrade this revision) to add the index later.

SQLite gets nothing: it has no trigram index for LIKE short of an FTS5 shadow table kept in step
by triggers, and SQLite deployments are small; the same expression is scanned there.

On a big existing table the index build holds a write lock on crm_contacts for its duration
(CREATE INDEX CONCURRENTLY cannot run inside the migration's transaction)."""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'c0006'
down_revision: str | Sequence[str] | None = 'c0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = "ix_crm_contacts_search_trgm"
SEARCH_TEXT = ("lower(first_name || ' ' || last_name || '\n' || coalesce(email, '') || '\n' "
               "|| coalesce(company, ''))")


def _have_trigram(bind) -> bool:
    """pg_trgm installed, installing it if this role may; a refusal is not an error."""
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        return True
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm unavailable (%s); contact search stays an unindexed scan",
                    str(exc.orig).strip().splitlines()[0])
        return False
    savepoint.commit()
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _have_trigram(bind):
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON crm_contacts USING gin (({SEARCH_TEXT}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    # The extension stays: other software in the database may use it.
