"""Bulk CSV import of contacts: streamed, validated row by row, written in set-based batches.

The pieces, in the order a file meets them:

* :func:`open_csv` sniffs the encoding (UTF-8 with or without BOM, UTF-16 with BOM,
  Windows-1252) and the delimiter (``,`` ``;`` or tab) from the first bytes and returns a
  streaming ``csv.reader`` - the file is never read whole, so memory stays flat in its size.
* :func:`map_headers` matches the header row to contact fields (case-insensitive, trimmed,
  spaces/underscores/dashes ignored, with the aliases real exports use) and refuses a file that
  lacks a required column before anything is written.
* :func:`clean_row` turns one record into contact values or a reason to skip it.
* :func:`import_contacts` writes batches with one multi-row ``INSERT ... ON CONFLICT
  (tenant_id, email_key) DO UPDATE`` each, after one ``SELECT`` of the batch's existing
  emails (which makes the created/updated counts exact), all in one transaction: a failure
  anywhere leaves the database as it was.

Rules: rows are applied in file order, so for an email that appears twice the last row wins
(and the later rows count as updated). An empty cell never erases a stored value. Imported
companies stay free text (no customer link, no auto-create)."""
from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .. import db, signals
from ..csvsafe import safe_cell
from ..errors import CrmError, Invalid
from ..models.contact import CONTACT_STATUSES, Contact
from ..tenancy import require_tenant_id

BATCH_SIZE = 1000
PREVIEW_ROWS = 10
MAX_REPORTED_ERRORS = 1000
SNIFF_BYTES = 64 * 1024
_READ_CHUNK = 256 * 1024

# contact field -> header spellings (compared after dropping case, spaces, "_", "-" and ".").
FIELDS = ("first_name", "last_name", "email", "phone", "company", "job_title", "status")
REQUIRED = ("first_name", "last_name")
COLUMN_LABELS = {"first_name": "firstname", "last_name": "lastname", "email": "email", "phone": "phone",
                 "company": "company", "job_title": "jobtitle", "status": "status"}
ALIASES = {
    "first_name": ("firstname", "first", "givenname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "email": ("email", "emailaddress", "mail", "emailaddr", "e-mail"),
    "phone": ("phone", "telephone", "phonenumber", "mobile", "mobilephone", "tel", "cellphone"),
    "company": ("company", "organisation", "organization", "companyname", "org"),
    "job_title": ("jobtitle", "title", "position", "jobposition"),
    "status": ("status", "contactstatus", "leadstatus"),
}
MAX_LENGTHS = {name: Contact.__table__.c[name].type.length for name in FIELDS if name != "status"}


def _compact(header: str) -> str:
    return re.sub(r"[\s_\-.]+", "", header.strip().lstrip("\ufeff").lower())


_ALIAS_INDEX = {_compact(alias): name for name, aliases in ALIASES.items() for alias in aliases}


class ImportFailed(CrmError):
    """The database refused a batch; the whole import was rolled back."""

    status, code = 409, "import_failed"


def _bad_file(message: str) -> Invalid:
    return Invalid({"file": [message]}, message)


# --- decoding -------------------------------------------------------------------------------

class _Utf8Transcoder(io.RawIOBase):
    """A raw byte stream re-encoded to UTF-8 from the sniffed source encoding.

    Files without a BOM start as UTF-8; if invalid UTF-8 shows up while everything before it
    was plain ASCII, the file is Windows-1252 (what Excel writes) and decoding switches
    losslessly. Invalid UTF-8 after real UTF-8 text is a mixed file and a clear error."""

    def __init__(self, source, head: bytes, encoding: str | None):
        super().__init__()
        self._source = source
        self._pending = head
        self._auto = encoding is None
        self._decoder = codecs.getincrementaldecoder(encoding or "utf-8")()
        self._ascii_so_far = True
        self._out = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _decode(self, chunk: bytes, final: bool) -> str:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            if self._auto and self._ascii_so_far and chunk[:exc.start].isascii():
                self._auto = False
                self._decoder = codecs.getincrementaldecoder("cp1252")()
                return self._decode(chunk, final)
            raise _bad_file(self._decode_error()) from None
        if self._ascii_so_far and not chunk.isascii():
            self._ascii_so_far = False
        return text

    def _decode_error(self) -> str:
        return ("The file is not valid text: save it as CSV in UTF-8 (recommended), UTF-16 or "
                "Windows-1252 (Excel's \"CSV\") and upload it again.")

    def readinto(self, buffer) -> int:
        while not self._out and not self._eof:
            chunk = self._pending or self._source.read(_READ_CHUNK)
            self._pending = b""
            if not chunk:
                self._eof = True
                self._out = self._decode(b"", True).encode("utf-8")
            else:
                self._out = self._decode(chunk, False).encode("utf-8")
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size


def _sniff_encoding(head: bytes) -> str | None:
    """The codec for ``head``'s BOM, ``None`` for "UTF-8 or Windows-1252", or a 422."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _bad_file("UTF-32 files are not supported: save the file as CSV in UTF-8 and upload it again.")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise _bad_file("This is a spreadsheet workbook, not a CSV: in Excel use File > Save As > CSV.")
    if b"\x00" in head:
        raise _bad_file("The file contains binary data (or UTF-16 without a byte order mark): "
                        "save it as CSV in UTF-8 and upload it again.")
    return None


def _sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``,`` ``;`` and tab outside quotes in the header (default ``,``)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass
class CsvSource:
    """A streaming CSV: its header and an iterator of (spreadsheet row number, cells)."""

    header: list[str]
    delimiter: str
    records: Iterator[tuple[int, list[str]]]


def open_csv(binary) -> CsvSource:
    """Open a binary stream (an upload's stream, an open file) as a streaming CSV."""
    head = binary.read(SNIFF_BYTES)
    if not head:
        raise _bad_file("The file is empty.")
    encoding = _sniff_encoding(head)
    text = io.TextIOWrapper(io.BufferedReader(_Utf8Transcoder(binary, head, encoding), _READ_CHUNK),
                            encoding="utf-8", newline="")
    header_line = text.readline()
    delimiter = _sniff_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    reader = csv.reader(text, delimiter=delimiter)
    return CsvSource(header, delimiter, _numbered(reader))


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    """Records with their spreadsheet row number (the header is row 1), blank lines dropped."""
    row = 1
    try:
        for cells in reader:
            row += 1
            if any(cell.strip() for cell in cells):
                yield row, cells
    except csv.Error as exc:
        raise _bad_file(f"Row {row + 1} cannot be read as CSV ({exc}).") from None


# --- header mapping -----------------------------------------------------------------------------

@dataclass
class ColumnMap:
    """Which cell index feeds which contact field, and which headers are ignored."""

    columns: list[dict]  # [{"header", "field" or None}] in file order
    index: dict[str, int]  # field -> cell index

    @property
    def ignored(self) -> list[str]:
        return [c["header"] for c in self.columns if c["field"] is None]


def map_headers(header: list[str]) -> ColumnMap:
    columns, index = [], {}
    for position, raw in enumerate(header):
        name = _ALIAS_INDEX.get(_compact(raw))
        if name is not None and name not in index:
            index[name] = position
        else:
            name = None
        columns.append({"header": raw.strip().lstrip("\ufeff"), "field": name})
    missing = [COLUMN_LABELS[name] for name in REQUIRED if name not in index]
    if missing:
        found = ", ".join(c["header"] for c in columns if c["header"]) or "none"
        message = (f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                   f"(columns found: {found}).")
        raise Invalid({"file": [message]}, message)
    return ColumnMap(columns, index)


# --- rows ---------------------------------------------------------------------------------------

_STATUS_BY_NAME = {status: status for status in CONTACT_STATUSES}
_LABELS = {"first_name": "first name", "last_name": "last name", "email": "email", "phone": "phone",
           "company": "company", "job_title": "job title"}


def clean_row(cells: list[str], columns: ColumnMap) -> tuple[dict | None, str | None]:
    """``(values, None)`` for an importable record, ``(None, reason)`` for a skipped one.
    ``values`` holds only non-empty fields (an empty cell never erases stored data)."""
    values = {}
    for name, position in columns.index.items():
        value = cells[position].strip() if position < len(cells) else ""
        if value:
            values[name] = value
    for name in REQUIRED:
        if name not in values:
            return None, f"Missing {_LABELS[name]}."
    for name, limit in MAX_LENGTHS.items():
        if name in values and len(values[name]) > limit:
            return None, f"The {_LABELS[name]} is longer than {limit} characters."
    email = values.get("email")
    if email is not None and (email.count("@") != 1 or any(ch.isspace() for ch in email)
                              or email.startswith("@") or email.endswith("@")):
        return None, f"Invalid email address: {email}."
    if "status" in values:
        status = _STATUS_BY_NAME.get(values["status"].lower())
        if status is None:
            return None, f"Unknown status {values['status']!r} (use one of: {', '.join(CONTACT_STATUSES)})."
        values["status"] = status
    return values, None


# --- preview ------------------------------------------------------------------------------------

def preview(binary, limit: int = PREVIEW_ROWS) -> dict:
    """The column mapping and the first ``limit`` data rows as they will be imported."""
    source = open_csv(binary)
    columns = map_headers(source.header)
    rows = []
    for row_number, cells in source.records:
        values, reason = clean_row(cells, columns)
        shown = values if values is not None else {
            name: cells[i].strip() for name, i in columns.index.items() if i < len(cells)}
        rows.append({"row": row_number, **{name: shown.get(name) or None for name in FIELDS},
                     "skip_reason": reason})
        if len(rows) >= limit:
            break
    return {"columns": columns.columns, "ignored": columns.ignored, "delimiter": source.delimiter,
            "rows": rows}


# --- import -------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    """What an import did; the sender of ``contacts_imported``."""

    tenant_id: int
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0  # rows whose email appeared earlier in the file (counted in ``updated``)
    errors: list[dict] = field(default_factory=list)  # first MAX_REPORTED_ERRORS skipped rows
    errors_truncated: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    skipped_csv: tempfile.SpooledTemporaryFile | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.skipped

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "duplicates": self.duplicates, "errors": self.errors,
                "errors_truncated": self.errors_truncated, "ignored_columns": self.ignored_columns}

    def skipped_rows_csv(self) -> bytes:
        """The skipped rows (row, reason, original cells) as a formula-safe UTF-8 CSV."""
        if self.skipped_csv is None:
            return b""
        self.skipped_csv.seek(0)
        return self.skipped_csv.read()


class _SkipLog:
    """Skipped rows spooled to a temporary file (memory flat even if every row is bad)."""

    def __init__(self, header: list[str]):
        self.file = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
        self._text = io.TextIOWrapper(self.file, encoding="utf-8-sig", newline="", write_through=True)
        self._writer = csv.writer(self._text)
        self._writer.writerow(["row", "reason", *[safe_cell(h) for h in header]])

    def add(self, row: int, reason: str, cells: list[str]) -> None:
        self._writer.writerow([row, safe_cell(reason), *[safe_cell(c) for c in cells]])

    def close(self) -> tempfile.SpooledTemporaryFile:
        self._text.flush()
        self._text.detach()
        return self.file


def import_contacts(binary, *, batch_size: int = BATCH_SIZE, progress=None) -> ImportResult:
    """Import the CSV in ``binary`` into the bound tenant in one transaction and commit.

    ``progress(rows_read)`` is called after each batch (the CLI's progress bar). Raises
    :class:`~kw_crm.errors.Invalid` for a file that cannot be imported (nothing written) and
    :class:`ImportFailed` when the database refuses a batch (everything rolled back)."""
    tenant_id = require_tenant_id()
    source = open_csv(binary)
    columns = map_headers(source.header)
    result = ImportResult(tenant_id=tenant_id, ignored_columns=columns.ignored)
    skips = _SkipLog(source.header)
    writer = _BatchWriter(tenant_id, columns)
    batch: list[tuple[int, dict]] = []
    last_row = 1
    try:
        writer.start()
        for row_number, cells in source.records:
            last_row = row_number
            values, reason = clean_row(cells, columns)
            if values is None:
                result.skipped += 1
                skips.add(row_number, reason, cells)
                if len(result.errors) < MAX_REPORTED_ERRORS:
                    result.errors.append({"row": row_number, "message": reason})
                else:
                    result.errors_truncated = True
                continue
            batch.append((row_number, values))
            if len(batch) >= batch_size:
                writer.write(batch, result)
                batch = []
                if progress:
                    progress(row_number)
        if batch:
            writer.write(batch, result)
        if progress:
            progress(last_row)
        signals.send_after_commit(db.session, signals.contacts_imported, result)
        result.skipped_csv = skips.close()
        db.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        raise ImportFailed(f"The import stopped near row {last_row} and nothing was imported: {detail}") from exc
    except BaseException:
        db.session.rollback()
        raise
    return result


class _BatchWriter:
    """One SELECT of a batch's existing emails, then one multi-row upsert per batch."""

    def __init__(self, tenant_id: int, columns: ColumnMap):
        self.tenant_id = tenant_id
        self.table = Contact.__table__
        self.fields = [name for name in FIELDS if name in columns.index]
        self.dialect = db.session.get_bind().dialect.name
        self.max_id_before = 0

    def start(self) -> None:
        # Contacts with a larger id were created by this import: a later row with their email
        # is a duplicate within the file, which is how duplicates are counted without keeping
        # every email of a million-row file in memory.
        self.max_id_before = db.session.scalar(select(func.coalesce(func.max(self.table.c.id), 0))) or 0

    def _insert(self):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - the CRM supports SQLite and PostgreSQL
            raise CrmError(f"Bulk import is not supported on {self.dialect}.")
        return insert(self.table)

    def write(self, batch: list[tuple[int, dict]], result: ImportResult) -> None:
        # Rows are applied in file order: a later row with the same email merges over the
        # earlier one (last non-empty value wins), so one statement never touches a row twice.
        by_key: dict[str, dict] = {}
        plain: list[dict] = []
        repeats = 0
        for _row, values in batch:
            email = values.get("email")
            if email is None:
                plain.append(values)
                continue
            key = email.lower()
            if key in by_key:
                by_key[key].update(values)
                repeats += 1
            else:
                by_key[key] = dict(values)

        existing = {}
        if by_key:
            c = self.table.c
            wanted = [c.email_key, c.id, *(c[name] for name in self.fields if name != "email")]
            found = db.session.execute(
                select(*wanted).where(c.tenant_id == self.tenant_id, c.email_key.in_(list(by_key)))
            ).all()
            existing = {row[0]: row for row in found}

        now = db.utcnow()
        rows = []
        for key, values in by_key.items():
            stored = existing.get(key)
            if stored is None:
                rows.append(self._new_row(values, now))
                result.created += 1
            else:
                merged = dict(stored._mapping)
                merged.update(values)
                rows.append(self._new_row(merged, now))
                result.updated += 1
                if stored.id > self.max_id_before:
                    result.duplicates += 1
        rows.extend(self._new_row(values, now) for values in plain)
        result.created += len(plain)
        result.updated += repeats
        result.duplicates += repeats
        if not rows:
            return
        statement = self._insert().values(rows)
        excluded = statement.excluded
        updates = {name: excluded[name] for name in self.fields}
        updates["updated_at"] = excluded.updated_at
        statement = statement.on_conflict_do_update(
            index_elements=[self.table.c.tenant_id, self.table.c.email_key], set_=updates)
        db.session.execute(statement)

    def _new_row(self, values: dict, now) -> dict:
        return {"tenant_id": self.tenant_id,
                "first_name": values["first_name"], "last_name": values["last_name"],
                "email": values.get("email"), "phone": values.get("phone"),
                "company": values.get("company"), "job_title": values.get("job_title"),
                "status": values.get("status") or "lead", "type": "customer",
                "is_decision_maker": False, "created_at": now, "updated_at": now}


