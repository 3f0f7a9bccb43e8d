"""The deal page as a user meets it: a read-only view naming the customer, contact, owner and
money; Edit on its own URL that keeps typed input on a refusal; honest Archive/Delete controls;
a refused archive keeps the reason; the currency picker offers the tenant's currencies first."""
from bs4 import BeautifulSoup

from tests.support.deals import new_contact, new_customer, new_deal


def soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def button(page, label):
    return next(b for b in page.select("button") if b.get_text(strip=True) == label)


def test_deal_page_is_a_read_only_view_that_names_everything(app, admin_client, make_user, tenant, crm_scope):
    owner = make_user(tenant, "ADMIN", name="Olivia Owner")
    customer_id = new_customer(app, tenant, name="Northwind Traders")
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id, first="Nina", last="Patel")
    deal = new_deal(admin_client, title="Fleet renewal", value_cents=12_500_50, currency="EUR", stage="PROPOSAL",
                    owner_id=owner.id, contact_id=contact_id, customer_id=customer_id,
                    expected_close_date="2030-03-31", notes="Wants a three-year term.")
    page = soup(admin_client.get(f"/crm/deals/{deal['id']}"))
    assert page.select_one("h1").get_text(strip=True) == "Fleet renewal"
    assert not page.select("#deal-edit, input[name=value], select[name=currency], select[name=owner_id]")  # no open form
    assert page.select_one("[data-testid=deal-customer]").get_text() == "Northwind Traders"
    assert page.select_one("[data-testid=deal-customer]")["href"] == f"/crm/customers/{customer_id}"
    details = page.select_one("#deal-details").get_text(" ", strip=True)
    for text in ("12,500.50 EUR", "Proposal", "Nina Patel", "Olivia Owner", "2030-03-31", "Wants a three-year term."):
        assert text in details, text
    assert page.select_one("#deal-stage").get_text() == "Proposal"
    assert page.select_one("#deal-edit-link")["href"] == f"/crm/deals/{deal['id']}/edit"


def test_edit_keeps_typed_input_on_a_refusal_and_returns_to_the_view(admin_client, admin):
    deal = new_deal(admin_client, title="Old title")
    form = soup(admin_client.get(f"/crm/deals/{deal['id']}/edit")).select_one("#deal-edit")
    assert form.select_one("input[name=title]")["value"] == "Old title"
    typed = {"title": "Typed title", "value": "12.345", "currency": "GBP", "stage": "QUALIFIED", "expected_close_date": "",
             "owner_id": str(admin.id), "contact_id": "", "customer_id": "", "notes": "Typed notes",
             "version": str(deal["version"])}
    refused = admin_client.post(f"/crm/deals/{deal['id']}/edit", data=typed)
    assert refused.status_code == 422
    page = soup(refused)
    assert page.select_one("input[name=title]")["value"] == "Typed title"
    assert page.select_one("input[name=value]")["value"] == "12.345"
    assert page.select_one("input[name=value]")["aria-invalid"] == "true"
    assert "at most two decimals" in page.select_one("#f-value-error").get_text()
    assert page.select_one("textarea[name=notes]").get_text() == "Typed notes"
    assert page.select_one("select[name=currency] option[selected]").get_text() == "GBP"
    assert page.select_one("select[name=stage] option[selected]")["value"] == "QUALIFIED"
    saved = admin_client.post(f"/crm/deals/{deal['id']}/edit", data=dict(typed, value="12,345.60"))
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/crm/deals/{deal['id']}")
    view = admin_client.get(f"/crm/deals/{deal['id']}").get_data(as_text=True)
    assert "Typed title" in view and "12,345.60 GBP" in view


def test_archive_and_delete_are_disabled_with_the_reason_without_crm_delete(app, admin_client, make_user, tenant):
    deal = new_deal(admin_client, title="Maybe later")
    plain = app.test_client().login(make_user(tenant, "ADMIN"))
    page = soup(plain.get(f"/crm/deals/{deal['id']}"))
    assert not page.select("#deal-archive")  # no form that would lead to a 403 page
    archive = button(page, "Archive")
    assert archive.has_attr("disabled")
    assert "crm.delete" in archive.find_parent(class_="btn-group").get_text()
    admin_client.post(f"/crm/deals/{deal['id']}/archive", data={"reason": "Duplicate"})
    page = soup(plain.get(f"/crm/deals/{deal['id']}"))
    delete = button(page, "Delete for good")
    assert delete.has_attr("disabled") and not page.select("#deal-delete")
    assert button(page, "Edit deal").has_attr("disabled")
    assert "Archived deals cannot be edited." in page.get_text()


def test_a_refused_archive_keeps_the_typed_reason(admin_client):
    deal = new_deal(admin_client, title="Race")
    admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})  # a colleague, meanwhile
    refused = admin_client.post(f"/crm/deals/{deal['id']}/archive", data={"reason": "Customer went quiet"})
    assert refused.status_code == 409
    page = soup(refused)
    assert page.select_one("#deal-archive input[name=reason]")["value"] == "Customer went quiet"
    assert "Won deals cannot be archived" in page.select_one("#archive-error").get_text()
    blank = soup(admin_client.post(f"/crm/deals/{new_deal(admin_client)['id']}/archive", data={"reason": "  "}))
    assert "reason is required" in blank.select_one("#archive-error").get_text()


def test_currency_picker_offers_the_default_and_the_used_currencies_first(admin_client):
    new_deal(admin_client, currency="GBP")
    new_deal(admin_client, currency="CHF")
    for path in ("/crm/deals/new", f"/crm/deals/{new_deal(admin_client)['id']}/edit"):
        groups = soup(admin_client.get(path)).select("select[name=currency] optgroup")
        assert [o.get_text() for o in groups[0].select("option")] == ["USD", "CHF", "GBP"], path
        rest = [o.get_text() for o in groups[1].select("option")]
        assert "EUR" in rest and not {"USD", "CHF", "GBP"} & set(rest) and rest == sorted(rest)


def test_deal_page_query_count_does_not_grow_with_its_history(app, admin_client, tenant, crm_scope, count_queries):
    customer_id = new_customer(app, tenant, name="Steady Queries Ltd")
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id)
    deal = new_deal(admin_client, contact_id=contact_id, customer_id=customer_id)
    path = f"/crm/deals/{deal['id']}"
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "QUALIFIED"})  # one run, one step
    admin_client.get(path)
    with count_queries() as few:
        assert admin_client.get(path).status_code == 200
    for stage in ("PROPOSAL", "NEGOTIATION", "QUALIFIED", "PROPOSAL", "LEAD"):
        admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": stage})
    with count_queries() as many:
        assert admin_client.get(path).status_code == 200
    assert len(many) == len(few)
