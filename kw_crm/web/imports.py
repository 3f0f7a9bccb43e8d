"""The CSV import pages: upload -> preview -> Import contacts -> summary.

Served identically at /crm/import (``crm.import_page``) and /admin/crm/import
(``crm_admin.import_page``): the same view functions are registered on both blueprints and
link within the blueprint they were reached through. Between preview and import the upload
waits in the instance folder under a random token (never in the session cookie), in a folder
per tenant so a token of another tenant is simply not found."""
import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField

from ..errors import CrmError, TooLarge
from ..guard import current_actor
from ..inputs import body_limit
from ..services import customer_importer, import_jobs, importer
from ..tenancy import current_tenant_id, require_tenant_id
from . import admin_bp, render, web_bp
from .notices import notify
from .paging import Paging, paging

KIND_LABELS = {"contacts": "Contacts", "customers": "Customers (companies)"}
HISTORY_PAGE = 20

UPLOAD_ENDPOINTS = {"crm.import_page", "crm_admin.import_page",
                    "crm_api.import_preview", "crm_api.import_contacts", "crm_api.import_job_start"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_SECONDS = 24 * 3600
CLAIM_STALE_SECONDS = 5 * 60  # a running import touches its claim after every batch of 1,000 rows


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])
    kind = SelectField("What the file holds", choices=list(KIND_LABELS), default="contacts")


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the file is already on the server."""


def too_large_message() -> str:
    limit = current_app.config["CRM_MAX_IMPORT_BYTES"]
    return f"The file is larger than the import limit of {limit / (1024 * 1024):.0f} MB."


# --- server-side upload store ---------------------------------------------------------------

class UploadStore:
    """Uploaded CSVs and their import results under ``<CRM_IMPORT_DIR>/<tenant_id>/``."""

    def __init__(self):
        base = current_app.config.get("CRM_IMPORT_DIR") or os.path.join(current_app.instance_path, "crm_imports")
        self.folder = Path(base) / str(require_tenant_id())
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, token: str, suffix: str) -> Path:
        if not _TOKEN.match(token):
            abort(404)
        return self.folder / f"{token}{suffix}"

    def save(self, upload, kind: str = "contacts") -> str:
        self._forget_old()
        token = secrets.token_urlsafe(24)
        upload.save(self.path(token, ".csv"))  # streamed copy, never read whole
        (self.folder / f"{token}.name").write_text(os.path.basename(upload.filename or "upload.csv")[:200])
        (self.folder / f"{token}.kind").write_text(kind)
        return token

    def kind(self, token: str) -> str:
        path = self.path(token, ".kind")
        kind = path.read_text() if path.is_file() else "contacts"
        return kind if kind in KIND_LABELS else "contacts"

    def upload(self, token: str) -> Path:
        path = self.path(token, ".csv")
        if not path.is_file():
            abort(404)
        return path

    def claim(self, token: str) -> Path:
        """Take the upload for importing (an atomic rename), so a double-clicked Import runs
        once: the second request finds nothing and gets a 404. A claim whose import stopped
        beating (the worker was killed mid-run) expires after ``CLAIM_STALE_SECONDS`` and is
        released, so the same upload can be imported again."""
        claimed = self.path(token, ".importing")
        try:
            if time.time() - claimed.stat().st_mtime > CLAIM_STALE_SECONDS:
                claimed.rename(self.path(token, ".csv"))  # only one of two racing requests wins
        except FileNotFoundError:
            pass
        try:
            self.upload(token).rename(claimed)
        except FileNotFoundError:
            abort(404)
        return claimed

    def release(self, token: str) -> None:
        """Give a claimed upload back after a failed import, so it can be retried."""
        self.path(token, ".importing").rename(self.path(token, ".csv"))

    def filename(self, token: str) -> str:
        path = self.path(token, ".name")
        return path.read_text() if path.is_file() else "upload.csv"

    def store_result(self, token: str, result: importer.ImportResult) -> None:
        self.path(token, ".skipped.csv").write_bytes(result.skipped_rows_csv())
        self.path(token, ".json").write_text(json.dumps(result.as_dict()))
        self.path(token, ".importing").unlink(missing_ok=True)

    def result(self, token: str) -> dict:
        path = self.path(token, ".json")
        if not path.is_file():
            abort(404)
        return json.loads(path.read_text())

    def _forget_old(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for entry in self.folder.iterdir():
            if entry.stat().st_mtime < cutoff:
                entry.unlink(missing_ok=True)


# --- views (registered on both blueprints) ----------------------------------------------------

def _url(endpoint: str, **values) -> str:
    return url_for(f"{request.blueprint}.{endpoint}", **values)


def _upload_page(status: int = 200, form: UploadForm | None = None, error: CrmError | None = None):
    """The upload form with the tenant's import history below it."""
    paged = Paging(1, HISTORY_PAGE) if request.method != "GET" else paging(HISTORY_PAGE)
    history, total = [], 0
    if current_tenant_id() is not None:  # a 413 is answered before the guard has run
        history, total = import_jobs.history(HISTORY_PAGE, paged.offset)
    return render("import/upload.html", status, form=form or UploadForm(formdata=None), error=error,
                  history=history, history_total=total, page=paged.page, pages=paged.pages(total), kinds=KIND_LABELS)


@body_limit("CRM_MAX_IMPORT_BYTES")  # enforced before anything (even the CSRF check) reads the body
def import_page():
    form = UploadForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _upload_page(422, form)
        token = UploadStore().save(form.file.data, form.kind.data)
        return redirect(_url("import_preview", token=token))
    return _upload_page()


def import_preview(token: str):
    store = UploadStore()
    path = store.upload(token)
    kind = store.kind(token)
    module = customer_importer if kind == "customers" else importer
    try:
        with path.open("rb") as handle:
            preview = module.preview(handle)
    except CrmError as error:
        path.unlink(missing_ok=True)
        return _upload_page(error.status, error=error)
    return render("import/preview.html", preview=preview, token=token, form=ConfirmForm(), kind=kind,
                  filename=store.filename(token), fields=module.FIELDS,
                  as_job=_runs_as_job(kind, path.stat().st_size))


def _runs_as_job(kind: str, size: int) -> bool:
    """Customers always (the host creates each company), contacts above the size threshold."""
    return kind == "customers" or size > current_app.config["CRM_IMPORT_JOB_THRESHOLD_BYTES"]


def import_run(token: str):
    store = UploadStore()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    kind = store.kind(token)
    path = store.claim(token)
    if _runs_as_job(kind, path.stat().st_size):
        try:
            record = import_jobs.start_from_file(path, store.filename(token), kind, actor_id=current_actor().id)
        except CrmError as error:
            store.release(token)
            return _upload_page(error.status, error=error)
        path.unlink(missing_ok=True)
        return redirect(_url("import_job_page", import_id=record.id))
    try:
        with path.open("rb") as handle:
            result = importer.import_contacts(handle, progress=lambda *_: path.touch())  # the claim beats
    except CrmError as error:
        store.release(token)
        return _upload_page(error.status, error=error)
    except BaseException:
        store.release(token)
        raise
    store.store_result(token, result)
    notify(f"Imported: {result.created} created, {result.updated} updated, {result.skipped} skipped.")
    return redirect(_url("import_summary", token=token))


def import_summary(token: str):
    store = UploadStore()
    return render("import/summary.html", result=store.result(token), token=token,
                  filename=store.filename(token))


def import_skipped(token: str):
    store = UploadStore()
    store.result(token)  # 404 unless this tenant imported under that token
    return send_file(store.path(token, ".skipped.csv"), mimetype="text/csv", as_attachment=True,
                     download_name="skipped-rows.csv")


def import_job_page(import_id: int):
    """A job's live page: progress bar while it runs (survives a reload), outcome when done.
    Any admin of the tenant may open it (the link can be shared)."""
    record = import_jobs.get(import_id)
    return render("import/job.html", job=import_jobs.as_dict(record), kinds=KIND_LABELS, form=ConfirmForm())


def import_job_cancel(import_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        import_jobs.cancel(import_id)
        flash("Cancelling: nothing of this import will be kept.")
    except CrmError as error:
        if error.status == 404:
            raise
        flash(error.message)
    return redirect(_url("import_job_page", import_id=import_id))


def import_job_skipped(import_id: int):
    record = import_jobs.get(import_id)
    return send_file(import_jobs.errors_csv(record), mimetype="text/csv", as_attachment=True,
                     download_name=f"import-{record.id}-skipped-rows.csv")


def _too_large(exc):
    if request.endpoint not in UPLOAD_ENDPOINTS:
        return exc  # another page's upload: its own (default) answer
    return _upload_page(413, error=TooLarge(too_large_message()))


for blueprint in (web_bp, admin_bp):
    blueprint.add_url_rule("/import", "import_page", import_page, methods=["GET", "POST"])
    blueprint.add_url_rule("/import/<token>", "import_preview", import_preview, methods=["GET"])
    blueprint.add_url_rule("/import/<token>", "import_run", import_run, methods=["POST"])
    blueprint.add_url_rule("/import/<token>/summary", "import_summary", import_summary)
    blueprint.add_url_rule("/import/<token>/skipped.csv", "import_skipped", import_skipped)
    blueprint.add_url_rule("/import/jobs/<int:import_id>", "import_job_page", import_job_page)
    blueprint.add_url_rule("/import/jobs/<int:import_id>/cancel", "import_job_cancel", import_job_cancel,
                           methods=["POST"])
    blueprint.add_url_rule("/import/jobs/<int:import_id>/skipped.csv", "import_job_skipped", import_job_skipped)
    blueprint.register_error_handler(RequestEntityTooLarge, _too_large)
