"""The outbox: queue a side effect in the caller's transaction, deliver it after commit.

Delivery claims a row with a conditional UPDATE (pending -> sending) and commits the claim
before calling the handler, so two workers never send the same message; a failure puts the row
back to pending with a growing delay and the error kept. ``flask crm deliver`` and the end of
every CRM request drain the queue."""
import logging
from collections.abc import Callable
from datetime import timedelta

from flask import has_app_context
from sqlalchemy import select, update

from .. import host
from ..db import session, utcnow
from ..models import OutboxMessage
from ..tenancy import ALL_TENANTS

log = logging.getLogger("kw_crm.outbox")
MAX_ATTEMPTS = 8
STALE_CLAIM = timedelta(minutes=15)
_QUEUED = "kw_crm_outbox_queued"


def _send_mail(payload: dict) -> None:
    host.send_mail(payload["to"], payload["subject"], payload["body"])


HANDLERS: dict[str, Callable[[dict], None]] = {"mail": _send_mail}


def enqueue(kind: str, payload: dict, dedupe_key: str) -> OutboxMessage | None:
    """Queue a message unless one with ``dedupe_key`` exists already (then return ``None``)."""
    if kind not in HANDLERS:
        raise ValueError(f"no outbox handler for {kind!r}")
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
                            .execution_options(**ALL_TENANTS))
    if exists is not None:
        return None
    message = OutboxMessage(kind=kind, payload=payload, dedupe_key=dedupe_key)
    session.add(message)
    session.info[_QUEUED] = True
    return message


def queue_mail(to: str, subject: str, body: str, dedupe_key: str) -> OutboxMessage | None:
    return enqueue("mail", {"to": to, "subject": subject, "body": body}, dedupe_key)


def deliver_pending(limit: int = 50, *, all_tenants: bool = False, force: bool = False) -> dict:
    """Deliver due messages. Without ``force`` it only runs when this session queued something
    (cheap to call after every commit) — the CLI and request teardown pass ``force``."""
    counts = {"sent": 0, "failed": 0, "retrying": 0}
    if not has_app_context() or not (force or session.info.pop(_QUEUED, False)):
        return counts
    options = ALL_TENANTS if all_tenants else {}
    now = utcnow()
    session.execute(update(OutboxMessage).where(
        OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - STALE_CLAIM)
        .values(status="pending").execution_options(**options))
    due = session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit).execution_options(**options)).all()
    session.commit()
    for message_id in due:
        counts[_deliver_one(message_id, options)] += 1
    return counts


def _deliver_one(message_id: int, options: dict) -> str:
    claimed = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        .values(status="sending", claimed_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        .execution_options(**options))
    session.commit()
    if claimed.rowcount != 1:
        return "retrying"  # another worker has it
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).execution_options(**options))
    try:
        HANDLERS[message.kind](message.payload)
    except Exception as exc:  # noqa: BLE001 - the handler talks to the outside world
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            log.error("outbox message %s gave up after %s attempts: %s", message.id, message.attempts, exc)
        else:
            message.status = "pending"
            message.next_attempt_at = utcnow() + timedelta(seconds=30 * 2 ** (message.attempts - 1))
            log.warning("outbox message %s failed (attempt %s), will retry: %s", message.id, message.attempts, exc)
        session.commit()
        return "failed" if message.status == "failed" else "retrying"
    message.status, message.sent_at, message.last_error = "sent", utcnow(), None
    session.commit()
    return "sent"
