"""Threaded conversations of a customer (one per captured mail thread), with their status."""
from sqlalchemy import func, select

from .. import host
from ..db import commit, is_valid_id, session
from ..errors import Invalid, NotFound
from ..models import CONVERSATION_STATUSES, Conversation
from ..schemas.base import load_or_invalid
from ..schemas.communications import ConversationStatusInput
from . import audit


def parse_status(raw) -> str | None:
    if raw in (None, "", "all"):
        return None
    if raw not in CONVERSATION_STATUSES:
        raise Invalid({"status": [f"Use one of {', '.join(CONVERSATION_STATUSES)} (or leave it out for all)."]})
    return raw


def list_for_customer(customer_id, status: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of the customer's threads, latest message first, and their total: two queries on
    the kept counts, never a scan of the messages."""
    if host.tenant_customer(customer_id) is None:
        raise NotFound("No such customer.")
    where = [Conversation.customer_id == customer_id]
    if status:
        where.append(Conversation.status == status)
    total = session.scalar(select(func.count()).select_from(Conversation).where(*where)) or 0
    rows = session.execute(select(*COLUMNS).where(*where)
                           .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
                           .limit(limit).offset(offset)).mappings().all()
    return [dict(row) for row in rows], total


COLUMNS = (Conversation.id, Conversation.customer_id, Conversation.thread_id, Conversation.subject,
           Conversation.message_count, Conversation.last_message_at, Conversation.status, Conversation.channel)


def as_dict(c: Conversation) -> dict:
    return {column.key: getattr(c, column.key) for column in COLUMNS}


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
