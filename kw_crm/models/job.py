"""The job table: every side effect that must happen after a commit (mail, automation runs,
webhook deliveries, imports...) is a row written in the transaction that caused it, and run
afterwards by :mod:`kw_crm.jobs` — so it is never lost with a crashed process and never runs
for a transaction that rolled back."""
from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped

JOB_STATUSES = ("pending", "running", "done", "failed")


class Job(TenantScoped, Base):
    __tablename__ = "crm_jobs"
    __table_args__ = (Index("ix_crm_jobs_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))  # the registered handler, e.g. "mail"
    payload: Mapped[dict] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # one job per cause
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)  # not before; pushed back on retry
    claimed_at: Mapped[datetime | None]  # when a worker took it (heartbeat for long jobs)
    finished_at: Mapped[datetime | None]
