"""A person the tenant does business with."""
from datetime import datetime

from sqlalchemy import Computed, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped

CONTACT_TYPES = ("customer", "contractor", "vendor", "partner", "other")
CONTACT_STATUSES = ("lead", "prospect", "active", "inactive")


class Contact(TenantScoped, Base):
    __tablename__ = "crm_contacts"
    __table_args__ = (
        # Emails are unique per tenant, case- and space-insensitively; the import upserts on it.
        Index("uq_crm_contacts_tenant_email", "tenant_id", "email_key", unique=True),
        Index("ix_crm_contacts_tenant_name", "tenant_id", "last_name", "first_name"),
        Index("ix_crm_contacts_tenant_type", "tenant_id", "type"),
        Index("ix_crm_contacts_tenant_customer", "tenant_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(255))
    email_key: Mapped[str | None] = mapped_column(String(255), Computed("lower(trim(email))", persisted=True))
    phone: Mapped[str | None] = mapped_column(String(50))
    job_title: Mapped[str | None] = mapped_column(String(150))
    company: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[int | None]  # host PortalCustomer id (validated through the host interface)
    type: Mapped[str] = mapped_column(String(20), default="customer", server_default="customer")
    status: Mapped[str] = mapped_column(String(20), default="lead", server_default="lead")
    owner_id: Mapped[int | None]  # host user id
    vendor_user_id: Mapped[int | None]  # host VENDOR-role user id for contractor/vendor contacts
    notes: Mapped[str | None] = mapped_column(Text)
    is_decision_maker: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.current_timestamp())

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
