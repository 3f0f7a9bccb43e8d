"""Spreadsheet-safe CSV cells: a cell a spreadsheet would read as a formula is prefixed with a
quote, so an exported name like ``=HYPERLINK(...)`` stays text (CSV/formula injection)."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """``value`` as CSV cell text: ``None`` -> ``""``; formula-looking text gets a leading ``'``."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text
