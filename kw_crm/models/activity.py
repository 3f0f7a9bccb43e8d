"""Notes and activities: the contact timeline (seed 000) and the next-action queue (seed 004).

One Activity model serves both: seed 000's logged activities (type, title, optional due date)
and seed 004's queue work (title, description, due date, optional customer / contact / deal).
``subject`` is the seed-000 name of ``title`` and stays readable and writable as a synonym."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, synonym

from ..db import Base, utcnow
from ..tenancy import TenantScoped

ACTIVITY_TYPES = ("call", "email", "meeting", "task", "note")


class Note(TenantScoped, Base):
    __tablename__ = "crm_notes"
    __table_args__ = (Index("ix_crm_notes_tenant_contact", "tenant_id", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deals.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None]
    author_id: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())


class Activity(TenantScoped, Base):
    __tablename__ = "crm_activities"
    __table_args__ = (
        Index("ix_crm_activities_tenant_contact", "tenant_id", "contact_id", "created_at"),
        Index("ix_crm_activities_tenant_owner_due", "tenant_id", "owner_id", "completed_at", "due_date"),
        Index("ix_crm_activities_tenant_open_due", "tenant_id", "completed_at", "due_date"),
        Index("ix_crm_activities_tenant_customer_open", "tenant_id", "customer_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deals.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int | None] = mapped_column(index=True)
    owner_id: Mapped[int | None]
    created_by_id: Mapped[int | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    subject = synonym("title")
