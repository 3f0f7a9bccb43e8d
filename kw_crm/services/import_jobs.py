"""Imports of any size in the background: the upload is stored, checked, and imported by a job
of the job path (``kw_crm.jobs``), with live progress, cancel, history and a notification.

The import itself is the same one transaction as the synchronous import (all or nothing); the
job only adds what a long run needs:

* the upload goes to the CRM's storage backend (shared by every machine that runs workers),
  checked up front (encoding, header, required columns) so a bad file is a 422 at once;
* live progress and the cancel request must cross the import's open transaction. On PostgreSQL
  they are the job's own row, written and read on a separate connection; SQLite allows one writer
  at a time, so there they live in a small file beside the uploads (:class:`LiveState`);
* the outcome (counts, first errors, the skipped-rows CSV, the notification mail) is written
  inside the import's transaction, so "done" and the imported rows commit together, and a
  worker that dies half-way leaves nothing but a ``running`` job that the job path hands to
  another worker, which starts the import again from the stored file;
* two imports of one tenant never interleave: on PostgreSQL the second waits on a
  transaction-scoped advisory lock, on SQLite on the database's single writer;
* retention: the upload is deleted when the job ends; skipped-rows reports and uploads of jobs
  that never ran are deleted after ``CRM_IMPORT_RETENTION_DAYS``."""
from __future__ import annotations

import io
import json
import os
import time
import zlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select, text, update

from .. import host, jobs
from ..db import commit, session, utcnow
from ..errors import Conflict, CrmError, Invalid, NotFound, TooLarge
from ..models import IMPORT_KINDS, ImportJob, Job
from ..models.import_job import FINISHED
from ..tenancy import require_tenant_id
from ..timestamps import iso_timestamp
from . import customer_importer, importer, outbox
from .storage import TooBig, get_storage, new_key

SHOWN_ERRORS = 100


class ImportCancelled(Exception):
    """Raised from the progress callback when someone pressed Cancel: the import rolls back."""


# --- starting ------------------------------------------------------------------------------------

class _CountingReader:
    """Passes an upload through while counting its line breaks (the row estimate)."""

    def __init__(self, stream):
        self.stream, self.lines, self.last = stream, 0, b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.lines += chunk.count(b"\n")
        if chunk:
            self.last = chunk[-1:]
        return chunk


def start(stream, filename: str, kind: str, *, actor_id: int | None) -> ImportJob:
    """Store the upload, check that it can be imported, and queue the job (202 for the API)."""
    if kind not in IMPORT_KINDS:
        raise Invalid({"kind": [f"Use one of: {', '.join(IMPORT_KINDS)}."]})
    _forget_expired()
    storage, key = get_storage(), new_key()
    counter = _CountingReader(stream)
    limit = current_app.config["CRM_MAX_IMPORT_BYTES"]
    try:
        size = storage.save(key, counter, limit)
    except TooBig:
        raise TooLarge(f"The file is larger than the import limit of {limit / (1024 * 1024):.0f} MB.") from None
    try:
        with storage.open(key) as handle:
            _check_header(handle, kind)
    except CrmError:
        storage.delete(key)
        raise
    lines = counter.lines + (1 if counter.last not in (b"", b"\n") else 0)
    record = ImportJob(kind=kind, filename=os.path.basename(filename or "upload.csv")[:255] or "upload.csv",
                       size_bytes=size, upload_key=key, total_rows=max(lines - 1, 0), errors=[],
                       created_by=actor_id)
    session.add(record)
    session.flush()
    jobs.enqueue("import", {"import_id": record.id}, dedupe_key=f"import:{record.id}")
    commit()
    return record


def _check_header(handle, kind: str) -> None:
    source = importer.open_csv(handle)
    if kind == "customers":
        customer_importer.map_headers(source.header)
    else:
        importer.map_headers(source.header)


def start_from_file(path: Path, filename: str, kind: str, *, actor_id: int | None) -> ImportJob:
    """A job for an upload the import page already holds (its preview was shown)."""
    with path.open("rb") as handle:
        return start(handle, filename, kind, actor_id=actor_id)


# --- reading -------------------------------------------------------------------------------------

def get(import_id) -> ImportJob:
    record = session.get(ImportJob, import_id) if isinstance(import_id, int) else None
    if record is None:
        raise NotFound("No such import.")
    return record


def history(limit: int, offset: int) -> tuple[list[ImportJob], int]:
    total = session.scalar(select(func.count()).select_from(ImportJob))
    rows = session.scalars(select(ImportJob).order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total


def as_dict(record: ImportJob) -> dict:
    live = LiveState(record).read() if record.status == "running" else {}
    processed = live.get("processed_rows", record.processed_rows)
    started, finished = record.started_at, record.finished_at
    elapsed = ((finished or utcnow()) - started).total_seconds() if started else 0
    errors_url = None
    if record.errors_key and has_request_context():
        errors_url = url_for("crm_api.import_job_errors", import_id=record.id)
    return {
        "id": record.id, "kind": record.kind, "status": record.status, "filename": record.filename,
        "size_bytes": record.size_bytes, "total_rows": record.total_rows, "processed_rows": processed,
        "created": live.get("created", record.created), "updated": live.get("updated", record.updated),
        "skipped": live.get("skipped", record.skipped), "errors": record.errors or [],
        "errors_csv_url": errors_url, "message": record.message,
        "cancel_requested": record.cancel_requested or bool(live.get("cancel_requested")),
        "rows_per_second": round(processed / elapsed) if elapsed > 0 else None,
        "created_by": record.created_by, "created_at": _iso(record.created_at),
        "started_at": _iso(started), "finished_at": _iso(finished),
    }


def _iso(value):
    return iso_timestamp(value) if value else None


def errors_csv(record: ImportJob):
    """The skipped-rows CSV of a finished job, as an open binary file."""
    if not record.errors_key:
        raise NotFound("This import has no skipped rows to download.")
    try:
        return get_storage().open(record.errors_key)
    except FileNotFoundError:
        raise NotFound("The skipped-rows report of this import has been deleted (retention).") from None


# --- cancelling ----------------------------------------------------------------------------------

def cancel(import_id) -> ImportJob:
    """Stop a queued job at once, a running one at its next progress report (nothing of it is
    committed); a finished job cannot be cancelled (409)."""
    record = get(import_id)
    if record.status in FINISHED:
        raise Conflict(f"This import has already ended ({record.status}); there is nothing to cancel.")
    if record.status == "queued":
        _finish(record, "cancelled", "Cancelled before it started.")
        commit()
        _delete_upload(record)
        return record
    LiveState(record).request_cancel()
    return record


# --- the job -------------------------------------------------------------------------------------

def _mark_failed(payload: dict, error: str) -> None:
    record = session.get(ImportJob, payload.get("import_id"))
    if record is not None and record.status not in FINISHED:
        _finish(record, "failed", f"The import could not run: {error}")
        _notify(record)
        _delete_upload(record)


@jobs.job("import", max_attempts=3, on_failure=_mark_failed)
def run(payload: dict, job: Job) -> None:
    record = session.get(ImportJob, payload["import_id"])
    if record is None or record.status in FINISHED:
        return
    live = LiveState(record, job_id=job.id)
    if record.cancel_requested or live.cancel_requested():
        _finish(record, "cancelled", "Cancelled before it started.")
        _delete_upload(record)
        return
    record.status, record.started_at, record.heartbeat_at = "running", utcnow(), utcnow()
    record.processed_rows = record.created = record.updated = record.skipped = 0
    record.message = None
    session.commit()
    live.reset()
    import_id, kind, upload_key, actor_id = record.id, record.kind, record.upload_key, record.created_by
    try:
        _wait_for_other_imports(import_id)
        with get_storage().open(upload_key) as handle:
            if kind == "customers":
                customer_importer.import_customers(handle, actor_id=actor_id, progress=live.progress,
                                                   before_commit=lambda result: _done(import_id, result))
            else:
                importer.import_contacts(handle, progress=live.progress,
                                         before_commit=lambda result: _done(import_id, result))
    except ImportCancelled:
        _end(import_id, "cancelled", "Cancelled while importing; nothing was imported.", notify=False)
    except FileNotFoundError:
        _end(import_id, "failed", "The uploaded file is no longer there (deleted after the retention period).")
    except CrmError as error:  # a file or row the rules refuse: retrying cannot help
        _end(import_id, "failed", error.message)
    else:
        _delete_upload(session.get(ImportJob, import_id))
    finally:
        live.discard()


def _wait_for_other_imports(import_id: int) -> None:
    """One import per tenant at a time, so each one's created/updated counts are exact: on
    PostgreSQL a lock held until this transaction ends (a second job waits here). SQLite has one
    writer: a first write takes it now, before this import reads anything (a second job waits
    for it, or retries once the busy timeout is over)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"kw_crm_import:{require_tenant_id()}".encode()) - 2**31
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(update(ImportJob).where(ImportJob.id == import_id).values(heartbeat_at=utcnow()))


def _done(import_id: int, result: importer.ImportResult) -> None:
    """Inside the import's transaction: the outcome commits with the rows."""
    record = session.get(ImportJob, import_id)
    errors_csv = result.skipped_rows_csv()
    if result.skipped and errors_csv:
        key = new_key()
        get_storage().save(key, io.BytesIO(errors_csv), len(errors_csv))
        record.errors_key = key
    record.created, record.updated, record.skipped = result.created, result.updated, result.skipped
    record.processed_rows = record.total_rows = result.rows
    record.errors = result.errors[:SHOWN_ERRORS]
    _finish(record, "done", None)
    _notify(record)


def _end(import_id: int, status: str, message: str, *, notify: bool = True) -> None:
    record = session.get(ImportJob, import_id)
    _finish(record, status, message)
    if notify:
        _notify(record)
    session.commit()
    _delete_upload(record)


def _finish(record: ImportJob, status: str, message: str | None) -> None:
    record.status, record.message, record.finished_at = status, message, utcnow()


def _notify(record: ImportJob) -> None:
    """A mail to the admin who started the import (through the job path, once per job)."""
    if record.created_by is None:
        return
    user = host.active_tenant_user(record.created_by)
    if user is None or not getattr(user, "email", None):
        return
    what = "Customer" if record.kind == "customers" else "Contact"
    if record.status == "done":
        subject = f"{what} import finished: {record.filename}"
        body = (f"Your import of {record.filename} finished: {record.created} created, {record.updated} "
                f"updated, {record.skipped} skipped.\n")
    else:
        subject = f"{what} import failed: {record.filename}"
        body = f"Your import of {record.filename} did not complete and nothing was imported.\n\n{record.message}\n"
    outbox.queue_mail(user.email, subject, body, dedupe_key=f"import-job:{record.id}:{record.status}")


def _delete_upload(record: ImportJob | None) -> None:
    if record is not None and record.upload_key:
        get_storage().delete(record.upload_key)
        session.execute(update(ImportJob).where(ImportJob.id == record.id).values(upload_key=None))
        session.commit()


def _forget_expired() -> None:
    """Retention: delete old skipped-rows reports and uploads of jobs that never ran."""
    cutoff = utcnow() - timedelta(days=current_app.config["CRM_IMPORT_RETENTION_DAYS"])
    storage = get_storage()
    for record in session.scalars(select(ImportJob).where(
            ImportJob.created_at < cutoff,
            (ImportJob.errors_key.is_not(None)) | (ImportJob.upload_key.is_not(None))).limit(100)):
        for key in (record.errors_key, record.upload_key):
            if key:
                storage.delete(key)
        record.errors_key = record.upload_key = None
        if record.status not in FINISHED:
            _finish(record, "failed", "Its upload was deleted after the retention period before it ran.")


# --- live state ----------------------------------------------------------------------------------

@dataclass
class LiveState:
    """Progress and the cancel request of a running import, visible while its transaction is
    still open. Reports are written at most every ``CRM_IMPORT_PROGRESS_SECONDS``, so they cost
    next to nothing beside the import (benchmarks/import_jobs.py)."""

    record: ImportJob
    job_id: int | None = None

    def __post_init__(self):
        self.import_id = self.record.id
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.every = current_app.config["CRM_IMPORT_PROGRESS_SECONDS"]
        self._last = 0.0
        if not self.postgres:
            folder = Path(current_app.config.get("CRM_IMPORT_DIR")
                          or os.path.join(current_app.instance_path, "crm_imports")) / "live"
            folder.mkdir(parents=True, exist_ok=True)
            self._file = folder / f"{self.record.tenant_id}-{self.import_id}.json"
            self._cancel_file = folder / f"{self.record.tenant_id}-{self.import_id}.cancel"

    def progress(self, rows_read: int, result) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        counts = {"processed_rows": max(rows_read - 1, 0), "created": result.created,
                  "updated": result.updated, "skipped": result.skipped}
        if self.postgres:
            engine = current_app.extensions["sqlalchemy"].engine
            with engine.begin() as connection:
                table = ImportJob.__table__
                cancelled = connection.execute(update(table).where(table.c.id == self.import_id)
                                               .values(**counts, heartbeat_at=utcnow())
                                               .returning(table.c.cancel_requested)).scalar()
            if self.job_id is not None:
                jobs.heartbeat(self.job_id)
        else:
            tmp = self._file.with_suffix(".tmp")
            tmp.write_text(json.dumps(counts))
            tmp.replace(self._file)
            cancelled = self._cancel_file.exists()
        if cancelled:
            raise ImportCancelled()

    def read(self) -> dict:
        if self.postgres:
            return {}
        state = {}
        try:
            state = json.loads(self._file.read_text())
        except (FileNotFoundError, ValueError):
            pass
        state["cancel_requested"] = self._cancel_file.exists()
        return state

    def cancel_requested(self) -> bool:
        return False if self.postgres else self._cancel_file.exists()

    def request_cancel(self) -> None:
        if self.postgres:
            session.execute(update(ImportJob).where(ImportJob.id == self.import_id).values(cancel_requested=True))
            session.commit()
        else:
            self._cancel_file.touch()

    def reset(self) -> None:
        if not self.postgres:
            self._file.unlink(missing_ok=True)

    def discard(self) -> None:
        if not self.postgres:
            self._file.unlink(missing_ok=True)
            self._cancel_file.unlink(missing_ok=True)
