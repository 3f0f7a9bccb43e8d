"""The capture review queue: captured messages the matching rule would not link, waiting for an
operator to pick the customer (and optionally contact, deal, activity) or to dismiss them."""
from sqlalchemy import func, select, update

from .. import signals
from ..capture import link_conversations, touch_last_contacted
from ..db import commit, is_valid_id, session, utcnow
from ..errors import Conflict, Invalid, NotFound
from ..models import CaptureReview, Communication
from ..schemas.base import load_or_invalid
from ..schemas.communications import ResolveInput
from . import audit, lifecycle, names
from .communications import PREVIEW_CHARS, check_links, communications_by_id
from .customers import get_customer

REASONS = {
    "no_match": "No contact or billing email of this tenant has the sender's or recipients' address.",
    "ambiguous": "Several contacts or customers have these addresses.",
    "contact_without_customer": "The matching contact is not linked to a customer.",
    "customer_archived": "The matching customer is archived and accepts no new communications.",
}


def queue(limit: int, offset: int) -> tuple[list[dict], int]:
    """Unresolved captures, newest first, with the message's metadata and preview: two queries."""
    pending = CaptureReview.resolved_at.is_(None)
    total = waiting_count()
    rows = session.execute(
        select(CaptureReview.id, CaptureReview.reason, CaptureReview.candidates, CaptureReview.created_at,
               Communication.id.label("communication_id"), Communication.subject, Communication.direction,
               Communication.channel, Communication.sender, Communication.recipients, Communication.occurred_at,
               Communication.message_id, Communication.thread_id, Communication.capture_source,
               Communication.capture_mode, func.substr(Communication.summary, 1, PREVIEW_CHARS + 1).label("text"))
        .join(Communication, Communication.id == CaptureReview.communication_id)
        .where(pending).order_by(CaptureReview.created_at.desc(), CaptureReview.id.desc())
        .limit(limit).offset(offset)).all()
    items = []
    for r in rows:
        text = r.text or ""
        items.append({
            "id": r.id, "communication_id": r.communication_id, "reason": r.reason,
            "reason_text": REASONS.get(r.reason, r.reason), "candidates": r.candidates or [],
            "candidate_count": len(r.candidates or []), "created_at": r.created_at,
            "subject": r.subject, "direction": r.direction, "channel": r.channel, "sender": r.sender,
            "recipients": r.recipients or [], "occurred_at": r.occurred_at,
            "preview": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rstrip() + "…",
            "message_id": r.message_id, "thread_id": r.thread_id,
            "capture_source": r.capture_source, "capture_mode": r.capture_mode,
        })
    return items, total


def waiting_count() -> int:
    return session.scalar(select(func.count()).select_from(CaptureReview)
                          .where(CaptureReview.resolved_at.is_(None))) or 0


def _review(review_id) -> CaptureReview:
    if not is_valid_id(review_id):
        raise NotFound("No such capture review.")
    review = session.scalar(select(CaptureReview).where(CaptureReview.id == review_id))
    if review is None:
        raise NotFound("No such capture review.")
    return review


def _close(review: CaptureReview, resolution: str, actor_id: int) -> None:
    """Mark the review done; of two operators resolving at once exactly one gets through."""
    done = session.execute(update(CaptureReview)
                           .where(CaptureReview.id == review.id, CaptureReview.resolved_at.is_(None))
                           .values(resolved_at=utcnow(), resolved_by_id=actor_id, resolution=resolution)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.rollback()
        raise Conflict("This capture was already resolved: a capture is resolved once.")


def resolve(review_id, data: dict, *, actor_id: int) -> dict:
    """Link the captured message to the customer (and contact, deal, activity) the operator
    picked; the communication records that the link came from operator review, and who did it."""
    review = _review(review_id)
    if review.resolved_at is not None:
        raise Conflict("This capture was already resolved: a capture is resolved once.")
    values = load_or_invalid(ResolveInput(), data)
    try:
        customer = get_customer(values["customer_id"])
    except NotFound:
        raise Invalid({"customer_id": ["No such customer."]}) from None
    errors, links = check_links(customer["id"], values)
    if errors:
        raise Invalid(errors)
    lifecycle.ensure_customer_open(customer["id"], "communications")
    _close(review, "linked", actor_id)
    message = session.get(Communication, review.communication_id)
    message.customer_id = customer["id"]
    for key, value in links.items():
        setattr(message, key, value)
    message.linkage_basis = "operator_review"
    message.reviewed_by_id, message.reviewed_at = actor_id, utcnow()
    session.flush()
    link_conversations([message.id])
    session.expire(message, ["conversation_id"])  # set by the statement above; read again when asked
    touch_last_contacted([(customer["id"], message.occurred_at)])
    audit.record("communication", message.id, "capture_resolved", actor_id=actor_id, changes={
        "customer_id": [None, customer["id"]], **{k: [None, v] for k, v in links.items() if v is not None}},
        reason=f"review #{review.id} ({review.reason})")
    signals.send_after_commit(session, signals.communication_captured, message, status="linked", review_id=review.id)
    commit()
    return communications_by_id([message.id])[message.id]


def dismiss(review_id, *, actor_id: int) -> dict:
    """Take a message that belongs to no customer (newsletters, misdirected mail) out of the
    queue. It stays stored, linked to nothing, so a repeat capture is still recognised."""
    review = _review(review_id)
    if review.resolved_at is not None:
        raise Conflict("This capture was already resolved: a capture is resolved once.")
    _close(review, "dismissed", actor_id)
    audit.record("communication", review.communication_id, "capture_dismissed", actor_id=actor_id,
                 reason=f"review #{review.id} ({review.reason})")
    commit()
    session.refresh(review)
    return {"id": review.id, "resolution": review.resolution, "resolved_at": review.resolved_at,
            "resolved_by": review.resolved_by_id, "resolved_by_name": names.users([actor_id]).get(actor_id)}
