"""The job path: jobs exist exactly when their transaction commits, run once, retry with
backoff, survive a dead worker, go to the host's task engine when it has one, and never make a
request wait."""
import threading
import time
from datetime import timedelta

import pluggy
import pytest
from sqlalchemy import func, select, update

from host_stub.models import db
from kw_crm import jobs
from kw_crm.db import utcnow
from kw_crm.models import AuditEvent, Job
from kw_crm.tenancy import ALL_TENANTS, tenant_scope
from tests.support.deals import new_deal

hookimpl = pluggy.HookimplMarker("kw_platform")
_failures: dict[int, int] = {}  # marker -> times the "flaky" job should still fail


def _record_failure(payload, error):
    db.session.add(AuditEvent(entity_type="job-test-failed", entity_id=payload["marker"], action="failed",
                              reason=error, changes={}))


@jobs.job("test_record", max_attempts=3, on_failure=_record_failure)
def _record(payload, job):
    """Writes an audit row, so 'ran once' is a fact in the database."""
    if _failures.get(payload["marker"], 0) > 0:
        _failures[payload["marker"]] -= 1
        raise RuntimeError("downstream unavailable")
    if payload.get("give_up"):
        raise jobs.GiveUp("the payload can never work")
    if payload.get("sleep"):
        time.sleep(payload["sleep"])
    db.session.add(AuditEvent(entity_type="job-test", entity_id=payload["marker"], action="ran", changes={}))


def _enqueue(app, tenant, marker, **extra) -> int:
    with app.app_context(), tenant_scope(tenant.id):
        row = jobs.enqueue("test_record", {"marker": marker, **extra})
        db.session.flush()
        job_id = row.id
        db.session.commit()  # the raw session commit: nothing is dispatched, a worker must run it
        db.session.info.pop(jobs._COMMITTED, None)
        return job_id


def _runs(app, tenant, marker) -> int:
    with app.app_context(), tenant_scope(tenant.id):
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity_type == "job-test", AuditEvent.entity_id == marker))


def _job(app, job_id) -> Job:
    with app.app_context():
        row = db.session.scalar(select(Job).where(Job.id == job_id).execution_options(**ALL_TENANTS))
        db.session.expunge(row)
        return row


def _make_due(app, job_id) -> None:
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(run_at=utcnow() - timedelta(seconds=1))
                           .execution_options(**ALL_TENANTS))
        db.session.commit()


def test_a_job_of_a_rolled_back_transaction_never_exists(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        jobs.enqueue("test_record", {"marker": 1})
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Job).where(Job.name == "test_record")) == 0
        assert not db.session.info.get(jobs._COMMITTED)


def test_the_worker_runs_a_job_once_and_records_it_done(app, tenant):
    job_id = _enqueue(app, tenant, 11)
    result = app.test_cli_runner().invoke(args=["crm", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert _runs(app, tenant, 11) == 1
    done = _job(app, job_id)
    assert (done.status, done.attempts) == ("done", 1) and done.finished_at is not None
    app.test_cli_runner().invoke(args=["crm", "worker", "--once"])
    assert _runs(app, tenant, 11) == 1  # done jobs are never run again


def test_a_failing_job_retries_with_backoff_then_succeeds(app, tenant):
    _failures[12] = 1
    job_id = _enqueue(app, tenant, 12)
    with app.app_context():
        assert jobs.run_job(job_id) == "pending"
        row = _job(app, job_id)
        assert row.attempts == 1 and "downstream unavailable" in row.last_error
        assert row.run_at > utcnow()  # backoff: not due yet
        assert jobs.run_due(tenant_id=tenant.id) == {"done": 0, "failed": 0, "retrying": 0}
    _make_due(app, job_id)
    with app.app_context():
        assert jobs.run_due(tenant_id=tenant.id)["done"] == 1
    assert _runs(app, tenant, 12) == 1
    assert _job(app, job_id).status == "done"


def test_a_job_that_always_fails_ends_failed_and_retry_gives_it_new_attempts(app, tenant):
    _failures[13] = 3
    job_id = _enqueue(app, tenant, 13)
    with app.app_context():
        for _ in range(3):
            _make_due(app, job_id)
            jobs.run_job(job_id)
    failed = _job(app, job_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    _make_due(app, job_id)
    with app.app_context():
        assert jobs.run_job(job_id) is None  # failed jobs are not claimable
        row = db.session.get(Job, job_id, execution_options=ALL_TENANTS)
        jobs.retry(row)
        db.session.commit()
        db.session.info.pop(jobs._COMMITTED, None)
        assert jobs.run_job(job_id) == "done"
    assert _runs(app, tenant, 13) == 1


def test_give_up_fails_at_once_and_tells_the_kind_why(app, tenant):
    job_id = _enqueue(app, tenant, 14, give_up=True)
    with app.app_context():
        assert jobs.run_job(job_id) == "failed"
    row = _job(app, job_id)
    assert (row.attempts, row.last_error) == (1, "the payload can never work")
    with app.app_context(), tenant_scope(tenant.id):
        reasons = db.session.scalars(select(AuditEvent.reason).where(
            AuditEvent.entity_type == "job-test-failed", AuditEvent.entity_id == 14)).all()
    assert reasons == ["the payload can never work"]


def test_a_job_whose_worker_died_is_claimed_again_after_the_stale_limit(app, tenant):
    job_id = _enqueue(app, tenant, 15)
    with app.app_context():  # a worker claimed it and died before finishing
        db.session.execute(update(Job).where(Job.id == job_id).values(
            status="running", attempts=1, claimed_at=utcnow() - timedelta(seconds=60)).execution_options(**ALL_TENANTS))
        db.session.commit()
        assert jobs.run_job(job_id) is None  # its heartbeat is recent enough: still someone's
        jobs.heartbeat(job_id)
        assert jobs.run_job(job_id) is None
        db.session.execute(update(Job).where(Job.id == job_id).values(
            claimed_at=utcnow() - timedelta(seconds=app.config["CRM_JOB_STALE_SECONDS"] + 1))
            .execution_options(**ALL_TENANTS))
        db.session.commit()
        assert jobs.run_job(job_id) == "done"
    assert _runs(app, tenant, 15) == 1
    assert _job(app, job_id).attempts == 2


def test_racing_workers_run_each_job_exactly_once(app, tenant):
    markers = range(100, 140)
    for marker in markers:
        _enqueue(app, tenant, marker, sleep=0.01)
    errors = []

    def work():
        try:
            with app.app_context():
                jobs.run_due(limit=100, tenant_id=tenant.id)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [_runs(app, tenant, m) for m in markers] == [1] * len(markers)


class _TaskEngine:
    """Stands in for a host's task engine (outside the product): records what it is handed."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def crm_enqueue_job(self, name, kwargs):
        self.calls.append((name, kwargs))
        return True


@pytest.fixture
def task_engine(app):
    engine = _TaskEngine()
    manager = app.extensions["kw_crm"].plugin_manager
    manager.register(engine, name="test-task-engine")
    yield engine
    manager.unregister(engine)


def test_with_a_host_task_engine_jobs_go_to_it_after_commit(app, admin_client, admin, outbox, task_engine):
    deal = new_deal(admin_client)
    response = admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})
    assert response.status_code == 200
    assert outbox == []  # the CRM did not send it itself
    # two jobs: the WON mail and the stage change's automation run
    assert [name for name, _ in task_engine.calls] == [jobs.RUN_JOB_TASK] * 2
    job_ids = [kwargs["job_id"] for _, kwargs in task_engine.calls]
    with app.app_context():  # what the host's task does
        for job_id in job_ids:
            assert jobs.run_job(job_id) == "done"
            assert jobs.run_job(job_id) is None  # a duplicate delivery of the task does nothing
    assert [m["to"] for m in outbox] == [admin.email]


def test_the_thread_runner_never_makes_a_request_wait_for_the_mailer(app, admin_client, admin, outbox, monkeypatch):
    mailer = app.extensions["host_stub"].mailer
    release, sending = threading.Event(), threading.Event()
    real_send = mailer.send

    def hanging_send(*args, **kwargs):  # the mailer now also takes message_id=
        sending.set()
        release.wait(30)  # a mail server that accepts the connection and then says nothing
        real_send(*args)

    monkeypatch.setattr(mailer, "send", hanging_send)
    monkeypatch.setitem(app.config, "CRM_JOB_RUNNER", "thread")
    deal = new_deal(admin_client)
    try:
        response = admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})
        assert response.status_code == 200
        assert sending.wait(10)  # the mail is being sent in the background...
        assert outbox == []  # ...and the response came back before it finished
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while not outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["to"] for m in outbox] == [admin.email]
