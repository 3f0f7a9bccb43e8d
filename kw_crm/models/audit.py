"""One audit trail for every aggregate: who changed what, when and why."""
from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped


class AuditEvent(TenantScoped, Base):
    __tablename__ = "crm_audit_events"
    __table_args__ = (Index("ix_crm_audit_events_entity", "tenant_id", "entity_type", "entity_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40))  # "customer", "deal", "contact"...
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(60))  # "lifecycle_changed", "archived"...
    actor_id: Mapped[int | None]  # host user id; None for system changes
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [old, new]}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
