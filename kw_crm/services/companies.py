"""Finding or creating the host's company record (PortalCustomer) by name."""
from sqlalchemy.exc import IntegrityError

from .. import host
from ..db import session
from ..errors import Invalid


def find_or_create_customer(name: str, **fields):
    """The tenant's customer called ``name`` (case-insensitive), created through the host when
    missing. Two admins racing on the same new name both end up with the one row: the loser's
    insert hits the host's unique index inside a savepoint and re-reads the winner's."""
    name = (name or "").strip()
    if not name:
        raise Invalid({"company": "A company name cannot be blank."})
    if len(name) > 200:
        raise Invalid({"company": "A company name has at most 200 characters."})
    existing = host.customer_by_name(name)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return host.create_customer(name, **fields)
    except IntegrityError:
        existing = host.customer_by_name(name)
        if existing is None:
            raise
        return existing
