"""Import jobs: an upload stored and imported by the job path, with live progress, cancel,
history, customer import, a notification, retention, and recovery from a dead worker."""
import io
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from host_stub.models import PortalCustomer, db
from kw_crm import jobs
from kw_crm.db import utcnow
from kw_crm.models import AuditEvent, CustomerProfile, ImportJob, Job
from kw_crm.services.storage import FilesystemStorage, get_storage
from kw_crm.tenancy import ALL_TENANTS, tenant_scope
from tests.support.importing import contacts_of, csv_bytes, read_csv, upload


def people(count: int, start: int = 0, domain: str = "example.test") -> bytes:
    return csv_bytes([[f"P{i}", "Person", f"p{i}@{domain}", "", "", "", ""] for i in range(start, start + count)])


def start_job(client, data: bytes, kind: str | None = None, filename: str = "people.csv"):
    form = {"file": (io.BytesIO(data), filename)}
    if kind:
        form["kind"] = kind
    return client.post("/api/crm/import/jobs", data=form, content_type="multipart/form-data")


@pytest.fixture
def queued_only(app, monkeypatch):
    """No embedded runner: jobs stay queued until the test runs a worker step itself."""
    monkeypatch.setitem(app.config, "CRM_JOB_RUNNER", "off")
    monkeypatch.setitem(app.config, "CRM_IMPORT_PROGRESS_SECONDS", 0)


def run_worker(app, tenant) -> dict:
    with app.app_context():
        counts = jobs.run_due(tenant_id=tenant.id)
        db.session.remove()
        return counts


class SlowStorage(FilesystemStorage):
    """Files read at a trickle: a stand-in for slow object storage, so an import lasts long
    enough to be watched and cancelled on any machine."""

    def __init__(self, root, delay: float):
        super().__init__(root)
        self.delay = delay

    def open(self, key):
        handle = super().open(key)
        delay = self.delay

        class Trickle(io.RawIOBase):
            def readable(self):
                return True

            def readinto(self, buffer):
                time.sleep(delay)
                data = handle.read(min(len(buffer), 16 * 1024))
                buffer[:len(data)] = data
                return len(data)

            def close(self):
                handle.close()
                super().close()

        return io.BufferedReader(Trickle())


@pytest.fixture
def slow_storage(app, tmp_path):
    storage = SlowStorage(tmp_path / "slow", delay=0.02)
    app.extensions["kw_crm_storage"] = storage
    yield storage
    del app.extensions["kw_crm_storage"]


def test_the_api_queues_a_job_that_a_worker_imports_and_reports(app, admin_client, admin, tenant, queued_only, outbox):
    response = start_job(admin_client, people(3))
    assert response.status_code == 202
    job = response.get_json()
    assert (job["status"], job["total_rows"], job["processed_rows"], job["kind"]) == ("queued", 3, 0, "contacts")
    assert response.headers["Location"] == f"/api/crm/import/jobs/{job['id']}"
    assert contacts_of(app, tenant) == []  # nothing happens inside the request

    assert run_worker(app, tenant)["done"] == 2  # the import, then the mail it queued
    done = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert (done["status"], done["created"], done["updated"], done["skipped"]) == ("done", 3, 0, 0)
    assert done["processed_rows"] == done["total_rows"] == 3
    assert done["created_by"] == admin.id and done["finished_at"] is not None and done["errors_csv_url"] is None
    assert sorted(c["email"] for c in contacts_of(app, tenant)) == ["p0@example.test", "p1@example.test",
                                                                    "p2@example.test"]
    mails = [m for m in outbox if m["to"] == admin.email]
    assert len(mails) == 1 and mails[0]["subject"] == "Contact import finished: people.csv"
    assert "3 created, 0 updated, 0 skipped" in mails[0]["body"]
    run_worker(app, tenant)
    assert len(contacts_of(app, tenant)) == 3 and len(outbox) == 1  # a done job never runs again


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"PK\x03\x04binary workbook", "spreadsheet workbook"),
    (csv_bytes([["x"]], header=["first name"]), "Missing required column"),
])
def test_files_that_cannot_be_imported_are_refused_at_once_and_nothing_is_kept(app, admin_client, tenant, data, message):
    response = start_job(admin_client, data)
    assert response.status_code == 422 and message in response.get_json()["error"]["message"]
    with app.app_context(), tenant_scope(tenant.id):
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_an_unknown_kind_or_a_missing_file_is_a_422(admin_client):
    assert start_job(admin_client, people(1), kind="deals").get_json()["error"]["fields"] == {
        "kind": ["Use one of: contacts, customers."]}
    assert admin_client.post("/api/crm/import/jobs", data={}, content_type="multipart/form-data").status_code == 422


def test_a_huge_upload_is_refused_before_it_is_read(app, admin_client, tenant):
    response = admin_client.post("/api/crm/import/jobs", data=b"x" * 10,
                                 content_type="multipart/form-data; boundary=x",
                                 environ_overrides={"CONTENT_LENGTH": str(2 * 1024 ** 3)})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_jobs_of_another_tenant_are_not_found(admin_client, other_admin_client, queued_only):
    job = start_job(admin_client, people(2)).get_json()
    assert other_admin_client.get(f"/api/crm/import/jobs/{job['id']}").status_code == 404
    assert other_admin_client.post(f"/api/crm/import/jobs/{job['id']}/cancel").status_code == 404
    assert other_admin_client.get(f"/crm/import/jobs/{job['id']}").status_code == 404
    assert other_admin_client.get("/api/crm/import/jobs").get_json() == []


def test_cancel_a_queued_job_and_finished_jobs_cannot_be_cancelled(app, admin_client, tenant, queued_only):
    job = start_job(admin_client, people(2)).get_json()
    cancelled = admin_client.post(f"/api/crm/import/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    run_worker(app, tenant)
    assert contacts_of(app, tenant) == []
    again = admin_client.post(f"/api/crm/import/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already ended (cancelled)" in again.get_json()["error"]["message"]


def _run_in_thread(app, tenant):
    thread = threading.Thread(target=run_worker, args=(app, tenant))
    thread.start()
    return thread


def _wait_for(admin_client, job_id, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = admin_client.get(f"/api/crm/import/jobs/{job_id}").get_json()
        if predicate(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the state; last: {state}")


def test_progress_is_reported_while_the_job_runs(app, admin_client, tenant, queued_only, slow_storage):
    job = start_job(admin_client, people(6000)).get_json()
    thread = _run_in_thread(app, tenant)
    try:
        midway = _wait_for(admin_client, job["id"],
                           lambda s: s["status"] == "running" and 0 < s["processed_rows"] < s["total_rows"])
        assert midway["total_rows"] == 6000 and midway["rows_per_second"] is not None
        assert contacts_of(app, tenant) == []  # the rows are not visible before the commit
    finally:
        thread.join()
    done = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert (done["status"], done["created"], done["processed_rows"]) == ("done", 6000, 6000)


def test_cancelling_a_running_job_commits_nothing(app, admin_client, admin, tenant, queued_only, slow_storage, outbox):
    job = start_job(admin_client, people(6000)).get_json()
    thread = _run_in_thread(app, tenant)
    try:
        _wait_for(admin_client, job["id"], lambda s: s["status"] == "running" and s["processed_rows"] > 0)
        assert admin_client.post(f"/api/crm/import/jobs/{job['id']}/cancel").status_code == 200
    finally:
        thread.join()
    final = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert final["status"] == "cancelled" and "nothing was imported" in final["message"]
    assert contacts_of(app, tenant) == []
    assert [m for m in outbox if m["to"] == admin.email] == []  # the admin cancelled it: no mail


def _job_row(app, import_id) -> Job:
    with app.app_context():
        return db.session.scalar(select(Job).where(Job.name == "import", Job.payload["import_id"].as_integer() == import_id)
                                 .execution_options(**ALL_TENANTS))


def _kill_worker_mid_job(app, tenant, import_id, attempts: int) -> None:
    """What a worker that died while importing leaves behind: both rows say running."""
    job = _job_row(app, import_id)
    stale = utcnow() - timedelta(seconds=app.config["CRM_JOB_STALE_SECONDS"] + 5)
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job.id).values(status="running", attempts=attempts,
                                                                     claimed_at=stale).execution_options(**ALL_TENANTS))
        db.session.execute(update(ImportJob).where(ImportJob.id == import_id).values(
            status="running", started_at=stale, processed_rows=1).execution_options(**ALL_TENANTS))
        db.session.commit()


def test_a_job_whose_worker_died_is_imported_again_by_another_worker(app, admin_client, tenant, queued_only):
    job = start_job(admin_client, people(5)).get_json()
    _kill_worker_mid_job(app, tenant, job["id"], attempts=1)
    run_worker(app, tenant)
    done = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert (done["status"], done["created"]) == ("done", 5)
    assert len(contacts_of(app, tenant)) == 5


def test_a_job_whose_workers_keep_dying_ends_failed_with_the_reason_never_running(app, admin_client, admin, tenant,
                                                                                  queued_only, outbox):
    job = start_job(admin_client, people(5)).get_json()
    _kill_worker_mid_job(app, tenant, job["id"], attempts=3)  # the import job's limit
    run_worker(app, tenant)
    final = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert final["status"] == "failed" and "could not run" in final["message"]
    assert contacts_of(app, tenant) == []
    assert [m["subject"] for m in outbox if m["to"] == admin.email] == ["Contact import failed: people.csv"]


def test_two_imports_of_one_tenant_never_interleave(app, admin_client, tenant, queued_only):
    first = start_job(admin_client, people(3000)).get_json()
    second = start_job(admin_client, people(3000, start=1500)).get_json()  # half the same emails
    threads = [_run_in_thread(app, tenant) for _ in range(2)]
    for thread in threads:
        thread.join()
    for _ in range(10):  # on SQLite the loser may have waited out the busy timeout and be due later
        states = [admin_client.get(f"/api/crm/import/jobs/{j['id']}").get_json() for j in (first, second)]
        if all(s["status"] == "done" for s in states):
            break
        with app.app_context():
            db.session.execute(update(Job).where(Job.status == "pending", Job.tenant_id == tenant.id)
                               .values(run_at=utcnow()).execution_options(**ALL_TENANTS))
            db.session.commit()
        run_worker(app, tenant)
    assert [s["status"] for s in states] == ["done", "done"]
    assert sorted((s["created"], s["updated"]) for s in states) == [(1500, 1500), (3000, 0)]
    assert len(contacts_of(app, tenant)) == 4500


def test_history_lists_every_job_newest_first_and_another_admin_can_open_one(app, admin_client, make_user, tenant,
                                                                             queued_only):
    ids = [start_job(admin_client, people(1, start=i), filename=f"f{i}.csv").get_json()["id"] for i in range(3)]
    response = admin_client.get("/api/crm/import/jobs?limit=2")
    assert response.headers["X-Total-Count"] == "3"
    assert [j["id"] for j in response.get_json()] == ids[::-1][:2]
    page = admin_client.get("/crm/import").get_data(as_text=True)
    assert all(f"f{i}.csv" in page for i in range(3)) and "Import history" in page
    colleague = app.test_client().login(make_user(tenant, "ADMIN"))
    shared = colleague.get(f"/crm/import/jobs/{ids[0]}")
    assert shared.status_code == 200 and "f0.csv" in shared.get_data(as_text=True)


def test_skipped_rows_are_reported_and_downloadable_and_the_upload_is_deleted(app, admin_client, tenant, queued_only):
    data = csv_bytes([["Ann", "Lee", "ann@example.test", "", "", "", ""], ["", "NoFirst", "", "", "", "", ""],
                      ["Bob", "=cmd()", "bad-email", "", "", "", ""]])
    job = start_job(admin_client, data).get_json()
    with app.app_context(), tenant_scope(tenant.id):
        upload_key = db.session.get(ImportJob, job["id"]).upload_key
        assert get_storage().exists(upload_key)
    run_worker(app, tenant)
    done = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert (done["created"], done["skipped"]) == (1, 2)
    assert [e["row"] for e in done["errors"]] == [3, 4]
    rows = read_csv(admin_client.get(done["errors_csv_url"]).data)
    assert rows[0][:2] == ["row", "reason"] and rows[2][3] == "'=cmd()"  # formula-safe
    with app.app_context():
        assert not get_storage().exists(upload_key)  # retention: the upload goes with the job


def test_old_reports_are_deleted_after_the_retention_period(app, admin_client, tenant, queued_only):
    data = csv_bytes([["", "NoFirst", "", "", "", "", ""]])
    job = start_job(admin_client, data).get_json()
    run_worker(app, tenant)
    with app.app_context(), tenant_scope(tenant.id):
        record = db.session.get(ImportJob, job["id"])
        key = record.errors_key
        record.created_at = utcnow() - timedelta(days=app.config["CRM_IMPORT_RETENTION_DAYS"] + 1)
        db.session.commit()
    start_job(admin_client, people(1))  # starting a job sweeps expired files
    with app.app_context():
        assert not get_storage().exists(key)
    assert admin_client.get(f"/api/crm/import/jobs/{job['id']}/errors.csv").status_code == 404


def test_customer_import_matches_by_name_and_keeps_the_rules(app, admin_client, admin, make_user, tenant, queued_only):
    owner = make_user(tenant, "ADMIN")
    existing = admin_client.post("/api/crm/customers", json={"name": "Acme Ltd", "lead_source": "fair"}).get_json()
    archived = admin_client.post("/api/crm/customers", json={"name": "Old Co"}).get_json()
    assert admin_client.post(f"/api/crm/customers/{archived['id']}/archive", json={"reason": "gone"}).status_code == 200
    data = csv_bytes([
        ["ACME LTD", "qualified", "", "", owner.email],
        ["Globex", "", "web", "billing@globex.example", ""],
        ["Initech", "nonsense", "", "", ""],
        ["Umbrella", "", "", "", "nobody@elsewhere.example"],
        ["old co", "customer", "", "", ""],
        ["", "prospect", "", "", ""],
    ], header=["Customer name", "Lifecycle stage", "Lead source", "Billing email", "Owner email"])
    job = start_job(admin_client, data, kind="customers").get_json()
    assert job["kind"] == "customers"
    run_worker(app, tenant)
    done = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert (done["status"], done["created"], done["updated"], done["skipped"]) == ("done", 1, 1, 4)
    reasons = {e["row"]: e["message"] for e in done["errors"]}
    assert "Unknown lifecycle stage 'nonsense'" in reasons[4] and "nobody@elsewhere.example" in reasons[5]
    assert "archived" in reasons[6] and reasons[7] == "Missing name."
    acme = admin_client.get(f"/api/crm/customers/{existing['id']}").get_json()
    assert (acme["lifecycle_stage"], acme["owner_id"], acme["lead_source"]) == ("qualified", owner.id, "fair")
    with app.app_context(), tenant_scope(tenant.id):
        globex = db.session.scalar(select(PortalCustomer).where(PortalCustomer.tenant_id == tenant.id,
                                                                PortalCustomer.name == "Globex"))
        profile = db.session.scalar(select(CustomerProfile).where(CustomerProfile.customer_id == globex.id))
        assert (profile.lead_source, profile.billing_email, profile.owner_id) == ("web", "billing@globex.example",
                                                                                  admin.id)
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_type == "customer", AuditEvent.entity_id == existing["id"])).all()
        assert "lifecycle_changed" in actions
        assert db.session.scalar(select(func.count()).select_from(PortalCustomer).where(
            PortalCustomer.tenant_id == tenant.id)) == 3


def test_a_customer_import_that_the_database_refuses_writes_nothing(app, admin_client, tenant, queued_only):
    data = csv_bytes([["Alpha"], ["Beta"], ["x" * 201]], header=["name"])
    job = start_job(admin_client, data, kind="customers").get_json()
    run_worker(app, tenant)
    done = admin_client.get(f"/api/crm/import/jobs/{job['id']}").get_json()
    assert (done["created"], done["skipped"]) == (2, 1)
    assert "longer than 200 characters" in done["errors"][0]["message"]


def test_the_page_sends_large_files_and_customer_files_to_a_job(app, admin_client, tenant, queued_only, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_IMPORT_JOB_THRESHOLD_BYTES", 1000)
    response = upload(admin_client, "/crm/import", people(50))
    assert response.status_code == 302
    preview = admin_client.get(response.headers["Location"])
    assert "imported in the background" in preview.get_data(as_text=True)
    run = admin_client.post(response.headers["Location"])
    assert run.status_code == 302 and "/crm/import/jobs/" in run.headers["Location"]
    page = admin_client.get(run.headers["Location"]).get_data(as_text=True)
    assert "import-progress" in page and "Cancel import" in page
    run_worker(app, tenant)
    page = admin_client.get(run.headers["Location"]).get_data(as_text=True)
    assert 'data-count="created">50<' in page and "Cancel import" not in page

    small = upload(admin_client, "/crm/import", csv_bytes([["A", "B", "", "", "", "", ""]]))
    summary = admin_client.post(small.headers["Location"])
    assert "/summary" in summary.headers["Location"]  # small contact files keep the immediate path

    customers = admin_client.post(
        "/crm/import", data={"file": (io.BytesIO(csv_bytes([["Solo Inc"]], header=["name"])), "c.csv"),
                             "kind": "customers"}, content_type="multipart/form-data")
    assert customers.status_code == 302
    assert "Import customers" in admin_client.get(customers.headers["Location"]).get_data(as_text=True)
    ran = admin_client.post(customers.headers["Location"])
    assert "/crm/import/jobs/" in ran.headers["Location"]


def test_the_page_cancels_a_queued_job_and_explains_a_finished_one(app, admin_client, tenant, queued_only):
    job = start_job(admin_client, people(2)).get_json()
    page = f"/crm/import/jobs/{job['id']}"
    cancelled = admin_client.post(f"{page}/cancel", follow_redirects=True)
    assert cancelled.status_code == 200 and "Cancelled before it started." in cancelled.get_data(as_text=True)
    again = admin_client.post(f"{page}/cancel", follow_redirects=True)
    assert "already ended (cancelled)" in again.get_data(as_text=True)
    run_worker(app, tenant)
    assert contacts_of(app, tenant) == []
