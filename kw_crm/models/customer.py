"""The CRM's account data for a host PortalCustomer (the host's table is never altered), and
the communication log."""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped

LIFECYCLE_STAGES = ("prospect", "qualified", "customer", "churned")


class CustomerProfile(TenantScoped, Base):
    __tablename__ = "crm_customer_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id"),
        CheckConstraint("health_score IS NULL OR (health_score >= 0 AND health_score <= 100)", name="health_range"),
        Index("ix_crm_customer_profiles_tenant_stage", "tenant_id", "lifecycle_stage", "archived_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]  # host PortalCustomer id
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default="prospect", server_default="prospect")
    health_score: Mapped[int | None]
    lead_source: Mapped[str | None] = mapped_column(String(100))
    billing_email: Mapped[str | None] = mapped_column(String(255))
    owner_id: Mapped[int | None]
    last_contacted_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    archive_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.current_timestamp())


class Communication(TenantScoped, Base):
    """A logged or captured interaction with a customer (call summary, email, meeting notes).

    Captured messages that could not be linked safely wait in the review queue with no customer
    (``customer_id`` NULL, a :class:`CaptureReview` row beside them) until an operator links them;
    every customer-side read filters on ``customer_id`` and so never sees them."""

    __tablename__ = "crm_communications"
    __table_args__ = (
        # lists sort by (occurred_at, id), newest first: the indexes end with both (c0018)
        Index("ix_crm_communications_tenant_customer", "tenant_id", "customer_id", "occurred_at", "id"),
        Index("ix_crm_communications_tenant_contact", "tenant_id", "contact_id", "occurred_at", "id"),
        Index("ix_crm_communications_tenant_log", "tenant_id", "occurred_at", "id"),  # the tenant's whole log
        # Idempotent capture: a message id is stored once per tenant (NULL for manual entries).
        Index("uq_crm_communications_tenant_message", "tenant_id", "message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None]
    # A deleted contact, deal or activity leaves the communication with the customer, unlinked.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deals.id", ondelete="SET NULL"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("crm_activities.id", ondelete="SET NULL"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_conversations.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    direction: Mapped[str] = mapped_column(String(10), default="outbound", server_default="outbound")
    subject: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    logged_by_id: Mapped[int | None]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)  # indexed per tenant: tenant_log
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    # provenance of captured messages
    message_id: Mapped[str | None] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))
    sender: Mapped[str | None] = mapped_column(String(320))
    recipients: Mapped[list | None] = mapped_column(JSON)
    capture_source: Mapped[str | None] = mapped_column(String(60))
    capture_mode: Mapped[str | None] = mapped_column(String(20))
    linkage_basis: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    matched_address: Mapped[str | None] = mapped_column(String(320))
    body_truncated: Mapped[bool] = mapped_column(default=False, server_default=false())
    reviewed_by_id: Mapped[int | None]
    reviewed_at: Mapped[datetime | None]
