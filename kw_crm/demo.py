"""Realistic demo data for ``flask demo`` (via the ``platform_seed_demo`` hook)."""
from .tenancy import tenant_scope


def seed_demo(tenant_id: int, admin_id: int) -> list[str]:
    lines: list[str] = []
    with tenant_scope(tenant_id):
        for seed in _SEEDERS:
            lines.extend(seed(admin_id) or [])
    return lines


_SEEDERS: list = []  # each area appends a seeder(admin_id) -> lines; it must be safe to run twice
