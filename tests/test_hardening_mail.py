"""Mail that is never refused at send time, never doubled: single-line headers from the
moment a mail is queued, a stable Message-ID, and no blind resend when the SMTP server went
silent after the message data (issue 10). Runs the host's real SMTP client against a real
(local) SMTP server."""
from email import message_from_bytes

import pytest

from kw_crm import jobs
from tests.support.deals import make_retries_due, new_deal, outbox_rows
from tests.support.smtp_server import SmtpServer


@pytest.fixture
def smtp(app, monkeypatch):
    servers = []

    def start(**kwargs):
        server = SmtpServer(**kwargs)
        servers.append(server)
        for key, value in {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port,
                           "MAIL_TIMEOUT": 1}.items():
            monkeypatch.setitem(app.config, key, value)
        return server
    yield start
    for server in servers:
        server.close()


def test_a_title_with_line_breaks_still_mails_the_owner(app, admin_client, smtp):
    server = smtp()
    deal = new_deal(admin_client, title="Big one\r\nBcc: spy@evil.example")
    assert admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "WON"}).status_code == 200
    assert len(server.messages) == 1
    mail = message_from_bytes(server.messages[0])
    assert mail["Subject"] == "Deal won: Big one Bcc: spy@evil.example" and mail["Bcc"] is None
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@kw-crm.invalid>")
    assert [status for status, _, _ in outbox_rows(app, f"deal-won:{deal['id']}:")] == ["done"]


def test_a_silent_server_after_data_is_recorded_as_uncertain_and_never_resent(app, admin_client, smtp):
    server = smtp(hang_after_data=True)
    deal = new_deal(admin_client, title="Quiet server")
    assert admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "WON"}).status_code == 200
    assert len(server.messages) == 1
    with app.app_context():
        jobs.run_due()  # a worker comes by later: nothing to retry
    assert len(server.messages) == 1
    (status, attempts, _), = outbox_rows(app, f"deal-won:{deal['id']}:")
    assert (status, attempts) == ("failed", 1)
    assert _mail_job(app, deal["id"]).last_error.startswith("delivery uncertain, not resent")


def _mail_job(app, deal_id):
    from host_stub.models import db
    from kw_crm.models import Job
    from kw_crm.tenancy import ALL_TENANTS

    with app.app_context():
        job = db.session.scalar(db.select(Job).where(Job.dedupe_key.startswith(f"deal-won:{deal_id}:"))
                                .execution_options(**ALL_TENANTS))
        db.session.expunge(job)
        return job


def test_every_attempt_carries_the_same_message_id(app, admin_client, outbox):
    app.extensions["host_stub"].mailer.fail_next = 1
    deal = new_deal(admin_client, title="Retry me")
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "WON"})
    assert outbox == []
    queued_id = _mail_job(app, deal["id"]).payload["message_id"]
    make_retries_due(app, f"deal-won:{deal['id']}:")
    with app.app_context():
        jobs.run_due()
    assert [m["message_id"] for m in outbox] == [queued_id]
