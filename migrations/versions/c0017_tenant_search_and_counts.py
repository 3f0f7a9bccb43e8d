"""issue 9: tenant-aware contact search and per-tenant contact counts kept by the database

Revision ID: c0017
Revises: c0016

* PostgreSQL search: ``ix_crm_contacts_search_trgm`` becomes ``gin (tenant_id, <search text>
  gin_trgm_ops)`` (btree_gin puts the integer beside the trigrams), so one index scan answers
  "this tenant's contacts containing q" instead of collecting every tenant's hits. Without
  btree_gin (a role that may not create it) the index of c0006 stays: same answers.
* SQLite search: ``crm_contacts_fts``, a contentless FTS5 table with the trigram tokenizer over
  the same search text (rowid = contact id), kept in step by triggers. A search of 3+ characters
  reads its candidates from it; the LIKE of the search text stays the judge of what matches.
* Counts: ``crm_contact_counts`` holds the number of contacts per tenant and type, written by
  triggers on ``crm_contacts`` (every write path: ORM, CSV import, raw SQL, deletes). SQLite: one
  row per (tenant, type), updated per row (SQLite has one writer at a time). PostgreSQL:
  statement-level triggers add the statement's change to a row of the writing transaction's own
  (``slot`` = its transaction id) and fold the other transactions' committed rows into it
  (``FOR UPDATE SKIP LOCKED``), so a long import never blocks another writer of the tenant and
  a tenant keeps a handful of rows. Readers sum the rows of a tenant.

The search text expression is written out (not imported) so the revision stays what it was."""
# ruff: noqa: S608 - the only interpolated text is this file's constant names and expression
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0017"
down_revision: str | Sequence[str] | None = "c0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

SEARCH_INDEX = "ix_crm_contacts_search_trgm"
FTS = "crm_contacts_fts"
COUNTS = "crm_contact_counts"


def search_text(row: str = "") -> str:
    prefix = f"{row}." if row else ""
    return (f"lower({prefix}first_name || ' ' || {prefix}last_name || '\n' || coalesce({prefix}email, '') "
            f"|| '\n' || coalesce({prefix}company, ''))")


def _extension(bind, name: str) -> bool:
    """The extension is installed, installing it if this role may; a refusal is not an error."""
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = :n"), {"n": name}).scalar():
        return True
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {name}"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("%s unavailable (%s); contact search keeps the index of c0006", name,
                    str(exc.orig).strip().splitlines()[0])
        return False
    savepoint.commit()
    return True


# ---------------------------------------------------------------- PostgreSQL

PG_FUNCTIONS = (
    f"""CREATE FUNCTION crm_contact_counts_add(tenants integer[], kinds varchar[], deltas bigint[])
    RETURNS void LANGUAGE plpgsql AS $$
    DECLARE me bigint := txid_current();
    BEGIN
        -- Fold every committed row of these tenants that no other transaction holds into this
        -- transaction's own rows; rows another writer holds are skipped, never waited for.
        WITH gone AS (
            DELETE FROM {COUNTS} c
            WHERE (c.tenant_id, c.type, c.slot) IN (
                SELECT l.tenant_id, l.type, l.slot FROM {COUNTS} l
                WHERE l.tenant_id = ANY(tenants) AND l.slot <> me FOR UPDATE SKIP LOCKED)
            RETURNING c.tenant_id, c.type, c.n),
        delta AS (
            SELECT * FROM unnest(tenants, kinds, deltas) AS d(tenant_id, type, n)
            UNION ALL SELECT * FROM gone)
        INSERT INTO {COUNTS} AS c (tenant_id, type, slot, n)
        SELECT tenant_id, type, me, sum(n) FROM delta GROUP BY tenant_id, type
        ON CONFLICT (tenant_id, type, slot) DO UPDATE SET n = c.n + excluded.n;
    END $$""",
    """CREATE FUNCTION crm_contacts_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE tenants integer[]; kinds varchar[]; deltas bigint[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(tenant_id), array_agg(type), array_agg(n) INTO tenants, kinds, deltas
            FROM (SELECT tenant_id, type, count(*) AS n FROM new_rows GROUP BY tenant_id, type) s;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(tenant_id), array_agg(type), array_agg(n) INTO tenants, kinds, deltas
            FROM (SELECT tenant_id, type, -count(*) AS n FROM old_rows GROUP BY tenant_id, type) s;
        ELSE
            SELECT array_agg(tenant_id), array_agg(type), array_agg(n) INTO tenants, kinds, deltas
            FROM (SELECT tenant_id, type, sum(n) AS n FROM (
                      SELECT tenant_id, type, 1 AS n FROM new_rows
                      UNION ALL SELECT tenant_id, type, -1 FROM old_rows) r
                  GROUP BY tenant_id, type HAVING sum(n) <> 0) s;
        END IF;
        IF tenants IS NOT NULL THEN
            PERFORM crm_contact_counts_add(tenants, kinds, deltas);
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION crm_contacts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM {COUNTS};
        RETURN NULL;
    END $$""",
)
PG_TRIGGERS = (
    "CREATE TRIGGER crm_contacts_count_insert AFTER INSERT ON crm_contacts REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_contacts_counted()",
    "CREATE TRIGGER crm_contacts_count_delete AFTER DELETE ON crm_contacts REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_contacts_counted()",
    "CREATE TRIGGER crm_contacts_count_update AFTER UPDATE ON crm_contacts "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_contacts_counted()",
    "CREATE TRIGGER crm_contacts_count_truncate AFTER TRUNCATE ON crm_contacts "
    "FOR EACH STATEMENT EXECUTE FUNCTION crm_contacts_truncated()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS crm_contacts_count_truncate ON crm_contacts",
    "DROP TRIGGER IF EXISTS crm_contacts_count_update ON crm_contacts",
    "DROP TRIGGER IF EXISTS crm_contacts_count_delete ON crm_contacts",
    "DROP TRIGGER IF EXISTS crm_contacts_count_insert ON crm_contacts",
    "DROP FUNCTION IF EXISTS crm_contacts_truncated()",
    "DROP FUNCTION IF EXISTS crm_contacts_counted()",
    "DROP FUNCTION IF EXISTS crm_contact_counts_add(integer[], varchar[], bigint[])",
)

# ---------------------------------------------------------------- SQLite

SQLITE_UPSERT = (f"INSERT INTO {COUNTS} (tenant_id, type, slot, n) VALUES (NEW.tenant_id, NEW.type, 0, 1) "
                 "ON CONFLICT (tenant_id, type, slot) DO UPDATE SET n = n + 1;")
SQLITE_DECREMENT = (f"UPDATE {COUNTS} SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND type = OLD.type "
                    "AND slot = 0;")
FTS_ADD = f"INSERT INTO {FTS} (rowid, search_text) VALUES (NEW.id, {search_text('NEW')});"
FTS_REMOVE = f"INSERT INTO {FTS} ({FTS}, rowid, search_text) VALUES ('delete', OLD.id, {search_text('OLD')});"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER crm_contacts_after_insert AFTER INSERT ON crm_contacts BEGIN {SQLITE_UPSERT} {FTS_ADD} END",
    f"CREATE TRIGGER crm_contacts_after_delete AFTER DELETE ON crm_contacts BEGIN {SQLITE_DECREMENT} {FTS_REMOVE} END",
    "CREATE TRIGGER crm_contacts_type_changed AFTER UPDATE OF type, tenant_id ON crm_contacts "
    f"WHEN OLD.type IS NOT NEW.type OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN {SQLITE_DECREMENT} {SQLITE_UPSERT} END",
    "CREATE TRIGGER crm_contacts_search_changed AFTER UPDATE OF first_name, last_name, email, company ON crm_contacts "
    f"WHEN {search_text('OLD')} IS NOT {search_text('NEW')} BEGIN {FTS_REMOVE} {FTS_ADD} END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS crm_contacts_search_changed",
    "DROP TRIGGER IF EXISTS crm_contacts_type_changed",
    "DROP TRIGGER IF EXISTS crm_contacts_after_delete",
    "DROP TRIGGER IF EXISTS crm_contacts_after_insert",
    f"DROP TABLE IF EXISTS {FTS}",
)


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        COUNTS,
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "type", "slot", name=op.f("pk_crm_contact_counts")),
    )
    if bind.dialect.name == "postgresql":
        for statement in (*PG_FUNCTIONS, *PG_TRIGGERS):  # the triggers lock out writers until commit
            op.execute(statement)
        if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() \
                and _extension(bind, "btree_gin"):
            op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
            op.execute(f"CREATE INDEX {SEARCH_INDEX} ON crm_contacts USING gin (tenant_id, ({search_text()}) gin_trgm_ops)")
    else:
        op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_text, content='', tokenize='trigram')")
        op.execute(f"INSERT INTO {FTS} (rowid, search_text) SELECT id, {search_text()} FROM crm_contacts")
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute(f"INSERT INTO {COUNTS} (tenant_id, type, slot, n) "
               "SELECT tenant_id, type, 0, count(*) FROM crm_contacts GROUP BY tenant_id, type")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in PG_DROP:
            op.execute(statement)
        if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
            op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
            op.execute(f"CREATE INDEX {SEARCH_INDEX} ON crm_contacts USING gin (({search_text()}) gin_trgm_ops)")
        # btree_gin stays installed: other software in the database may use it.
    else:
        for statement in SQLITE_DROP:
            op.execute(statement)
    op.drop_table(COUNTS)
