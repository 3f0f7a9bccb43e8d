"""Display names of the users, customers and contacts a page shows, looked up by primary key for
the ids on that page only.

Joining names into a list statement makes the database fetch them for every row the statement
reads, not only the rows it shows; on never-analysed PostgreSQL tables the planner even read every
customer of the tenant once per row. One lookup per kind for the shown ids costs a few index reads
whatever the list's size. Each lookup is one statement, also when no row names anybody of its
kind, so a page sends the same number of statements whatever it shows."""
from sqlalchemy import select

from .. import host
from ..db import session
from ..models import Contact


def _ids(ids) -> set[int]:
    return {i for i in ids if i is not None}


def users(ids) -> dict[int, str]:
    """User id -> name (the email when the user has no name), users of this tenant only."""
    wanted = _ids(ids)
    User = host.user_model()
    return {uid: name or email for uid, name, email in session.execute(
        host.tenant_users().with_only_columns(User.id, User.name, User.email).where(User.id.in_(wanted)))}


def customers(ids) -> dict[int, str]:
    """Customer id -> name, customers of this tenant only."""
    wanted = _ids(ids)
    Customer = host.customer_model()
    return dict(session.execute(host.tenant_customers().with_only_columns(Customer.id, Customer.name)
                                .where(Customer.id.in_(wanted))).all())


def contacts(ids) -> dict[int, str | None]:
    """Contact id -> "First Last" (None when both are empty)."""
    wanted = _ids(ids)
    return {cid: " ".join(part for part in (first, last) if part) or None for cid, first, last in session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name).where(Contact.id.in_(wanted)))}
