"""The one way the CRM writes a moment in time for other systems (JSON API, CSV exports, webhook
bodies): RFC 3339 / ISO 8601 in UTC with a ``Z`` offset, e.g. ``2026-11-26T02:34:56.550446Z``.

The database keeps naive UTC (``kw_crm.db.utcnow``); written without its offset a reader could
take it for local time, so every answer says UTC explicitly. Dates without a time of day
(``due_date``) stay ``YYYY-MM-DD``. Inputs accept both forms (a value without offset is UTC)."""
from datetime import UTC, date, datetime


def iso_timestamp(value: datetime) -> str:
    """``value`` (naive = UTC, or aware in any zone) as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def iso(value):
    """Dates and timestamps of a value as ISO strings (``None`` and other values unchanged)."""
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
