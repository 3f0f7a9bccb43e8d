"""Shapes every API route shares: paging arguments and the error body."""
from marshmallow import EXCLUDE, INCLUDE, Schema, fields, validate

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


class ApiMapOut(Schema):
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    endpoints = fields.List(fields.String(), required=True, metadata={"description": "Every route under /api/crm."})


class OpenApiDocumentOut(Schema):
    """The outline of the document itself (its parts follow the OpenAPI 3.1 specification)."""

    class Meta:
        unknown = INCLUDE

    openapi = fields.String(required=True)
    info = fields.Dict(required=True, metadata={"description": "title, version, description (OpenAPI Info)."})
    paths = fields.Dict(required=True, metadata={"description": "OpenAPI Paths: one entry per route."})
    components = fields.Dict(required=True, metadata={"description": "OpenAPI Components: schemas, responses..."})
    security = fields.List(fields.Dict(), metadata={"description": "OpenAPI Security Requirements."})
