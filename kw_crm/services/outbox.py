"""Mail through the job path: queued in the caller's transaction, sent after commit by
:mod:`kw_crm.jobs` (retried with backoff, one mail per ``dedupe_key``)."""
from .. import host, jobs
from ..models import Job


@jobs.job("mail", max_attempts=8)
def send_mail(payload: dict, _job: Job) -> None:
    host.send_mail(payload["to"], payload["subject"], payload["body"])


def queue_mail(to: str, subject: str, body: str, dedupe_key: str) -> Job | None:
    """Queue a mail unless one with ``dedupe_key`` exists already (then return ``None``)."""
    return jobs.enqueue("mail", {"to": to, "subject": subject, "body": body}, dedupe_key=dedupe_key)
