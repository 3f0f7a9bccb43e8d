"""The host's mailer. ``memory`` keeps messages in a list (tests, demo inspection), ``log``
writes them to the log, ``file`` appends them as JSON lines to ``MAIL_FILE`` (a mail sink that
other processes — a Celery worker — can share), ``smtp`` sends through ``MAIL_SERVER``
(``MAIL_TIMEOUT`` seconds per network step)."""
import json
import logging
import smtplib
from email.message import EmailMessage


class MailDeliveryError(RuntimeError):
    """The mail server refused or could not be reached before it got the message: nothing was
    delivered, the caller may retry later."""


class MailDeliveryUncertain(MailDeliveryError):
    """The message data was sent but the server's verdict never came (a timeout or a dropped
    connection after DATA): it may have been delivered. Resending could double it."""

    delivery_uncertain = True


class Mailer:
    def __init__(self, app):
        self.app = app
        # The log backend is the demo's outbox: its lines must reach the console of ``flask run``.
        # A child of ``app.logger`` ("host_stub.mail"), so Flask's stderr handler on the app's
        # logger prints them when logging is not set up; at INFO, which Python drops by default.
        self.log = app.logger.getChild("mail")
        if self.log.level == logging.NOTSET:
            self.log.setLevel(logging.INFO)
        self.outbox: list[dict] = []
        # Test switch standing in for an unreachable SMTP server: the next N sends fail.
        self.fail_next = 0

    @property
    def backend(self) -> str:
        return self.app.config["MAIL_BACKEND"]

    def send(self, to: str, subject: str, body: str, *, message_id: str | None = None) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise MailDeliveryError("mail server unavailable")
        message = {"to": to, "subject": subject, "body": body, "message_id": message_id}
        if self.backend == "memory":
            self.outbox.append(message)
        elif self.backend == "smtp":
            self._send_smtp(message)
        elif self.backend == "file":
            with open(self.app.config["MAIL_FILE"], "a", encoding="utf-8") as sink:
                sink.write(json.dumps(message) + "\n")
        else:
            self.log.info("mail to %s: %s\n%s", to, subject, body)
            self.outbox.append(message)

    def _send_smtp(self, message: dict) -> None:
        email = EmailMessage()
        email["From"] = sender = self.app.config["MAIL_FROM"]
        email["To"], email["Subject"] = message["to"], message["subject"]
        if message.get("message_id"):
            email["Message-ID"] = message["message_id"]
        email.set_content(message["body"])
        timeout = self.app.config.get("MAIL_TIMEOUT", 10)
        try:
            smtp = smtplib.SMTP(self.app.config["MAIL_SERVER"], self.app.config["MAIL_PORT"], timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailDeliveryError(str(exc)) from exc
        try:
            try:  # up to RCPT nothing is delivered: a failure here is safe to retry
                smtp.ehlo_or_helo_if_needed()
                smtp.mail(sender)
                code, reply = smtp.rcpt(message["to"])
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({message["to"]: (code, reply)})
            except (OSError, smtplib.SMTPException) as exc:
                raise MailDeliveryError(str(exc)) from exc
            try:
                code, reply = smtp.data(email.as_bytes())
            except smtplib.SMTPDataError as exc:  # the server answered: it refused the message
                raise MailDeliveryError(str(exc)) from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise MailDeliveryUncertain(f"no answer after the message data was sent: {exc}") from exc
        finally:
            try:
                smtp.close()
            except OSError:
                pass
