"""Import API: ``POST /api/crm/import/preview`` and ``POST /api/crm/import`` (multipart ``file``).

The upload size limit (``CRM_MAX_IMPORT_BYTES``, 413) is applied before the body is read
(``kw_crm.inputs.body_limit``). The file is streamed from werkzeug's spooled upload, never read whole."""
from flask import jsonify, request

from ..errors import Invalid
from ..inputs import body_limit
from ..services import importer
from . import api_bp


def _upload():
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": ["Send the CSV as multipart form field 'file'."]})
    return upload.stream


@api_bp.post("/import/preview")
@body_limit("CRM_MAX_IMPORT_BYTES")
def import_preview():
    """The column mapping and the first 10 data rows as they will be imported."""
    return jsonify(importer.preview(_upload()))


@api_bp.post("/import")
@body_limit("CRM_MAX_IMPORT_BYTES")
def import_contacts():
    """Import the file in one transaction: ``{created, updated, skipped, errors: [{row, message}]}``
    plus ``duplicates`` (rows repeating an earlier email, counted as updated) and
    ``ignored_columns``; ``errors`` lists at most the first 1000 skipped rows
    (``errors_truncated`` says when there were more)."""
    return jsonify(importer.import_contacts(_upload()).as_dict())
