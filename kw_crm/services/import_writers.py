"""How the CSV import's validated rows reach ``crm_contacts``: one writer per database.

Both writers take the rows batch by batch in file order and keep the same rules, so counts and
results are identical on SQLite and PostgreSQL:

* within a batch, rows with the same email are merged in Python (last non-empty value wins),
  so one statement never touches a contact twice;
* across batches the database does the merging: a later batch updates the contact an earlier
  one created, and because that contact's id is above the largest id stored before the import
  it counts as a duplicate (no set of a million emails kept in memory);
* an update overwrites names, email and status, and other fields only where the cell had a
  value; a row without status keeps the stored one (new contacts get ``lead``).

:class:`ValuesUpsert` (SQLite) binds each batch as one multi-row ``INSERT ... ON CONFLICT``
after one ``SELECT`` of the batch's stored emails. :class:`CopyUpsert` (PostgreSQL) streams each
batch into a temporary table with ``COPY`` and applies it with two set-based statements whose
plans cannot drift: see its docstring."""
from __future__ import annotations

from itertools import chain
from operator import itemgetter

from sqlalchemy import DateTime, bindparam, func, literal_column, select

from .. import db
from ..errors import CrmError
from ..models.contact import Contact

ROW_COLUMNS = ("tenant_id", "first_name", "last_name", "email", "phone", "company", "job_title", "status",
               "type", "is_decision_maker")
# Fields an update overwrites even where the new value equals the old; the others are kept
# when the file's cell was empty.
ALWAYS_SET = ("first_name", "last_name", "email", "status")


def writer_for(tenant_id: int, fields: list[str]) -> BatchWriter:
    """The writer for the session's database; ``fields`` are the contact fields the file maps."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return CopyUpsert(tenant_id, fields)
    if dialect == "sqlite":
        return ValuesUpsert(tenant_id, fields)
    raise CrmError(f"Bulk import is not supported on {dialect}.")  # pragma: no cover


def email_keys(emails: list[str]) -> dict[str, str]:
    """Each email's ``email_key`` as the database computes it (``lower(trim(email))``, the unique
    index the upsert conflicts on): Python's ``lower()`` and the database's disagree on letters
    such as "İ", and two rows the index sees as one must be merged before they reach one upsert."""
    unique = list(dict.fromkeys(emails))
    keys: dict[str, str] = {}
    connection = db.session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    for start in range(0, len(unique), 500):  # one row of up to 500 columns (both databases allow it)
        chunk = unique[start:start + 500]
        # plain driver SQL: compiling 500 SQLAlchemy expressions would cost more than the batch
        sql = "SELECT " + ", ".join([f"lower(trim(CAST({marker} AS VARCHAR)))"] * len(chunk))
        keys.update(zip(chunk, connection.exec_driver_sql(sql, tuple(chunk)).one(), strict=True))
    return keys


class BatchWriter:
    """Merges a batch's repeated emails and keeps the counts; subclasses store the rows."""

    def __init__(self, tenant_id: int, fields: list[str]):
        self.tenant_id = tenant_id
        self.fields = fields
        self.table = Contact.__table__
        self.max_id_before = 0
        self.now = db.utcnow()  # one timestamp for the whole import

    @property
    def driver_errors(self) -> tuple[type[BaseException], ...]:
        """Errors the raw driver raises where the writer bypasses SQLAlchemy (rolled back as
        a refused import, like SQLAlchemy's own)."""
        return (db.session.get_bind().dialect.loaded_dbapi.Error,)

    def start(self) -> None:
        """Prepare the import (once, before the first batch)."""
        # Contacts with a larger id were created by this import: a later row with their email
        # is a duplicate within the file.
        self.max_id_before = db.session.scalar(select(func.coalesce(func.max(self.table.c.id), 0))) or 0

    def write(self, batch: list[tuple[int, dict]], result) -> None:
        by_key: dict[str, dict] = {}
        plain: list[dict] = []
        repeats = 0
        key_of = email_keys([values["email"] for _row, values in batch if values.get("email") is not None])
        for _row, values in batch:
            email = values.get("email")
            if email is None:
                plain.append(values)
                continue
            key = key_of[email]
            if key in by_key:
                by_key[key].update(values)
                repeats += 1
            else:
                by_key[key] = values
        stored, stored_here = self.store(by_key, plain)
        result.created += len(by_key) - stored + len(plain)
        result.updated += stored + repeats
        result.duplicates += stored_here + repeats

    def store(self, by_key: dict[str, dict], plain: list[dict]) -> tuple[int, int]:
        """Write the merged rows; return how many emails were already stored, and how many of
        those were stored by this import (ids above ``max_id_before``)."""
        raise NotImplementedError


class ValuesUpsert(BatchWriter):
    """SQLite: one SELECT of the batch's stored emails, then one multi-row upsert.

    SQLAlchemy builds the upsert once per import from the dialect's
    ``insert(...).on_conflict_do_update(...)`` with positional parameters; a batch repeats its
    VALUES row. (Letting SQLAlchemy bind every row itself cost more Python time than the
    database spent on the rows; see benchmarks/import_contacts.py.)"""

    def __init__(self, tenant_id: int, fields: list[str]):
        super().__init__(tenant_id, fields)
        self._statement = None
        self._sql_cache: dict[int, str] = {}
        self._defaults = {"tenant_id": tenant_id, "email": None, "phone": None, "company": None,
                          "job_title": None, "status": "lead", "type": "customer", "is_decision_maker": False}
        c = self.table.c
        self._existing = select(c.email_key, c.id, c.status).where(
            c.tenant_id == bindparam("tenant_id"), c.email_key.in_(bindparam("keys", expanding=True)))

    def store(self, by_key, plain):
        existing = {}
        if by_key:
            found = db.session.execute(self._existing, {"tenant_id": self.tenant_id, "keys": list(by_key)}).all()
            existing = {key: (contact_id, status) for key, contact_id, status in found}
        rows = []
        stored_here = 0
        for key, values in by_key.items():
            hit = existing.get(key)
            if hit is not None:
                stored_here += hit[0] > self.max_id_before
                if "status" not in values:
                    values["status"] = hit[1]  # the status column is NOT NULL: keep it explicitly
            rows.append({**self._defaults, **values})
        rows.extend({**self._defaults, **values} for values in plain)
        if rows:
            db.session.connection().exec_driver_sql(
                self._upsert_sql(len(rows)), tuple(chain.from_iterable(map(self._row_values, rows))))
        return len(existing), stored_here

    def _upsert_sql(self, count: int) -> str:
        if self._statement is None:
            self._statement = self._compile_upsert()
        head, group, tail = self._statement
        if count not in self._sql_cache:
            self._sql_cache = {count: head + ", ".join([group] * count) + tail}
        return self._sql_cache[count]

    def _compile_upsert(self) -> tuple[str, str, str]:
        from sqlalchemy.dialects.sqlite import insert

        c = self.table.c
        # The import's timestamp inlined as SQL text made from a datetime (no input).
        now = literal_column(f"'{self.now.isoformat(sep=' ')}'", DateTime())
        statement = insert(self.table).values(
            {**{name: bindparam(name) for name in ROW_COLUMNS}, "created_at": now, "updated_at": now})
        excluded = statement.excluded
        updates = {name: excluded[name] if name in ALWAYS_SET else func.coalesce(excluded[name], c[name])
                   for name in self.fields}
        updates["updated_at"] = now
        statement = statement.on_conflict_do_update(index_elements=[c.tenant_id, c.email_key], set_=updates)
        dialect = type(db.session.get_bind().dialect)(paramstyle="qmark")
        compiled = statement.compile(dialect=dialect)
        if sorted(compiled.positiontup) != sorted(ROW_COLUMNS):  # pragma: no cover - guards the slicing
            raise CrmError("Unexpected upsert parameters: " + ", ".join(compiled.positiontup))
        self._row_values = itemgetter(*compiled.positiontup)
        sql = str(compiled)
        start = sql.index(" VALUES (") + len(" VALUES ")
        end = sql.index(") ON CONFLICT", start) + 1
        return sql[:start], sql[start:end], sql[end:]


# The staging table of one batch: a temporary table of the session, dropped at commit or
# rollback, so concurrent imports (other sessions) never see each other's rows.
STAGE = "kw_import_batch"
STAGE_COLUMNS = ("seq", "first_name", "last_name", "email", "phone", "company", "job_title", "status")


class CopyUpsert(BatchWriter):
    """PostgreSQL: per batch, ``COPY`` the merged rows into a temporary table, then two
    set-based ``INSERT ... SELECT ... ON CONFLICT (tenant_id, email_key) DO UPDATE`` statements
    (rows that give a status, rows that keep the stored one), then empty the table.

    No statement looks contacts up: the only way to ``crm_contacts`` is the upsert's conflict
    check, which always probes the unique index, so nothing depends on statistics (a new tenant,
    a never-analysed table) or on the generic plan PostgreSQL may switch to once psycopg has
    prepared a statement (after 5 executions). The batch-wise lookup this replaces ended as a
    generic plan that read a tenant's whole index range per row (issue 9).

    Counts without a lookup: each staged row draws its contact id from the table's sequence
    during ``COPY``, in file order. An upserted row whose id is one of this batch's ids was
    created; any other was updated, and a duplicate if its id was drawn earlier in this import.
    (A contact another session creates with the same email while the import runs may be counted
    as created, not updated; what is stored is right either way.)"""

    def __init__(self, tenant_id: int, fields: list[str]):
        super().__init__(tenant_id, fields)
        overwrite = [f"{name} = excluded.{name}" if name in ALWAYS_SET
                     else f"{name} = coalesce(excluded.{name}, crm_contacts.{name})"
                     for name in fields if name != "status"]
        self._upserts = [self._upsert("status IS NOT NULL", "status", [*overwrite, "status = excluded.status"]),
                         self._upsert("status IS NULL", "'lead'", overwrite)]
        self._copy_sql = f"COPY {STAGE} ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
        self.first_id = None  # the first id this import drew

    @staticmethod
    def _upsert(where: str, status: str, updates: list[str]) -> str:
        """The upsert of the staged rows matching ``where``, answering (rows written, created,
        updated rows that this import had created). Only constant names are put together here."""
        batch_first = f"(SELECT min(id) FROM {STAGE})"  # noqa: S608
        return (
            f"WITH written AS (INSERT INTO crm_contacts (id, {', '.join(ROW_COLUMNS)}, created_at, updated_at) "  # noqa: S608
            f"SELECT id, %(tenant_id)s, first_name, last_name, email, phone, company, job_title, {status}, "
            f"'customer', false, %(now)s, %(now)s FROM {STAGE} WHERE {where} ORDER BY seq "
            f"ON CONFLICT (tenant_id, email_key) DO UPDATE SET {', '.join([*updates, 'updated_at = excluded.updated_at'])} "
            f"RETURNING id) "
            f"SELECT count(*), count(*) FILTER (WHERE id >= {batch_first}), "
            f"count(*) FILTER (WHERE id >= %(first_id)s AND id < {batch_first}), {batch_first} FROM written")

    def start(self) -> None:
        connection = db.session.connection()
        # The ids' sequence by number, so that no statement but the upserts names the table.
        sequence = connection.exec_driver_sql(
            "SELECT pg_get_serial_sequence('crm_contacts', 'id')::regclass::oid").scalar_one()
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (id integer NOT NULL DEFAULT nextval({int(sequence)}::oid), "
            "seq integer, first_name text, last_name text, email text, phone text, company text, job_title text, "
            "status text) ON COMMIT DROP")
        connection.exec_driver_sql(f"TRUNCATE {STAGE}")

    def store(self, by_key, plain):
        connection = db.session.connection()
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(self._copy_sql) as copy:
            for seq, values in enumerate(chain(by_key.values(), plain)):
                get = values.get
                copy.write_row((seq, get("first_name"), get("last_name"), get("email"), get("phone"),
                                get("company"), get("job_title"), get("status")))
        params = {"tenant_id": self.tenant_id, "now": self.now, "first_id": self.first_id}
        stored = stored_here = 0
        for sql in self._upserts:
            written, created, here, batch_first = connection.exec_driver_sql(sql, params).one()
            stored += written - created
            stored_here += here
            if self.first_id is None:
                self.first_id = batch_first
        connection.exec_driver_sql(f"TRUNCATE {STAGE}")
        return stored, stored_here
