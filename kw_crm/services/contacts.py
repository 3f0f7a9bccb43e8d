"""Contacts: the list with its filters and counts, create/edit with company linking, delete and
bulk actions. Field shape is checked by the schema or form in front; this module checks what
needs the database (owner, customer, VENDOR link, unique email) and writes in one transaction."""
from dataclasses import dataclass

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from .. import host, signals
from ..db import commit, is_valid_id, session
from ..errors import CrmError, Invalid, NotFound
from ..models import CONTACT_TYPES, Activity, Attachment, Communication, Contact, Deal, Note
from . import audit, contact_counts, lifecycle
from .companies import find_or_create_customer
from .contact_search import search_condition, unindexed
from .storage import get_storage

VENDOR_TYPES = ("contractor", "vendor")
EDITABLE = ("first_name", "last_name", "email", "phone", "job_title", "type", "status", "owner_id",
            "notes", "is_decision_maker", "vendor_user_id")


@dataclass
class ContactFilters:
    type: str | None = None
    status: str | None = None
    q: str | None = None
    owner_id: int | None = None
    customer_id: int | None = None


def apply_filters(stmt, filters: ContactFilters, *, with_type: bool = True):
    if with_type and filters.type:
        stmt = stmt.where(Contact.type == filters.type)
    if filters.status:
        stmt = stmt.where(Contact.status == filters.status)
    if filters.owner_id is not None:
        stmt = stmt.where(Contact.owner_id == filters.owner_id)
    if filters.customer_id is not None:
        stmt = stmt.where(Contact.customer_id == filters.customer_id)
    if filters.q and filters.q.strip():
        stmt = stmt.where(search_condition(filters.q))
    return stmt


LIST_ORDER = (Contact.last_name, Contact.first_name, Contact.id)


def list_contacts(filters: ContactFilters, limit: int, offset: int,
                  after: tuple[str, str, int] | None = None) -> tuple[list[Contact], int]:
    """One page of contacts (by name) and the filtered total: two queries (the total from the
    maintained per-tenant counts when only the type filters).

    ``after`` is the sort key (last name, first name, id) of the previous page's last row:
    the page then starts right after it (keyset paging), which the ``(tenant_id, last_name,
    first_name, id)`` index answers by a seek, however deep the page, where ``offset`` has to
    walk every earlier row. ``count(*)`` rather than ``count(id)`` lets a filtered count read an
    index alone."""
    if contact_counts.covers(filters):
        counts = contact_counts.by_type()
        total = counts.get(filters.type, 0) if filters.type else sum(counts.values())
    else:
        total = session.scalar(apply_filters(select(func.count()).select_from(Contact), filters)) or 0
    stmt = apply_filters(select(Contact), filters)
    if after is not None:
        stmt = stmt.where(tuple_(*LIST_ORDER) > tuple_(*after))
    order = [unindexed(filters.q, key) for key in LIST_ORDER[:2]] + [Contact.id]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return rows, total


def sort_key(contact: Contact) -> tuple[str, str, int]:
    """What ``after`` takes to continue a list after ``contact``."""
    return contact.last_name, contact.first_name, contact.id


def type_counts(filters: ContactFilters) -> dict[str, int]:
    """Contacts per type under the other filters (the chips' live counts): one query, of the
    maintained counts when no other filter applies, else one GROUP BY."""
    counts = dict.fromkeys(CONTACT_TYPES, 0)
    if contact_counts.covers(filters):
        counts.update({kind: n for kind, n in contact_counts.by_type().items() if kind in counts})
        return counts
    kind = unindexed(filters.q, Contact.type)
    stmt = apply_filters(select(kind, func.count()), filters, with_type=False).group_by(kind)
    counts.update({kind: n for kind, n in session.execute(stmt)})
    return counts


def deal_counts(contact_ids: list[int]) -> dict[int, int]:
    """Non-archived deals per contact for a page of ids: one GROUP BY query."""
    if not contact_ids:
        return {}
    stmt = (select(Deal.contact_id, func.count(Deal.id))
            .where(Deal.contact_id.in_(contact_ids), Deal.archived_at.is_(None))
            .group_by(Deal.contact_id))
    return {contact_id: n for contact_id, n in session.execute(stmt)}


def contact_deals(contact_id: int) -> list[Deal]:
    """The contact's non-archived deals with their stage (joined), newest first."""
    return list(session.scalars(select(Deal).where(Deal.contact_id == contact_id, Deal.archived_at.is_(None))
                                .order_by(Deal.created_at.desc(), Deal.id.desc())))


def get_contact(contact_id: int) -> Contact:
    if not is_valid_id(contact_id):
        raise NotFound("No such contact.")
    contact = session.scalar(select(Contact).where(Contact.id == contact_id))
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def _email_taken(email: str, except_id: int | None) -> bool:
    # compared the way the unique index compares (the database's lower(), not Python's)
    stmt = select(Contact.id).where(Contact.email_key == func.lower(func.trim(email)))
    if except_id is not None:
        stmt = stmt.where(Contact.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def _check_references(values: dict, contact: Contact | None) -> dict:
    """Errors for owner, VENDOR link, customer and email that the database must answer."""
    errors: dict[str, str] = {}
    if values.get("owner_id") is not None and host.active_tenant_user(values["owner_id"]) is None:
        errors["owner_id"] = "Pick an active user of this portal as owner."
    kind = values.get("type", contact.type if contact else "customer")
    vendor_id = values.get("vendor_user_id", contact.vendor_user_id if contact else None)
    if vendor_id is not None:
        user = host.active_tenant_user(vendor_id)
        if kind not in VENDOR_TYPES:
            errors["vendor_user_id"] = "Only contractor and vendor contacts can be linked to a VENDOR login."
        elif user is None or getattr(user, "role", None) != "VENDOR":
            errors["vendor_user_id"] = "Pick an active VENDOR-role user of this portal."
    if values.get("customer_id") is not None:
        customer = host.tenant_customer(values["customer_id"])
        if customer is None:
            errors["customer_id"] = "No such customer."
        elif (values.get("company") or "").strip() and values["company"].strip().lower() != customer.name.lower():
            errors["company"] = "Either pick an existing customer or type a company name, not both."
    if values.get("email") and _email_taken(values["email"], contact.id if contact else None):
        errors["email"] = "Another contact already has this email address."
    return errors


def _link_company(contact: Contact, values: dict) -> bool:
    """Apply company/customer_id; returns True when the contact got a (new) customer link."""
    old = contact.customer_id
    if values.get("customer_id") is not None:
        customer = host.tenant_customer(values["customer_id"])
        contact.customer_id, contact.company = customer.id, customer.name
    elif "company" in values:
        text = (values.get("company") or "").strip()
        if text:
            customer = find_or_create_customer(text)
            contact.customer_id, contact.company = customer.id, customer.name
        else:
            contact.customer_id, contact.company = None, None
    elif "customer_id" in values:
        contact.customer_id = None
    return contact.customer_id is not None and contact.customer_id != old


def _normalise(values: dict) -> dict:
    values = dict(values)
    if isinstance(values.get("email"), str):
        values["email"] = values["email"].strip() or None
    for key in ("phone", "job_title", "notes"):
        if isinstance(values.get(key), str) and not values[key].strip():
            values[key] = None
    return values


def _save(contact: Contact, values: dict, *, is_new: bool):
    errors = _check_references(values, None if is_new else contact)
    if errors:
        raise Invalid(errors)
    for key in EDITABLE:
        if key in values:
            setattr(contact, key, values[key])
    if _link_company(contact, values):
        lifecycle.ensure_customer_open(contact.customer_id, "new contacts")
    if is_new:
        session.add(contact)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert won the unique email index
        session.rollback()
        raise Invalid({"email": "Another contact already has this email address."}) from exc


def create_contact(values: dict, *, actor_id: int | None) -> Contact:
    values = _normalise(values)
    values.setdefault("owner_id", actor_id)
    contact = Contact(created_by_id=actor_id, type="customer", status="lead")
    try:
        _save(contact, values, is_new=True)
        audit.record("contact", contact.id, "created", actor_id=actor_id)
        signals.send_after_commit(session, signals.contact_created, contact)
        _commit_or_invalid()
    except CrmError:
        session.rollback()
        raise
    return contact


def update_contact(contact: Contact, values: dict, *, actor_id: int | None) -> Contact:
    values = _normalise(values)
    before = {key: getattr(contact, key) for key in (*EDITABLE, "company", "customer_id")}
    try:
        _save(contact, values, is_new=False)
        changes = {key: [old, getattr(contact, key)] for key, old in before.items() if getattr(contact, key) != old}
        if changes:
            audit.record("contact", contact.id, "updated", actor_id=actor_id,
                         changes={k: [str(a) if a is not None else None, str(b) if b is not None else None]
                                  for k, (a, b) in changes.items()})
            signals.send_after_commit(session, signals.contact_updated, contact, changes=sorted(changes))
        _commit_or_invalid()
    except CrmError:
        session.rollback()
        raise
    return contact


def _commit_or_invalid() -> None:
    try:
        commit()
    except IntegrityError as exc:
        session.rollback()
        raise Invalid({"email": "Another contact already has this email address."}) from exc


def _delete_rows(contacts: list[Contact], actor_id: int | None) -> list[str]:
    ids = [c.id for c in contacts]
    keys = list(session.scalars(select(Attachment.storage_key).where(Attachment.contact_id.in_(ids)))) if ids else []
    if ids:
        # Explicit, not left to ON DELETE: a host may run SQLite without foreign-key enforcement
        # (host_stub turns it on), and SQLite may reuse a deleted contact's id, which would hand
        # its timeline and files to a new contact. Linked deals get a new version (a concurrent
        # edit of one of them must not silently restore the link).
        # Communications stay with their customer, unlinked from the contact and its activities.
        session.execute(update(Communication).where(Communication.contact_id.in_(ids)).values(contact_id=None),
                        execution_options={"synchronize_session": False})
        session.execute(update(Communication).where(Communication.activity_id.in_(
            select(Activity.id).where(Activity.contact_id.in_(ids)))).values(activity_id=None),
            execution_options={"synchronize_session": False})
        for model in (Note, Activity, Attachment):
            session.execute(delete(model).where(model.contact_id.in_(ids)), execution_options={"synchronize_session": False})
        session.execute(update(Deal).where(Deal.contact_id.in_(ids)).values(contact_id=None, version=Deal.version + 1),
                        execution_options={"synchronize_session": False})
    for contact in contacts:
        audit.record("contact", contact.id, "deleted", actor_id=actor_id,
                     changes={"name": [contact.full_name, None], "email": [contact.email, None]})
        signals.send_after_commit(session, signals.contact_deleted, contact)
        session.delete(contact)
    return keys


def _remove_files(keys: list[str]) -> None:
    """After the commit: the rows are gone, so the files go too (a failed commit keeps both)."""
    storage = get_storage()
    for key in keys:
        storage.delete(key)


def delete_contact(contact: Contact, *, actor_id: int | None) -> None:
    keys = _delete_rows([contact], actor_id)
    commit()
    _remove_files(keys)


def contacts_by_ids(ids: list[int]) -> list[Contact]:
    """All the named contacts of this tenant, or a 422 naming those that are not (nothing changed)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise Invalid({"ids": "Select at least one contact."})
    if not all(is_valid_id(i) for i in wanted):
        raise Invalid({"ids": "Contact ids are whole numbers from 1 to 2147483647."})
    found = list(session.scalars(select(Contact).where(Contact.id.in_(wanted))))
    unknown = sorted(set(wanted) - {c.id for c in found})
    if unknown:
        raise Invalid({"ids": f"Unknown contact ids: {', '.join(map(str, unknown))}. Nothing was changed."})
    return found


def bulk_reassign(ids: list[int], owner_id: int | None, *, actor_id: int | None) -> int:
    if not is_valid_id(owner_id) or host.active_tenant_user(owner_id) is None:
        raise Invalid({"owner_id": "Pick an active user of this portal as the new owner."})
    contacts = contacts_by_ids(ids)
    for contact in contacts:
        if contact.owner_id != owner_id:
            audit.record("contact", contact.id, "updated", actor_id=actor_id,
                         changes={"owner_id": [contact.owner_id, owner_id]})
            contact.owner_id = owner_id
            signals.send_after_commit(session, signals.contact_updated, contact, changes=["owner_id"])
    commit()
    return len(contacts)


def bulk_delete(ids: list[int], *, actor_id: int | None) -> int:
    contacts = contacts_by_ids(ids)
    keys = _delete_rows(contacts, actor_id)
    commit()
    _remove_files(keys)
    return len(contacts)


def tenant_user_choices() -> list:
    """Active users of the tenant, for owner pickers (one query)."""
    User = host.user_model()
    return list(session.scalars(host.tenant_users().where(User.active.is_(True)).order_by(User.name, User.email)))


def vendor_user_choices() -> list:
    User = host.user_model()
    return list(session.scalars(host.tenant_users().where(User.active.is_(True), User.role == "VENDOR")
                                .order_by(User.name, User.email)))


def users_by_id(ids) -> dict:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    User = host.user_model()
    return {u.id: u for u in session.scalars(host.tenant_users().where(User.id.in_(ids)))}
