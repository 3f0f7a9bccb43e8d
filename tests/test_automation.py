"""Durable stage automation (seed 004 "Advance deal stage", contract 8.5): every stage change
writes a run in its transaction; the job path executes its steps once each, retries failures
with backoff, ends ``failed`` after the limit, and Retry starts it again."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from host_stub.models import User, db
from kw_crm import jobs
from kw_crm.db import utcnow
from kw_crm.models import Activity, AuditEvent, AutomationRun, AutomationStep, Job
from kw_crm.tenancy import ALL_TENANTS
from tests.support.deals import mails_to, new_customer, new_deal
from tests.support.products import catalogue


def runs(client, deal_id) -> list[dict]:
    response = client.get(f"/api/crm/deals/{deal_id}/automation-runs")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def deal_activities(crm_scope, tenant, deal_id) -> list[tuple]:
    with crm_scope(tenant) as s:
        return [(a.subject, a.owner_id, a.due_date) for a in s.scalars(
            select(Activity).where(Activity.deal_id == deal_id).order_by(Activity.id))]


def set_active(app, user, active: bool) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(active=active))
        db.session.commit()


def make_jobs_due(app) -> None:
    """Stand-in for waiting out the backoff: every pending job's time is now."""
    with app.app_context():
        db.session.execute(update(Job).where(Job.status == "pending").values(run_at=utcnow() - timedelta(seconds=1))
                           .execution_options(**ALL_TENANTS))
        db.session.commit()


def run_worker(app, tenant) -> dict:
    with app.app_context():
        return jobs.run_due(limit=500, tenant_id=tenant.id)


@pytest.fixture
def no_runner(app, monkeypatch):
    """Only workers run jobs (as with a host task engine that is down)."""
    monkeypatch.setitem(app.config, "CRM_JOB_RUNNER", "off")


def test_a_stage_move_creates_follow_up_and_finance_hand_off_for_the_owner(admin_client, admin, crm_scope, tenant):
    owner_id = admin.id
    deal = new_deal(admin_client, title="Boiler service", value_cents=9_000_00)
    moved = admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "NEGOTIATION"})
    assert moved.status_code == 200
    [run] = runs(admin_client, deal["id"])
    assert (run["from_stage"], run["to_stage"], run["status"], run["attempts"]) == ("LEAD", "NEGOTIATION", "done", 2)
    assert [(s["name"], s["status"], s["attempts"]) for s in run["steps"]] == [
        ("follow_up", "done", 1), ("finance_handoff", "done", 1)]
    assert run["finished_at"] and run["steps"][0]["activity_id"]
    assert deal_activities(crm_scope, tenant, deal["id"]) == [
        ("Follow up: Boiler service", owner_id, date.today() + timedelta(days=2)),
        ("Finance hand-off: Boiler service", owner_id, date.today())]
    with crm_scope(tenant) as s:
        trail = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "deal", AuditEvent.entity_id == deal["id"],
                                                   AuditEvent.action.like("automation_%"))).all()
        assert [(e.action, e.changes["automation_run"], e.changes["status"]) for e in trail] == [
            ("automation_done", run["id"], "done")]
    page = admin_client.get(f"/crm/deals/{deal['id']}").get_data(as_text=True)
    assert f"Run #{run['id']}" in page and "Finance hand-off: <em>done</em>" in page


def test_every_path_of_a_stage_change_writes_a_run_in_its_transaction(admin_client, app, tenant, crm_scope, no_runner):
    cid = new_customer(app, tenant, "Paths Co")
    products = catalogue(admin_client)
    created = new_deal(admin_client, title="Created at proposal", stage="PROPOSAL")
    patched = new_deal(admin_client, title="Patched")
    admin_client.patch(f"/api/crm/deals/{patched['id']}", json={"stage": "QUALIFIED", "version": patched["version"]})
    bulk = [new_deal(admin_client, title=f"Bulk {i}") for i in range(2)]
    admin_client.post("/api/crm/deals/bulk-stage", json={"ids": [d["id"] for d in bulk], "stage": "PROPOSAL"})
    closed = new_deal(admin_client, title="Closed")
    admin_client.post(f"/api/crm/deals/{closed['id']}/close", json={"outcome": "lost", "reason": "budget"})
    paged = new_deal(admin_client, title="Page move")
    admin_client.post(f"/crm/deals/{paged['id']}/stage", data={"stage": "NEGOTIATION"})
    converted = new_deal(admin_client, title="Converted", customer_id=cid, product_id=products["RMM"]["id"])
    admin_client.post(f"/api/crm/deals/{converted['id']}/convert",
                      json={"plan_id": products["RMM"]["plans"]["RMM Team"]["id"]})
    expected = {created["id"]: ("LEAD", "PROPOSAL"), patched["id"]: ("LEAD", "QUALIFIED"),
                bulk[0]["id"]: ("LEAD", "PROPOSAL"), bulk[1]["id"]: ("LEAD", "PROPOSAL"),
                closed["id"]: ("LEAD", "LOST"), paged["id"]: ("LEAD", "NEGOTIATION"), converted["id"]: ("LEAD", "WON")}
    for deal_id, (old, new) in expected.items():
        [run] = runs(admin_client, deal_id)
        assert (run["from_stage"], run["to_stage"], run["status"]) == (old, new, "pending"), deal_id
        assert all(s["status"] == "pending" for s in run["steps"])
    assert runs(admin_client, closed["id"])[0]["steps"] == []  # LOST has no steps by default
    counts = run_worker(app, tenant)
    assert counts["failed"] == 0 and counts["done"] >= len(expected)
    assert {runs(admin_client, d)[0]["status"] for d in expected} == {"done"}


def test_notification_mail_step_follows_the_stage_settings(admin_client, admin, outbox):
    stages = admin_client.get("/api/crm/stages").get_json()
    for stage in stages:
        if stage["key"] == "PROPOSAL":
            stage.update(notify_owner=True, followup_days=None)
    saved = admin_client.put("/api/crm/stages", json=stages)
    assert saved.status_code == 200
    assert [s for s in saved.get_json() if s["key"] == "PROPOSAL"][0]["notify_owner"] is True
    deal = new_deal(admin_client, title="Solar roof")
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "PROPOSAL"})
    assert [s["name"] for s in runs(admin_client, deal["id"])[0]["steps"]] == ["notify_mail"]
    assert [m["subject"] for m in mails_to(outbox, admin.email)] == ["Deal moved to PROPOSAL: Solar roof"]


def test_stage_automation_settings_are_validated(admin_client):
    stages = admin_client.get("/api/crm/stages").get_json()
    stages[0]["followup_days"] = -1
    stages[1]["finance_handoff"] = "yes"
    stages[2]["notify_owner"] = None
    response = admin_client.put("/api/crm/stages", json=stages)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert "followup_days must be null (no follow-up) or a whole number from 0 to 365." in fields["stages.0"]
    assert "finance_handoff must be true or false." in fields["stages.1"]
    assert "notify_owner must be true or false." in fields["stages.2"]
    # an older client that does not know the automation fields keeps the current settings
    plain = [{k: s[k] for k in ("key", "label", "probability", "outcome")} for s in
             admin_client.get("/api/crm/stages").get_json()]
    kept = {s["key"]: s for s in admin_client.put("/api/crm/stages", json=plain).get_json()}
    assert kept["NEGOTIATION"]["finance_handoff"] is True and kept["LEAD"]["followup_days"] == 2


def test_stage_settings_page_edits_the_automation(admin_client):
    page = admin_client.get("/crm/settings").get_data(as_text=True)
    assert 'aria-label="Follow-up days of LEAD"' in page
    stages = admin_client.get("/api/crm/stages").get_json()
    form = {"key": [], "label": [], "probability": [], "outcome": [], "position": [], "followup_days": [],
            "finance_handoff": [], "notify_owner": []}
    for index, s in enumerate(stages):
        form["key"].append(s["key"])
        form["label"].append(s["label"])
        form["probability"].append(str(s["probability"]))
        form["outcome"].append(s["outcome"] or "")
        form["position"].append(str(index + 1))
        form["followup_days"].append("7" if s["key"] == "LEAD" else "")
        form["finance_handoff"].append("1" if s["key"] == "PROPOSAL" else "")
        form["notify_owner"].append("1" if s["key"] == "WON" else "")
    for name in ("key", "label", "probability", "outcome", "position", "followup_days", "finance_handoff",
                 "notify_owner"):
        form[name].append("" if name != "probability" else "50")  # the empty "add a stage" row
    assert admin_client.post("/crm/settings", data=form).status_code == 302
    saved = {s["key"]: s for s in admin_client.get("/api/crm/stages").get_json()}
    assert saved["LEAD"]["followup_days"] == 7 and saved["QUALIFIED"]["followup_days"] is None
    assert [k for k, s in saved.items() if s["finance_handoff"]] == ["PROPOSAL"]
    assert [k for k, s in saved.items() if s["notify_owner"]] == ["WON"]
    form["followup_days"][0] = "soon"
    refused = admin_client.post("/crm/settings", data=form)
    assert refused.status_code == 422 and "Follow-up days must be null" in refused.get_data(as_text=True)


def test_a_failing_step_retries_with_backoff_then_fails_then_retry_succeeds(
        admin_client, app, tenant, make_user, crm_scope, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_AUTOMATION_MAX_ATTEMPTS", 3)
    owner = make_user(tenant, "ADMIN", name="Leaving Larry")
    deal = new_deal(admin_client, title="Fleet", owner_id=owner.id)
    set_active(app, owner, False)  # a real reason to fail: the owner left
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "QUALIFIED"})
    [run] = runs(admin_client, deal["id"])
    assert (run["status"], run["attempts"], run["steps"][0]["status"], run["steps"][0]["attempts"]) == (
        "pending", 1, "pending", 1)
    assert "is not an active user" in run["steps"][0]["last_error"] and run["next_attempt_at"] > utcnow().isoformat()
    assert run_worker(app, tenant)["done"] == 0  # not due yet: backoff
    for _ in range(2):
        make_jobs_due(app)
        run_worker(app, tenant)
    [run] = runs(admin_client, deal["id"])
    assert (run["status"], run["attempts"], run["steps"][0]["status"]) == ("failed", 3, "failed")
    assert deal_activities(crm_scope, tenant, deal["id"]) == []
    with crm_scope(tenant) as s:
        failed = s.scalar(select(AuditEvent).where(AuditEvent.entity_id == deal["id"],
                                                   AuditEvent.action == "automation_failed"))
        assert failed.changes["automation_run"] == run["id"] and "not an active user" in failed.reason
    page = admin_client.get(f"/crm/deals/{deal['id']}").get_data(as_text=True)
    assert "Retry</button>" in page and 'class="pill pill-danger" data-testid="run-status">failed' in page
    make_jobs_due(app)
    assert run_worker(app, tenant) == {"done": 0, "failed": 0, "retrying": 0}  # nothing left to try

    set_active(app, owner, True)
    retried = admin_client.post(f"/crm/deals/{deal['id']}/automation-runs/{run['id']}/retry", follow_redirects=True)
    assert f"Automation run #{run['id']} is being retried" in retried.get_data(as_text=True)
    [run] = runs(admin_client, deal["id"])
    assert (run["status"], run["steps"][0]["status"], run["steps"][0]["attempts"]) == ("done", "done", 1)
    assert [a[0] for a in deal_activities(crm_scope, tenant, deal["id"])] == ["Follow up: Fleet"]
    again = admin_client.post(f"/api/crm/deals/{deal['id']}/automation-runs/{run['id']}/retry")
    assert again.status_code == 409 and "Only failed runs can be retried" in again.get_json()["error"]["message"]


def test_retry_after_a_failure_succeeds_on_the_next_attempt(admin_client, app, tenant, make_user, crm_scope):
    owner = make_user(tenant, "ADMIN")
    deal = new_deal(admin_client, title="Racking", owner_id=owner.id)
    set_active(app, owner, False)
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "NEGOTIATION"})
    assert runs(admin_client, deal["id"])[0]["status"] == "pending"
    set_active(app, owner, True)
    make_jobs_due(app)
    run_worker(app, tenant)
    [run] = runs(admin_client, deal["id"])
    assert (run["status"], run["attempts"]) == ("done", 3)  # one failed attempt, then both steps
    assert [(s["name"], s["attempts"]) for s in run["steps"]] == [("follow_up", 2), ("finance_handoff", 1)]
    assert len(deal_activities(crm_scope, tenant, deal["id"])) == 2


def test_runs_api_pages_in_constant_queries_and_hides_other_tenants(admin_client, other_admin_client, count_queries):
    deal = new_deal(admin_client, title="Many moves")
    for stage in ("QUALIFIED", "PROPOSAL"):
        admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": stage})
    with count_queries() as two:
        admin_client.get(f"/api/crm/deals/{deal['id']}/automation-runs")
    for stage in ("NEGOTIATION", "LEAD", "QUALIFIED"):
        admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": stage})
    with count_queries() as five:
        response = admin_client.get(f"/api/crm/deals/{deal['id']}/automation-runs?limit=3")
    assert len(two) == len(five)
    assert response.headers["X-Total-Count"] == "5" and [r["to_stage"] for r in response.get_json()] == [
        "QUALIFIED", "LEAD", "NEGOTIATION"]
    assert other_admin_client.get(f"/api/crm/deals/{deal['id']}/automation-runs").status_code == 404
    run_id = response.get_json()[0]["id"]
    assert other_admin_client.post(f"/api/crm/deals/{deal['id']}/automation-runs/{run_id}/retry").status_code == 404
    assert admin_client.post(f"/api/crm/deals/{deal['id']}/automation-runs/999999/retry").status_code == 404


def test_a_run_is_never_executed_twice_by_duplicate_jobs(admin_client, app, tenant, crm_scope, no_runner):
    deal = new_deal(admin_client, title="Duplicate jobs")
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "NEGOTIATION"})
    [run] = runs(admin_client, deal["id"])
    with crm_scope(tenant) as s:
        for _ in range(3):  # e.g. a Retry press and a beat both queueing the same run
            jobs.enqueue("automation_run", {"run_id": run["id"]})
        s.commit()
    run_worker(app, tenant)
    [run] = runs(admin_client, deal["id"])
    assert run["status"] == "done" and [s["attempts"] for s in run["steps"]] == [1, 1]
    assert len(deal_activities(crm_scope, tenant, deal["id"])) == 2
    with crm_scope(tenant) as s:
        assert s.scalar(select(AutomationRun.status).where(AutomationRun.id == run["id"])) == "done"
        assert {st for st in s.scalars(select(AutomationStep.status).where(AutomationStep.run_id == run["id"]))} == {"done"}


def test_a_new_deal_after_a_deleted_one_still_gets_its_automation(admin_client):
    """SQLite gives a deleted row's id to the next row: the deleted deal's finished jobs must not
    swallow the jobs of the deal that inherits its id (and its run's id)."""
    old = new_deal(admin_client, title="Gone soon")
    admin_client.post(f"/api/crm/deals/{old['id']}/stage", json={"stage": "NEGOTIATION"})
    assert runs(admin_client, old["id"])[0]["status"] == "done"
    admin_client.post(f"/api/crm/deals/{old['id']}/archive", json={"reason": "duplicate"})
    assert admin_client.delete(f"/api/crm/deals/{old['id']}").status_code == 204
    fresh = new_deal(admin_client, title="Successor")
    admin_client.post(f"/api/crm/deals/{fresh['id']}/stage", json={"stage": "NEGOTIATION"})
    [run] = runs(admin_client, fresh["id"])
    assert run["status"] == "done", run
