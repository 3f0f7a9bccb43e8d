"""The communication log: manually logged interactions with a customer."""
from sqlalchemy import func, select

from ..db import commit, session
from ..errors import Invalid
from ..inputs import parse_datetime
from ..models import Communication
from . import lifecycle
from .customers import clean_text, get_customer

CHANNELS = ("email", "call", "meeting", "chat", "letter", "other")
SUBJECT_MAX, SUMMARY_MAX = 255, 20_000


def log_communication(customer_id, data: dict, *, actor_id: int) -> dict:
    """Record an interaction and move the customer's ``last_contacted_at`` forward.
    Archived customers accept no new entries (409)."""
    errors: dict = {}
    subject = clean_text(data, "subject", SUBJECT_MAX, errors, required=True)
    summary = clean_text(data, "summary", SUMMARY_MAX, errors)
    channel = data.get("channel") or "email"
    if channel not in CHANNELS:
        errors["channel"] = [f"Use one of {', '.join(CHANNELS)}."]
    occurred_at = None
    if data.get("occurred_at"):
        try:
            occurred_at = parse_datetime(data["occurred_at"])
        except ValueError as exc:
            errors["occurred_at"] = [str(exc)]
    if errors:
        raise Invalid(errors)
    row = get_customer(customer_id)
    lifecycle.ensure_customer_open(row["id"], "communications")
    entry = Communication(customer_id=row["id"], subject=subject, summary=summary, channel=channel,
                          logged_by_id=actor_id, source="manual")
    if occurred_at is not None:
        entry.occurred_at = occurred_at
    session.add(entry)
    session.flush()
    profile = lifecycle.get_or_create_profile(row["id"])
    if profile.last_contacted_at is None or profile.last_contacted_at < entry.occurred_at:
        profile.last_contacted_at = entry.occurred_at
    commit()
    return as_dict(entry)


def list_communications(customer_id, limit: int, offset: int) -> tuple[list[dict], int]:
    row = get_customer(customer_id)
    where = Communication.customer_id == row["id"]
    total = session.scalar(select(func.count()).select_from(Communication).where(where))
    entries = session.scalars(select(Communication).where(where)
                              .order_by(Communication.occurred_at.desc(), Communication.id.desc())
                              .limit(limit).offset(offset)).all()
    return [as_dict(e) for e in entries], total


def as_dict(entry: Communication) -> dict:
    return {"id": entry.id, "customer_id": entry.customer_id, "contact_id": entry.contact_id,
            "deal_id": entry.deal_id, "channel": entry.channel, "subject": entry.subject,
            "summary": entry.summary, "source": entry.source, "logged_by_id": entry.logged_by_id,
            "occurred_at": entry.occurred_at.isoformat()}
