"""Threaded conversations of a customer (one per captured mail thread), with their status."""
from sqlalchemy import func, select

from ..db import commit, is_valid_id, session
from ..errors import Invalid, NotFound
from ..models import CONVERSATION_STATUSES, Conversation
from ..schemas.base import load_or_invalid
from ..schemas.communications import ConversationStatusInput
from . import audit
from .customers import get_customer


def parse_status(raw) -> str | None:
    if raw in (None, "", "all"):
        return None
    if raw not in CONVERSATION_STATUSES:
        raise Invalid({"status": [f"Use one of {', '.join(CONVERSATION_STATUSES)} (or leave it out for all)."]})
    return raw


def list_for_customer(customer_id, status: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of the customer's threads, latest message first, and their total: two queries on
    the kept counts, never a scan of the messages."""
    customer = get_customer(customer_id)
    where = [Conversation.customer_id == customer["id"]]
    if status:
        where.append(Conversation.status == status)
    total = session.scalar(select(func.count()).select_from(Conversation).where(*where)) or 0
    rows = session.scalars(select(Conversation).where(*where)
                           .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
                           .limit(limit).offset(offset)).all()
    return [as_dict(c) for c in rows], total


def as_dict(c: Conversation) -> dict:
    return {"id": c.id, "customer_id": c.customer_id, "thread_id": c.thread_id, "subject": c.subject,
            "message_count": c.message_count, "last_message_at": c.last_message_at, "status": c.status,
            "channel": c.channel}


def set_status(conversation_id, data: dict, *, actor_id: int) -> dict:
    """Close, archive or reopen a thread (audited). A new message reopens a closed thread; an
    archived one stays archived."""
    if not is_valid_id(conversation_id):
        raise NotFound("No such conversation.")
    conversation = session.scalar(select(Conversation).where(Conversation.id == conversation_id))
    if conversation is None:
        raise NotFound("No such conversation.")
    status = load_or_invalid(ConversationStatusInput(), data)["status"]
    if conversation.status != status:
        audit.record("conversation", conversation.id, "status_changed", actor_id=actor_id,
                     changes={"status": [conversation.status, status]})
        conversation.status = status
        commit()
    return as_dict(conversation)
