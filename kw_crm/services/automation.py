"""Durable stage automation (seed 004 "Advance deal stage", contract 8.5).

Every stage change writes a run with its steps, taken from the target stage's settings, in the
transaction of the change, plus a job. The job executes the run's next pending step: it locks the
run row (an UPDATE, which waits for another worker holding it on PostgreSQL and serialises writers
on SQLite), re-reads the step, and commits the step's effect together with its ``done`` status —
so however many workers race, and wherever a worker dies, a finished step is never done again.
A step that raises is rolled back to its savepoint, its error kept, and retried with backoff by a
later job; after ``CRM_AUTOMATION_MAX_ATTEMPTS`` attempts it is ``failed`` and so is the run,
until someone presses Retry. The run's id and final status go to the deal's audit trail."""
from datetime import date, timedelta

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select, update

from .. import host, jobs
from ..db import commit, session, utcnow
from ..errors import Conflict, CrmError, NotFound
from ..models import Activity, AutomationRun, AutomationStep, Deal, Stage
from . import activities, audit, outbox
from .currencies import format_money

DEFAULT_MAX_ATTEMPTS = 5
STEP_LABELS = {"follow_up": "Seller follow-up", "finance_handoff": "Finance hand-off", "notify_mail": "Owner mail"}


class StepFailed(Exception):
    """A step cannot complete now; the message tells the admin what to fix before a retry."""


def max_attempts() -> int:
    return int(current_app.config.get("CRM_AUTOMATION_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


# --- writing a run (inside the stage change's transaction) ----------------------------------

def planned_steps(stage: Stage) -> list[tuple[str, dict]]:
    steps = []
    if stage.followup_days is not None:
        steps.append(("follow_up", {"days": stage.followup_days}))
    if stage.finance_handoff:
        steps.append(("finance_handoff", {}))
    if stage.notify_owner:
        steps.append(("notify_mail", {}))
    return steps


def queue_run(deal: Deal, old: Stage, new: Stage, *, actor_id: int | None) -> AutomationRun:
    run = AutomationRun(deal_id=deal.id, from_stage=old.key, to_stage=new.key, actor_id=actor_id,
                        steps=[AutomationStep(position=i, name=name, config=config)
                               for i, (name, config) in enumerate(planned_steps(new))])
    session.add(run)
    session.flush()
    jobs.enqueue("automation_run", {"run_id": run.id}, dedupe_key=f"automation:{run.id}:start")
    return run


# --- executing (a job) ----------------------------------------------------------------------

def _job_gave_up(payload: dict, error: str) -> None:
    """The job itself failed (not a step: the database, a worker that kept dying): the run must
    not stay pending or running for ever."""
    run = _lock(int(payload["run_id"]))
    if run is not None and run.status not in ("done", "failed"):
        run.last_error = f"the automation job gave up: {error}"[:2000]
        _finish(run, "failed")


@jobs.job("automation_run", max_attempts=3, on_failure=_job_gave_up)
def _automation_job(payload: dict, _job) -> None:
    execute_next_step(int(payload["run_id"]))


def _lock(run_id: int) -> AutomationRun | None:
    """Take the run's row lock for this transaction (an UPDATE waits for any other holder)."""
    locked = session.execute(update(AutomationRun).where(AutomationRun.id == run_id)
                             .values(claimed_at=utcnow()).execution_options(synchronize_session=False))
    if locked.rowcount != 1:
        return None
    return session.scalar(select(AutomationRun).where(AutomationRun.id == run_id)
                          .execution_options(populate_existing=True))


def execute_next_step(run_id: int) -> str | None:
    """Do the run's next pending step, in the caller's (the job's) transaction. Returns the run's
    status afterwards, ``None`` for an unknown run."""
    run = _lock(run_id)
    if run is None or run.status in ("done", "failed"):
        return run.status if run else None
    steps = list(session.scalars(select(AutomationStep).where(AutomationStep.run_id == run.id)
                                 .order_by(AutomationStep.position).execution_options(populate_existing=True)))
    step = next((s for s in steps if s.status == "pending"), None)
    if step is None:
        return _finish(run, "done")
    deal = session.scalar(select(Deal).where(Deal.id == run.deal_id))
    run.status, run.attempts, step.attempts = "running", run.attempts + 1, step.attempts + 1
    try:
        with session.begin_nested():
            step.detail, step.result_id = STEPS[step.name](run, step, deal)
            session.flush()
    except Exception as exc:  # noqa: BLE001 - any failure of a step is kept and retried
        step.last_error = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
        step.last_error = step.last_error[:2000]
        run.last_error = f"{STEP_LABELS.get(step.name, step.name)}: {step.last_error}"
        if step.attempts >= max_attempts():
            step.status = "failed"
            return _finish(run, "failed")
        run.status, run.next_attempt_at = "pending", utcnow() + jobs.backoff(step.attempts)
        jobs.enqueue("automation_run", {"run_id": run.id}, run_at=run.next_attempt_at,
                     dedupe_key=f"automation:{run.id}:{step.id}:retry:{step.attempts}:{run.attempts}")
        return run.status
    step.status, step.done_at, step.last_error = "done", utcnow(), None
    run.next_attempt_at = None
    if any(s.status == "pending" for s in steps):
        jobs.enqueue("automation_run", {"run_id": run.id}, dedupe_key=f"automation:{run.id}:{step.id}:next:{run.attempts}")
        return run.status
    return _finish(run, "done")


def _finish(run: AutomationRun, status: str) -> str:
    run.status, run.finished_at, run.next_attempt_at = status, utcnow(), None
    if status == "done":
        run.last_error = None
    audit.record("deal", run.deal_id, f"automation_{status}", actor_id=None,
                 changes={"automation_run": run.id, "status": status, "stage": [run.from_stage, run.to_stage]},
                 reason=run.last_error if status == "failed" else None)
    return status


# --- the steps: each returns (detail, id of what it made) and raises StepFailed to retry ------

def _owner(deal: Deal):
    owner = host.active_tenant_user(deal.owner_id) if deal.owner_id else None
    if owner is None:
        raise StepFailed(f"the deal's owner (user #{deal.owner_id}) is not an active user of this tenant; "
                         "give the deal an active owner, then retry")
    return owner


def _activity(deal: Deal, owner, title: str, description: str, due: date) -> Activity:
    """Through the one activity service, so generated work obeys the same rules and audit as an
    activity a seller logs; its refusal (an archived customer, say) is the step's failure."""
    try:
        return activities.create_activity(title=title[:255], description=description, due_date=due,
                                          deal_id=deal.id, contact_id=deal.contact_id, owner_id=owner.id,
                                          actor_id=None, commit_now=False)
    except CrmError as exc:
        details = " ".join(m for ms in (exc.fields or {}).values() for m in ms)
        raise StepFailed(f"the activity was refused: {details or exc.message}") from exc


def _follow_up(run: AutomationRun, step: AutomationStep, deal: Deal):
    owner = _owner(deal)
    due = date.today() + timedelta(days=int(step.config.get("days") or 0))
    activity = _activity(deal, owner, f"Follow up: {deal.title}",
                         f"The deal moved from {run.from_stage} to {run.to_stage}; agree the next step with the customer.",
                         due)
    return f"activity #{activity.id} for {owner.name or owner.email}, due {due.isoformat()}", activity.id


def _finance_handoff(run: AutomationRun, step: AutomationStep, deal: Deal):
    owner = _owner(deal)
    contract = deal.contract_snapshot or {}
    sold = f" Sold: {contract['plan_name']} ({format_money(contract['price_cents'], contract['currency'])}" \
           f" per {contract.get('interval') or 'period'})." if contract else ""
    activity = _activity(deal, owner, f"Finance hand-off: {deal.title}",
                         f"The deal reached {run.to_stage} at {format_money(deal.value_cents, deal.currency)}."
                         f"{sold} Hand billing details and the contract to finance.", date.today())
    return f"activity #{activity.id} for {owner.name or owner.email}", activity.id


def _notify_mail(run: AutomationRun, step: AutomationStep, deal: Deal):
    owner = _owner(deal)
    if not getattr(owner, "email", None):
        raise StepFailed(f"the deal's owner {owner.name} has no e-mail address")
    link = url_for("crm.deal_detail", deal_id=deal.id, _external=True) if has_request_context() else f"deal #{deal.id}"
    outbox.queue_mail(owner.email, f"Deal moved to {run.to_stage}: {deal.title}",
                      f"The deal \"{deal.title}\" moved from {run.from_stage} to {run.to_stage}.\n\nOpen it: {link}\n",
                      dedupe_key=f"automation:{run.id}:mail")
    return f"mail queued to {owner.email}", None


STEPS = {"follow_up": _follow_up, "finance_handoff": _finance_handoff, "notify_mail": _notify_mail}


# --- reading and retrying -------------------------------------------------------------------

def runs_for_deal(deal_id: int, *, limit: int = 20, offset: int = 0,
                  run_id: int | None = None) -> tuple[list[dict], int]:
    """A deal's runs (or its run ``run_id``), newest first, with their steps: three queries
    whatever the page size, read fresh from the database."""
    conditions = [AutomationRun.deal_id == deal_id] + ([AutomationRun.id == run_id] if run_id else [])
    fresh = {"populate_existing": True}
    total = session.scalar(select(func.count(AutomationRun.id)).where(*conditions))
    runs = list(session.scalars(select(AutomationRun).where(*conditions).order_by(AutomationRun.id.desc())
                                .limit(limit).offset(offset).execution_options(**fresh)))
    steps: dict[int, list[AutomationStep]] = {}
    if runs:
        for step in session.scalars(select(AutomationStep).where(AutomationStep.run_id.in_([r.id for r in runs]))
                                    .order_by(AutomationStep.run_id, AutomationStep.position)
                                    .execution_options(**fresh)):
            steps.setdefault(step.run_id, []).append(step)
    return [serialise(run, steps.get(run.id, [])) for run in runs], total


def serialise(run: AutomationRun, steps: list[AutomationStep]) -> dict:
    return {
        "id": run.id, "deal_id": run.deal_id, "from_stage": run.from_stage, "to_stage": run.to_stage,
        "status": run.status, "attempts": run.attempts, "last_error": run.last_error,
        "created_at": run.created_at, "finished_at": run.finished_at, "next_attempt_at": run.next_attempt_at,
        "steps": [{"name": s.name, "label": STEP_LABELS.get(s.name, s.name), "status": s.status,
                   "detail": s.detail, "attempts": s.attempts, "last_error": s.last_error,
                   "activity_id": s.result_id} for s in steps],
    }


def retry(deal_id: int, run_id: int, *, actor_id: int | None) -> dict:
    """Give a failed run a fresh allowance of attempts from its failed step on; returns the run
    as it stands after the commit (the embedded runner may have finished it already)."""
    run = session.scalar(select(AutomationRun).where(AutomationRun.id == run_id, AutomationRun.deal_id == deal_id))
    if run is None:
        raise NotFound("No such automation run.")
    if run.status != "failed":
        raise Conflict(f"Only failed runs can be retried; run #{run.id} is {run.status}.")
    for step in run.steps:
        if step.status == "failed":
            step.status, step.attempts = "pending", 0
    run.status, run.finished_at, run.next_attempt_at = "pending", None, None
    audit.record("deal", deal_id, "automation_retried", actor_id=actor_id,
                 changes={"automation_run": run.id, "status": "pending"})
    jobs.enqueue("automation_run", {"run_id": run.id}, dedupe_key=f"automation:{run.id}:manual:{run.attempts}")
    commit()
    items, _ = runs_for_deal(deal_id, limit=1, offset=0, run_id=run_id)
    return items[0]
