"""Per-tenant contact counts read from ``crm_contact_counts`` (kept by the triggers of revision
c0017): the list's total and type chips without the filters that need the rows cost a few
rows of an index, however large the tenant. Exact: every committed write is in the sum."""
from sqlalchemy import func, select

from ..db import session
from ..models import ContactCount


def covers(filters) -> bool:
    """Can the maintained counts answer a count under ``filters``? Only type is kept."""
    return not (filters.status or filters.owner_id is not None or filters.customer_id is not None
                or (filters.q and filters.q.strip()))


def by_type() -> dict[str, int]:
    """This tenant's contacts per type (one query)."""
    stmt = select(ContactCount.type, func.sum(ContactCount.n)).group_by(ContactCount.type)
    return {kind: int(n) for kind, n in session.execute(stmt) if n}
