"""Notes and activities: the contact timeline, and the activity rules every surface shares
(create with the owner default chain, edit, delete, complete, reopen, the paged table).

Every page, API route and other service (deal automation) creates activities through
:func:`create_activity`, so the owner chain, the link rules and the archive refusals exist once.
The ranked queue lives in ``services/queue.py``."""
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import case, func, select, update

from .. import host
from ..db import commit, is_valid_id, session, utcnow
from ..errors import Conflict, Invalid, NotFound
from ..models import ACTIVITY_TYPES, Activity, Contact, Deal, Note
from . import audit, communications, lifecycle, names

NOTE_MAX = 20_000
TITLE_MAX = 255
SUBJECT_MAX = TITLE_MAX  # seed 000's name for the title
EDITABLE = ("type", "title", "description", "due_date", "owner_id", "contact_id", "customer_id", "deal_id")
STATUSES = ("open", "done", "all")


def add_note(contact: Contact, body: str, *, actor_id: int | None) -> Note:
    body = (body or "").strip()
    if not body:
        raise Invalid({"body": "Write something first."})
    if len(body) > NOTE_MAX:
        raise Invalid({"body": f"A note has at most {NOTE_MAX:,} characters."})
    lifecycle.ensure_customer_open(contact.customer_id, "new notes")
    note = Note(contact_id=contact.id, customer_id=contact.customer_id, author_id=actor_id, body=body)
    session.add(note)
    commit()
    return note


# --- validation shared by create and edit -----------------------------------------------------

def _clean_text(values: dict, errors: dict) -> None:
    if "type" in values and values["type"] not in ACTIVITY_TYPES:
        errors["type"] = f"Pick one of: {', '.join(ACTIVITY_TYPES)}."
    if "title" in values:
        title = (values["title"] or "").strip() if isinstance(values["title"], str) else ""
        if not title:
            errors["title"] = "A title is required."
        elif len(title) > TITLE_MAX:
            errors["title"] = f"A title has at most {TITLE_MAX} characters."
        values["title"] = title
    if "description" in values:
        description = (values["description"] or "").strip() or None
        if description and len(description) > NOTE_MAX:
            errors["description"] = f"A description has at most {NOTE_MAX:,} characters."
        values["description"] = description
    if "due_date" in values and values["due_date"] is not None and not isinstance(values["due_date"], date):
        errors["due_date"] = "Not a valid date (use YYYY-MM-DD)."


def _resolve_links(values: dict, errors: dict) -> Deal | None:
    """Check the contact / deal / customer links of ``values`` and fill the implied customer: a
    deal or a contact implies its customer, and a mismatch is a 422."""
    deal = contact = None
    if values.get("deal_id") is not None:
        deal = session.scalar(select(Deal).where(Deal.id == values["deal_id"])) if is_valid_id(values["deal_id"]) else None
        if deal is None:
            errors["deal_id"] = f"No deal #{values['deal_id']} in this tenant."
    if values.get("contact_id") is not None:
        contact = (session.scalar(select(Contact).where(Contact.id == values["contact_id"]))
                   if is_valid_id(values["contact_id"]) else None)
        if contact is None:
            errors["contact_id"] = f"No contact #{values['contact_id']} in this tenant."
    implied = {}
    if deal is not None and deal.customer_id is not None:
        implied["deal_id"] = deal.customer_id
    if contact is not None and contact.customer_id is not None:
        implied["contact_id"] = contact.customer_id
    if len(set(implied.values())) > 1:
        errors["contact_id"] = "The contact belongs to another customer than the deal."
    customer_id = values.get("customer_id")
    if customer_id is None and implied:
        values["customer_id"] = next(iter(implied.values()))
    elif customer_id is not None:
        if not is_valid_id(customer_id) or host.tenant_customer(customer_id) is None:
            errors["customer_id"] = f"No customer #{customer_id} in this tenant."
        for source, implied_id in implied.items():
            if implied_id != customer_id:
                errors[source] = "It belongs to another customer than the one given."
    return deal


def _default_owner(deal: Deal | None, customer_id: int | None, actor_id: int | None) -> int | None:
    """The owner default chain: the deal's owner, else the customer's owner, else the actor -
    skipping anyone who is no longer an active user of the tenant."""
    chain = []
    if deal is not None:
        chain.append(deal.owner_id)
    if customer_id is not None:
        profile = lifecycle.profile_for(customer_id)
        chain.append(profile.owner_id if profile else None)
    for candidate in chain:
        if candidate is not None and host.active_tenant_user(candidate) is not None:
            return candidate
    return actor_id


def _ensure_open_links(deal: Deal | None, customer_id: int | None) -> None:
    if deal is not None and deal.archived_at is not None:
        raise Conflict("This deal is archived and accepts no new activities.")
    lifecycle.ensure_customer_open(customer_id, "new activities")


# --- writes -------------------------------------------------------------------------------------

def create_activity(*, title: str, due_date: date | None = None, type: str = "task",
                    description: str | None = None, customer_id: int | None = None,
                    contact_id: int | None = None, deal_id: int | None = None, owner_id: int | None = None,
                    actor_id: int | None, require_due_date: bool = True, require_link: bool = True,
                    commit_now: bool = True) -> Activity:
    """Create an activity (queue work by default: due date and a customer, contact or deal).

    Owner: ``owner_id`` when given (an active user of the tenant, else 422), else the deal's
    owner, else the customer's owner, else ``actor_id``. Archived deals and customers refuse
    (409). ``commit_now=False`` only flushes, for callers that commit their own transaction
    (automation runs creating follow-ups)."""
    values = {"type": type, "title": title, "description": description, "due_date": due_date,
              "customer_id": customer_id, "contact_id": contact_id, "deal_id": deal_id}
    errors: dict = {}
    _clean_text(values, errors)
    if require_due_date and due_date is None and "due_date" not in errors:
        errors["due_date"] = "A due date is required for queue work."
    deal = _resolve_links(values, errors)
    if require_link and not any(values.get(k) is not None for k in ("customer_id", "contact_id", "deal_id")):
        errors.setdefault("customer_id", "Link the activity to a customer, a contact or a deal.")
    if owner_id is not None and host.active_tenant_user(owner_id) is None:
        errors["owner_id"] = "Pick an active user of this portal as owner."
    if errors:
        raise Invalid(errors)
    _ensure_open_links(deal, values["customer_id"])
    owner = owner_id if owner_id is not None else _default_owner(deal, values["customer_id"], actor_id)
    activity = Activity(**values, owner_id=owner, created_by_id=actor_id)
    session.add(activity)
    session.flush()
    audit.record("activity", activity.id, "created", actor_id=actor_id,
                 changes={"title": [None, activity.title], "owner_id": [None, owner]})
    if commit_now:
        commit()
    return activity


def log_activity(contact: Contact, *, type: str, subject: str | None = None, title: str | None = None,
                 due_date: date | None = None, description: str | None = None, owner_id: int | None = None,
                 deal_id: int | None = None, actor_id: int | None) -> Activity:
    """Seed 000's "Log activity" on a contact: the due date is optional (a call that happened)."""
    return create_activity(title=title if title is not None else subject, due_date=due_date, type=type,
                           description=description, contact_id=contact.id, deal_id=deal_id,
                           owner_id=owner_id, actor_id=actor_id,
                           require_due_date=False)


def update_activity(activity: Activity, changes: dict, *, actor_id: int | None) -> Activity:
    """Edit any field of ``EDITABLE``; any admin may edit anyone's activity, and every edit is
    audited with the old and new values. New links follow the create rules."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid({name: "Unknown field." for name in unknown})
    values = dict(changes)
    errors: dict = {}
    _clean_text(values, errors)
    if "due_date" in values and values["due_date"] is None and activity.due_date is not None:
        errors["due_date"] = "Queue work keeps a due date; move it instead of removing it."
    links_changed = any(k in values for k in ("customer_id", "contact_id", "deal_id"))
    deal = None
    if links_changed:
        merged = {k: values.get(k, getattr(activity, k)) for k in ("customer_id", "contact_id", "deal_id")}
        if "customer_id" not in values and ("deal_id" in values or "contact_id" in values):
            merged["customer_id"] = None  # re-derive it from the new links
        deal = _resolve_links(merged, errors)
        if not any(merged.get(k) is not None for k in merged) and activity.due_date is not None:
            errors.setdefault("customer_id", "Link the activity to a customer, a contact or a deal.")
        values.update(merged)
    if values.get("owner_id") is not None and host.active_tenant_user(values["owner_id"]) is None:
        errors["owner_id"] = "Pick an active user of this portal as owner."
    elif "owner_id" in values and values["owner_id"] is None:
        errors["owner_id"] = "An activity needs an owner."
    if errors:
        raise Invalid(errors)
    if links_changed:
        if deal is not None and deal.id != activity.deal_id:
            _ensure_open_links(deal, None)
        if values.get("customer_id") != activity.customer_id:
            lifecycle.ensure_customer_open(values.get("customer_id"), "new activities")
    diff = {k: [_plain(getattr(activity, k)), _plain(v)] for k, v in values.items() if getattr(activity, k) != v}
    if not diff:
        return activity
    for name, value in values.items():
        setattr(activity, name, value)
    audit.record("activity", activity.id, "updated", actor_id=actor_id, changes=diff)
    commit()
    return activity


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def delete_activity(activity: Activity, *, actor_id: int | None) -> None:
    audit.record("activity", activity.id, "deleted", actor_id=actor_id,
                 changes={"title": [activity.title, None], "owner_id": [activity.owner_id, None]})
    session.delete(activity)
    commit()


def complete_activity(activity: Activity, *, actor_id: int | None = None) -> Activity:
    """Mark done now. Completing a done activity is refused (409); of two simultaneous
    completions exactly one wins (conditional update)."""
    done = session.execute(update(Activity).where(Activity.id == activity.id, Activity.completed_at.is_(None))
                           .values(completed_at=utcnow(), completed_by_id=actor_id, updated_at=utcnow())
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.rollback()
        raise Conflict("This activity is already completed; reopen it first.")
    audit.record("activity", activity.id, "completed", actor_id=actor_id)
    commit()
    session.refresh(activity)
    return activity


def reopen_activity(activity: Activity, *, actor_id: int | None = None) -> Activity:
    """Back to open work; reopening an open activity is refused (409)."""
    reopened = session.execute(update(Activity).where(Activity.id == activity.id, Activity.completed_at.is_not(None))
                               .values(completed_at=None, completed_by_id=None, updated_at=utcnow())
                               .execution_options(synchronize_session=False))
    if reopened.rowcount != 1:
        session.rollback()
        raise Conflict("This activity is open already; only completed activities can be reopened.")
    audit.record("activity", activity.id, "reopened", actor_id=actor_id)
    commit()
    session.refresh(activity)
    return activity


def get_activity(activity_id: int) -> Activity:
    if not is_valid_id(activity_id):
        raise NotFound("No such activity.")
    activity = session.scalar(select(Activity).where(Activity.id == activity_id))
    if activity is None:
        raise NotFound("No such activity.")
    return activity


# --- reads ----------------------------------------------------------------------------------------

def timeline(contact_id: int, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """Notes, activities and communications of a contact, newest first, as uniform entries
    (seven queries: entries and count of each kind, and the people of the communications)."""
    window = limit + offset
    notes = session.scalars(select(Note).where(Note.contact_id == contact_id)
                            .order_by(Note.created_at.desc(), Note.id.desc()).limit(window))
    activities = session.scalars(select(Activity).where(Activity.contact_id == contact_id)
                                 .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(window))
    entries = [{"kind": "note", "id": n.id, "created_at": n.created_at, "body": n.body, "author_id": n.author_id}
               for n in notes]
    entries += [{"kind": "activity", "id": a.id, "created_at": a.created_at, "type": a.type, "title": a.title,
                 "subject": a.title, "description": a.description, "due_date": a.due_date,
                 "completed_at": a.completed_at, "owner_id": a.owner_id, "deal_id": a.deal_id} for a in activities]
    messages, message_total = communications.contact_timeline(contact_id, window)
    entries += messages
    entries.sort(key=lambda e: (e["created_at"], e["kind"] == "activity", e["id"]), reverse=True)
    total = ((session.scalar(select(func.count(Note.id)).where(Note.contact_id == contact_id)) or 0)
             + (session.scalar(select(func.count(Activity.id)).where(Activity.contact_id == contact_id)) or 0)
             + message_total)
    return entries[offset:offset + limit], total


@dataclass(frozen=True)
class ActivityFilters:
    owner_id: int | None = None
    customer_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    status: str = "open"
    due_before: date | None = None  # inclusive
    due_after: date | None = None  # inclusive

    def where(self) -> list:
        clauses = []
        for name in ("owner_id", "customer_id", "contact_id", "deal_id"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(getattr(Activity, name) == value)
        if self.status == "open":
            clauses.append(Activity.completed_at.is_(None))
        elif self.status == "done":
            clauses.append(Activity.completed_at.is_not(None))
        if self.due_before is not None:
            clauses.append(Activity.due_date <= self.due_before)
        if self.due_after is not None:
            clauses.append(Activity.due_date >= self.due_after)
        return clauses


def list_activities(filters: ActivityFilters, limit: int, offset: int) -> tuple[list[dict], int]:
    """The paged activity table with customer, contact, deal and owner context: three queries
    (count, page with its joins, owner names) whatever the page size."""
    where = filters.where()
    total = session.scalar(select(func.count(Activity.id)).where(*where)) or 0
    order = ([Activity.completed_at.desc(), Activity.id.desc()] if filters.status == "done" else
             [case((Activity.due_date.is_(None), 1), else_=0), Activity.due_date, Activity.id])
    rows = session.execute(context_select().where(*where).order_by(*order).limit(limit).offset(offset)).mappings().all()
    return with_owner_names([dict(r) for r in rows]), total


def context_select(*, names: bool = True):
    """Activity columns plus its deal's title and stage, and (``names``) the names of the
    customer and contact it is linked to. Without names for statements that read many more rows
    than they show (the ranked queue): those look names up for the shown page only."""
    return _context_select(host.customer_model() if names else None)


@cache
def _context_select(Customer):
    """Built once per host customer model: statements are immutable, and building this one
    costs more than running it on a short page."""
    from ..models import Stage

    stmt = (select(*[getattr(Activity, c) for c in (
                "id", "type", "title", "description", "due_date", "owner_id", "contact_id", "customer_id",
                "deal_id", "completed_at", "created_at", "updated_at")],
                   Deal.title.label("deal_title"), Stage.label.label("stage_label"))
            .outerjoin(Deal, Deal.id == Activity.deal_id)
            .outerjoin(Stage, Stage.id == Deal.stage_id))
    if Customer is None:
        return stmt
    return (stmt.add_columns(Customer.name.label("customer_name"), Contact.first_name.label("contact_first_name"),
                             Contact.last_name.label("contact_last_name"))
            .outerjoin(Customer, (Customer.id == Activity.customer_id) & (Customer.tenant_id == Activity.tenant_id))
            .outerjoin(Contact, Contact.id == Activity.contact_id))


def with_owner_names(rows: list[dict]) -> list[dict]:
    """Add ``owner_name`` to activity rows (one query for all of them, see :mod:`.names`)."""
    owners = names.users(r["owner_id"] for r in rows)
    for r in rows:
        r["owner_name"] = owners.get(r["owner_id"])
        r["subject"] = r["title"]
    return rows
