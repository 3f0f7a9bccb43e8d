"""Per-tenant pipeline stages: defaults, edits through PUT /stages and /crm/settings, and the
rules (one won, at least one lost, no deleting a stage that holds deals)."""
from tests.support.deals import new_deal

DEFAULTS = [("LEAD", 10, None), ("QUALIFIED", 20, None), ("PROPOSAL", 60, None), ("NEGOTIATION", 80, None),
            ("WON", 100, "won"), ("LOST", 0, "lost")]


def keys(client):
    return [s["key"] for s in client.get("/api/crm/stages").get_json()]


def test_defaults_are_created_on_first_use(admin_client):
    stages = admin_client.get("/api/crm/stages").get_json()
    assert [(s["key"], s["probability"], s["outcome"]) for s in stages] == DEFAULTS
    assert [s["position"] for s in stages] == list(range(6))
    assert admin_client.get("/api/crm/stages").get_json() == stages  # stable, not re-created


def test_add_rename_reorder_and_reweight(admin_client, other_admin_client):
    stages = admin_client.get("/api/crm/stages").get_json()
    stages[0]["label"] = "New lead"
    stages[2]["probability"] = 55
    stages.insert(2, {"key": "demo", "label": "Demo", "probability": 40, "outcome": None})
    stages[0], stages[1] = stages[1], stages[0]
    response = admin_client.put("/api/crm/stages", json=stages)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()
    assert [s["key"] for s in saved] == ["QUALIFIED", "LEAD", "DEMO", "PROPOSAL", "NEGOTIATION", "WON", "LOST"]
    assert saved[1]["label"] == "New lead" and saved[3]["probability"] == 55
    assert keys(other_admin_client) == [k for k, _, _ in DEFAULTS]  # other tenants untouched


def test_invalid_stage_lists_are_refused_whole(admin_client):
    good = admin_client.get("/api/crm/stages").get_json()
    bad_lists = [
        [dict(s, outcome="won") if s["key"] == "LOST" else s for s in good],  # two won, no lost
        [s for s in good if s["key"] != "WON"],  # no won
        [dict(s, probability=101) if s["key"] == "LEAD" else s for s in good],
        [dict(s, probability=True) if s["key"] == "LEAD" else s for s in good],
        [dict(s, probability="50") if s["key"] == "LEAD" else s for s in good],
        good + [dict(good[0])],  # duplicate key
        [dict(s, key="has space") if s["key"] == "LEAD" else s for s in good],
        [dict(s, label="") if s["key"] == "LEAD" else s for s in good],
        [dict(s, outcome="maybe") if s["key"] == "LEAD" else s for s in good],
        [],
    ]
    for body in bad_lists:
        response = admin_client.put("/api/crm/stages", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["fields"]
    assert admin_client.put("/api/crm/stages", json={"not": "a list"}).status_code == 422
    assert admin_client.put("/api/crm/stages", data="nope", content_type="application/json").status_code == 400
    assert admin_client.get("/api/crm/stages").get_json() == good


def test_a_stage_holding_deals_cannot_be_deleted_or_change_outcome(admin_client):
    new_deal(admin_client, stage="PROPOSAL")
    stages = admin_client.get("/api/crm/stages").get_json()
    without = [s for s in stages if s["key"] != "PROPOSAL"]
    response = admin_client.put("/api/crm/stages", json=without)
    assert response.status_code == 409
    assert "PROPOSAL (1 deals)" in response.get_json()["error"]["message"]
    flipped = [dict(s, outcome="lost") if s["key"] == "PROPOSAL" else s for s in stages]
    assert admin_client.put("/api/crm/stages", json=flipped).status_code == 409
    assert keys(admin_client) == [k for k, _, _ in DEFAULTS]
    # an empty stage can go
    empty_gone = [s for s in stages if s["key"] != "QUALIFIED"]
    assert admin_client.put("/api/crm/stages", json=empty_gone).status_code == 200
    assert "QUALIFIED" not in keys(admin_client)


def test_settings_page_edits_stages(admin_client):
    page = admin_client.get("/crm/settings")
    assert page.status_code == 200 and "Negotiation" in page.get_data(as_text=True)
    form = {"position": ["1", "2", "3", "4", "5", "6", "3.5"],
            "key": ["LEAD", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST", ""],
            "label": ["Lead", "Qualified", "Proposal sent", "Negotiation", "Won", "Lost", "Legal review"],
            "probability": ["10", "20", "60", "80", "100", "0", "90"],
            "outcome": ["", "", "", "", "won", "lost", ""]}
    response = admin_client.post("/crm/settings", data=form)
    assert response.status_code == 302
    stages = admin_client.get("/api/crm/stages").get_json()
    assert [s["key"] for s in stages] == ["LEAD", "QUALIFIED", "PROPOSAL", "LEGAL_REVIEW", "NEGOTIATION", "WON", "LOST"]
    assert stages[2]["label"] == "Proposal sent"
    form["outcome"][-1] = "won"  # two won stages
    refused = admin_client.post("/crm/settings", data=form)
    assert refused.status_code == 422 and "exactly one won stage" in refused.get_data(as_text=True)


def test_deleting_a_stage_in_settings_moves_its_deals_first(admin_client):
    a = new_deal(admin_client, stage="QUALIFIED")
    refused = admin_client.post("/crm/settings/stages/QUALIFIED/delete", data={}, follow_redirects=True)
    assert "choose a stage to move them to" in refused.get_data(as_text=True)
    assert "QUALIFIED" in keys(admin_client)
    wrong = admin_client.post("/crm/settings/stages/QUALIFIED/delete", data={"move_to": "LOST"}, follow_redirects=True)
    assert "same outcome" in wrong.get_data(as_text=True)
    page = admin_client.get("/crm/settings").get_data(as_text=True)
    assert 'aria-label="Move the deals of QUALIFIED to"' in page
    done = admin_client.post("/crm/settings/stages/QUALIFIED/delete", data={"move_to": "PROPOSAL"})
    assert done.status_code == 302
    assert "QUALIFIED" not in keys(admin_client)
    assert admin_client.get(f"/api/crm/deals/{a['id']}").get_json()["stage"] == "PROPOSAL"
    last_won = admin_client.post("/crm/settings/stages/WON/delete", data={}, follow_redirects=True)
    assert "exactly one won stage" in last_won.get_data(as_text=True)
    assert admin_client.post("/crm/settings/stages/NOPE/delete", data={}).status_code == 404
