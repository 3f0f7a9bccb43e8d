"""The pipeline as a workspace: owners on cards and rows, the owner filter and search on the board,
Won/Lost columns, "N more" into the paged sortable table, per-stage stale thresholds."""
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup

from kw_crm.db import utcnow
from kw_crm.models import Deal
from kw_crm.services import stages as stage_service
from kw_crm.services.pipeline_view import CARDS_PER_COLUMN, PAGE_SIZE
from tests.support.deals import new_contact, new_customer, new_deal


def soup(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.data, "html.parser")


@pytest.fixture
def people(make_user, tenant):
    return {name: make_user(tenant, "ADMIN", name=name) for name in ("Ada Owner", "Bob Owner")}


def test_every_card_shows_its_owner_and_the_owner_filter_narrows_the_board(admin_client, people):
    ada, bob = people["Ada Owner"], people["Bob Owner"]
    new_deal(admin_client, title="Ada's deal", owner_id=ada.id, value_cents=100)
    new_deal(admin_client, title="Bob's deal", owner_id=bob.id, value_cents=250, stage="PROPOSAL")
    page = soup(admin_client.get("/crm/deals"))
    owners = {c.select_one(".deal-title").string: c.select_one(".deal-owner").get_text() for c in page.select(".deal-card")}
    assert owners == {"Ada's deal": "Owner: Ada Owner", "Bob's deal": "Owner: Bob Owner"}
    filtered = soup(admin_client.get(f"/crm/deals?owner_id={bob.id}"))
    assert [c.select_one(".deal-title").string for c in filtered.select(".deal-card")] == ["Bob's deal"]
    assert filtered.select_one('[data-stage="LEAD"] .deal-count').string == "0"  # totals follow the filter
    assert filtered.select_one('[data-stage="PROPOSAL"] .deal-totals').get_text(strip=True) == "2.50 USD"
    assert filtered.select_one("#deal-owner option[selected]")["value"] == str(bob.id)


def test_board_search_matches_title_contact_and_customer(admin_client, tenant, crm_scope, app):
    customer_id = new_customer(app, tenant, name="Zebra Holdings")
    contact_id = new_contact(crm_scope, tenant, first="Quentin", last="Blake")
    new_deal(admin_client, title="Roof repair")
    new_deal(admin_client, title="Windows", contact_id=contact_id)
    new_deal(admin_client, title="Doors", customer_id=customer_id)
    new_deal(admin_client, title="100% discount_deal")

    def titles(q):
        page = soup(admin_client.get("/crm/deals", query_string={"q": q}))
        return sorted(c.select_one(".deal-title").string for c in page.select(".deal-card"))

    assert titles("ROOF") == ["Roof repair"]
    assert titles("quentin bl") == ["Windows"]
    assert titles("zebra") == ["Doors"]
    assert titles("100%") == ["100% discount_deal"] and titles("t_d") == ["100% discount_deal"]
    assert titles("nothing like it") == []
    api = admin_client.get("/api/crm/deals?q=zebra").get_json()
    assert [d["title"] for d in api] == ["Doors"]  # the API list searches the same way


def test_won_and_lost_columns_collapse_when_hidden_or_empty(admin_client):
    lost = new_deal(admin_client, title="Gone")
    admin_client.post(f"/api/crm/deals/{lost['id']}/close", json={"outcome": "lost"})
    hidden = soup(admin_client.get("/crm/deals"))
    for key in ("WON", "LOST"):
        assert "is-collapsed" in hidden.select_one(f'[data-stage="{key}"]')["class"]
    assert hidden.select_one('[data-stage="LOST"] .deal-count').string == "1"
    link = hidden.select_one('[data-stage="LOST"] .crm-more a')
    assert link.get_text() == "1 lost deal" and "stage=LOST" in link["href"]
    shown = soup(admin_client.get("/crm/deals?closed=1"))
    assert "is-collapsed" in shown.select_one('[data-stage="WON"]')["class"]  # empty
    assert "is-collapsed" not in shown.select_one('[data-stage="LOST"]')["class"]
    assert [c.string for c in shown.select('[data-stage="LOST"] .deal-title')] == ["Gone"]
    table = soup(admin_client.get(link["href"]))
    assert [r.select_one("a").string for r in table.select("#deal-table tbody tr")] == ["Gone"]


def bulk_deals(crm_scope, tenant, owner_ids, n, **fields):
    now = utcnow()
    with crm_scope(tenant) as session:
        stage = stage_service.by_key(fields.pop("stage", "LEAD"))
        session.add_all(Deal(title=f"Bulk {i:03d}", value_cents=i * 10, currency=("USD", "EUR")[i % 2], stage=stage,
                             owner_id=owner_ids[i % len(owner_ids)], created_at=now - timedelta(days=i),
                             stage_changed_at=now - timedelta(days=i, hours=1),
                             expected_close_date=date(2026, 1, 1) + timedelta(days=(i * 37) % 300) if i % 5 else None,
                             **fields) for i in range(n))
        session.commit()


def test_a_full_column_says_how_many_more_and_links_to_the_table(admin_client, crm_scope, tenant, people):
    bulk_deals(crm_scope, tenant, [people["Ada Owner"].id], CARDS_PER_COLUMN + 7)
    page = soup(admin_client.get("/crm/deals?q=bulk"))
    lead = page.select_one('[data-stage="LEAD"]')
    assert len(lead.select(".deal-card")) == CARDS_PER_COLUMN
    more = lead.select_one("[data-more]")
    assert more.string == "7 more" and "stage=LEAD" in more["href"] and "q=bulk" in more["href"]
    table = soup(admin_client.get(more["href"]))
    assert table.select_one("#deal-total").get_text().startswith(f"{CARDS_PER_COLUMN + 7} deals")


SORT_KEYS = {
    "title": lambda d: d["title"].lower(),
    "value": lambda d: (d["currency"], d["value_cents"]),
    "owner": lambda d: d["owner"],
    "created": lambda d: d["created"],
    "age": lambda d: d["changed"],
}


@pytest.mark.parametrize("sort", ["title", "-title", "value", "-value", "owner", "-owner", "created", "-created",
                                  "age", "close", "-close", "stage"])
def test_table_sorts_and_pages_like_python(admin_client, crm_scope, tenant, people, sort):
    bulk_deals(crm_scope, tenant, [people["Ada Owner"].id, people["Bob Owner"].id], PAGE_SIZE + 20)
    new_deal(admin_client, title="later stage", stage="PROPOSAL", owner_id=people["Bob Owner"].id)
    rows = []
    for page in (1, 2):
        html = soup(admin_client.get("/crm/deals/table", query_string={"sort": sort, "page": page}))
        rows += [{"id": int(r["data-deal-id"]), "title": r.select_one("a").string,
                  "owner": r.select_one(".deal-owner").string, "stage": r.select("td")[2].string,
                  "close": r.select("td")[5].contents[0].strip() if r.select("td")[5].contents else ""}
                 for r in html.select("#deal-table tbody tr")]
    assert len(rows) == PAGE_SIZE + 21 and len({r["id"] for r in rows}) == len(rows)
    with crm_scope(tenant) as session:
        stored = {d.id: {"title": d.title, "value_cents": d.value_cents, "currency": d.currency,
                         "created": d.created_at, "changed": d.stage_changed_at, "close": d.expected_close_date,
                         "position": d.stage.position,
                         "owner": "Ada Owner" if d.owner_id == people["Ada Owner"].id else "Bob Owner"}
                  for d in session.query(Deal)}
    key, descending = sort.lstrip("-"), sort.startswith("-")
    ids = [r["id"] for r in rows]
    if key == "close":  # no date last, either direction
        dated = sorted((i for i in ids if stored[i]["close"]), key=lambda i: (stored[i]["close"], i), reverse=descending)
        assert ids[:len(dated)] == dated and all(stored[i]["close"] is None for i in ids[len(dated):])
    elif key == "stage":
        assert [stored[i]["position"] for i in ids] == sorted(stored[i]["position"] for i in ids)
    else:
        assert ids == sorted(ids, key=lambda i: (SORT_KEYS[key](stored[i]), i), reverse=descending)


def test_table_filters_and_bad_input(admin_client, other_admin, crm_scope, tenant, people):
    bulk_deals(crm_scope, tenant, [people["Ada Owner"].id], 3)
    assert soup(admin_client.get(f"/crm/deals/table?owner_id={people['Bob Owner'].id}")).select_one(
        "#deal-total").get_text().startswith("0 deals")
    for query, message in (("sort=price", "Sort by one of"), ("page=0", "Page numbers are whole numbers from 1 up."),
                           ("page=abc", "Page numbers are whole numbers from 1 up."), ("stage=NOPE", "Unknown stage"),
                           (f"owner_id={other_admin.id}", "No user"), ("owner_id=x", "No user"),
                           ("q=" + "a" * 201, "at most 200 characters")):
        response = admin_client.get(f"/crm/deals/table?{query}")
        assert response.status_code == 422, query
        assert message in response.get_data(as_text=True), query
    assert admin_client.get(f"/crm/deals?owner_id={other_admin.id}").status_code == 422


def test_constant_queries_for_board_and_table(admin_client, crm_scope, tenant, people, count_queries):
    bulk_deals(crm_scope, tenant, [people["Ada Owner"].id], 1)  # an empty board skips the cards query

    def counted(url):
        with count_queries() as statements:
            assert admin_client.get(url).status_code == 200
        return len(statements)

    urls = ["/crm/deals?closed=1", f"/crm/deals?q=bulk&owner_id={people['Ada Owner'].id}",
            "/crm/deals/table?sort=owner", "/crm/deals/table?stale=1&closed=1&sort=-close&page=2"]
    few = [counted(u) for u in urls]
    bulk_deals(crm_scope, tenant, [people["Ada Owner"].id, people["Bob Owner"].id], 120)
    bulk_deals(crm_scope, tenant, [people["Bob Owner"].id], 30, stage="WON", closed_at=utcnow())
    assert [counted(u) for u in urls] == few


def test_stale_threshold_in_stage_settings_marks_board_table_and_forecast(admin_client, crm_scope, tenant):
    fresh = new_deal(admin_client, title="Fresh", stage="QUALIFIED")
    old = new_deal(admin_client, title="Sleeping", stage="QUALIFIED")
    with crm_scope(tenant) as session:
        session.get(Deal, old["id"]).stage_changed_at = utcnow() - timedelta(days=15)
        session.commit()
    stages = admin_client.get("/api/crm/stages").get_json()
    for s in stages:
        if s["key"] == "QUALIFIED":
            s["stale_after_days"] = 14
    response = admin_client.put("/api/crm/stages", json=stages)
    assert response.status_code == 200
    assert {s["key"]: s["stale_after_days"] for s in response.get_json()}["QUALIFIED"] == 14
    board = soup(admin_client.get("/crm/deals"))
    stale = {c.select_one(".deal-title").string for c in board.select(".deal-card.is-stale")}
    assert stale == {"Sleeping"}
    table = soup(admin_client.get("/crm/deals/table?stale=1"))
    assert [r.select_one("a").string for r in table.select("#deal-table tbody tr")] == ["Sleeping"]
    assert table.select_one("#deal-table .pill-stale").string == "stale"
    assert admin_client.get("/api/crm/forecast").get_json()["stale"]["total"] == 1
    # moving the deal resets its clock
    admin_client.post(f"/api/crm/deals/{old['id']}/stage", json={"stage": "PROPOSAL"})
    admin_client.post(f"/api/crm/deals/{old['id']}/stage", json={"stage": "QUALIFIED"})
    assert admin_client.get("/api/crm/forecast").get_json()["stale"]["total"] == 0
    # a PUT that leaves the field out keeps the threshold
    for s in stages:
        s.pop("stale_after_days", None)
    kept = admin_client.put("/api/crm/stages", json=stages).get_json()
    assert {s["key"]: s["stale_after_days"] for s in kept}["QUALIFIED"] == 14
    assert fresh


@pytest.mark.parametrize("bad", [0, -3, 3651, 10**12, "7", 1.5, True])
def test_absurd_thresholds_are_refused(admin_client, bad):
    stages = admin_client.get("/api/crm/stages").get_json()
    stages[0]["stale_after_days"] = bad
    response = admin_client.put("/api/crm/stages", json=stages)
    assert response.status_code == 422
    assert "stale_after_days" in " ".join(response.get_json()["error"]["fields"]["stages.0"])


def test_thresholds_belong_to_open_stages(admin_client):
    stages = admin_client.get("/api/crm/stages").get_json()
    won = next(i for i, s in enumerate(stages) if s["outcome"] == "won")
    stages[won]["stale_after_days"] = 10
    response = admin_client.put("/api/crm/stages", json=stages)
    assert response.status_code == 422 and f"stages.{won}" in response.get_json()["error"]["fields"]


def test_settings_form_sets_and_refuses_thresholds(admin_client):
    page = admin_client.get("/crm/settings").get_data(as_text=True)
    form = BeautifulSoup(page, "html.parser").select_one("#stages-form")
    fields = {}
    for element in form.select("input, select"):
        if element.name == "select":
            option = element.select_one("option[selected]") or element.select_one("option")
            value = option.get("value", "")
        else:
            value = element.get("value", "")
        fields.setdefault(element["name"], []).append(value)
    fields.pop("csrf_token")
    keys = fields["key"]
    fields["stale_after_days"][keys.index("LEAD")] = "5"
    saved = admin_client.post("/crm/settings", data=fields)
    assert saved.status_code == 302
    assert {s["key"]: s["stale_after_days"] for s in admin_client.get("/api/crm/stages").get_json()}["LEAD"] == 5
    fields["stale_after_days"][keys.index("LEAD")] = "-2"
    refused = admin_client.post("/crm/settings", data=fields)
    assert refused.status_code == 422 and "Stale after days must be" in refused.get_data(as_text=True)


def test_owner_shown_in_workspace_and_contact_deal_rows(admin_client, tenant, crm_scope, app, people):
    customer_id = new_customer(app, tenant, name="Owner Check Ltd")
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id)
    new_deal(admin_client, title="Owned", owner_id=people["Bob Owner"].id, contact_id=contact_id,
             customer_id=customer_id)
    workspace = soup(admin_client.get(f"/crm/customers/{customer_id}"))
    row = next(r for r in workspace.select("tr") if r.select_one("a") and r.select_one("a").string == "Owned")
    assert "Bob Owner" in row.get_text()
    contact = soup(admin_client.get(f"/crm/contacts/{contact_id}"))
    row = next(r for r in contact.select("#panel-deals tr") if r.select_one("a"))
    assert "Bob Owner" in row.get_text()


def test_a_stage_change_restarts_the_stage_clock(admin_client, crm_scope, tenant):
    deal = new_deal(admin_client)
    with crm_scope(tenant) as session:
        row = session.get(Deal, deal["id"])
        row.stage_changed_at = utcnow() - timedelta(days=40)
        session.commit()
    admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})
    with crm_scope(tenant) as session:
        assert utcnow() - session.get(Deal, deal["id"]).stage_changed_at < timedelta(minutes=1)


@pytest.mark.parametrize("q, status", [("%00", 422), ("a%1Fb", 422), ("%ED%A0%80", 200), ("%FF%FE", 200)])
def test_search_junk_is_refused_or_harmless(admin_client, q, status):
    for url in ("/crm/deals", "/crm/deals/table", "/api/crm/deals"):
        assert admin_client.get(f"{url}?q={q}").status_code == status, url
