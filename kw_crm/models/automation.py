"""Automation runs: what a stage change set in motion (follow-up and finance hand-off
activities, a notification mail), written in the stage change's transaction and executed step by
step by the job path. A step's effect and its ``done`` status commit together, so no step runs
twice and a crashed worker's run resumes at its first unfinished step."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from ..tenancy import TenantScoped

RUN_STATUSES = ("pending", "running", "done", "failed")
STEP_STATUSES = ("pending", "done", "failed")


class AutomationRun(TenantScoped, Base):
    __tablename__ = "crm_automation_runs"
    __table_args__ = (Index("ix_crm_automation_runs_tenant_deal", "tenant_id", "deal_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("crm_deals.id", ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    claimed_at: Mapped[datetime | None]  # the last worker to take the run (its row lock)
    next_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    steps: Mapped[list["AutomationStep"]] = relationship(
        order_by="AutomationStep.position", cascade="all, delete-orphan", passive_deletes=True)


class AutomationStep(TenantScoped, Base):
    __tablename__ = "crm_automation_steps"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crm_automation_runs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(40))  # follow_up | finance_handoff | notify_mail
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(Text)
    result_id: Mapped[int | None]  # the activity it created
    done_at: Mapped[datetime | None]
