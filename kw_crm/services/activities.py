"""Notes and activities on a contact: the timeline, logging, completing, the open-activity queue."""
from datetime import date

from sqlalchemy import case, func, select

from .. import host
from ..db import commit, is_valid_id, session, utcnow
from ..errors import CrmError, Invalid, NotFound
from ..models import ACTIVITY_TYPES, Activity, Contact, Note
from . import communications, lifecycle

NOTE_MAX = 20_000
SUBJECT_MAX = 255


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


def log_activity(contact: Contact, *, type: str, subject: str, due_date: date | None = None,
                 description: str | None = None, owner_id: int | None = None,
                 actor_id: int | None) -> Activity:
    """A call/email/meeting/task/note for ``contact``; the owner defaults to the actor."""
    errors = {}
    if type not in ACTIVITY_TYPES:
        errors["type"] = f"Pick one of: {', '.join(ACTIVITY_TYPES)}."
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = "A subject is required."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"A subject has at most {SUBJECT_MAX} characters."
    if description and len(description) > NOTE_MAX:
        errors["description"] = f"A description has at most {NOTE_MAX:,} characters."
    owner_id = owner_id if owner_id is not None else actor_id
    if owner_id is not None and host.active_tenant_user(owner_id) is None:
        errors["owner_id"] = "Pick an active user of this portal as owner."
    if errors:
        raise Invalid(errors)
    try:
        lifecycle.ensure_customer_open(contact.customer_id, "new activities")
    except CrmError:
        session.rollback()
        raise
    activity = Activity(type=type, subject=subject, description=description or None, due_date=due_date,
                        contact_id=contact.id, customer_id=contact.customer_id, owner_id=owner_id,
                        created_by_id=actor_id)
    session.add(activity)
    commit()
    return activity


def get_activity(activity_id: int) -> Activity:
    if not is_valid_id(activity_id):
        raise NotFound("No such activity.")
    activity = session.scalar(select(Activity).where(Activity.id == activity_id))
    if activity is None:
        raise NotFound("No such activity.")
    return activity


def complete_activity(activity: Activity) -> Activity:
    """Mark done with the completion time; completing twice keeps the first time."""
    if activity.completed_at is None:
        activity.completed_at = utcnow()
        commit()
    return activity


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
    entries += [{"kind": "activity", "id": a.id, "created_at": a.created_at, "type": a.type, "subject": a.subject,
                 "description": a.description, "due_date": a.due_date, "completed_at": a.completed_at,
                 "owner_id": a.owner_id} for a in activities]
    messages, message_total = communications.contact_timeline(contact_id, window)
    entries += messages
    entries.sort(key=lambda e: (e["created_at"], e["kind"] == "activity", e["id"]), reverse=True)
    total = ((session.scalar(select(func.count(Note.id)).where(Note.contact_id == contact_id)) or 0)
             + (session.scalar(select(func.count(Activity.id)).where(Activity.contact_id == contact_id)) or 0)
             + message_total)
    return entries[offset:offset + limit], total


def open_activities(limit: int, offset: int) -> tuple[list[tuple[Activity, Contact | None]], int]:
    """The tenant's open activities, overdue first (then by due date, undated last): two queries."""
    total = session.scalar(select(func.count(Activity.id)).where(Activity.completed_at.is_(None))) or 0
    rows = session.execute(
        select(Activity, Contact).outerjoin(Contact, Contact.id == Activity.contact_id)
        .where(Activity.completed_at.is_(None))
        .order_by(case((Activity.due_date.is_(None), 1), else_=0), Activity.due_date, Activity.id)
        .limit(limit).offset(offset)).all()
    return [(a, c) for a, c in rows], total
