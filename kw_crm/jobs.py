"""The one job path: work that must happen after a commit, outside the web request.

A job is a row of ``crm_jobs`` written in the transaction that causes it (:func:`enqueue`), so it
exists exactly when the change it belongs to exists. After the commit it is handed on:

- to the host's task engine through the optional hook ``crm_enqueue_job(name, kwargs)`` (host_stub
  uses Celery when ``CELERY_BROKER_URL`` is set); the engine calls :func:`run_job` with the id;
- without that hook, to the embedded runner chosen by ``CRM_JOB_RUNNER``: ``"thread"`` (default:
  a small per-process thread pool, so no request waits on a mail server), ``"inline"`` (right after
  the commit, in the caller — what tests and one-shot scripts want) or ``"off"`` (only workers run
  jobs);
- and in every case ``flask crm worker`` (or :func:`run_due`) runs whatever is due, including
  retries and jobs whose worker died.

Exactly once: a worker first *claims* a job (pending -> running, committed; on PostgreSQL with
``FOR UPDATE SKIP LOCKED`` so racing workers take different rows), then runs its handler; the
handler's database writes commit together with the ``done`` status. A handler that raises is
rolled back and retried with exponential backoff until ``max_attempts``, then ``failed``; raising
:class:`GiveUp` fails it at once. A worker that dies leaves its job ``running``: after
``CRM_JOB_STALE_SECONDS`` without a heartbeat the job is claimable again, so database effects
happen once and outside effects (a mail, a webhook POST) at least once — their handlers carry a
stable id (Message-ID, delivery id) so receivers can drop a repeat."""
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import delete, event, inspect, or_, select, update
from sqlalchemy.orm import Session

from .db import on_commit, session, utcnow
from .models import Job
from .tenancy import ALL_TENANTS, tenant_scope

log = logging.getLogger("kw_crm.jobs")

RUN_JOB_TASK = "kw_crm.run_job"  # the name a host's task engine receives with {"job_id": id}
_QUEUED = "kw_crm_jobs_queued"  # Job objects added in the open transaction
_COMMITTED = "kw_crm_jobs_committed"  # ids of jobs whose transaction has committed


class GiveUp(Exception):
    """Raised by a handler when retrying cannot help (bad payload, an outcome that must not be
    repeated): the job ends ``failed`` with this message, no further attempts."""


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Callable[[dict, Job], None]
    max_attempts: int
    on_failure: Callable[[dict, str], None] | None = None


_KINDS: dict[str, JobKind] = {}


def job(name: str, *, max_attempts: int = 8, on_failure: Callable[[dict, str], None] | None = None):
    """Register ``handler(payload, job)`` for jobs called ``name``. It runs in an app context
    with the job's tenant bound, inside the transaction that marks the job done.
    ``on_failure(payload, error)`` runs (tenant bound, then committed) once the job has ended
    ``failed`` — after its last attempt, a :class:`GiveUp`, or a worker that kept dying — so the
    record it works for (an import, an automation run) never stays "running"."""
    def register(handler):
        _KINDS[name] = JobKind(name, handler, max_attempts, on_failure)
        return handler
    return register


def enqueue(name: str, payload: dict, *, dedupe_key: str | None = None,
            run_at: datetime | None = None) -> Job | None:
    """Add a job to the caller's transaction. With a ``dedupe_key`` that already names a job,
    nothing is added and ``None`` is returned (one job per cause)."""
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"no job handler registered for {name!r}")
    if dedupe_key is not None and session.scalar(
            select(Job.id).where(Job.dedupe_key == dedupe_key).execution_options(**ALL_TENANTS)) is not None:
        return None
    row = Job(name=name, payload=payload, dedupe_key=dedupe_key, max_attempts=kind.max_attempts,
              run_at=run_at or utcnow())
    session.add(row)
    session.info.setdefault(_QUEUED, []).append(row)
    return row


def forget(dedupe_prefixes: list[str]) -> None:
    """Delete the jobs whose dedupe key starts with one of ``dedupe_prefixes``, in the caller's
    transaction. For records being deleted: SQLite hands a deleted row's id to the next row,
    and a finished job keyed on the old id would otherwise swallow the new row's job."""
    if dedupe_prefixes:
        session.execute(delete(Job).where(or_(*(Job.dedupe_key.startswith(p, autoescape=True)
                                                 for p in dedupe_prefixes)))
                        .execution_options(**ALL_TENANTS))


# --- after commit: hand the new jobs on --------------------------------------------------------

def _mark_committed(db_session: Session) -> None:
    queued = db_session.info.pop(_QUEUED, [])
    ids = [identity[0] for identity in (inspect(row).identity for row in queued) if identity]
    if ids:
        db_session.info.setdefault(_COMMITTED, []).extend(ids)


def _drop_queued(db_session: Session, _previous_transaction=None) -> None:
    db_session.info.pop(_QUEUED, None)


def install() -> None:
    on_commit(dispatch_committed)
    if not event.contains(Session, "after_commit", _mark_committed):
        event.listen(Session, "after_commit", _mark_committed)
        event.listen(Session, "after_soft_rollback", _drop_queued)


def dispatch_committed(*, sweep_tenant: int | None = None) -> None:
    """Hand the jobs of this session's committed transactions to whoever runs them. With
    ``sweep_tenant``, the embedded runner also runs that tenant's other due jobs (retries):
    write requests pass it, so a demo without a worker still retries its mail."""
    if not has_app_context():
        return
    ids = session.info.pop(_COMMITTED, [])
    if not ids and sweep_tenant is None:
        return
    app = current_app._get_current_object()
    hook = app.extensions["kw_crm"].plugin_manager.hook.crm_enqueue_job
    if hook.get_hookimpls():
        for job_id in ids:
            try:
                hook(name=RUN_JOB_TASK, kwargs={"job_id": job_id})
            except Exception:  # noqa: BLE001 - the row stays pending; a worker or the beat picks it up
                log.exception("the host's task engine refused job %s; it waits for a worker", job_id)
        return
    mode = app.config.get("CRM_JOB_RUNNER", "thread")
    if mode == "inline":
        _run_batch(ids, sweep_tenant)
    elif mode == "thread":
        _executor().submit(_run_in_app, app, ids, sweep_tenant)


def _run_batch(ids: list[int], sweep_tenant: int | None) -> None:
    for job_id in ids:
        run_job(job_id)
    if sweep_tenant is not None:
        run_due(tenant_id=sweep_tenant, limit=20)


def _run_in_app(app, ids: list[int], sweep_tenant: int | None) -> None:
    with app.app_context():
        try:
            _run_batch(ids, sweep_tenant)
        except Exception:  # noqa: BLE001 - a background thread has nobody to raise to
            log.exception("embedded job runner failed; the jobs wait for a worker")
        finally:
            session.remove()


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """One small pool per process (re-made after a fork, so each gunicorn worker has its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=2, thread_name_prefix="kw_crm_jobs"))
        return _pool[1]


# --- running -------------------------------------------------------------------------------

def _stale_before() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config.get("CRM_JOB_STALE_SECONDS", 900))


def _claimable(now: datetime):
    """Pending and due, or running with a heartbeat older than the stale limit (its worker died)."""
    return ((Job.status == "pending") & (Job.run_at <= now)) | (
        (Job.status == "running") & (Job.claimed_at < _stale_before()))


def _claim(query) -> Job | None:
    """Take one job matching ``query``: pending -> running, attempts + 1, committed before the
    handler runs. PostgreSQL skips rows other workers hold; SQLite serialises writers, and the
    conditional UPDATE lets only one claimer win."""
    now = utcnow()
    query = query.where(_claimable(now)).order_by(Job.run_at, Job.id).limit(1).execution_options(**ALL_TENANTS)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job_id = session.scalar(query)
    if job_id is None:
        session.commit()
        return None
    claimed = session.execute(update(Job).where(Job.id == job_id, _claimable(now)).values(
        status="running", claimed_at=now, attempts=Job.attempts + 1).execution_options(**ALL_TENANTS))
    session.commit()
    if claimed.rowcount != 1:
        return None
    return session.scalar(select(Job).where(Job.id == job_id).execution_options(**ALL_TENANTS))


def run_job(job_id: int) -> str | None:
    """Run one job by id if it is claimable now (what a host's task calls). Returns its new
    status, or ``None`` when it was not claimable (done, not due, or another worker has it)."""
    row = _claim(select(Job.id).where(Job.id == job_id))
    return _execute(row) if row is not None else None


def run_due(limit: int = 100, *, tenant_id: int | None = None) -> dict[str, int]:
    """Run up to ``limit`` due jobs (of one tenant, or of all), one claim at a time so several
    workers share the queue. Returns how many ended done, failed or went back to retry."""
    counts = {"done": 0, "failed": 0, "retrying": 0}
    for _ in range(limit):
        query = select(Job.id)
        if tenant_id is not None:
            query = query.where(Job.tenant_id == tenant_id)
        row = _claim(query)
        if row is None:
            break
        status = _execute(row)
        counts["retrying" if status == "pending" else status] += 1
    return counts


def _execute(row: Job) -> str:
    kind = _KINDS.get(row.name)
    job_id, tenant_id, attempts = row.id, row.tenant_id, row.attempts
    try:
        if kind is None:
            raise GiveUp(f"no handler registered for job {row.name!r}")
        if attempts > row.max_attempts:
            raise GiveUp(row.last_error or "gave up: its worker stopped during every attempt")
        with tenant_scope(tenant_id):
            kind.handler(dict(row.payload), row)
            row.status, row.finished_at, row.last_error = "done", utcnow(), None
            session.commit()
        dispatch_committed()  # jobs the handler queued (an automation run's mail...)
        return "done"
    except Exception as exc:  # noqa: BLE001 - handlers talk to the outside world
        session.rollback()
        error = str(exc) if isinstance(exc, GiveUp) else f"{type(exc).__name__}: {exc}"
        row = session.scalar(select(Job).where(Job.id == job_id).execution_options(**ALL_TENANTS))
        row.last_error = error[:2000]
        if isinstance(exc, GiveUp) or attempts >= row.max_attempts:
            row.status, row.finished_at = "failed", utcnow()
            log.error("job %s (%s) failed after %s attempts: %s", job_id, row.name, attempts, error)
        else:
            row.status = "pending"
            row.run_at = utcnow() + backoff(attempts)
            log.warning("job %s (%s) failed (attempt %s), will retry: %s", job_id, row.name, attempts, error)
        status, payload = row.status, dict(row.payload)
        session.commit()
        if status == "failed" and kind is not None and kind.on_failure is not None:
            _report_failure(kind, payload, tenant_id, error)
        return status


def _report_failure(kind: JobKind, payload: dict, tenant_id: int, error: str) -> None:
    try:
        with tenant_scope(tenant_id):
            kind.on_failure(payload, error)
            session.commit()
    except Exception:  # noqa: BLE001 - the job is failed either way; say why it could not be recorded
        session.rollback()
        log.exception("recording the failure of a %s job failed", kind.name)


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: base x 2^(attempts-1), at most an hour."""
    base = current_app.config.get("CRM_JOB_BACKOFF_SECONDS", 30)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def heartbeat(job_id: int) -> None:
    """Tell other workers a long job (an import) is still alive. Written on its own connection,
    so it is seen while the job's own transaction is still open."""
    engine = current_app.extensions["sqlalchemy"].engine
    with engine.begin() as connection:
        connection.execute(update(Job.__table__).where(Job.__table__.c.id == job_id).values(claimed_at=utcnow()))


def retry(row: Job) -> None:
    """Make a failed job run again (the Retry button), with a fresh allowance of attempts."""
    row.status, row.run_at, row.finished_at = "pending", utcnow(), None
    row.max_attempts = row.attempts + _KINDS[row.name].max_attempts if row.name in _KINDS else row.attempts + 1
    session.info.setdefault(_QUEUED, []).append(row)
