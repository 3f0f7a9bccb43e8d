"""Recording audit events inside the caller's transaction."""
from ..db import session
from ..models import AuditEvent


def record(entity_type: str, entity_id: int, action: str, *, actor_id: int | None,
           changes: dict | None = None, reason: str | None = None) -> AuditEvent:
    event = AuditEvent(entity_type=entity_type, entity_id=entity_id, action=action, actor_id=actor_id,
                       changes=changes or {}, reason=reason)
    session.add(event)
    return event


def history(entity_type: str, entity_id: int, limit: int = 50) -> list[AuditEvent]:
    from sqlalchemy import select

    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)))
