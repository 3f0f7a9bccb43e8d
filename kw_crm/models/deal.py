"""Pipeline stages and deals."""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from ..tenancy import TenantScoped


class Stage(TenantScoped, Base):
    __tablename__ = "crm_stages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability_range"),
        CheckConstraint("stale_after_days IS NULL OR (stale_after_days >= 1 AND stale_after_days <= 3650)",
                        name="stale_after_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    probability: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(10))  # None (open) | "won" | "lost"
    # open deals that sit in this stage longer than this many days are stale (None: never)
    stale_after_days: Mapped[int | None]
    # automation on entering the stage: a follow-up for the owner due in N days (None: none),
    # a finance hand-off activity, a notification mail to the owner
    followup_days: Mapped[int | None]
    finance_handoff: Mapped[bool] = mapped_column(default=False, server_default="0")
    notify_owner: Mapped[bool] = mapped_column(default=False, server_default="0")


class Deal(TenantScoped, Base):
    __tablename__ = "crm_deals"
    __table_args__ = (
        CheckConstraint("value_cents >= 0", name="value_not_negative"),
        # With the id last, the board's newest open cards per stage (archived_at IS NULL, ORDER
        # BY id DESC LIMIT n) are read in order and stopped at the limit (c0008).
        Index("ix_crm_deals_tenant_stage", "tenant_id", "stage_id", "archived_at", "id"),
        Index("ix_crm_deals_tenant_contact", "tenant_id", "contact_id"),
        Index("ix_crm_deals_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_crm_deals_tenant_owner", "tenant_id", "owner_id"),
        Index("ix_crm_deals_tenant_closed", "tenant_id", "closed_at"),  # the won/lost trend
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    stage_id: Mapped[int] = mapped_column(ForeignKey("crm_stages.id", ondelete="RESTRICT"))
    expected_close_date: Mapped[date | None]
    owner_id: Mapped[int | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contacts.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    # when the deal last entered its stage (services.deals._enter_stage): stale-deal marking.
    # Nullable only so revision c0011 could add it without rebuilding the table on SQLite.
    stage_changed_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    archive_reason: Mapped[str | None] = mapped_column(Text)
    # the host catalogue's product (fixed once set) and optional plan; conversion adds the rest
    product_id: Mapped[int | None]
    plan_id: Mapped[int | None]
    converted_at: Mapped[datetime | None]
    subscription_id: Mapped[int | None]
    contract_snapshot: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.current_timestamp())
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # optimistic concurrency

    stage: Mapped[Stage] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
