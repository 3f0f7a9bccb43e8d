"""JSON shapes of the synchronous CSV import (preview and result)."""
from marshmallow import Schema, fields, validate

from ..models import IMPORT_KINDS, IMPORT_STATUSES
from ..services.importer import FIELDS
from .base import Timestamp


class _Column(Schema):
    header = fields.String(required=True)
    field = fields.String(allow_none=True, required=True, metadata={"description": "null: the column is ignored."})


_PreviewRow = Schema.from_dict({
    "row": fields.Integer(required=True, metadata={"description": "Line number in the file."}),
    **{name: fields.String(allow_none=True, required=True) for name in FIELDS},
    "skip_reason": fields.String(allow_none=True, required=True),
}, name="ImportPreviewRow")


class ImportPreview(Schema):
    columns = fields.List(fields.Nested(_Column), required=True)
    ignored = fields.List(fields.String(), required=True)
    delimiter = fields.String(required=True)
    rows = fields.List(fields.Nested(_PreviewRow), required=True, metadata={"description": "The first 10 rows."})


class _RowError(Schema):
    row = fields.Integer(required=True)
    message = fields.String(required=True)


class ImportResult(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    duplicates = fields.Integer(required=True, metadata={"description": "Rows repeating an earlier email."})
    errors = fields.List(fields.Nested(_RowError), required=True)
    errors_truncated = fields.Boolean(required=True)
    ignored_columns = fields.List(fields.String(), required=True)


class ImportJobOut(Schema):
    """An import job (issue 17) as the API answers it."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(IMPORT_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(IMPORT_STATUSES))
    filename = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    total_rows = fields.Integer(allow_none=True)
    processed_rows = fields.Integer(allow_none=True)
    created = fields.Integer(allow_none=True)
    updated = fields.Integer(allow_none=True)
    skipped = fields.Integer(allow_none=True)
    errors = fields.List(fields.Nested(_RowError), required=True, metadata={"description": "The first 100."})
    errors_csv_url = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    cancel_requested = fields.Boolean(required=True)
    rows_per_second = fields.Integer(allow_none=True)
    created_by = fields.Integer(allow_none=True)
    created_at = Timestamp(allow_none=True)
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
