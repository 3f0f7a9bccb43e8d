"""A person the tenant does business with."""
from datetime import datetime

from sqlalchemy import Computed, Index, String, Text, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped

CONTACT_TYPES = ("customer", "contractor", "vendor", "partner", "other")
CONTACT_STATUSES = ("lead", "prospect", "active", "inactive")

# Separates the fields inside the search text, so that a search cannot match across two fields
# (name "Ann Lee" + email "lee@x" must not match "lee lee"). Search input never contains it: the
# page strips control characters and the API refuses them (services.contacts still checks).
SEARCH_SEPARATOR = "\n"


def search_text(first_name, last_name, email, company):
    r"""The one normalized search expression per contact: ``lower(first || ' ' || last || '\n' ||
    coalesce(email, '') || '\n' || coalesce(company, ''))``.

    The query (services.contacts) and PostgreSQL's trigram index (revision c0006) use exactly this
    expression, so the planner can answer ``LIKE '%q%'`` from the index. Literals are inlined, not
    bound, because a bound ``' '`` would not match the index expression. Only IMMUTABLE functions
    (``||`` on text, ``coalesce``, ``lower``) so PostgreSQL accepts it in an index."""
    space = literal_column("' '", String)
    sep = literal_column(f"'{SEARCH_SEPARATOR}'", String)
    empty = literal_column("''", String)
    text = first_name
    for part in (space, last_name, sep, func.coalesce(email, empty), sep):
        # Parenthesized the way PostgreSQL prints the index back, so Alembic's autogenerate
        # compares the model's index with the database's as equal (tests/test_migrations.py).
        text = text.op("||", return_type=String)(part).self_group()
    return func.lower(text.op("||", return_type=String)(func.coalesce(company, empty)), type_=String)


class Contact(TenantScoped, Base):
    __tablename__ = "crm_contacts"
    __table_args__ = (
        # Emails are unique per tenant, case- and space-insensitively; the import upserts on it.
        Index("uq_crm_contacts_tenant_email", "tenant_id", "email_key", unique=True),
        # The list's order with its tie-breaker: a page (or a keyset seek) is an index walk (c0008).
        Index("ix_crm_contacts_tenant_name", "tenant_id", "last_name", "first_name", "id"),
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


# PostgreSQL only (revision c0006, made tenant-first by c0017 where btree_gin could be created): a
# GIN index of the tenant and the search text's trigrams, so ``tenant_id = t AND search_text(...)
# LIKE '%abc%'`` is one index scan over this tenant's entries.
Index("ix_crm_contacts_search_trgm",
      Contact.tenant_id,
      search_text(Contact.first_name, Contact.last_name, Contact.email, Contact.company).label("search_text"),
      postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"},
      ).ddl_if(dialect="postgresql")

# SQLite only (revision c0017): a contentless FTS5 trigram table of the same search text, rowid =
# contact id, kept by triggers. Not a mapped table (Alembic cannot describe a virtual table).
SEARCH_FTS_TABLE = "crm_contacts_fts"


def is_search_fts_table(name: str) -> bool:
    """The FTS table or one of the shadow tables SQLite keeps for it (``_data``, ``_idx``, ...):
    schema the migrations own but the models cannot declare, left out of drift comparisons."""
    return name == SEARCH_FTS_TABLE or name.startswith(SEARCH_FTS_TABLE + "_")
