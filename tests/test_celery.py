"""host_stub's Celery task engine, end to end: a real Celery worker (a subprocess on the local
Redis, its own queue so parallel runs never share tasks) executes a stage change's automation run
and the WON mail that a request queued through ``crm_enqueue_job``."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from host_stub import create_app
from host_stub.models import db
from kw_crm.models import AutomationRun, Job
from kw_crm.tenancy import ALL_TENANTS
from tests.conftest import CrmClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKER = os.environ.get("KW_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/0")


@pytest.fixture
def celery_setup(database_url, tmp_path):
    queue = f"kw_crm_test_{uuid.uuid4().hex[:12]}"
    mail_file = tmp_path / "mail.jsonl"
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": BROKER, "CELERY_QUEUE": queue,
           "MAIL_BACKEND": "file", "MAIL_FILE": str(mail_file), "PYTHONPATH": ROOT}
    log = open(tmp_path / "celery.log", "w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "host_stub.celery_app", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    web = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
                      "CELERY_BROKER_URL": BROKER, "CELERY_QUEUE": queue, "CRM_REQUIRE_PRODUCT": False})
    web.test_client_class = CrmClient
    try:
        yield {"app": web, "worker": worker, "mail_file": mail_file, "log": tmp_path / "celery.log"}
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def wait_for(check, worker, log, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        assert worker.poll() is None, f"the Celery worker exited:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for the Celery worker:\n{log.read_text()[-3000:]}")


def test_a_celery_worker_runs_the_automation_and_the_won_mail(celery_setup, admin):
    app, worker, mail_file = celery_setup["app"], celery_setup["worker"], celery_setup["mail_file"]
    assert "host_stub.celery" in dict(app.extensions["host_stub"].plugin_manager.list_name_plugin())
    client = app.test_client().login(admin)
    deal = client.post("/api/crm/deals", json={"title": "Celery deal", "value_cents": 42_00}).get_json()
    response = client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won", "reason": "signed"})
    assert response.status_code == 200

    def finished():
        with app.app_context():
            run = db.session.scalar(select(AutomationRun).where(AutomationRun.deal_id == deal["id"])
                                    .execution_options(**ALL_TENANTS))
            jobs = db.session.execute(select(Job.name, Job.status).where(Job.tenant_id == admin.tenant_id)
                                      .execution_options(**ALL_TENANTS)).all()
            db.session.remove()
        mails = [json.loads(line) for line in mail_file.read_text().splitlines()] if mail_file.exists() else []
        # the mail reaches the file a moment before its job's "done" commits: wait for both
        if run and run.status == "done" and mails and all(status == "done" for _, status in jobs):
            return run, jobs, mails
        return None

    run, jobs, mails = wait_for(finished, worker, celery_setup["log"])
    assert (run.from_stage, run.to_stage, run.status) == ("LEAD", "WON", "done")
    assert [(m["to"], m["subject"]) for m in mails] == [(admin.email, "Deal won: Celery deal")]
    assert {status for _, status in jobs} == {"done"} and {"mail", "automation_run"} <= {name for name, _ in jobs}
    runs = client.get(f"/api/crm/deals/{deal['id']}/automation-runs").get_json()
    assert [s["name"] for s in runs[0]["steps"]] == ["finance_handoff"] and runs[0]["steps"][0]["status"] == "done"
