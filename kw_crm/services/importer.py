"""Bulk CSV import of contacts: streamed, validated row by row, written in set-based batches.

The pieces, in the order a file meets them:

* :func:`open_csv` sniffs the encoding (UTF-8 with or without BOM, UTF-16 with BOM,
  Windows-1252) and the delimiter (``,`` ``;`` or tab) from the first bytes and returns a
  streaming ``csv.reader`` - the file is never read whole, so memory stays flat in its size.
* :func:`map_headers` matches the header row to contact fields (case-insensitive, trimmed,
  spaces/underscores/dashes ignored, with the aliases real exports use) and refuses a file that
  lacks a required column before anything is written.
* :func:`clean_row` turns one record into contact values or a reason to skip it.
* :func:`import_contacts` hands the valid rows batch by batch to a writer of
  :mod:`kw_crm.services.import_writers` (SQLite: multi-row upsert; PostgreSQL: ``COPY`` into a
  temporary table and set-based upsert from it), with exact created/updated counts, all in one
  transaction: a failure anywhere leaves the database as it was.

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

from sqlalchemy.exc import SQLAlchemyError

from .. import db, signals
from ..csvsafe import safe_cell
from ..errors import CrmError, Invalid
from ..models.contact import CONTACT_STATUSES, Contact
from ..tenancy import require_tenant_id
from .import_writers import writer_for

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

def _late_windows_1252(error: UnicodeDecodeError):
    """Decoding error handler for files whose sniffed head was plain ASCII: bytes that are not
    UTF-8 further down are read as Windows-1252 (Excel's "CSV"), which is what such files are."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    try:
        return error.object[error.start:error.end].decode("cp1252"), error.end
    except UnicodeDecodeError:
        raise error from None


codecs.register_error("kw_crm_late_cp1252", _late_windows_1252)

_NOT_TEXT = ("The file is not valid text: save it as CSV in UTF-8 (recommended), UTF-16 or "
             "Windows-1252 (Excel's \"CSV\") and upload it again.")


_MIXED = ("The file mixes UTF-8 with another encoding (such as Windows-1252), so some names would "
          "come out garbled: save it again as CSV in UTF-8 and upload it again.")
HEADER_MAX_CHARS = 64 * 1024


def _sniff_encoding(head: bytes) -> tuple[str, str]:
    """``(codec, errors)`` for a file starting with ``head``, or a 422 for what we cannot read."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _bad_file("UTF-32 files are not supported: save the file as CSV in UTF-8 and upload it again.")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "strict"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict"
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise _bad_file("This is a spreadsheet workbook, not a CSV: in Excel use File > Save As > CSV.")
    if b"\x00" in head:
        raise _bad_file("The file contains binary data (or UTF-16 without a byte order mark): "
                        "save it as CSV in UTF-8 and upload it again.")
    if head.isascii():
        return "utf-8", "kw_crm_late_cp1252"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8", "strict"
    except UnicodeDecodeError:
        pass
    lenient = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
    if any(ord(c) > 127 and c != "\ufffd" for c in lenient):
        # Real UTF-8 characters beside bytes that are not UTF-8: reading it all as Windows-1252
        # would turn "José" into "JosÃ©" without anyone noticing.
        raise _bad_file(_MIXED)
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        raise _bad_file(_NOT_TEXT) from None
    return "cp1252", "strict"


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
    encoding, errors = _sniff_encoding(head)
    text = io.TextIOWrapper(io.BufferedReader(_Prepend(head, binary), _READ_CHUNK),
                            encoding=encoding, errors=errors, newline="")
    try:
        header_line = text.readline(HEADER_MAX_CHARS + 1)
    except UnicodeDecodeError:
        raise _bad_file(_NOT_TEXT) from None
    if len(header_line) > HEADER_MAX_CHARS:
        raise _bad_file(f"The header row is longer than {HEADER_MAX_CHARS} characters: is this a CSV file?")
    delimiter = _sniff_delimiter(header_line)
    try:
        header = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error as exc:
        raise _bad_file(f"The header row cannot be read as CSV ({exc}).") from None
    reader = csv.reader(text, delimiter=delimiter)
    return CsvSource(header, delimiter, _numbered(reader))


class _Prepend(io.RawIOBase):
    """The sniffed head followed by the rest of the (non-seekable) upload stream."""

    def __init__(self, head: bytes, rest):
        super().__init__()
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    """Records with their spreadsheet row number (the header is row 1), blank lines dropped."""
    row = 1
    try:
        for cells in reader:
            row += 1
            if cells and (cells[0].strip() or "".join(cells).strip()):
                yield row, cells
    except csv.Error as exc:
        raise _bad_file(f"Row {row + 1} cannot be read as CSV ({exc}).") from None
    except UnicodeDecodeError:
        raise _bad_file(f"Row {row + 1}: {_NOT_TEXT}") from None


# --- header mapping -----------------------------------------------------------------------------

@dataclass
class ColumnMap:
    """Which cell index feeds which contact field, and which headers are ignored."""

    columns: list[dict]  # [{"header", "field" or None}] in file order
    index: dict[str, int]  # field -> cell index

    def __post_init__(self):
        self.triples = [(name, position, MAX_LENGTHS.get(name, 100)) for name, position in self.index.items()]
        self.width = max(self.index.values()) + 1

    @property
    def ignored(self) -> list[str]:
        return [c["header"] for c in self.columns if c["field"] is None]


def match_columns(header: list[str], alias_index: dict[str, str], required, labels: dict[str, str]):
    """``(columns, index)``: each header matched to a field through ``alias_index`` (first match
    wins), or a 422 naming the required columns that are missing. Shared by every CSV import."""
    columns, index = [], {}
    for position, raw in enumerate(header):
        name = alias_index.get(_compact(raw))
        if name is not None and name not in index:
            index[name] = position
        else:
            name = None
        columns.append({"header": raw.strip().lstrip("\ufeff"), "field": name})
    missing = [labels[name] for name in required if name not in index]
    if missing:
        found = ", ".join(c["header"] for c in columns if c["header"]) or "none"
        message = (f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                   f"(columns found: {found}).")
        raise Invalid({"file": [message]}, message)
    return columns, index


def map_headers(header: list[str]) -> ColumnMap:
    return ColumnMap(*match_columns(header, _ALIAS_INDEX, REQUIRED, COLUMN_LABELS))


# --- rows ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_STATUS_BY_NAME = {status: status for status in CONTACT_STATUSES}
_LABELS = {"first_name": "first name", "last_name": "last name", "email": "email", "phone": "phone",
           "company": "company", "job_title": "job title"}


def clean_row(cells: list[str], columns: ColumnMap) -> tuple[dict | None, str | None]:
    """``(values, None)`` for an importable record, ``(None, reason)`` for a skipped one.
    ``values`` holds only non-empty fields (an empty cell never erases stored data)."""
    if len(cells) < columns.width:
        cells = cells + [""] * (columns.width - len(cells))
    values = {}
    for name, position, limit in columns.triples:
        value = cells[position].strip()
        if value:
            if len(value) > limit:
                return None, f"The {_LABELS[name]} is longer than {limit} characters."
            values[name] = value
    if "first_name" not in values:
        return None, "Missing first name."
    if "last_name" not in values:
        return None, "Missing last name."
    email = values.get("email")
    if email is not None and not _EMAIL.fullmatch(email):
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


def import_contacts(binary, *, batch_size: int = BATCH_SIZE, progress=None, before_commit=None) -> ImportResult:
    """Import the CSV in ``binary`` into the bound tenant in one transaction and commit.

    ``progress(rows_read, result)`` is called after each batch (the CLI's progress bar, an import
    job's live counts; it may raise to abandon the import, which then writes nothing), and
    ``before_commit(result)`` inside the transaction just before it commits (an import job
    records its outcome there, so outcome and rows commit together). Raises
    :class:`~kw_crm.errors.Invalid` for a file that cannot be imported (nothing written) and
    :class:`ImportFailed` when the database refuses a batch (everything rolled back)."""
    tenant_id = require_tenant_id()
    source = open_csv(binary)
    columns = map_headers(source.header)
    result = ImportResult(tenant_id=tenant_id, ignored_columns=columns.ignored)
    skips = _SkipLog(source.header)
    writer = writer_for(tenant_id, [name for name in FIELDS if name in columns.index])
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
                    progress(row_number, result)
        if batch:
            writer.write(batch, result)
        if progress:
            progress(last_row, result)
        signals.send_after_commit(db.session, signals.contacts_imported, result)
        result.skipped_csv = skips.close()
        if before_commit:
            before_commit(result)
        db.commit()
    except (SQLAlchemyError, *writer.driver_errors) as exc:
        db.session.rollback()
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        raise ImportFailed(f"The import stopped near row {last_row} and nothing was imported: {detail}") from exc
    except BaseException:
        db.session.rollback()
        raise
    return result

