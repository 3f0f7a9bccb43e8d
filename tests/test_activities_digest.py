"""The daily digest: one mail per owner per day with their overdue and due-today activities,
through the outbox, never twice the same day (``flask crm digest``)."""
from datetime import date, timedelta

from tests.test_activities_api import activity, customer

TODAY = date.today()


def digest(app, *args):
    result = app.test_cli_runner().invoke(args=["crm", "digest", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_one_digest_per_owner_per_day_with_overdue_and_due_today(app, admin_client, admin, make_user, tenant, outbox):
    seller = make_user(tenant, "ADMIN", name="Sue Seller")
    idle = make_user(tenant, "ADMIN")
    cid = customer(admin_client, "Digest Co")
    activity(admin_client, customer_id=cid, title="Late quote", due_date=(TODAY - timedelta(days=2)).isoformat())
    activity(admin_client, customer_id=cid, title="Today call")
    activity(admin_client, customer_id=cid, title="Next week", due_date=(TODAY + timedelta(days=7)).isoformat())
    done = activity(admin_client, customer_id=cid, title="Done already")
    admin_client.post(f"/api/crm/activities/{done['id']}/complete")
    activity(admin_client, customer_id=cid, title="Sue's follow-up", owner_id=seller.id)
    activity(admin_client, customer_id=cid, title="Idle future", owner_id=idle.id,
             due_date=(TODAY + timedelta(days=3)).isoformat())

    digest(app)
    mine = [m for m in outbox if m["to"] == admin.email]
    assert len(mine) == 1 and mine[0]["subject"] == "CRM: 1 overdue, 1 due today"
    body = mine[0]["body"]
    assert "Overdue (1):" in body and "Late quote - Digest Co (2 days overdue)" in body
    assert "Due today (1):" in body and "Today call" in body
    assert "Next week" not in body and "Done already" not in body and "Sue's follow-up" not in body
    sues = [m for m in outbox if m["to"] == seller.email]
    assert len(sues) == 1 and sues[0]["subject"] == "CRM: 1 activity due today" and "Hello Sue Seller" in sues[0]["body"]
    assert not [m for m in outbox if m["to"] == idle.email]

    digest(app)  # a second run the same day sends nothing new
    assert len([m for m in outbox if m["to"] in (admin.email, seller.email)]) == 2
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    digest(app, "--date", tomorrow)  # the next day is a new digest
    assert len([m for m in outbox if m["to"] == admin.email]) == 2


def test_tenants_without_the_crm_and_inactive_owners_get_no_digest(app, make_tenant, make_user, crm_scope, outbox):
    from kw_crm.models import Activity

    off = make_tenant(features=())
    owner = make_user(off, "ADMIN")
    gone_tenant = make_tenant()
    gone = make_user(gone_tenant, "ADMIN", active=False)
    for tenant, user in ((off, owner), (gone_tenant, gone)):
        with crm_scope(tenant) as session:
            session.add(Activity(type="task", title="Hidden", due_date=TODAY, owner_id=user.id))
            session.commit()
    digest(app)
    assert not [m for m in outbox if m["to"] in (owner.email, gone.email)]


def test_a_bad_date_is_refused(app):
    result = app.test_cli_runner().invoke(args=["crm", "digest", "--date", "yesterday"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output


def test_the_digest_is_also_a_job_a_host_can_schedule(app, admin_client, admin, tenant, crm_scope, outbox):
    from kw_crm.db import commit
    from kw_crm.services import digest as service

    activity(admin_client, customer_id=customer(admin_client, "Job Co"), title="Scheduled call")
    with crm_scope(tenant):
        assert service.schedule() is not None
        assert service.schedule() is None  # one run per tenant and day
        commit()  # the inline test runner runs the job, then the mail job it queued
    mails = [m for m in outbox if m["to"] == admin.email]
    assert len(mails) == 1 and "Scheduled call" in mails[0]["body"]
