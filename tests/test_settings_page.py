"""Settings → Pipeline stages as a list: a refused save keeps every edit (order, labels, the new
stage) with the message on the stage at fault; Delete is not offered for the only won or lost
stage or without crm.delete; the arrows work without script; the automation flags are boxes."""
from bs4 import BeautifulSoup

from tests.support.deals import new_deal


def soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def form_of(page) -> dict[str, list[str]]:
    """What the browser would post for #stages-form (ticked boxes only, selected options)."""
    fields: dict[str, list[str]] = {}
    for element in page.select_one("#stages-form").select("input, select"):
        if element.get("form") or not element.get("name"):
            continue  # controls of the delete forms
        if element.name == "select":
            option = element.select_one("option[selected]") or element.select_one("option")
            value = option.get("value", option.get_text())
        elif element.get("type") == "checkbox":
            if not element.has_attr("checked"):
                continue
            value = element.get("value", "on")
        else:
            value = element.get("value", "")
        fields.setdefault(element["name"], []).append(value)
    fields.pop("csrf_token")
    return fields


def order(page) -> list[str]:
    return [row["data-stage"] for row in page.select(".stage-list > li")]


def test_a_refused_save_keeps_every_edit(admin_client):
    page = soup(admin_client.get("/crm/settings"))
    assert order(page) == ["LEAD", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"]
    form = form_of(page)
    keys = form["key"]
    form["label"][keys.index("LEAD")] = "Inbound lead"
    form["probability"][keys.index("PROPOSAL")] = "150"  # the mistake
    form["position"][keys.index("NEGOTIATION")] = "1.5"  # dragged up under LEAD
    form["followup_days"][keys.index("QUALIFIED")] = "9"
    form["notify_owner_for"] = ["WON"]
    form["label"][-1], form["probability"][-1] = "Legal review", "85"  # the "add a stage" row
    refused = admin_client.post("/crm/settings", data=form)
    assert refused.status_code == 422
    page = soup(refused)
    assert "Nothing was saved" in page.get_text()
    assert order(page)[:6] == ["LEAD", "NEGOTIATION", "QUALIFIED", "PROPOSAL", "WON", "LOST"]
    row = {r["data-stage"]: r for r in page.select(".stage-list > li")}
    assert row["LEAD"].select_one("input[name=label]")["value"] == "Inbound lead"
    assert row["QUALIFIED"].select_one("input[name=followup_days]")["value"] == "9"
    assert row["WON"].select_one("input[name=notify_owner_for]").has_attr("checked")
    assert row["PROPOSAL"].select_one("input[name=probability]")["value"] == "150"
    assert "probability must be a whole number from 0 to 100" in row["PROPOSAL"].select_one(".stage-errors").get_text()
    assert not row["LEAD"].select(".stage-errors")
    typed_new = page.select(".stage-list > li")[-1]
    assert typed_new.select_one("input[name=label]")["value"] == "Legal review"
    # fixing the one mistake saves everything that was kept
    form = form_of(page)
    form["probability"][form["key"].index("PROPOSAL")] = "60"
    assert admin_client.post("/crm/settings", data=form).status_code == 302
    saved = admin_client.get("/api/crm/stages").get_json()
    assert [s["key"] for s in saved] == ["LEAD", "NEGOTIATION", "QUALIFIED", "PROPOSAL", "WON", "LOST", "LEGAL_REVIEW"]
    by_key = {s["key"]: s for s in saved}
    assert by_key["LEAD"]["label"] == "Inbound lead" and by_key["QUALIFIED"]["followup_days"] == 9
    assert by_key["LEGAL_REVIEW"]["probability"] == 85
    assert [k for k, s in by_key.items() if s["notify_owner"]] == ["WON"]


def test_no_delete_for_the_only_won_or_lost_stage(admin_client):
    page = soup(admin_client.get("/crm/settings"))
    row = {r["data-stage"]: r for r in page.select(".stage-list > li")}
    for key, reason in (("WON", "The only won stage"), ("LOST", "The only lost stage")):
        assert row[key].select_one(".stage-actions button[disabled]"), key
        assert reason in row[key].select_one(".btn-reason").get_text()
        assert not page.select(f"form#stage-delete-{key}")
    assert page.select("form#stage-delete-PROPOSAL") and not row["PROPOSAL"].select("button[disabled]")


def test_without_crm_delete_every_delete_is_disabled_with_the_reason(app, make_user, tenant):
    client = app.test_client().login(make_user(tenant, "ADMIN"))
    page = soup(client.get("/crm/settings"))
    assert not page.select("form.stage-delete")
    for row in page.select(".stage-list > li"):
        assert "crm.delete" in row.select_one(".btn-reason").get_text()


def test_the_arrows_reorder_without_script_and_move_no_deal(admin_client):
    deal = new_deal(admin_client, stage="QUALIFIED")
    form = form_of(soup(admin_client.get("/crm/settings")))
    assert admin_client.post("/crm/settings", data=dict(form, move="QUALIFIED:up")).status_code == 302
    assert [s["key"] for s in admin_client.get("/api/crm/stages").get_json()][:2] == ["QUALIFIED", "LEAD"]
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] == "QUALIFIED"
    page = soup(admin_client.get("/crm/settings"))
    assert order(page)[:2] == ["QUALIFIED", "LEAD"]
    assert "1 deal" in page.select_one('.stage-list > li[data-stage="QUALIFIED"] .stage-meta').get_text()
