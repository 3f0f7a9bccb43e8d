"""Shapes every API route shares: paging arguments and the error body."""
from marshmallow import EXCLUDE, Schema, fields, validate

from ..db import MAX_ID

MAX_LIMIT = 200


class QueryArgs(Schema):
    """Query-string arguments: other arguments (filters of another schema, cache busters) pass."""

    class Meta:
        unknown = EXCLUDE


class PageArgs(QueryArgs):
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT), metadata={
        "description": f"Page size (default 50, at most {MAX_LIMIT})."})
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID), metadata={
        "description": "Rows to skip."})


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={
        "description": "validation_error, bad_request, unauthorized, forbidden, not_found, conflict, csrf, too_large..."})
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), metadata={
        "description": "Per-field messages (422): field name -> list of messages (nested for lists)."})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)
