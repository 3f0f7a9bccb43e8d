"""Mail through the job path: queued in the caller's transaction, sent after commit by
:mod:`kw_crm.jobs` (retried with backoff, one mail per ``dedupe_key``).

Three rules keep a mail from being lost or doubled:

- header values (recipient, subject) are made single-line when the mail is queued — a deal
  titled with CR/LF would otherwise be refused by every send attempt, and the owner never told;
- every mail gets its Message-ID when it is queued, so each attempt sends the same message and
  a receiving server (or the recipient's client) can recognise a repeat;
- when the host reports that the outcome is unknown (``delivery_uncertain`` on the exception:
  the SMTP connection died after the message data was sent), the job ends ``failed`` with that
  reason instead of being retried: the mail may have arrived, and a blind resend would double it."""
import re
from email.utils import make_msgid

from flask import current_app

from .. import host, jobs
from ..models import Job

_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
SUBJECT_MAX = 250


def header_value(value: str, limit: int = SUBJECT_MAX) -> str:
    """``value`` on one line: control characters and line breaks become single spaces."""
    return " ".join(_HEADER_BREAKS.sub(" ", value or "").split())[:limit]


@jobs.job("mail", max_attempts=8)
def send_mail(payload: dict, _job: Job) -> None:
    try:
        host.send_mail(header_value(payload["to"], 320), header_value(payload["subject"]), payload["body"],
                       message_id=payload.get("message_id"))
    except Exception as exc:
        if getattr(exc, "delivery_uncertain", False):
            raise jobs.GiveUp(f"delivery uncertain, not resent: {exc}") from exc
        raise


def queue_mail(to: str, subject: str, body: str, dedupe_key: str) -> Job | None:
    """Queue a mail unless one with ``dedupe_key`` exists already (then return ``None``)."""
    domain = current_app.config.get("CRM_MAIL_ID_DOMAIN") or "kw-crm.invalid"
    payload = {"to": header_value(to, 320), "subject": header_value(subject), "body": body,
               "message_id": make_msgid("crm", domain=domain)}
    return jobs.enqueue("mail", payload, dedupe_key=dedupe_key)
