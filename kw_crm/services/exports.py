"""CSV exports of contacts and deals with the list filters.

Each export is one SELECT (owner and counterpart names joined in) read in batches of
``EXPORT_BATCH`` rows — a server-side cursor on PostgreSQL — and written out as it comes, so
memory stays flat at any row count (benchmarks/exports.py measures it at 1M rows). Rows come in
id order: the primary key streams without a sort, and a re-run lists the same rows the same way."""
from collections.abc import Iterator

from sqlalchemy import and_, func, select

from .. import host
from ..models import Contact, Deal, Stage
from ..tenancy import require_tenant_id
from . import contacts as contact_service
from . import deals as deal_service

EXPORT_BATCH = 1000

CONTACT_COLUMNS = ("id", "first_name", "last_name", "email", "phone", "job_title", "company", "customer_id",
                   "type", "status", "owner_id", "owner_name", "is_decision_maker", "deal_count", "notes",
                   "created_at", "updated_at")
DEAL_COLUMNS = ("id", "title", "value_cents", "currency", "stage", "stage_label", "outcome", "expected_close_date",
                "owner_id", "owner_name", "contact_id", "contact_name", "customer_id", "customer_name", "notes",
                "closed_reason", "closed_at", "archived_at", "archive_reason", "created_at", "updated_at")


def _owner_join(owner_column):
    User = host.user_model()
    return User, and_(User.id == owner_column, User.tenant_id == require_tenant_id())


def _stream(stmt) -> Iterator[tuple]:
    from ..db import session

    yield from session.execute(stmt.execution_options(yield_per=EXPORT_BATCH))


def contact_rows(filters: contact_service.ContactFilters) -> Iterator[tuple]:
    """Rows of :data:`CONTACT_COLUMNS` for every contact matching the list filters."""
    User, owner_on = _owner_join(Contact.owner_id)
    deal_counts = (select(Deal.contact_id, func.count(Deal.id).label("n"))
                   .where(Deal.contact_id.is_not(None), Deal.archived_at.is_(None))
                   .group_by(Deal.contact_id).subquery())
    stmt = contact_service.apply_filters(select(
        Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.phone, Contact.job_title,
        Contact.company, Contact.customer_id, Contact.type, Contact.status, Contact.owner_id, User.name,
        Contact.is_decision_maker, func.coalesce(deal_counts.c.n, 0), Contact.notes, Contact.created_at,
        Contact.updated_at), filters)
    stmt = (stmt.outerjoin(User, owner_on).outerjoin(deal_counts, deal_counts.c.contact_id == Contact.id)
            .order_by(Contact.id))
    return _stream(stmt)


def deal_rows(filters: dict) -> Iterator[tuple]:
    """Rows of :data:`DEAL_COLUMNS` for every deal matching the list filters (``filters`` as
    for :func:`kw_crm.services.deals.filter_conditions`)."""
    User, owner_on = _owner_join(Deal.owner_id)
    Customer = host.customer_model()
    contact_name = (Contact.first_name + " " + Contact.last_name)
    stmt = (select(
        Deal.id, Deal.title, Deal.value_cents, Deal.currency, Stage.key, Stage.label, Stage.outcome,
        Deal.expected_close_date, Deal.owner_id, User.name, Deal.contact_id, contact_name, Deal.customer_id,
        Customer.name, Deal.notes, Deal.closed_reason, Deal.closed_at, Deal.archived_at, Deal.archive_reason,
        Deal.created_at, Deal.updated_at)
        .join(Stage, Stage.id == Deal.stage_id)
        .outerjoin(User, owner_on)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .outerjoin(Customer, and_(Customer.id == Deal.customer_id, Customer.tenant_id == require_tenant_id()))
        .where(*deal_service.filter_conditions(**filters))
        .order_by(Deal.id))
    return _stream(stmt)
