"""The communication log: manual entries, reading entries with their provenance, and the
communication rows of a contact's timeline. Captured mail comes in through ``kw_crm.capture``."""
from types import SimpleNamespace

from sqlalchemy import func, select

from .. import signals
from ..db import commit, is_valid_id, session
from ..errors import Invalid, NotFound
from ..models import Activity, Communication, Contact, Deal
from ..schemas.base import load_or_invalid
from ..schemas.communications import CHANNELS, ManualCommunicationInput
from . import lifecycle, names
from .customers import get_customer

__all__ = ["CHANNELS", "log_communication", "list_communications", "get_communication", "communications_by_id",
           "tenant_log", "serialise"]
PREVIEW_CHARS = 240
SOURCES = ("manual", "captured")
LOG_COUNT_CAP = 10_000  # the tenant-wide log counts at most this far ("10,000+")


def check_links(customer_id: int, values: dict) -> tuple[dict, dict]:
    """Contact, deal and activity named in ``values`` must be records of this tenant linked to
    ``customer_id``; returns (errors, the contact/deal/activity ids to store). Three queries at most."""
    errors: dict = {}
    contact_id, deal_id, activity_id = values.get("contact_id"), values.get("deal_id"), values.get("activity_id")
    if contact_id is not None:
        owner = session.execute(select(Contact.customer_id).where(Contact.id == contact_id)).first()
        if owner is None:
            errors["contact_id"] = ["No such contact."]
        elif owner[0] != customer_id:
            errors["contact_id"] = ["This contact belongs to another customer."]
    if deal_id is not None:
        deal = session.execute(select(Deal.customer_id).where(Deal.id == deal_id)).first()
        if deal is None:
            errors["deal_id"] = ["No such deal."]
        elif deal[0] != customer_id:
            errors["deal_id"] = ["This deal belongs to another customer."]
    if activity_id is not None:
        activity = session.execute(select(Activity.customer_id, Contact.customer_id)
                                   .outerjoin(Contact, Contact.id == Activity.contact_id)
                                   .where(Activity.id == activity_id)).first()
        if activity is None:
            errors["activity_id"] = ["No such activity."]
        elif (activity[0] if activity[0] is not None else activity[1]) != customer_id:
            errors["activity_id"] = ["This activity belongs to another customer."]
    return errors, {"contact_id": contact_id, "deal_id": deal_id, "activity_id": activity_id}


def log_communication(customer_id, data: dict, *, actor_id: int) -> dict:
    """Record an interaction by hand and move the customer's ``last_contacted_at`` forward.
    Archived customers accept no new manual entries (409)."""
    row = get_customer(customer_id)
    values = load_or_invalid(ManualCommunicationInput(), data)
    errors, links = check_links(row["id"], values)
    if errors:
        raise Invalid(errors)
    lifecycle.ensure_customer_open(row["id"], "communications")
    entry = Communication(customer_id=row["id"], subject=values["subject"], summary=values.get("summary"),
                          channel=values["channel"], direction=values["direction"], logged_by_id=actor_id,
                          source="manual", linkage_basis="manual", **links)
    if values.get("occurred_at") is not None:
        entry.occurred_at = values["occurred_at"]
    session.add(entry)
    session.flush()
    profile = lifecycle.get_or_create_profile(row["id"])
    if profile.last_contacted_at is None or profile.last_contacted_at < entry.occurred_at:
        profile.last_contacted_at = entry.occurred_at
    signals.send_after_commit(session, signals.communication_logged, entry)
    commit()
    return communications_by_id([entry.id])[entry.id]


def _select(*, full: bool):
    """Columns of a communication as the API shows it; lists other than a customer's log carry
    only a preview of the text, cut in SQL."""
    text = Communication.summary if full else func.substr(Communication.summary, 1, PREVIEW_CHARS + 1)
    return select(Communication.id, Communication.customer_id, Communication.contact_id, Communication.deal_id,
                  Communication.activity_id, Communication.conversation_id, Communication.channel,
                  Communication.direction, Communication.subject, text.label("text"), Communication.source,
                  Communication.logged_by_id, Communication.occurred_at, Communication.created_at,
                  Communication.message_id, Communication.thread_id, Communication.sender,
                  Communication.recipients, Communication.capture_source, Communication.capture_mode,
                  Communication.linkage_basis, Communication.matched_address, Communication.body_truncated,
                  Communication.reviewed_by_id, Communication.reviewed_at)


def shape(rows, *, full: bool) -> list[dict]:
    """API dicts with provenance for rows of :func:`_select` (one query for the people named,
    if any)."""
    named = [r.reviewed_by_id for r in rows if r.reviewed_by_id] + [r.logged_by_id for r in rows if r.logged_by_id]
    # captured mail names nobody until an operator reviews it: no lookup for none
    people = names.users(named) if named else {}
    out = []
    for r in rows:
        text = r.text or ""
        preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rstrip() + "…"
        entry = {
            "id": r.id, "customer_id": r.customer_id, "contact_id": r.contact_id, "deal_id": r.deal_id,
            "activity_id": r.activity_id, "conversation_id": r.conversation_id, "channel": r.channel,
            "direction": r.direction, "subject": r.subject, "preview": preview, "source": r.source,
            "logged_by_id": r.logged_by_id, "logged_by_name": people.get(r.logged_by_id),
            "occurred_at": r.occurred_at, "created_at": r.created_at,
            "provenance": {
                "capture_source": r.capture_source, "capture_mode": r.capture_mode, "message_id": r.message_id,
                "thread_id": r.thread_id, "linkage_basis": r.linkage_basis, "matched_address": r.matched_address,
                "sender": r.sender, "recipients": r.recipients or [], "body_truncated": bool(r.body_truncated),
                "reviewed_by": r.reviewed_by_id, "reviewed_by_name": people.get(r.reviewed_by_id),
                "reviewed_at": r.reviewed_at,
            },
        }
        if full:
            entry["summary"] = r.text
        out.append(entry)
    return out


def serialise(communication) -> dict:
    """The API shape of a stored :class:`Communication` (signal senders, webhook bodies)."""
    columns = _select(full=True).selected_columns
    row = SimpleNamespace(**{c.key: getattr(communication, "summary" if c.key == "text" else c.key) for c in columns})
    return shape([row], full=True)[0]


def communications_by_id(ids: list[int]) -> dict[int, dict]:
    rows = session.execute(_select(full=True).where(Communication.id.in_(ids))).all() if ids else []
    return {entry["id"]: entry for entry in shape(rows, full=True)}


def get_communication(communication_id) -> dict:
    """One communication with its whole text; 404 for unknown ids, other tenants' and messages
    still waiting for review (they belong to no customer yet: see the review queue)."""
    if not is_valid_id(communication_id):
        raise NotFound("No such communication.")
    entry = communications_by_id([communication_id]).get(communication_id)
    if entry is None or entry["customer_id"] is None:
        raise NotFound("No such communication.")
    return entry


def list_communications(customer_id, limit: int, offset: int) -> tuple[list[dict], int]:
    """A customer's log, newest first: the page, its total and the people named (three queries)."""
    row = get_customer(customer_id)
    where = Communication.customer_id == row["id"]
    total = session.scalar(select(func.count()).select_from(Communication).where(where))
    rows = session.execute(_select(full=True).where(where)
                           .order_by(Communication.occurred_at.desc(), Communication.id.desc())
                           .limit(limit).offset(offset)).all()
    return shape(rows, full=True), total


def recent_for_customer(customer_id: int, limit: int) -> list[dict]:
    """The workspace slice: previews, newest first."""
    rows = session.execute(_select(full=False).where(Communication.customer_id == customer_id)
                           .order_by(Communication.occurred_at.desc(), Communication.id.desc()).limit(limit)).all()
    return shape(rows, full=False)


def contact_timeline(contact_id: int, window: int) -> tuple[list[dict], int]:
    """The newest ``window`` communications of a contact as timeline entries (time = when it
    happened) and their total: two queries, plus one for the people named."""
    where = Communication.contact_id == contact_id
    rows = session.execute(_select(full=False).where(where)
                           .order_by(Communication.occurred_at.desc(), Communication.id.desc()).limit(window)).all()
    total = session.scalar(select(func.count()).select_from(Communication).where(where)) or 0
    return [dict(entry, kind="communication", created_at=entry["occurred_at"])
            for entry in shape(rows, full=False)], total


def tenant_log(filters: dict, limit: int, offset: int) -> tuple[list[dict], int, bool]:
    """The tenant's communications linked to a customer, newest first, with previews, the
    customer's and contact's names: (page, total, whether the total was capped at
    ``LOG_COUNT_CAP``). ``filters``: channel, direction, source, customer_id (already valid).
    Four queries whatever the page holds: count, rows, customer names, people named."""
    where = [Communication.customer_id.is_not(None)]
    for key in ("channel", "direction", "source", "customer_id"):
        if filters.get(key) is not None:
            where.append(getattr(Communication, key) == filters[key])
    capped = select(Communication.id).where(*where).limit(LOG_COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    rows = session.execute(_select(full=False).add_columns(Contact.first_name, Contact.last_name)
                           .outerjoin(Contact, Contact.id == Communication.contact_id).where(*where)
                           .order_by(Communication.occurred_at.desc(), Communication.id.desc())
                           .limit(limit).offset(offset)).all()
    entries = shape(rows, full=False)
    customers = names.customers(entry["customer_id"] for entry in entries)
    for entry, row in zip(entries, rows, strict=True):
        entry["customer_name"] = customers.get(entry["customer_id"])
        entry["contact_name"] = f"{row.first_name} {row.last_name}".strip() if row.first_name is not None else None
    return entries, min(total, LOG_COUNT_CAP), total > LOG_COUNT_CAP
