"""The customer pages through the real app: directory, forms, workspace actions."""
from host_stub.models import Invoice, PortalCustomer, Subscription
from kw_crm.models import Activity, Communication, Contact, Deal, Stage


def create(client, name, **fields):
    response = client.post("/api/crm/customers", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_directory_shows_range_page_and_owner(admin_client, admin, crm_scope, tenant):
    with crm_scope(tenant) as s:
        s.add_all([PortalCustomer(tenant_id=tenant.id, name=f"Firm {i:03d}") for i in range(55)])
        s.commit()
    create(admin_client, "Aardvark & <Co>")
    page = admin_client.get("/crm/customers").get_data(as_text=True)
    assert "Showing 1–50 of 56 · page 1 of 2" in page
    assert "Aardvark &amp; &lt;Co&gt;" in page
    assert admin.name in page
    second = admin_client.get("/crm/customers?page=2").get_data(as_text=True)
    assert "Showing 51–56 of 56 · page 2 of 2" in second
    past = admin_client.get("/crm/customers?page=9").get_data(as_text=True)
    assert "Page 9 is past the end" in past and "There are only 2 pages of customers (56 in all)." in past
    filtered = admin_client.get("/crm/customers?search=firm 00").get_data(as_text=True)
    assert "of 10 ·" in filtered
    bad = admin_client.get("/crm/customers?health_min=90&health_max=10")
    assert bad.status_code == 422
    assert "The minimum health cannot be greater than the maximum." in bad.get_data(as_text=True)


def test_create_form_defaults_owner_and_reports_field_errors(admin_client, admin, make_user, tenant):
    form = admin_client.get("/crm/customers/new").get_data(as_text=True)
    assert f'<option value="{admin.id}" selected>' in form
    bad = admin_client.post("/crm/customers/new", data={"name": "", "lifecycle_stage": "prospect",
                                                        "billing_email": "not-an-email", "owner_id": str(admin.id)})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "A name is required." in text and "Not a valid email address." in text
    other = make_user(tenant, "ADMIN", name="Otto Owner")
    made = admin_client.post("/crm/customers/new", data={"name": "Form Co", "lifecycle_stage": "qualified",
                                                         "lead_source": "web", "billing_email": "",
                                                         "owner_id": str(other.id)})
    assert made.status_code == 302
    workspace = admin_client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Form Co" in workspace and "Otto Owner" in workspace and "qualified" in workspace
    dup = admin_client.post("/crm/customers/new", data={"name": "form co", "lifecycle_stage": "prospect"})
    assert dup.status_code == 422 and "already exists" in dup.get_data(as_text=True)


def test_edit_form_changes_health_and_stage_with_reason(admin_client):
    cid = create(admin_client, "Edit Co")
    response = admin_client.post(f"/crm/customers/{cid}/edit", data={
        "lifecycle_stage": "churned", "health_score": "15", "lead_source": "", "billing_email": "",
        "reason": "contract ended"})
    assert response.status_code == 302
    page = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert "churn risk" in page and "contract ended" in page and "prospect → churned" in page
    bad = admin_client.post(f"/crm/customers/{cid}/edit", data={"lifecycle_stage": "churned", "health_score": "140"})
    assert bad.status_code == 422 and "0 to 100" in bad.get_data(as_text=True)


def test_workspace_sections_show_slice_and_true_total(admin_client, crm_scope, tenant, count_queries):
    cid = create(admin_client, "Busy Co")
    admin_client.get(f"/crm/customers/{cid}")
    with count_queries() as empty:
        admin_client.get(f"/crm/customers/{cid}")
    with crm_scope(tenant) as s:
        stage = Stage(key="LEAD", label="Lead", probability=10)
        s.add(stage)
        s.flush()
        s.add_all([Contact(first_name="C", last_name=str(i), customer_id=cid) for i in range(12)])
        s.add_all([Deal(title=f"D{i}", value_cents=0, currency="USD", stage_id=stage.id, customer_id=cid)
                   for i in range(57)])
        s.add_all([Activity(type="call", subject=f"A{i}", customer_id=cid) for i in range(3)])
        s.add_all([Communication(customer_id=cid, subject=f"M{i}") for i in range(11)])
        s.add(Subscription(tenant_id=tenant.id, customer_id=cid, product="Meridian", plan="pro", status="active",
                           amount_cents=9900))
        s.add(Invoice(tenant_id=tenant.id, customer_id=cid, number=f"I-{cid}", amount_cents=12345, currency="EUR"))
        s.commit()
    with count_queries() as queries:
        page = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    for text in ("showing 10 of 57", "showing 10 of 12", "showing 3 of 3", "showing 10 of 11",
                 "Meridian", "123.45 EUR"):
        assert text in page, text
    data = admin_client.get(f"/api/crm/customers/{cid}/workspace").get_json()
    assert data["deals"]["total"] == 57 and len(data["deals"]["items"]) == 10
    assert data["billing"]["outstanding_ar_cents"] == {"EUR": 12345}
    assert len(queries) == len(empty)  # a fixed set of queries, not one per row


def test_archive_and_delete_through_the_page(admin_client, app, make_user, tenant, crm_scope):
    cid = create(admin_client, "Page Co")
    assert admin_client.post(f"/crm/customers/{cid}/delete").status_code == 302
    assert "Archive the customer before deleting it." in admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    no_delete = app.test_client().login(make_user(tenant, "ADMIN"))
    assert no_delete.post(f"/crm/customers/{cid}/archive", data={"reason": "x"}).status_code == 403
    no_reason = admin_client.post(f"/crm/customers/{cid}/archive", data={"reason": ""})
    assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)  # beside the form
    admin_client.post(f"/crm/customers/{cid}/archive", data={"reason": "duplicate record"})
    page = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert "duplicate record" in page and "Delete for good" in page and "Log communication" not in page
    assert "Page Co" not in admin_client.get("/crm/customers").get_data(as_text=True)
    assert "Page Co" in admin_client.get("/crm/customers?include_inactive=true").get_data(as_text=True)
    refused = admin_client.post(f"/crm/customers/{cid}/communications", data={"subject": "hello"})
    assert refused.status_code == 302
    assert "archived" in admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert admin_client.post(f"/crm/customers/{cid}/delete").status_code == 302
    assert admin_client.get(f"/crm/customers/{cid}").status_code == 404


def test_log_communication_from_the_workspace(admin_client):
    cid = create(admin_client, "Comms Co")
    admin_client.post(f"/crm/customers/{cid}/communications",
                      data={"subject": "Kick-off call", "summary": "<script>x</script>", "channel": "call"})
    page = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert "Kick-off call" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "never" not in page.split("Last contacted")[1][:80]


def test_dashboard_page_shows_the_api_numbers(admin_client):
    low = create(admin_client, "Shaky Co")
    admin_client.patch(f"/api/crm/customers/{low}", json={"health_score": 4})
    create(admin_client, "Happy Co")
    page = admin_client.get("/crm/dashboard").get_data(as_text=True)
    assert 'data-metric="total_customers">2<' in page
    assert 'data-metric="at_churn_risk">1<' in page
    assert "Shaky Co" in page.split("Customers at churn risk")[1]
    assert "Happy Co" not in page
