"""A file attached to a contact; the bytes live in a storage backend under ``storage_key``."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped


class Attachment(TenantScoped, Base):
    __tablename__ = "crm_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # the client's name, for display only
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)  # generated, never client input
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
