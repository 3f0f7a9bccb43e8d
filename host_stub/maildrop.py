"""``flask maildrop PATH``: the stand-in host's mail system. Reads an ``.eml`` file, a folder of
them or a maildir (``cur/`` and ``new/``), turns each message into the CRM's capture shape and
hands the batch to ``kw_crm.capture.ingest_many`` — the same entry a real mail system would call.

Direction: a message sent by one of the tenant's users (or an address given with ``--mailbox``)
is outbound, anything else inbound. Thread: the first ``References`` id, else ``In-Reply-To``,
else the message's own id. A message without ``Message-ID`` gets a stable one made from its bytes,
so dropping the same file twice stores it once."""
import hashlib
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .features import get_or_create_tenant
from .models import User, db

BATCH = 500


def message_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "cur").is_dir() or (path / "new").is_dir():  # maildir
        return sorted(p for folder in ("cur", "new") if (path / folder).is_dir()
                      for p in (path / folder).iterdir() if p.is_file())
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".eml")


def _ids(header) -> list[str]:
    return [part for part in str(header or "").split() if part.startswith("<") and part.endswith(">")]


def _body(message) -> tuple[str, str]:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", "text/plain"
    try:
        text = part.get_content()
    except (LookupError, UnicodeDecodeError):
        text = part.get_payload(decode=True).decode("utf-8", "replace")
    return text, "text/html" if part.get_content_type() == "text/html" else "text/plain"


def to_capture(raw: bytes, own_addresses: set[str], mode: str, received: str | None = None) -> dict:
    """One RFC 5322 message as the CRM's capture input; without a ``Date`` header it happened when
    it was received (the file's time)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    sender = next((a for _, a in getaddresses([str(message.get("From", ""))]) if a), "")
    recipients = [a for _, a in getaddresses([str(message.get(h, "")) for h in ("To", "Cc")]) if a]
    message_id = (_ids(message.get("Message-ID")) or [f"<{hashlib.sha256(raw).hexdigest()}@maildrop>"])[0]
    thread = (_ids(message.get("References")) or _ids(message.get("In-Reply-To")) or [message_id])[0]
    try:
        occurred = parsedate_to_datetime(str(message.get("Date"))).isoformat()
    except (TypeError, ValueError):
        occurred = received
    body, content_type = _body(message)
    return {"message_id": message_id, "thread_id": thread, "sender": sender, "recipients": recipients,
            "direction": "outbound" if sender.lower() in own_addresses else "inbound",
            "subject": str(message.get("Subject", "")), "body": body, "content_type": content_type,
            "occurred_at": occurred, "channel": "email", "capture_mode": mode}


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()


def drop(tenant_id: int, path: Path, mailboxes=()) -> dict:
    """Capture every message under ``path`` for the tenant; returns counts by outcome."""
    from kw_crm import capture

    own = {e.lower() for e in db.session.scalars(select(func.lower(User.email)).where(User.tenant_id == tenant_id))}
    own |= {m.lower() for m in mailboxes}
    mode = "sync" if path.is_dir() and ((path / "cur").is_dir() or (path / "new").is_dir()) else "import"
    counts = {"linked": 0, "review": 0, "duplicate": 0, "rejected": 0}
    rejected = []
    files = message_files(path)
    for start in range(0, len(files), BATCH):
        batch = files[start:start + BATCH]
        results = capture.ingest_many(tenant_id, [to_capture(f.read_bytes(), own, mode, _mtime(f)) for f in batch],
                                      capture_source="maildrop")
        for file, result in zip(batch, results, strict=True):
            key = "duplicate" if result.get("duplicate") else result["status"]
            counts[key] += 1
            if result["status"] == "rejected":
                rejected.append((file.name, result["errors"]))
    counts["rejected_files"] = rejected
    return counts


@click.command("maildrop")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--tenant", "tenant_name", default="default", show_default=True)
@click.option("--mailbox", multiple=True, help="An address of ours besides the tenant's users (repeatable).")
@with_appcontext
def maildrop(path, tenant_name, mailbox):
    """Capture the mail in PATH (.eml file, folder of .eml files or maildir) into the CRM."""
    tenant = get_or_create_tenant(tenant_name, current_app.config["PORTAL_DEFAULT_FEATURES"])
    db.session.commit()
    counts = drop(tenant.id, path, mailbox)
    click.echo(f"linked {counts['linked']}, waiting for review {counts['review']}, "
               f"already captured {counts['duplicate']}, rejected {counts['rejected']}")
    for name, errors in counts["rejected_files"]:
        click.echo(f"  {name}: " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()), err=True)
