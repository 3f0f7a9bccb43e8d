"""The host's own tables: tenants, feature flags, users, portal customers and the simple
project/ticket/billing records that exercise the CRM's optional extension hooks."""
from datetime import UTC, datetime

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, MetaData, String, UniqueConstraint, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class HostBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=HostBase)

ROLES = ("ADMIN", "STAFF", "VENDOR")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Tenant(db.Model):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantFeature(db.Model):
    __tablename__ = "tenant_features"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10), default="STAFF")
    active: Mapped[bool] = mapped_column(default=True)
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    # Bumped by logout and password changes: session cookies of older generations stop working.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        """What the session cookie stores: the id and the session generation it was issued in."""
        return f"{self.id}:{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """Invalidate every session cookie issued so far (server-side: the cookie cannot be recalled)."""
        self.session_generation = (self.session_generation or 0) + 1

    def set_password(self, password: str) -> None:
        if self.password_hash:
            self.end_sessions()  # a new password ends the sessions the old one opened
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class PortalCustomer(db.Model):
    """The host's company record. Names are unique per tenant, case-insensitively."""

    __tablename__ = "portal_customers"
    __table_args__ = (
        Index("uq_portal_customers_tenant_name", "tenant_id", func.lower("name"), unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(db.Model):
    """A host project; the CRM shows those assigned to a contact in the Projects tab."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default="active")


class Ticket(db.Model):
    """A helpdesk ticket; the CRM shows those assigned to a contact in the Tickets tab."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(index=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default="open")


class Product(db.Model):
    """The catalogue: what the platform sells. Shared by every tenant (the platform's own price
    list), so it has no tenant column."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)


class Plan(db.Model):
    """A way to buy a product: a billing interval and a price per currency; ``trial`` plans
    start a free trial of ``trial_days`` instead of billed service."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("product_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    interval: Mapped[str] = mapped_column(String(10), default="month")  # month|year
    trial: Mapped[bool] = mapped_column(default=False)
    trial_days: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)


class PlanPrice(db.Model):
    """A plan's price in one currency (integer cents; currencies are never converted)."""

    __tablename__ = "plan_prices"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    price_cents: Mapped[int] = mapped_column(BigInteger)


class Subscription(db.Model):
    """Billing: a product-scoped subscription of a portal customer. ``product``/``plan`` keep
    the names as sold; ``product_id``/``plan_id`` link the catalogue when it was sold from it."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("uq_subscriptions_live_product", "customer_id", "product_id", unique=True,
                            postgresql_where=text("status <> 'cancelled' AND product_id IS NOT NULL"),
                            sqlite_where=text("status <> 'cancelled' AND product_id IS NOT NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("portal_customers.id"), index=True)
    product: Mapped[str] = mapped_column(String(100))
    plan: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|trial|cancelled
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    interval: Mapped[str | None] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    trial_ends_at: Mapped[datetime | None]


class Invoice(db.Model):
    """Billing: an invoice of a portal customer; unpaid ones make up outstanding AR."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("portal_customers.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|paid|void
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]


class Payment(db.Model):
    """Billing: money received from a portal customer (optionally against an invoice)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_tenant_customer_received", "tenant_id", "customer_id", "received_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("portal_customers.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    method: Mapped[str] = mapped_column(String(20), default="card")  # card|transfer|direct_debit
    status: Mapped[str] = mapped_column(String(20), default="succeeded")  # succeeded|failed|refunded
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillingEvent(db.Model):
    """Billing: what happened on a customer's account (subscribed, trial started, invoice
    issued, payment received or failed...), newest first in the CRM workspace."""

    __tablename__ = "billing_events"
    __table_args__ = (Index("ix_billing_events_tenant_customer_at", "tenant_id", "customer_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("portal_customers.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
