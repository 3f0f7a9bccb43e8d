"""Customers: the host's PortalCustomer plus the CRM's account data (CustomerProfile).

A customer without a profile row is a prospect with no health score and not archived, so every
list is the host table LEFT JOINed to ours, filtered and counted in SQL."""
import re
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import host
from ..db import commit, contains_pattern, is_valid_id, session, utcnow
from ..errors import Conflict, Invalid, NotFound
from ..models import (
    LIFECYCLE_STAGES,
    Activity,
    AuditEvent,
    Communication,
    Contact,
    CustomerProfile,
    Deal,
    Note,
    Stage,
)
from ..tenancy import require_tenant_id
from . import audit, billing, lifecycle

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_MAX, LEAD_SOURCE_MAX, EMAIL_MAX, REASON_MAX = 200, 100, 255, 2000
WORKSPACE_SLICE = 10
EXPORT_BATCH = 500
CREATE_FIELDS = frozenset({"name", "lifecycle_stage", "lead_source", "billing_email", "owner_id"})


@dataclass
class CustomerFilters:
    lifecycle_stage: str | None = None
    health_min: int | None = None
    health_max: int | None = None
    search: str | None = None
    include_inactive: bool = False


# --- validation ------------------------------------------------------------------------------

def _parse_health(raw, field: str, errors: dict) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        errors[field] = ["Must be a whole number from 0 to 100."]
        return None
    try:
        value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
    except (TypeError, ValueError):
        value = None
    if value is None or not 0 <= value <= 100:
        errors[field] = ["Must be a whole number from 0 to 100."]
        return None
    return value


def parse_filters(args) -> CustomerFilters:
    """Filters of the list and the export from query-string ``args``; bad values are a 422."""
    errors: dict = {}
    stage = (args.get("lifecycle_stage") or "").strip() or None
    if stage is not None and stage not in LIFECYCLE_STAGES:
        errors["lifecycle_stage"] = [f"Unknown lifecycle stage; use one of {', '.join(LIFECYCLE_STAGES)}."]
    health_min = _parse_health(args.get("health_min"), "health_min", errors)
    health_max = _parse_health(args.get("health_max"), "health_max", errors)
    if health_min is not None and health_max is not None and health_min > health_max:
        errors["health_min"] = ["The minimum health cannot be greater than the maximum."]
    search = (args.get("search") or "").strip() or None
    if search and len(search) > NAME_MAX:
        errors["search"] = [f"At most {NAME_MAX} characters."]
    raw_inactive = (args.get("include_inactive") or "").strip().lower()
    if raw_inactive not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
        errors["include_inactive"] = ["Use true or false."]
    if errors:
        raise Invalid(errors)
    return CustomerFilters(stage, health_min, health_max, search, raw_inactive in ("1", "true", "yes", "on"))


def clean_text(data: dict, field: str, limit: int, errors: dict, *, required: bool = False) -> str | None:
    """``data[field]`` stripped, ``None`` when absent or blank; a wrong type, a missing required
    value or text over ``limit`` characters is recorded in ``errors``."""
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = ["This field is required."]
        return None
    if not isinstance(value, str):
        errors[field] = ["Must be text."]
        return None
    value = value.strip()
    if len(value) > limit:
        errors[field] = [f"At most {limit} characters."]
    return value


def _clean_profile_fields(data: dict, errors: dict) -> dict:
    """The profile fields present in ``data``, validated (shared by create and update)."""
    clean: dict = {}
    if "lifecycle_stage" in data:
        stage = data["lifecycle_stage"]
        if stage not in LIFECYCLE_STAGES:
            errors["lifecycle_stage"] = [f"Unknown lifecycle stage; use one of {', '.join(LIFECYCLE_STAGES)}."]
        clean["lifecycle_stage"] = stage
    if "lead_source" in data:
        clean["lead_source"] = clean_text(data, "lead_source", LEAD_SOURCE_MAX, errors)
    if "billing_email" in data:
        email = clean_text(data, "billing_email", EMAIL_MAX, errors)
        if email and "billing_email" not in errors and not EMAIL_RE.match(email):
            errors["billing_email"] = ["Not a valid email address."]
        clean["billing_email"] = email
    if "owner_id" in data and data["owner_id"] not in (None, ""):
        owner_id = data["owner_id"]
        if not is_valid_id(owner_id):  # a JSON integer: "5", 5.7 and true are not user ids
            errors["owner_id"] = ["Must be a user id (a whole number)."]
        elif host.active_tenant_user(owner_id) is None:
            errors["owner_id"] = ["Pick an active user of your organisation."]
        clean["owner_id"] = owner_id
    elif "owner_id" in data:
        clean["owner_id"] = None
    return clean


# --- reading ---------------------------------------------------------------------------------

def _columns():
    Customer, User = host.customer_model(), host.user_model()
    stage = func.coalesce(CustomerProfile.lifecycle_stage, literal("prospect"))
    return (Customer, User, stage, [
        Customer.id.label("id"), Customer.name.label("name"), stage.label("lifecycle_stage"),
        CustomerProfile.health_score, CustomerProfile.lead_source, CustomerProfile.billing_email,
        CustomerProfile.owner_id, User.name.label("owner_name"), CustomerProfile.last_contacted_at,
        CustomerProfile.archived_at, CustomerProfile.archive_reason, Customer.created_at.label("created_at"),
    ])


def _base(select_list, filters: CustomerFilters):
    Customer, User, stage, _ = _columns()
    tenant_id = require_tenant_id()
    stmt = (select(*select_list).select_from(Customer)
            .outerjoin(CustomerProfile, and_(CustomerProfile.customer_id == Customer.id,
                                             CustomerProfile.tenant_id == tenant_id))
            .where(Customer.tenant_id == tenant_id))
    if not filters.include_inactive:
        stmt = stmt.where(CustomerProfile.archived_at.is_(None))
    if filters.lifecycle_stage:
        stmt = stmt.where(stage == filters.lifecycle_stage)
    if filters.health_min is not None:
        stmt = stmt.where(CustomerProfile.health_score >= filters.health_min)
    if filters.health_max is not None:
        stmt = stmt.where(CustomerProfile.health_score <= filters.health_max)
    if filters.search:
        stmt = stmt.where(func.lower(Customer.name).like(contains_pattern(filters.search), escape="\\"))
    return stmt


def _rows_statement(filters: CustomerFilters):
    Customer, User, _, columns = _columns()
    return (_base(columns, filters).outerjoin(User, User.id == CustomerProfile.owner_id)
            .order_by(func.lower(Customer.name), Customer.id))


def list_customers(filters: CustomerFilters, limit: int, offset: int) -> tuple[list[dict], int]:
    """One page of customers and the full count: two queries whatever the page size."""
    total = session.scalar(_base([func.count()], filters))
    rows = session.execute(_rows_statement(filters).limit(limit).offset(offset)).mappings().all()
    return [dict(row) for row in rows], total


def relationships(customer_ids: list[int]) -> dict[int, list[str]]:
    """The contact types (customer, vendor, partner...) of each company of a page: one GROUP BY.
    The directory holds every company a contact works for; this says which ones are accounts
    the tenant sells to and which are suppliers or partners."""
    if not customer_ids:
        return {}
    found: dict[int, list[str]] = {}
    for customer_id, kind in session.execute(select(Contact.customer_id, Contact.type)
                                             .where(Contact.customer_id.in_(customer_ids))
                                             .group_by(Contact.customer_id, Contact.type)
                                             .order_by(Contact.customer_id, Contact.type)):
        found.setdefault(customer_id, []).append(kind)
    return found


def iter_customers(filters: CustomerFilters):
    """Every matching customer, fetched from the database in batches (for the CSV export)."""
    result = session.execute(_rows_statement(filters).execution_options(yield_per=EXPORT_BATCH))
    for row in result.mappings():
        yield dict(row)


def get_customer(customer_id) -> dict:
    """One customer as a row (archived ones included); 404 for unknown or other-tenant ids."""
    try:
        customer_id = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound("No such customer.") from None
    Customer = host.customer_model()
    row = session.execute(_rows_statement(CustomerFilters(include_inactive=True))
                          .where(Customer.id == customer_id)).mappings().first()
    if row is None:
        raise NotFound("No such customer.")
    return dict(row)


def search_owners(query: str | None, limit: int = 20) -> list[dict]:
    """Active users of the tenant whose name or email contains ``query`` (the owner lookup)."""
    User = host.user_model()
    stmt = host.tenant_users().where(User.active.is_(True))
    if query and query.strip():
        pattern = contains_pattern(query[:100])
        stmt = stmt.where(or_(func.lower(User.name).like(pattern, escape="\\"),
                              func.lower(User.email).like(pattern, escape="\\")))
    users = session.scalars(stmt.order_by(func.lower(User.name), User.id).limit(limit))
    return [{"id": u.id, "name": u.name, "email": u.email} for u in users]


# --- writing ---------------------------------------------------------------------------------

def create_customer(data: dict, *, actor_id: int) -> dict:
    """A new PortalCustomer (through the host) with its CRM profile. Health is not set here."""
    errors: dict = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["A name is required."]
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if "health_score" in data:
        errors["health_score"] = ["The health score is set by updates after the customer exists."]
    for unknown in sorted(set(data) - CREATE_FIELDS - {"health_score"}):
        errors[unknown] = ["Unknown field."]
    fields = _clean_profile_fields(data, errors)
    if errors:
        raise Invalid(errors)
    name = name.strip()
    duplicate = Conflict(f"A customer named '{name}' already exists.",
                         {"name": [f"A customer named '{name}' already exists."]})
    if host.customer_by_name(name) is not None:
        raise duplicate
    try:
        with session.begin_nested():
            customer = host.create_customer(name, email=fields.get("billing_email"))
    except IntegrityError:
        raise duplicate from None
    fields.setdefault("lifecycle_stage", "prospect")
    if fields.get("owner_id") is None:
        fields["owner_id"] = actor_id
    profile = CustomerProfile(customer_id=customer.id, **fields)
    session.add(profile)
    session.flush()
    audit.record("customer", customer.id, "created", actor_id=actor_id,
                 changes={k: [None, v] for k, v in fields.items() if v is not None})
    commit()
    return get_customer(customer.id)


def _open_profile(customer_id, *, actor_id: int | None) -> CustomerProfile:
    get_customer(customer_id)  # 404 for strangers
    lifecycle.ensure_customer_open(int(customer_id), "changes")
    return lifecycle.get_or_create_profile(int(customer_id), owner_id=None)


def update_customer(customer_id, data: dict, *, actor_id: int) -> dict:
    """Partial update of the CRM account data; a lifecycle change goes through the audited
    transition (``reason`` in ``data`` explains it). Archived customers cannot be edited (409)."""
    errors: dict = {}
    unknown = set(data) - {"lifecycle_stage", "health_score", "lead_source", "billing_email", "owner_id", "reason"}
    for field in sorted(unknown):
        errors[field] = ["This field cannot be changed here." if field in ("name", "id", "archived_at")
                         else "Unknown field."]
    fields = _clean_profile_fields(data, errors)
    if "health_score" in data:
        fields["health_score"] = _parse_health(data["health_score"], "health_score", errors)
    reason = clean_text(data, "reason", REASON_MAX, errors) if "reason" in data else None
    if errors:
        raise Invalid(errors)
    profile = _open_profile(customer_id, actor_id=actor_id)
    new_stage = fields.pop("lifecycle_stage", None)
    changes = {}
    for field, value in fields.items():
        if getattr(profile, field) != value:
            changes[field] = [getattr(profile, field), value]
            setattr(profile, field, value)
    if changes:
        audit.record("customer", profile.customer_id, "updated", actor_id=actor_id, changes=changes, reason=reason)
    if new_stage is not None:
        lifecycle.change_stage(profile, new_stage, actor_id=actor_id, reason=reason or "changed by hand")
    commit()
    return get_customer(profile.customer_id)


def open_deal_count(customer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Deal).join(Stage, Stage.id == Deal.stage_id).where(
        Deal.customer_id == customer_id, Stage.outcome.is_(None), Deal.archived_at.is_(None)))


def archive_customer(customer_id, reason, *, actor_id: int) -> dict:
    """Hide the customer from active views, keeping every record. Refused (409, saying why)
    while deals are open or the host reports an active subscription."""
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid({"reason": ["Say why the customer is archived."]})
    if len(reason.strip()) > REASON_MAX:
        raise Invalid({"reason": [f"At most {REASON_MAX} characters."]})
    row = get_customer(customer_id)
    if row["archived_at"] is not None:
        raise Conflict("This customer is already archived.")
    open_deals = open_deal_count(row["id"])
    if open_deals:
        raise Conflict(f"This customer still has {open_deals} open deal(s); close or archive them first.")
    if host.customer_has_active_subscription(row["id"]):
        raise Conflict("This customer still has an active subscription; cancel it in billing first.")
    profile = lifecycle.get_or_create_profile(row["id"])
    # Conditional update: of two admins archiving at once, exactly one wins; the other gets 409.
    archived = session.execute(
        update(CustomerProfile).where(CustomerProfile.id == profile.id, CustomerProfile.archived_at.is_(None))
        .values(archived_at=utcnow(), archive_reason=reason.strip()).execution_options(synchronize_session=False))
    if archived.rowcount != 1:
        session.rollback()
        raise Conflict("This customer is already archived.")
    session.expire(profile)
    audit.record("customer", row["id"], "archived", actor_id=actor_id, reason=reason.strip())
    commit()
    return get_customer(row["id"])


def linked_history(customer_id: int) -> list[str]:
    """The kinds of CRM records still linked to the customer (one query)."""
    kinds = (("contacts", Contact), ("deals", Deal), ("activities", Activity), ("notes", Note),
             ("communications", Communication))
    tenant_id = require_tenant_id()
    flags = session.execute(select(*[
        exists().where(model.customer_id == customer_id, model.tenant_id == tenant_id).label(label)
        for label, model in kinds])).one()
    return [label for (label, _), present in zip(kinds, flags, strict=True) if present]


def delete_customer(customer_id, *, actor_id: int) -> None:
    """Cleanup only: an archived customer with no CRM or finance history is deleted for good,
    together with the host's company record."""
    row = get_customer(customer_id)
    if row["archived_at"] is None:
        raise Conflict("Archive the customer before deleting it.")
    linked = linked_history(row["id"])
    if linked:
        raise Conflict(f"This customer still has linked {', '.join(linked)}; it stays archived.")
    if host.customer_has_finance_history(row["id"]):
        raise Conflict("This customer has finance history (invoices or subscriptions); it stays archived.")
    profile = lifecycle.profile_for(row["id"])
    if not host.delete_customer(row["id"]):
        raise Conflict("The portal does not allow deleting this customer record.")
    if profile is not None:
        session.delete(profile)
    audit.record("customer", row["id"], "deleted", actor_id=actor_id, changes={"name": [row["name"], None]})
    commit()


# --- workspace -------------------------------------------------------------------------------

def workspace(customer_id) -> dict:
    """Everything the account page shows, each section capped with its true total beside it."""
    row = get_customer(customer_id)
    cid = row["id"]
    n = WORKSPACE_SLICE

    totals = session.execute(select(
        select(func.count()).select_from(Deal).where(Deal.customer_id == cid).scalar_subquery(),
        select(func.count()).select_from(Contact).where(Contact.customer_id == cid).scalar_subquery(),
        select(func.count()).select_from(Activity).where(Activity.customer_id == cid).scalar_subquery(),
        select(func.count()).select_from(Communication).where(Communication.customer_id == cid).scalar_subquery(),
    )).one()
    deals = session.execute(
        select(Deal.id, Deal.title, Deal.value_cents, Deal.currency, Stage.key.label("stage"),
               Stage.label.label("stage_label"), Stage.outcome, Deal.owner_id, Deal.expected_close_date,
               Deal.archived_at, Deal.product_id, Deal.converted_at)
        .join(Stage, Stage.id == Deal.stage_id).where(Deal.customer_id == cid)
        .order_by(Deal.created_at.desc(), Deal.id.desc()).limit(n)).mappings().all()
    contacts = session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.job_title,
               Contact.is_decision_maker).where(Contact.customer_id == cid)
        .order_by(Contact.last_name, Contact.first_name, Contact.id).limit(n)).mappings().all()
    activities = session.execute(
        select(Activity.id, Activity.type, Activity.title, Activity.due_date, Activity.completed_at,
               Activity.created_at).where(Activity.customer_id == cid)
        .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(n)).mappings().all()
    from .communications import recent_for_customer  # the log's own shape, with provenance

    communications = recent_for_customer(cid, n)
    trail = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "customer", AuditEvent.entity_id == cid)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(20)).all()
    actor_ids = {e.actor_id for e in trail if e.actor_id}
    actor_ids |= {v for e in trail for v in (e.changes or {}).get("owner_id", []) if isinstance(v, int)}
    actor_ids |= {d["owner_id"] for d in deals if d["owner_id"]}
    User = host.user_model()
    names = dict(session.execute(host.tenant_users().with_only_columns(User.id, User.name)
                                 .where(User.id.in_(actor_ids))).all()) if actor_ids else {}
    deal_items = [dict(d, owner_name=names.get(d["owner_id"])) for d in deals]
    return {
        "customer": row,
        "deals": {"items": deal_items, "total": totals[0]},
        "contacts": {"items": [dict(c) for c in contacts], "total": totals[1]},
        "activities": {"items": [dict(a, subject=a["title"]) for a in activities], "total": totals[2]},
        "communications": {"items": communications, "total": totals[3]},
        "audit": [{"id": e.id, "action": e.action, "actor_id": e.actor_id, "actor_name": names.get(e.actor_id),
                   "changes": e.changes, "reason": e.reason, "created_at": e.created_at} for e in trail],
        "user_names": names,
        **billing.workspace_sections(cid, deal_items, n),
    }
