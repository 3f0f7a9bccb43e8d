"""The CRM's account data for a host PortalCustomer (the host's table is never altered), and
the communication log."""
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint, func
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
    """A logged interaction with a customer (call summary, email, meeting notes)."""

    __tablename__ = "crm_communications"
    __table_args__ = (Index("ix_crm_communications_tenant_customer", "tenant_id", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]
    contact_id: Mapped[int | None]
    deal_id: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(20), default="email")
    subject: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    logged_by_id: Mapped[int | None]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
