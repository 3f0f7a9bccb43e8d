"""host_stub's mail-drop: .eml files and maildirs captured through kw_crm.capture, idempotently."""
import shutil
from pathlib import Path

from tests.support.comms import contact, customer

DEMO_MAIL = Path(__file__).parent.parent / "host_stub" / "demo_mail"


def _maildir(tmp_path, names):
    for folder in ("cur", "new", "tmp"):
        (tmp_path / folder).mkdir()
    for name in names:
        shutil.copy(DEMO_MAIL / name, tmp_path / "new" / name.replace(".eml", ""))
    return tmp_path


def test_maildrop_captures_threads_and_queues(app, admin_client, tenant, tmp_path):
    acme = customer(admin_client, "Acme")
    jane = contact(admin_client, "jane.smith@acmeltd.example.com", acme, first="Jane", last="Smith")
    contoso = customer(admin_client, "Contoso", billing_email="billing@contoso.example")
    folder = _maildir(tmp_path, ["01-jane-quote.eml", "02-ada-reply.eml", "03-contoso-invoice.eml",
                                 "04-newsletter.eml"])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["maildrop", str(folder), "--tenant", tenant.name, "--mailbox", "admin@example.com"])
    assert result.exit_code == 0, result.output
    assert "linked 3, waiting for review 1, already captured 0, rejected 0" in result.output

    threads = admin_client.get(f"/api/crm/customers/{acme}/conversations").get_json()
    assert [(t["thread_id"], t["message_count"]) for t in threads] == [("<quote-1@acmeltd.example.com>", 2)]
    timeline = admin_client.get(f"/api/crm/contacts/{jane}/timeline").get_json()
    assert [(e["direction"], e["provenance"]["capture_source"], e["provenance"]["capture_mode"]) for e in timeline] == [
        ("outbound", "maildrop", "sync"), ("inbound", "maildrop", "sync")]
    invoice = admin_client.get(f"/api/crm/customers/{contoso}/communications").get_json()[0]
    assert invoice["summary"].startswith("Hello,\n\ninvoice INV-4411 lists 12 licences")  # HTML shown as text
    assert invoice["contact_id"] is None and invoice["provenance"]["matched_address"] == "billing@contoso.example"
    assert admin_client.get("/api/crm/captures/review").get_json()[0]["sender"] == "newsletter@vendor-news.example"

    again = runner.invoke(args=["maildrop", str(folder), "--tenant", tenant.name])
    assert "linked 0, waiting for review 0, already captured 4, rejected 0" in again.output


def test_single_file_multipart_and_a_message_without_id(app, admin_client, tenant, tmp_path):
    single = app.test_cli_runner().invoke(
        args=["maildrop", str(DEMO_MAIL / "06-bluebird.eml"), "--tenant", tenant.name]).output
    assert "waiting for review 1" in single
    item = admin_client.get("/api/crm/captures/review").get_json()[0]
    assert item["preview"].startswith("The printer in treatment room 2")  # the text/plain part
    assert item["capture_mode"] == "import"
    raw = b"From: someone@else.test\r\nTo: me@us.test\r\nSubject: no id\r\n\r\nbody\r\n"
    (tmp_path / "x.eml").write_bytes(raw)
    for _ in range(2):
        runner_output = app.test_cli_runner().invoke(args=["maildrop", str(tmp_path / "x.eml"), "--tenant", tenant.name]).output
    assert "already captured 1" in runner_output
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"Subject: nobody sent this\r\n\r\nbody\r\n")
    output = app.test_cli_runner().invoke(args=["maildrop", str(bad), "--tenant", tenant.name]).output
    assert "rejected 1" in output and "sender" in output
