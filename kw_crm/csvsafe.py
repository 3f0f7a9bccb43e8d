"""Spreadsheet formula injection guard for every CSV the CRM hands out.

A cell that starts with ``= + - @`` (or a tab / carriage return that a spreadsheet strips
before reading one of those) is executed as a formula by Excel, LibreOffice and Google Sheets
when the CSV is opened. Prefixing such a cell with a single quote makes it plain text in all
three (OWASP's advice), while leaving harmless values untouched."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value):
    """``value`` ready for a CSV cell: ``None`` -> ``""``, numbers unchanged, text that a
    spreadsheet would evaluate gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text
