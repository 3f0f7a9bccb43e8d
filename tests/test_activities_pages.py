"""Activity pages: the Activities tab (queues and table), creating from every page, edit,
delete, complete and reopen, the customer workspace and deal page reusing the ranked rows, and
constant queries on the pages."""
import re
from datetime import date, timedelta

from sqlalchemy import select

from kw_crm.models import Activity
from tests.test_activities_api import activity, customer, deal

TODAY = date.today()


def test_activities_tab_shows_my_queue_my_overdue_and_the_table(admin_client):
    cid = customer(admin_client, "Tab Co")
    d = deal(admin_client, "Tab deal", customer_id=cid)
    activity(admin_client, deal_id=d["id"], title="Ranked call")
    activity(admin_client, customer_id=cid, title="Slipped task", due_date=(TODAY - timedelta(days=4)).isoformat())
    html = admin_client.get("/crm/activities").get_data(as_text=True)
    assert "My next actions" in html and "My overdue" in html and "the exception queue" in html
    queue_html = html[html.index('aria-label="Next-action queue"'):html.index('id="overdue-h"')]
    assert "Ranked call" in queue_html and "Slipped task" in queue_html
    assert "fit " in queue_html and "intent " in queue_html and "Next best action:" in queue_html
    assert "sequence: " in queue_html and "Overdue by 4 days" in queue_html
    overdue_html = html[html.index('id="overdue-h"'):html.index('id="all-h"')]
    assert "Slipped task" in overdue_html and "Ranked call" not in overdue_html
    table = html[html.index('aria-label="All activities"'):]
    assert "Tab Co" in table and "Tab deal" in table
    assert "Billing context is left out" in html


def test_create_edit_complete_reopen_and_delete_from_the_pages(admin_client, crm_scope, tenant):
    cid = customer(admin_client, "Page Co")
    response = admin_client.post("/crm/activities", data={"title": "Page task", "type": "email",
                                                          "due_date": TODAY.isoformat(), "customer_id": str(cid),
                                                          "next": f"/crm/customers/{cid}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/crm/customers/{cid}"
    with crm_scope(tenant) as session:
        aid = session.scalar(select(Activity.id).where(Activity.title == "Page task"))
    workspace = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert "Page task" in workspace and f'data-activity-id="{aid}"' in workspace
    edit = admin_client.get(f"/crm/activities/{aid}/edit").get_data(as_text=True)
    assert 'value="Page task"' in edit
    bad = admin_client.post(f"/crm/activities/{aid}/edit", data={"title": "", "due_date": TODAY.isoformat()})
    assert bad.status_code == 422 and "A title is required." in bad.get_data(as_text=True)
    bad = admin_client.post(f"/crm/activities/{aid}/edit", data={"title": "x", "due_date": "31/12/2030"})
    assert bad.status_code == 422 and "Not a valid date" in bad.get_data(as_text=True)
    saved = admin_client.post(f"/crm/activities/{aid}/edit", data={"title": "Page task v2", "due_date": TODAY.isoformat(),
                                                                    "next": "/crm/activities"})
    assert saved.status_code == 302
    assert admin_client.get(f"/api/crm/activities/{aid}").get_json()["title"] == "Page task v2"
    assert admin_client.post(f"/crm/activities/{aid}/complete", data={"next": "/crm/activities"}).status_code == 302
    again = admin_client.post(f"/crm/activities/{aid}/complete", data={"next": "/crm/activities"}, follow_redirects=True)
    assert "already completed" in again.get_data(as_text=True)
    workspace = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert "Recently done" in workspace and "Reopen Page task v2" in workspace
    assert admin_client.post(f"/crm/activities/{aid}/reopen", data={"next": "/crm/activities"}).status_code == 302
    assert admin_client.get(f"/api/crm/activities/{aid}").get_json()["completed_at"] is None
    assert admin_client.post(f"/crm/activities/{aid}/delete", data={"next": "/crm/activities"}).status_code == 302
    assert admin_client.get(f"/api/crm/activities/{aid}").status_code == 404


def test_bad_page_input_is_flashed_and_writes_nothing(admin_client):
    cid = customer(admin_client, "Flash Co")
    for data, message in (({"title": "", "due_date": TODAY.isoformat(), "customer_id": str(cid)}, "A title is required."),
                          ({"title": "x", "due_date": "", "customer_id": str(cid)}, "A due date is required"),
                          ({"title": "x", "due_date": "soon", "customer_id": str(cid)}, "Not a valid date"),
                          ({"title": "x", "due_date": TODAY.isoformat()}, "Link the activity"),
                          ({"title": "x", "due_date": TODAY.isoformat(), "customer_id": "abc"}, "Pick a valid record")):
        page = admin_client.post("/crm/activities", data=data, follow_redirects=True).get_data(as_text=True)
        assert message in page, message
    assert admin_client.get("/api/crm/activities?status=all").get_json() == []


def test_the_deal_page_logs_and_ranks_its_activities(admin_client, make_user, tenant):
    owner = make_user(tenant, "ADMIN", name="Olga Dealowner")
    d = deal(admin_client, "Deal page deal", owner_id=owner.id)
    page = admin_client.get(f"/crm/deals/{d['id']}").get_data(as_text=True)
    assert "No open activities" in page and 'name="deal_id"' in page
    response = admin_client.post("/crm/activities", data={"title": "Deal follow-up", "due_date": TODAY.isoformat(),
                                                          "deal_id": str(d["id"]), "type": "call",
                                                          "next": f"/crm/deals/{d['id']}"})
    assert response.status_code == 302
    page = admin_client.get(f"/crm/deals/{d['id']}").get_data(as_text=True)
    assert "Deal follow-up" in page and "owner Olga Dealowner" in page and "Next best action:" in page


def test_the_contact_timeline_offers_edit_reopen_and_delete(admin_client):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "Tim", "last_name": "Line"}).get_json()
    a = admin_client.post(f"/api/crm/contacts/{contact['id']}/activities", json={"type": "call", "title": "Timeline call"}).get_json()
    page = admin_client.get(f"/crm/contacts/{contact['id']}").get_data(as_text=True)
    assert "Complete Timeline call" in page and "Edit Timeline call" in page and "Delete Timeline call" in page
    admin_client.post(f"/crm/activities/{a['id']}/complete")
    assert "Reopen Timeline call" in admin_client.get(f"/crm/contacts/{contact['id']}").get_data(as_text=True)


def test_a_manager_switches_the_queue_to_another_owner(admin_client, make_user, tenant):
    seller = make_user(tenant, "ADMIN", name="Sally Seller")
    cid = customer(admin_client, "Switch Co")
    activity(admin_client, customer_id=cid, owner_id=seller.id, title="Sally's call")
    mine = admin_client.get("/crm/activities").get_data(as_text=True)
    assert "Sally's call" not in mine[:mine.index('id="all-h"')]
    theirs = admin_client.get(f"/crm/activities?queue_owner={seller.id}").get_data(as_text=True)
    assert "Next actions of Sally Seller" in theirs and "Sally&#39;s call" in theirs[:theirs.index('id="overdue-h"')]


def test_pages_cost_constant_queries(admin_client, count_queries):
    cid = customer(admin_client, "Count Co")
    d = deal(admin_client, "Count deal", customer_id=cid)
    activity(admin_client, deal_id=d["id"])
    pages = ("/crm/activities", f"/crm/customers/{cid}", f"/crm/deals/{d['id']}")
    small = {}
    for url in pages:
        with count_queries() as queries:
            assert admin_client.get(url).status_code == 200
        small[url] = len(queries)
    for i in range(10):
        other = customer(admin_client, f"Count Co {i}")
        activity(admin_client, customer_id=other, due_date=(TODAY - timedelta(days=i)).isoformat())
        activity(admin_client, deal_id=d["id"], title=f"More {i}")
    for url in pages:
        with count_queries() as queries:
            html = admin_client.get(url).get_data(as_text=True)
        assert len(queries) == small[url], url
        assert len(re.findall(r'class="act-row"', html)) >= 10, url


def test_the_demo_gives_the_queue_a_working_day(app, crm_scope, tenant, admin, admin_client):
    from kw_crm.demo import seed_demo

    with app.app_context():
        seed_demo(tenant.id, admin.id)
        assert seed_demo(tenant.id, admin.id)[-1] == "activities: already seeded"
    rows = admin_client.get("/api/crm/activities/queue?limit=200").get_json()
    overdue = admin_client.get("/api/crm/activities/overdue").get_json()
    assert overdue and any(r["activity"]["deal_id"] for r in overdue)
    scores = [r["priority"]["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 3
