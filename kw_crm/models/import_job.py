"""An import run in the background: the stored upload, its live progress and its outcome.

The row is the history entry the import page lists; the work itself is a job of the job path
(``crm_jobs``) named ``import`` that points here."""
from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from ..tenancy import TenantScoped

IMPORT_KINDS = ("contacts", "customers")
IMPORT_STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


class ImportJob(TenantScoped, Base):
    __tablename__ = "crm_import_jobs"
    __table_args__ = (Index("ix_crm_import_jobs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="contacts")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(default=0)
    upload_key: Mapped[str | None] = mapped_column(String(64))  # storage key; cleared once deleted
    errors_key: Mapped[str | None] = mapped_column(String(64))  # the skipped-rows CSV in storage
    total_rows: Mapped[int | None]  # estimated from the line count on upload, exact when done
    processed_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # first 100 [{row, message}]
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, or what it waits for
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None]  # host user id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
