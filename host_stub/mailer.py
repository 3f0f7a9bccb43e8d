"""The host's mailer. ``memory`` keeps messages in a list (tests, demo inspection), ``log``
writes them to the log, ``file`` appends them as JSON lines to ``MAIL_FILE`` (a mail sink that
other processes — a Celery worker — can share), ``smtp`` sends through ``MAIL_SERVER``."""
import json
import logging
import smtplib
from email.message import EmailMessage


class MailDeliveryError(RuntimeError):
    """The mail server refused or could not be reached; the caller may retry later."""


class Mailer:
    def __init__(self, app):
        self.app = app
        self.outbox: list[dict] = []
        # Test switch standing in for an unreachable SMTP server: the next N sends fail.
        self.fail_next = 0

    @property
    def backend(self) -> str:
        return self.app.config["MAIL_BACKEND"]

    def send(self, to: str, subject: str, body: str) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise MailDeliveryError("mail server unavailable")
        message = {"to": to, "subject": subject, "body": body}
        if self.backend == "memory":
            self.outbox.append(message)
        elif self.backend == "smtp":
            self._send_smtp(message)
        elif self.backend == "file":
            with open(self.app.config["MAIL_FILE"], "a", encoding="utf-8") as sink:
                sink.write(json.dumps(message) + "\n")
        else:
            logging.getLogger("host_stub.mail").info("mail to %s: %s\n%s", to, subject, body)
            self.outbox.append(message)

    def _send_smtp(self, message: dict) -> None:
        email = EmailMessage()
        email["From"] = self.app.config["MAIL_FROM"]
        email["To"], email["Subject"] = message["to"], message["subject"]
        email.set_content(message["body"])
        try:
            with smtplib.SMTP(self.app.config["MAIL_SERVER"], self.app.config["MAIL_PORT"], timeout=10) as smtp:
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailDeliveryError(str(exc)) from exc
