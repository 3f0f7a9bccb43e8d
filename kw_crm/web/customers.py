"""Customers pages (see its issue)."""
from . import web_bp  # noqa: F401
