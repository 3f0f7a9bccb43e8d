"""Contact pages: the /crm list (chips, filters, deals column, constant queries), forms, detail,
notes/activities from the side panel, bulk actions and the open-activities page."""
import re
from datetime import date, timedelta

from sqlalchemy import func, select

from host_stub.models import PortalCustomer, Project, Ticket, db
from kw_crm.db import utcnow
from kw_crm.models import Activity, Contact, Deal, Stage


def api_contact(client, **fields):
    response = client.post("/api/crm/contacts", json={"first_name": "Jane", "last_name": "Smith", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def add_deals(crm_scope, tenant, contact_ids_and_counts, archived_for=()):
    with crm_scope(tenant) as session:
        stage = session.scalar(select(Stage).where(Stage.key == "LEAD"))
        if stage is None:
            stage = Stage(key="LEAD", label="Lead", probability=10, position=0)
            session.add(stage)
            session.flush()
        for contact_id, n in contact_ids_and_counts:
            for i in range(n):
                session.add(Deal(title=f"Deal {contact_id}-{i}", value_cents=125_000, currency="USD",
                                 stage_id=stage.id, contact_id=contact_id))
        for contact_id in archived_for:
            session.add(Deal(title="Old deal", value_cents=1, currency="USD", stage_id=stage.id,
                             contact_id=contact_id, archived_at=utcnow()))
        session.commit()


def row_of(html: str, contact_id: int) -> str:
    match = re.search(rf'<tr data-contact-id="{contact_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for contact {contact_id}"
    return match.group(1)


def test_list_shows_the_seed_layout(admin_client, crm_scope, tenant):
    jane = api_contact(admin_client, email="jane@acme.test", company="Acme Ltd", type="customer")
    bob = api_contact(admin_client, first_name="Bob", last_name="Builder", type="contractor", status="active")
    add_deals(crm_scope, tenant, [(jane, 2)], archived_for=[jane, bob])
    html = admin_client.get("/crm/").get_data(as_text=True)
    assert "+ New contact" in html
    assert [h for h in re.findall(r"<th>(\w+)</th>", html)] == ["Name", "Type", "Company", "Email", "Status", "Deals"]
    jane_row = row_of(html, jane)
    assert "Jane Smith" in jane_row and "Acme Ltd" in jane_row and "jane@acme.test" in jane_row
    assert "pill-customer" in jane_row and "LEAD" in jane_row
    assert re.search(r'<td class="num">2</td>', jane_row)  # archived deals are not counted
    bob_row = row_of(html, bob)
    assert "pill-contractor" in bob_row and re.search(r'<td class="num">0</td>', bob_row)
    chips = dict(re.findall(r'data-type="(\w+)"[^>]*>.*?<span class="chip-count">(\d+)</span>', html, re.S))
    assert chips == {"customer": "1", "contractor": "1", "vendor": "0", "partner": "0", "other": "0"}


def test_chips_status_and_search_filter_the_list(admin_client):
    a = api_contact(admin_client, first_name="Vera", last_name="Vendor", type="vendor", email="vera@supply.test")
    b = api_contact(admin_client, first_name="Pat", last_name="Partner", type="partner", status="active", company="Refer Co")
    c = api_contact(admin_client, first_name="Carl", last_name="Customer")

    def shown(query):
        html = admin_client.get(f"/crm/?{query}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'<tr data-contact-id="(\d+)"', html)}, html

    assert shown("type=vendor")[0] == {a}
    assert shown("status=active")[0] == {b}
    assert shown("q=refer")[0] == {b}
    assert shown("q=SUPPLY.test")[0] == {a}
    assert shown("q=carl cust")[0] == {c}
    ids, html = shown("q=nobody-matches")
    assert ids == set() and "No contacts match." in html
    # the chip counts follow the status filter
    _, html = shown("status=active")
    chips = dict(re.findall(r'data-type="(\w+)"[^>]*>.*?<span class="chip-count">(\d+)</span>', html, re.S))
    assert chips["partner"] == "1" and chips["vendor"] == "0"


def test_list_pages_through_contacts(admin_client):
    for i in range(5):
        api_contact(admin_client, first_name=f"P{i}", last_name=f"Page{i}")
    html = admin_client.get("/crm/?per_page=2&page=3").get_data(as_text=True)
    assert len(re.findall(r'<tr data-contact-id=', html)) == 1
    assert "page 3 of 3" in html and 'rel="prev"' in html and 'rel="next"' not in html


def test_the_list_costs_the_same_queries_for_any_page_size(admin_client, crm_scope, tenant, count_queries):
    ids = [api_contact(admin_client, first_name=f"Q{i}", company=f"Company {i % 3}") for i in range(3)]
    add_deals(crm_scope, tenant, [(i, 1) for i in ids])
    with count_queries() as small:
        assert admin_client.get("/crm/?per_page=50").status_code == 200
    more = [api_contact(admin_client, first_name=f"R{i}", email=f"r{i}@example.test", type="vendor") for i in range(30)]
    add_deals(crm_scope, tenant, [(i, 2) for i in more])
    with count_queries() as large:
        response = admin_client.get("/crm/?per_page=50")
    assert len(re.findall(r'<tr data-contact-id=', response.get_data(as_text=True))) == 33
    assert len(large) == len(small)
    assert len(large) <= 12


def test_api_list_costs_the_same_queries_for_any_page_size(admin_client, crm_scope, tenant, count_queries):
    ids = [api_contact(admin_client, first_name=f"Q{i}") for i in range(2)]
    with count_queries() as small:
        admin_client.get("/api/crm/contacts")
    ids += [api_contact(admin_client, first_name=f"R{i}") for i in range(20)]
    add_deals(crm_scope, tenant, [(i, 1) for i in ids])
    with count_queries() as large:
        body = admin_client.get("/api/crm/contacts").get_json()
    assert len(body) == 22 and all(c["deal_count"] == 1 for c in body)
    assert len(large) == len(small)


def test_create_form_with_a_new_company_creates_the_customer(app, admin_client, tenant, admin):
    page = admin_client.get("/crm/contacts/new")
    assert page.status_code == 200
    response = admin_client.post("/crm/contacts/new", data={
        "first_name": "Nina", "last_name": "New", "email": "nina@newco.test", "company": "NewCo GmbH",
        "customer_id": "None", "type": "partner", "status": "prospect", "owner_id": str(admin.id),
        "vendor_user_id": "None", "notes": ""})
    assert response.status_code == 302
    detail = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nina New" in detail and "NewCo GmbH" in detail
    with app.app_context():
        customer = db.session.scalar(select(PortalCustomer).where(PortalCustomer.tenant_id == tenant.id,
                                                                  PortalCustomer.name == "NewCo GmbH"))
        assert customer is not None


def test_form_errors_are_shown_beside_the_fields_and_nothing_is_saved(admin_client, tenant, crm_scope, admin):
    api_contact(admin_client, email="taken@example.test")
    response = admin_client.post("/crm/contacts/new", data={
        "first_name": "", "last_name": "Smith", "email": "not-an-email", "customer_id": "None",
        "type": "customer", "status": "lead", "owner_id": str(admin.id), "vendor_user_id": "None"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="first_name-error"' in html and 'id="email-error"' in html
    response = admin_client.post("/crm/contacts/new", data={
        "first_name": "Dup", "last_name": "Smith", "email": "TAKEN@example.test", "customer_id": "None",
        "type": "customer", "status": "lead", "owner_id": str(admin.id), "vendor_user_id": "None"})
    assert response.status_code == 422
    assert re.search(r'id="email-error">Another contact already has this email', response.get_data(as_text=True))
    with crm_scope(tenant) as session:
        assert session.scalar(select(func.count(Contact.id))) == 1


def test_form_refuses_a_foreign_owner(admin_client, other_admin, admin):
    response = admin_client.post("/crm/contacts/new", data={
        "first_name": "A", "last_name": "B", "customer_id": "None", "type": "customer", "status": "lead",
        "owner_id": str(other_admin.id), "vendor_user_id": "None"})
    assert response.status_code == 422
    assert 'id="owner_id-error"' in response.get_data(as_text=True)


def test_add_contact_from_a_customer_prelinks_it(app, admin_client, tenant, admin):
    with app.app_context():
        customer = PortalCustomer(tenant_id=tenant.id, name="Prelinked Inc")
        db.session.add(customer)
        db.session.commit()
        customer_id = customer.id
    html = admin_client.get(f"/crm/contacts/new?customer_id={customer_id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{customer_id}">Prelinked Inc</option>', html)
    response = admin_client.post(f"/crm/contacts/new?customer_id={customer_id}", data={
        "first_name": "Lin", "last_name": "Ked", "customer_id": str(customer_id), "company": "",
        "type": "customer", "status": "lead", "owner_id": str(admin.id), "vendor_user_id": "None"})
    assert response.status_code == 302
    listed = admin_client.get(f"/api/crm/contacts?customer_id={customer_id}").get_json()
    assert [c["first_name"] for c in listed] == ["Lin"]


def test_edit_form_saves_changes(admin_client, admin):
    cid = api_contact(admin_client, company="Edit Co")
    form = admin_client.get(f"/crm/contacts/{cid}/edit").get_data(as_text=True)
    assert 'value="Jane"' in form
    response = admin_client.post(f"/crm/contacts/{cid}/edit", data={
        "first_name": "Janet", "last_name": "Smith", "customer_id": "None", "company": "Edit Co",
        "type": "other", "status": "inactive", "owner_id": str(admin.id), "vendor_user_id": "None"})
    assert response.status_code == 302
    body = admin_client.get(f"/api/crm/contacts/{cid}").get_json()
    assert (body["first_name"], body["type"], body["status"], body["company"]) == ("Janet", "other", "inactive", "Edit Co")


def test_html_in_every_text_field_is_rendered_escaped(admin_client):
    evil = "<script>alert('x')</script>"
    cid = api_contact(admin_client, first_name=evil, last_name=evil, job_title=evil, company=evil, phone="<b>1</b>",
                      notes=evil)
    admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": evil})
    admin_client.post(f"/api/crm/contacts/{cid}/activities", json={"type": "call", "subject": evil})
    for url in ("/crm/", f"/crm/contacts/{cid}", f"/crm/contacts/{cid}/edit", "/crm/activities", "/crm/?q=<script>"):
        html = admin_client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert "<b>1</b>" not in html, url
    assert "&lt;script&gt;alert" in admin_client.get(f"/crm/contacts/{cid}").get_data(as_text=True)


def test_detail_page_tabs_timeline_deals_and_host_tabs(app, admin_client, crm_scope, tenant, make_user):
    vendor = make_user(tenant, "VENDOR", name="Vic Vendorlogin")
    cid = api_contact(admin_client, type="vendor", vendor_user_id=vendor.id)
    add_deals(crm_scope, tenant, [(cid, 1)])
    with app.app_context():
        db.session.add_all([Project(tenant_id=tenant.id, contact_id=cid, name="Onboarding rollout"),
                            Ticket(tenant_id=tenant.id, contact_id=cid, subject="Printer on fire")])
        db.session.commit()
    admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": "First call went well"})
    html = admin_client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    for text in ("Timeline (1)", "Deals (1)", "Projects (1)", "Tickets (1)", "First call went well",
                 f"Deal {cid}-0", "Lead", "1,250.00 USD", "Onboarding rollout", "Printer on fire",
                 "Add note", "Log activity", "Attachments"):
        assert text in html, text
    assert f'href="/users/{vendor.id}">Vic Vendorlogin</a>' in html


def test_side_panel_adds_notes_and_activities(admin_client):
    cid = api_contact(admin_client)
    long_note = "n" * 10_000
    assert admin_client.post(f"/crm/contacts/{cid}/notes", data={"body": long_note}).status_code == 302
    response = admin_client.post(f"/crm/contacts/{cid}/activities",
                                 data={"type": "meeting", "subject": "Demo", "due_date": "2031-02-03"})
    assert response.status_code == 302
    html = admin_client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert long_note in html and "Demo" in html and "due 2031-02-03" in html
    assert html.index("Demo") < html.index(long_note)  # newest first
    bad = admin_client.post(f"/crm/contacts/{cid}/activities", data={"type": "fax", "subject": ""})
    assert bad.status_code == 422
    assert admin_client.post(f"/crm/contacts/{cid}/notes", data={"body": "x" * 20_001}).status_code == 422
    assert len(admin_client.get(f"/api/crm/contacts/{cid}/timeline").get_json()) == 2


def test_bulk_reassign_and_confirmed_delete_from_the_list(admin_client, make_user, tenant):
    owner = make_user(tenant, "ADMIN", name="Olive Owner")
    ids = [api_contact(admin_client, first_name=f"B{i}") for i in range(3)]
    response = admin_client.post("/crm/contacts/bulk", data={"action": "reassign", "ids": ids[:2], "owner_id": owner.id})
    assert response.status_code == 302
    owners = {c["id"]: c["owner_id"] for c in admin_client.get("/api/crm/contacts").get_json()}
    assert [owners[i] == owner.id for i in ids] == [True, True, False]
    confirm = admin_client.post("/crm/contacts/bulk", data={"action": "delete", "ids": ids[:2]})
    assert confirm.status_code == 200 and "Delete 2 contacts" in confirm.get_data(as_text=True)
    assert len(admin_client.get("/api/crm/contacts").get_json()) == 3  # nothing gone before confirming
    done = admin_client.post("/crm/contacts/bulk", data={"action": "delete", "ids": ids[:2], "confirm": "yes"})
    assert done.status_code == 302
    assert [c["id"] for c in admin_client.get("/api/crm/contacts").get_json()] == [ids[2]]


def test_bulk_from_the_list_with_a_foreign_id_changes_nothing(admin_client, other_admin_client, make_user, tenant):
    mine = api_contact(admin_client)
    theirs = api_contact(other_admin_client)
    owner = make_user(tenant, "ADMIN")
    response = admin_client.post("/crm/contacts/bulk", data={"action": "reassign", "ids": [mine, theirs],
                                                             "owner_id": owner.id}, follow_redirects=True)
    assert f"Unknown contact ids: {theirs}" in response.get_data(as_text=True)
    assert admin_client.get(f"/api/crm/contacts/{mine}").get_json()["owner_id"] != owner.id


def test_bulk_delete_from_the_list_needs_the_permission(app, make_user, tenant, admin_client):
    cid = api_contact(admin_client)
    plain = app.test_client().login(make_user(tenant, "ADMIN"))
    assert plain.post("/crm/contacts/bulk", data={"action": "delete", "ids": [cid], "confirm": "yes"}).status_code == 403
    assert admin_client.get(f"/api/crm/contacts/{cid}").status_code == 200


def test_activities_page_lists_open_ones_overdue_first_and_completes(admin_client, crm_scope, tenant):
    cid = api_contact(admin_client)
    today = date.today()
    for subject, due in (("Later", today + timedelta(days=5)), ("Undated", None),
                         ("Overdue", today - timedelta(days=3)), ("Done", today)):
        body = {"type": "task", "subject": subject}
        if due:
            body["due_date"] = due.isoformat()
        admin_client.post(f"/api/crm/contacts/{cid}/activities", json=body)
    with crm_scope(tenant) as session:
        done = session.scalar(select(Activity).where(Activity.subject == "Done"))
        done.completed_at = utcnow()
        session.commit()
        later_id = session.scalar(select(Activity.id).where(Activity.subject == "Later"))
    html = admin_client.get("/crm/activities").get_data(as_text=True)
    order = [s for s in re.findall(r"<td>(Later|Undated|Overdue|Done)</td>", html)]
    assert order == ["Overdue", "Later", "Undated"]
    assert 'class="act-overdue">overdue' in html  # issue 13's table marks overdue rows this way
    response = admin_client.post(f"/crm/activities/{later_id}/complete", data={"next": "/crm/activities"})
    assert response.status_code == 302 and response.headers["Location"] == "/crm/activities"
    html = admin_client.get("/crm/activities").get_data(as_text=True)
    assert "<td>Later</td>" not in html


def test_delete_contact_from_its_page(admin_client):
    cid = api_contact(admin_client)
    assert admin_client.post(f"/crm/contacts/{cid}/delete").status_code == 302
    assert admin_client.get(f"/crm/contacts/{cid}").status_code == 404


def test_pages_of_another_tenant_are_404(admin_client, other_admin_client):
    cid = api_contact(admin_client)
    for url in (f"/crm/contacts/{cid}", f"/crm/contacts/{cid}/edit"):
        assert other_admin_client.get(url).status_code == 404
    for url in (f"/crm/contacts/{cid}/notes", f"/crm/contacts/{cid}/delete", f"/crm/contacts/{cid}/edit"):
        assert other_admin_client.post(url, data={"body": "x"}).status_code == 404
    assert admin_client.get(f"/crm/contacts/{cid}").status_code == 200


def test_upload_form_refuses_empty_and_oversized_files(app, admin_client):
    import io

    cid = api_contact(admin_client)
    empty = admin_client.post(f"/crm/contacts/{cid}/attachments", data={"file": (io.BytesIO(b""), "empty.txt")},
                              content_type="multipart/form-data")
    assert empty.status_code == 422 and "The file is empty." in empty.get_data(as_text=True)
    app.config["CRM_MAX_ATTACHMENT_BYTES"] = 10
    try:
        big = admin_client.post(f"/crm/contacts/{cid}/attachments", data={"file": (io.BytesIO(b"x" * 11), "big.bin")},
                                content_type="multipart/form-data")
    finally:
        app.config["CRM_MAX_ATTACHMENT_BYTES"] = 10 * 1024 * 1024
    assert big.status_code == 413 and "limited to 10 bytes" in big.get_data(as_text=True)
    ok = admin_client.post(f"/crm/contacts/{cid}/attachments", data={"file": (io.BytesIO(b"hello"), "hi.txt")},
                           content_type="multipart/form-data")
    assert ok.status_code == 302
    assert [a["filename"] for a in admin_client.get(f"/api/crm/contacts/{cid}/attachments").get_json()] == ["hi.txt"]


def test_a_host_without_a_tab_hook_shows_no_such_tab(app, admin_client):
    cid = api_contact(admin_client)
    manager = app.extensions["kw_crm"].plugin_manager
    helpdesk = manager.unregister(name="host_stub.helpdesk")
    try:
        html = admin_client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    finally:
        manager.register(helpdesk, name="host_stub.helpdesk")
    assert "Projects (0)" in html and "Tickets" not in html
    assert "Tickets (0)" in admin_client.get(f"/crm/contacts/{cid}").get_data(as_text=True)


def test_detail_and_activities_pages_cost_constant_queries(admin_client, count_queries):
    cid = api_contact(admin_client)
    admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": "one"})
    admin_client.post(f"/api/crm/contacts/{cid}/activities", json={"type": "call", "subject": "one", "due_date": "2020-01-01"})
    with count_queries() as detail_small:
        admin_client.get(f"/crm/contacts/{cid}")
    with count_queries() as queue_small:
        admin_client.get("/crm/activities")
    for i in range(15):
        admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": f"note {i}"})
        other = api_contact(admin_client, first_name=f"Other{i}")
        admin_client.post(f"/api/crm/contacts/{other}/activities", json={"type": "task", "subject": f"t{i}"})
    with count_queries() as detail_large:
        html = admin_client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    with count_queries() as queue_large:
        queue = admin_client.get("/crm/activities").get_data(as_text=True)
    assert "Timeline (17)" in html and queue.count("<tr data-activity-id=") == 16  # the table (issue 13 adds queues above it)
    assert len(detail_large) == len(detail_small)
    assert len(queue_large) == len(queue_small)


def test_complete_redirects_only_to_local_paths(admin_client):
    cid = api_contact(admin_client)
    aid = admin_client.post(f"/api/crm/contacts/{cid}/activities", json={"type": "task", "subject": "t"}).get_json()["id"]
    for target in ("https://evil.test/", "//evil.test/", "/\\evil.test/"):
        response = admin_client.post(f"/crm/activities/{aid}/complete", data={"next": target})
        assert response.headers["Location"] == "/crm/activities", target


def test_absurd_paging_parameters_do_not_break_the_pages(admin_client):
    api_contact(admin_client)
    assert admin_client.get("/crm/?page=99999999999999999999999").status_code == 200  # past the end
    assert admin_client.get("/crm/activities?page=99999999999999999999999").status_code == 200
    for query in ("page=-4", "page=abc", "per_page=0", "per_page=10000"):  # refused, saying what is allowed
        assert admin_client.get(f"/crm/?{query}").status_code == 422, query
        assert admin_client.get(f"/crm/activities?{query}").status_code == 422, query
    response = admin_client.get("/api/crm/contacts?offset=99999999999999999999999")
    assert response.status_code == 422 and "offset" in response.get_json()["error"]["fields"]


def test_control_characters_in_search_and_bulk_fields_are_handled(admin_client):
    cid = api_contact(admin_client, company="Nul Co")
    response = admin_client.get("/crm/?q=Nul%00%20Co")  # the input layer refuses it, naming the field
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "cannot be stored in: q." in page and "NUL characters are not allowed." in page
    response = admin_client.get("/api/crm/contacts?q=a%00b")
    assert response.status_code == 422 and "q" in response.get_json()["error"]["fields"]
    response = admin_client.post("/crm/contacts/bulk", data={"action": "reassign", "ids": [cid], "owner_id": "²"},
                                 follow_redirects=True)
    assert response.status_code == 200 and "Pick an active user" in response.get_data(as_text=True)
    response = admin_client.post("/crm/contacts/bulk", data={"action": "reassign", "ids": ["x"], "owner_id": "1"},
                                 follow_redirects=True)
    assert response.status_code == 200 and "whole numbers" in response.get_data(as_text=True)


def test_editing_a_contact_of_a_deactivated_owner_does_not_silently_change_it(app, admin_client, make_user, tenant):
    from host_stub.models import User

    leaver = make_user(tenant, "ADMIN", name="Lea Leaver")
    cid = api_contact(admin_client, owner_id=leaver.id)
    with app.app_context():
        db.session.get(User, leaver.id).active = False
        db.session.commit()
    form = admin_client.get(f"/crm/contacts/{cid}/edit").get_data(as_text=True)
    assert re.search(rf'<option selected value="{leaver.id}">Lea Leaver</option>', form)
    response = admin_client.post(f"/crm/contacts/{cid}/edit", data={
        "first_name": "Jane", "last_name": "Smith", "customer_id": "None", "type": "customer", "status": "active",
        "owner_id": str(leaver.id), "vendor_user_id": "None"})
    assert response.status_code == 422 and 'id="owner_id-error"' in response.get_data(as_text=True)
    assert admin_client.get(f"/api/crm/contacts/{cid}").get_json()["status"] == "lead"
