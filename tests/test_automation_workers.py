"""Automation runs under real concurrency and real crashes: workers racing on separate
connections never run a step twice, and a worker killed in the middle of a run leaves it to be
resumed at its first unfinished step."""
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from host_stub.models import db
from kw_crm import jobs
from kw_crm.db import utcnow
from kw_crm.models import Activity, AutomationRun, AutomationStep, Job
from kw_crm.tenancy import ALL_TENANTS, tenant_scope
from tests.support.deals import new_deal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def no_runner(app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_JOB_RUNNER", "off")


def _worker(app, tenant_id, errors: list, stop_at: float) -> None:
    """A worker thread: its own app context, so its own session and connection."""
    with app.app_context():
        while time.monotonic() < stop_at:
            try:
                counts = jobs.run_due(limit=50, tenant_id=tenant_id)
            except OperationalError as exc:  # SQLite's "database is locked": a real worker retries
                db.session.rollback()
                errors.append(str(exc))
                continue
            finally:
                db.session.remove()
            if not sum(counts.values()):
                return


def test_two_workers_racing_never_run_a_step_twice(admin_client, app, tenant, crm_scope, no_runner):
    deals = [new_deal(admin_client, title=f"Race {i}") for i in range(12)]
    admin_client.post("/api/crm/deals/bulk-stage", json={"ids": [d["id"] for d in deals], "stage": "NEGOTIATION"})
    with crm_scope(tenant) as s:
        run_ids = s.scalars(select(AutomationStep.run_id).distinct()).all()
        for run_id in run_ids:  # a second job per run, so both workers fight over the same runs
            jobs.enqueue("automation_run", {"run_id": run_id})
        s.commit()
    errors: list[str] = []
    stop_at = time.monotonic() + 120
    workers = [threading.Thread(target=_worker, args=(app, tenant.id, errors, stop_at)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with crm_scope(tenant) as s:
        per_deal = dict(s.execute(select(Activity.deal_id, func.count()).where(
            Activity.deal_id.in_([d["id"] for d in deals])).group_by(Activity.deal_id)).all())
        steps = s.execute(select(AutomationStep.status, AutomationStep.attempts)
                          .where(AutomationStep.run_id.in_(run_ids))).all()
        left = s.scalar(select(func.count(Job.id)).where(Job.status.in_(("pending", "running"))))
    assert per_deal == {d["id"]: 2 for d in deals}  # one follow-up and one hand-off each, never more
    assert set(steps) == {("done", 1)} and len(steps) == 2 * len(deals)
    assert left == 0


def _pg_worker_waits_inside_the_step(url) -> bool:
    """Is a backend of this database waiting for the deal's row lock while writing the run's
    step (its foreign-key check on crm_deals)?"""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND (query ILIKE 'UPDATE crm_automation_runs%' "
                "OR query ILIKE 'INSERT INTO crm_activities%')")))
    finally:
        engine.dispose()


def _pg_activity(url) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return repr(conn.execute(sa.text("SELECT wait_event_type, state, left(query, 120) FROM pg_stat_activity "
                                             "WHERE datname = current_database()")).all())
    finally:
        engine.dispose()


def test_a_worker_killed_mid_run_resumes_at_the_first_unfinished_step(
        admin_client, app, tenant, crm_scope, no_runner, database_url, tmp_path):
    deal = new_deal(admin_client, title="Crash course")
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "NEGOTIATION"})
    with crm_scope(tenant) as s:
        first_job = s.scalar(select(Job.id).where(Job.name == "automation_run").order_by(Job.id.desc()))
    with app.app_context():
        assert jobs.run_job(first_job) == "done"  # step 1 (the follow-up) finished and committed
    with crm_scope(tenant) as s:
        assert s.execute(select(AutomationStep.name, AutomationStep.status).join(
            AutomationRun, AutomationRun.id == AutomationStep.run_id).where(AutomationRun.deal_id == deal["id"])
            .order_by(AutomationStep.position)).all() == [("follow_up", "done"), ("finance_handoff", "pending")]

    # Kill the worker inside step 2: on PostgreSQL a row lock on the deal holds the step's
    # writes (their foreign-key checks) until the kill; on SQLite, which has no row locks, the
    # kill lands right after the worker claimed the step's job.
    engine = sa.create_engine(database_url)
    blocker = engine.connect()
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        blocker.execute(sa.text("SELECT id FROM crm_deals WHERE id = :id FOR UPDATE"), {"id": deal["id"]})
    env = {**os.environ, "DATABASE_URL": database_url, "CRM_JOB_RUNNER": "off", "PYTHONPATH": ROOT}
    env.pop("CELERY_BROKER_URL", None)
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "host_stub", "crm", "worker", "--once"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        if postgres:
            while not _pg_worker_waits_inside_the_step(database_url):
                assert worker.poll() is None and time.monotonic() < deadline, (
                    "the worker never reached step 2: " + _pg_activity(database_url))
                time.sleep(0.2)
        else:
            while True:  # wait until it has claimed the job
                with app.app_context():
                    status = db.session.scalar(select(Job.status).where(Job.name == "automation_run", Job.status
                                               .in_(("running", "done"))).where(Job.id > first_job)
                                               .execution_options(**ALL_TENANTS))
                    db.session.remove()
                if status:
                    break
                assert worker.poll() is None and time.monotonic() < deadline, "the worker never claimed step 2"
                time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)  # the worker dies mid-run
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        blocker.rollback()
        blocker.close()
        engine.dispose()
        log.close()

    with crm_scope(tenant) as s:
        step_two = s.scalar(select(Job).where(Job.name == "automation_run", Job.id > first_job))
        hand_offs = s.scalar(select(func.count(Activity.id)).where(Activity.deal_id == deal["id"],
                                                                  Activity.subject.like("Finance hand-off%")))
        if postgres:
            assert step_two.status == "running" and hand_offs == 0  # killed inside the step: nothing of it stayed
        # its claim goes stale (stand-in for waiting CRM_JOB_STALE_SECONDS)
        s.execute(update(Job).where(Job.id == step_two.id, Job.status == "running")
                  .values(claimed_at=utcnow() - timedelta(hours=1)))
        s.commit()
    with app.app_context(), tenant_scope(tenant.id):
        jobs.run_due(limit=50, tenant_id=tenant.id)
    [run] = admin_client.get(f"/api/crm/deals/{deal['id']}/automation-runs").get_json()
    assert run["status"] == "done"
    assert [(st["name"], st["status"], st["attempts"]) for st in run["steps"]] == [
        ("follow_up", "done", 1), ("finance_handoff", "done", 1)]  # the finished step was not redone
    with crm_scope(tenant) as s:
        subjects = s.scalars(select(Activity.subject).where(Activity.deal_id == deal["id"]).order_by(Activity.id)).all()
    assert subjects == ["Follow up: Crash course", "Finance hand-off: Crash course"]


def test_a_run_whose_worker_keeps_dying_ends_failed_and_can_be_retried(admin_client, app, tenant, crm_scope,
                                                                        no_runner, monkeypatch):
    deal = new_deal(admin_client, title="Cursed")
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "QUALIFIED"})
    with crm_scope(tenant) as s:
        job = s.scalar(select(Job).where(Job.name == "automation_run").order_by(Job.id.desc()))
        # stand-in for three workers that each claimed the job and died: its attempts are used up
        s.execute(update(Job).where(Job.id == job.id).values(
            status="running", attempts=job.max_attempts, claimed_at=utcnow() - timedelta(hours=1)))
        s.commit()
    with app.app_context():
        assert jobs.run_due(limit=10, tenant_id=tenant.id)["failed"] == 1
    [run] = admin_client.get(f"/api/crm/deals/{deal['id']}/automation-runs").get_json()
    assert run["status"] == "failed" and run["last_error"].startswith("the automation job gave up")
    assert run["steps"][0]["status"] == "pending"  # never started, so never half-done
    monkeypatch.setitem(app.config, "CRM_JOB_RUNNER", "inline")
    retried = admin_client.post(f"/api/crm/deals/{deal['id']}/automation-runs/{run['id']}/retry")
    assert retried.status_code == 202 and retried.get_json()["status"] == "done"
    with crm_scope(tenant) as s:
        assert s.scalar(select(func.count(Activity.id)).where(Activity.deal_id == deal["id"])) == 1
