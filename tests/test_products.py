"""The product boundary of deals (contract 8.4): the host catalogue served by the CRM, a product
required on create while the host sells products, fixed once set, plans scoped to it."""
import pytest

from tests.support.deals import new_customer, new_deal
from tests.support.products import catalogue


@pytest.fixture
def require_products(app, monkeypatch):
    """The product rule as a host with a catalogue gets it by default (the suite switches it off)."""
    monkeypatch.setitem(app.config, "CRM_REQUIRE_PRODUCT", None)


def test_catalogue_comes_from_the_host_with_plans_and_prices(admin_client):
    response = admin_client.get("/api/crm/products")
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "2"
    products = catalogue(admin_client)
    assert set(products) == {"Meridian", "RMM"}
    pro = products["Meridian"]["plans"]["Meridian Pro"]
    assert (pro["price_cents"], pro["currency"], pro["interval"], pro["trial"]) == (149_00, "USD", "month", False)
    assert {"currency": "EUR", "price_cents": 139_00} in pro["prices"]
    trial = products["RMM"]["plans"]["RMM Trial"]
    assert trial["trial"] is True and trial["trial_days"] == 30
    paged = admin_client.get("/api/crm/products?limit=1&offset=1")
    assert [p["name"] for p in paged.get_json()] == ["RMM"] and paged.headers["X-Total-Count"] == "2"
    assert admin_client.get("/api/crm/products?limit=500").status_code == 422


def test_catalogue_follows_the_access_rules(app, staff_client, other_admin_client):
    assert staff_client.get("/api/crm/products").status_code == 403
    assert app.test_client().get("/api/crm/products").status_code == 401
    assert other_admin_client.get("/api/crm/products").status_code == 200  # the catalogue is every tenant's


def test_product_is_required_on_create_by_default(admin_client, require_products):
    missing = admin_client.post("/api/crm/deals", json={"title": "No product"})
    assert missing.status_code == 422
    assert missing.get_json()["error"]["fields"]["product_id"] == ["Choose the product this deal sells."]
    meridian = catalogue(admin_client)["Meridian"]
    deal = new_deal(admin_client, title="With product", product_id=meridian["id"])
    assert deal["product_id"] == meridian["id"] and deal["plan_id"] is None


def test_product_is_optional_when_switched_off(admin_client):
    assert new_deal(admin_client, title="Free form")["product_id"] is None


def test_unknown_product_and_plan_of_another_product_are_422(admin_client):
    products = catalogue(admin_client)
    unknown = admin_client.post("/api/crm/deals", json={"title": "X", "product_id": 999_999})
    assert unknown.status_code == 422 and "No product #999999" in unknown.get_json()["error"]["fields"]["product_id"][0]
    rmm_plan = products["RMM"]["plans"]["RMM Team"]
    crossed = admin_client.post("/api/crm/deals", json={"title": "X", "product_id": products["Meridian"]["id"],
                                                        "plan_id": rmm_plan["id"]})
    assert crossed.status_code == 422
    assert crossed.get_json()["error"]["fields"]["plan_id"] == [
        "RMM Team is a plan of RMM, not of this deal's product Meridian."]
    orphan = admin_client.post("/api/crm/deals", json={"title": "X", "plan_id": rmm_plan["id"]})
    assert orphan.status_code == 422 and "product" in orphan.get_json()["error"]["fields"]["plan_id"][0]
    assert admin_client.post("/api/crm/deals", json={"title": "X", "product_id": "1"}).status_code == 422
    assert admin_client.get("/api/crm/deals?q=X").headers["X-Total-Count"] == "0"  # nothing half-written


def test_product_cannot_change_once_set_but_the_plan_can(admin_client):
    products = catalogue(admin_client)
    meridian, rmm = products["Meridian"], products["RMM"]
    deal = new_deal(admin_client, title="Boundary", product_id=meridian["id"])
    changed = admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"product_id": rmm["id"], "version": deal["version"]})
    assert changed.status_code == 409
    assert "commercial boundary" in changed.get_json()["error"]["message"]
    same = admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"product_id": meridian["id"], "title": "Boundary 2",
                                                                    "version": deal["version"]})
    assert same.status_code == 200
    pro = meridian["plans"]["Meridian Pro"]
    planned = admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"plan_id": pro["id"],
                                                                       "version": same.get_json()["version"]})
    assert planned.status_code == 200 and planned.get_json()["plan_id"] == pro["id"]
    wrong = admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"plan_id": rmm["plans"]["RMM Team"]["id"],
                                                                     "version": planned.get_json()["version"]})
    assert wrong.status_code == 422 and "plan_id" in wrong.get_json()["error"]["fields"]
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["product_id"] == meridian["id"]


def test_a_deal_without_product_may_get_one_later(admin_client):
    deal = new_deal(admin_client, title="Legacy")
    rmm = catalogue(admin_client)["RMM"]
    set_once = admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"product_id": rmm["id"], "version": deal["version"]})
    assert set_once.status_code == 200 and set_once.get_json()["product_id"] == rmm["id"]


def test_new_deal_form_requires_a_product_and_scopes_plans(admin_client, admin, app, tenant, require_products):
    cid = new_customer(app, tenant, "Form Co")
    page = admin_client.get("/crm/deals/new").get_data(as_text=True)
    assert 'name="product_id"' in page and "required" in page.split('name="product_id"')[1][:80]
    meridian = catalogue(admin_client)["Meridian"]
    assert f'data-product="{meridian["id"]}"' in page  # plan options carry their product for the scoped picker
    form = {"title": "Form deal", "value": "10.00", "currency": "USD", "stage": "LEAD", "customer_id": str(cid),
            "owner_id": str(admin.id), "contact_id": "", "expected_close_date": "", "notes": "", "product_id": "", "plan_id": ""}
    refused = admin_client.post("/crm/deals/new", data=form)
    assert refused.status_code == 422 and "Choose the product this deal sells." in refused.get_data(as_text=True)
    pro = meridian["plans"]["Meridian Pro"]
    created = admin_client.post("/crm/deals/new", data={**form, "product_id": str(meridian["id"]), "plan_id": str(pro["id"])})
    assert created.status_code == 302
    deal_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert "Meridian Pro" in admin_client.get(f"/crm/deals/{deal_id}").get_data(as_text=True)  # the view names it
    edit = admin_client.get(f"/crm/deals/{deal_id}/edit").get_data(as_text=True)
    assert 'data-testid="product-locked"' in edit and 'value="Meridian"' in edit
    assert 'name="product_id"' not in edit  # locked on edit: the form cannot send a product


def test_stage_settings_carry_the_automation_defaults(admin_client):
    stages = {s["key"]: s for s in admin_client.get("/api/crm/stages").get_json()}
    assert stages["LEAD"]["followup_days"] == 2 and stages["WON"]["followup_days"] is None
    assert [k for k, s in stages.items() if s["finance_handoff"]] == ["NEGOTIATION", "WON"]
    assert not any(s["notify_owner"] for s in stages.values())
