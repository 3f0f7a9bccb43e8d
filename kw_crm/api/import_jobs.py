"""Import jobs API: ``POST /api/crm/import/jobs`` (multipart ``file``, ``kind``) → 202, the
history, one job's live state, cancel, and the skipped-rows CSV."""
from flask import jsonify, request, send_file

from ..errors import Invalid
from ..guard import current_actor
from ..inputs import body_limit
from ..models import IMPORT_KINDS
from ..schemas.imports import ImportJobOut
from ..services import import_jobs
from . import api_bp, doc, list_response, page_params


@api_bp.post("/import/jobs")
@doc("Start an import job", files={"file": "The CSV file."}, response=ImportJobOut, status=202, tag="Import",
     form={"kind": {"type": "string", "enum": list(IMPORT_KINDS), "default": "contacts",
                    "description": "What the file holds."}},
     headers={"Location": "The job's URL."})
@body_limit("CRM_MAX_IMPORT_BYTES")
def import_job_start():
    """Store the file, check its header, queue the import: ``202 {id, status: "queued", ...}``."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": ["Send the CSV as multipart form field 'file'."]})
    kind = request.form.get("kind") or "contacts"
    record = import_jobs.start(upload.stream, upload.filename, kind, actor_id=current_actor().id)
    response = jsonify(import_jobs.as_dict(record))
    response.status_code = 202
    response.headers["Location"] = f"/api/crm/import/jobs/{record.id}"
    return response


@api_bp.get("/import/jobs")
@doc("Import job history", response=ImportJobOut, paged=True, tag="Import")
def import_job_history():
    """Every import job of the tenant, newest first (paged, ``X-Total-Count``)."""
    limit, offset = page_params()
    rows, total = import_jobs.history(limit, offset)
    return list_response([import_jobs.as_dict(row) for row in rows], total)


@api_bp.get("/import/jobs/<int:import_id>")
@doc("An import job's state", response=ImportJobOut, tag="Import")
def import_job_detail(import_id: int):
    return jsonify(import_jobs.as_dict(import_jobs.get(import_id)))


@api_bp.post("/import/jobs/<int:import_id>/cancel")
@doc("Cancel an import job", response=ImportJobOut, tag="Import")
def import_job_cancel(import_id: int):
    """Cancel a queued or running job (nothing of it is committed); 409 once it has ended."""
    return jsonify(import_jobs.as_dict(import_jobs.cancel(import_id)))


@api_bp.get("/import/jobs/<int:import_id>/errors.csv")
@doc("The skipped rows as CSV", content_type="text/csv", tag="Import")
def import_job_errors(import_id: int):
    """The skipped rows with their reasons (formula-safe CSV)."""
    record = import_jobs.get(import_id)
    return send_file(import_jobs.errors_csv(record), mimetype="text/csv", as_attachment=True,
                     download_name=f"import-{record.id}-skipped-rows.csv")
