"""API tokens: an admin's key for other systems. Only a hash of the secret is stored; the
secret itself is shown once, when the token is created."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped


class ApiToken(TenantScoped, Base):
    __tablename__ = "crm_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # sha256 of the whole secret: the secret has 256 random bits, so a fast hash is enough and
    # lets the guard find the token with one indexed lookup.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the secret's first characters, to recognise it
    user_id: Mapped[int]  # the admin the token acts as (the one who created it)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None]
