"""Captured-mail bookkeeping: threaded conversations per customer and the review queue of
messages that could not be linked to a customer without guessing."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped

CONVERSATION_STATUSES = ("open", "closed", "archived")


class Conversation(TenantScoped, Base):
    """One mail thread of one customer. Counts are kept up to date by capture and review (an
    upsert per thread), so listing a customer's conversations never scans its messages."""

    __tablename__ = "crm_conversations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id", "thread_id"),
        Index("ix_crm_conversations_customer_status", "tenant_id", "customer_id", "status", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]
    thread_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    message_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_message_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.current_timestamp())


class CaptureReview(TenantScoped, Base):
    """A captured message waiting for an operator: why it was not linked and who it might be."""

    __tablename__ = "crm_capture_reviews"
    # the queue: waiting captures of a tenant, newest first, in index order (c0018)
    __table_args__ = (Index("ix_crm_capture_reviews_waiting", "tenant_id", "created_at", "id",
                            postgresql_where=text("resolved_at IS NULL"), sqlite_where=text("resolved_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    communication_id: Mapped[int] = mapped_column(
        ForeignKey("crm_communications.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(String(40))  # no_match | ambiguous | contact_without_customer
    candidates: Mapped[list] = mapped_column(JSON, default=list)  # [{customer_id, contact_id, name, basis}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None]
    resolution: Mapped[str | None] = mapped_column(String(20))  # linked | dismissed
