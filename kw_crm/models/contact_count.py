"""Contacts per tenant and type, kept by database triggers (revision c0017) so that the list's
unfiltered total and type chips read a handful of rows instead of counting a whole tenant."""
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..tenancy import TenantScoped


class ContactCount(TenantScoped, Base):
    """One partial count: a tenant's count of a type is the sum of its rows. SQLite keeps one
    row (``slot`` 0); PostgreSQL one per writing transaction until the next writer folds the
    committed ones together (see the revision). Never written by the ORM."""

    __tablename__ = "crm_contact_counts"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)  # the primary key leads with it: no second index
    type: Mapped[str] = mapped_column(String(20), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)
