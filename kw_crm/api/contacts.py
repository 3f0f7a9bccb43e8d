"""Contacts API (see its issue)."""
from . import api_bp  # noqa: F401
