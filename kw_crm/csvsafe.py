"""Spreadsheet formula injection guard for every CSV the CRM hands out.

A cell that starts with ``= + - @`` (or a tab / carriage return that a spreadsheet strips
before reading one of those) is executed as a formula by Excel, LibreOffice and Google Sheets
when the CSV is opened. Prefixing such a cell with a single quote makes it plain text in all
three (OWASP's advice), while leaving harmless values untouched."""
import csv
import io
from datetime import date, datetime

from .timestamps import iso_timestamp

_FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"))


def safe_cell(value):
    """``value`` ready for a CSV cell: ``None`` -> ``""``, numbers unchanged, dates in ISO 8601
    (timestamps in UTC with ``Z``, as the JSON API writes them), text that a spreadsheet would
    evaluate gets a leading ``'``. (Hot in exports: one call per
    cell, so the common types are checked first and cheaply.)"""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in _FORMULA_STARTS else value
    if value is None:
        return ""
    if kind is int or kind is float or kind is bool:
        return value
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def stream_csv(header, rows, flush_at: int = 64_000):
    """Yield a CSV (``header`` then ``rows``, every cell through :func:`safe_cell`) in chunks of
    about ``flush_at`` characters: memory stays flat however many rows come from ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        if buffer.tell() > flush_at:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
