"""WON mail: every path into the won stage queues exactly one mail to the owner; a failing
mailer neither undoes nor blocks the move, and the kept message is delivered later by
``flask crm deliver`` or the next CRM write request — never lost, never sent twice."""
import pytest

from tests.support.deals import mails_to, make_retries_due, new_deal, outbox_rows


def _via_stage(client, deal):
    return client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "WON"})


def _via_close(client, deal):
    return client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won", "reason": "Signed"})


def _via_patch(client, deal):
    return client.patch(f"/api/crm/deals/{deal['id']}", json={"stage": "WON", "version": deal["version"]})


def _via_bulk(client, deal):
    return client.post("/api/crm/deals/bulk-stage", json={"ids": [deal["id"]], "stage": "WON"})


def _via_page_move(client, deal):
    return client.post(f"/crm/deals/{deal['id']}/stage", data={"stage": "WON"})


def _via_page_close(client, deal):
    return client.post(f"/crm/deals/{deal['id']}/close", data={"outcome": "won", "reason": "Signed"})


def _via_page_bulk(client, deal):
    return client.post("/crm/deals/bulk-stage", data={"ids": [str(deal["id"])], "stage": "WON"})


def _via_page_edit(client, deal):
    return client.post(f"/crm/deals/{deal['id']}/edit", data={
        "title": deal["title"], "value": "5000.00", "currency": "USD", "stage": "WON", "expected_close_date": "",
        "owner_id": str(deal["owner_id"]), "contact_id": "", "customer_id": "", "notes": "",
        "version": str(deal["version"])})


PATHS = [_via_stage, _via_close, _via_patch, _via_bulk, _via_page_move, _via_page_close, _via_page_bulk,
         _via_page_edit]


@pytest.mark.parametrize("win", PATHS, ids=[p.__name__ for p in PATHS])
def test_every_path_into_won_mails_the_owner_exactly_once(app, admin_client, make_user, tenant, outbox, win):
    owner = make_user(tenant, "ADMIN", name="Olivia Owner")
    deal = new_deal(admin_client, title="Fleet renewal", owner_id=owner.id)
    response = win(admin_client, deal)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] == "WON"
    mails = mails_to(outbox, owner.email)
    assert len(mails) == 1
    assert "Fleet renewal" in mails[0]["subject"]
    assert "5,000.00 USD" in mails[0]["body"]
    # repeating the win changes nothing and mails nobody
    again = win(admin_client, admin_client.get(f"/api/crm/deals/{deal['id']}").get_json())
    assert again.status_code in (200, 302, 409)
    admin_client.post("/api/crm/deals", json={"title": "unrelated write"})
    assert len(mails_to(outbox, owner.email)) == 1
    assert outbox_rows(app, f"deal-won:{deal['id']}:") == [("done", 1, owner.email)]


def test_creating_a_deal_directly_in_won_mails_once(app, admin_client, admin, outbox):
    deal = new_deal(admin_client, stage="WON")
    assert deal["stage"] == "WON" and deal["closed_at"]
    assert len(mails_to(outbox, admin.email)) == 1


def test_moves_that_are_not_wins_send_no_mail(admin_client, admin, outbox):
    deal = new_deal(admin_client)
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "NEGOTIATION"})
    admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "lost"})
    assert mails_to(outbox, admin.email) == []


def test_a_failing_mailer_does_not_block_the_win_and_the_cli_delivers_it_once(app, admin_client, admin, outbox):
    deal = new_deal(admin_client)
    app.extensions["host_stub"].mailer.fail_next = 1
    response = admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})
    assert response.status_code == 200
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] == "WON"
    assert mails_to(outbox, admin.email) == []
    assert outbox_rows(app, f"deal-won:{deal['id']}:") == [("pending", 1, admin.email)]

    runner = app.test_cli_runner()
    runner.invoke(args=["crm", "deliver"])  # not due yet: the back-off holds it
    assert mails_to(outbox, admin.email) == []
    make_retries_due(app, f"deal-won:{deal['id']}:")
    result = runner.invoke(args=["crm", "deliver"])
    assert result.exit_code == 0, result.output
    assert len(mails_to(outbox, admin.email)) == 1
    make_retries_due(app, f"deal-won:{deal['id']}:")
    runner.invoke(args=["crm", "deliver"])
    admin_client.post("/api/crm/deals", json={"title": "another write"})
    assert len(mails_to(outbox, admin.email)) == 1
    assert outbox_rows(app, f"deal-won:{deal['id']}:") == [("done", 2, admin.email)]


def test_a_later_crm_write_request_retries_the_kept_mail(app, admin_client, admin, outbox):
    deal = new_deal(admin_client)
    app.extensions["host_stub"].mailer.fail_next = 2
    assert admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"}).status_code == 200
    make_retries_due(app, f"deal-won:{deal['id']}:")
    admin_client.post("/api/crm/deals", json={"title": "write 1"})  # the mailer is still down
    assert mails_to(outbox, admin.email) == []
    assert outbox_rows(app, f"deal-won:{deal['id']}:") == [("pending", 2, admin.email)]
    admin_client.get("/api/crm/deals")  # reads do not drain older messages
    assert mails_to(outbox, admin.email) == []
    make_retries_due(app, f"deal-won:{deal['id']}:")
    admin_client.post("/api/crm/deals", json={"title": "write 2"})
    assert len(mails_to(outbox, admin.email)) == 1
    make_retries_due(app, f"deal-won:{deal['id']}:")
    admin_client.post("/api/crm/deals", json={"title": "write 3"})
    assert len(mails_to(outbox, admin.email)) == 1


def test_the_log_mailer_records_the_won_mail_at_info(app, admin_client, monkeypatch, caplog):
    """The demo's mailer (``log``) keeps the WON mail visible: logged at INFO, which the
    ``host_stub.mail`` logger lets through (Python's default would drop it)."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "log")
    deal = new_deal(admin_client, title="Harbour cranes")
    assert _via_close(admin_client, deal).status_code == 200
    logged = [r.getMessage() for r in caplog.records if r.name == "host_stub.mail"]
    assert any("Deal won: Harbour cranes" in m and "Open it:" in m for m in logged), logged


def test_flask_run_prints_the_demo_mail_to_the_console(tmp_path):
    """What ``flask --app host_stub run`` shows: a fresh process with the default (log) mailer
    and no logging set up prints the mail on stderr."""
    import subprocess
    import sys

    script = ("from host_stub import create_app\n"
              f"app = create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/m.db', 'SECRET_KEY': 'x'}})\n"
              "assert app.config['MAIL_BACKEND'] == 'log'\n"
              "app.extensions['host_stub'].mailer.send('olivia@example.com', 'Deal won: Harbour cranes', 'Open it: /crm')\n")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("MAIL_BACKEND", "DATABASE_URL")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "mail to olivia@example.com: Deal won: Harbour cranes" in done.stderr
    assert "Open it: /crm" in done.stderr
