"""Realistic demo data for ``flask demo`` (via the ``platform_seed_demo`` hook)."""
from .demo_data import activities, contacts, customers, deals
from .tenancy import tenant_scope


def seed_demo(tenant_id: int, admin_id: int) -> list[str]:
    lines: list[str] = []
    with tenant_scope(tenant_id):
        for area in (contacts, customers, deals, activities):  # accounts first; deals then move them on
            lines.extend(area.seed(admin_id) or [])
    return lines
