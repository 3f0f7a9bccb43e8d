"""The OpenAPI 3.1 document of the JSON API, generated (apispec + its marshmallow plugin) from
the schemas the views validate with, and the ``@doc`` decorator every API view carries.

How to document a route (a test fails for any ``/api/crm`` route without an operation)::

    @api_bp.post("/things")
    @doc("Create a thing", body=ThingInput, response=ThingOutput, status=201)
    def create_thing(): ...

``body`` / ``query`` / ``response`` take marshmallow schemas (a class, or an instance such as
``ThingInput(partial=True)``) or, for shapes no schema describes, a JSON-schema dict. The
standard errors (401, 403, 404, and 400/409/422 where a request can carry them) are added to
every operation; list routes pass ``paged=True`` for ``limit``/``offset`` and ``X-Total-Count``.
The view's docstring becomes the operation's description."""
import re
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify
from marshmallow import fields
from werkzeug.routing import IntegerConverter

from ..db import MAX_ID
from ..schemas.base import Timestamp
from ..schemas.common import Error, OpenApiDocumentOut, PageArgs

DOC_ATTRIBUTE = "_kw_api_docs"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Operation:
    summary: str
    tag: str | None = None
    body: Any = None
    query: Any = None
    response: Any = None
    status: int = 200
    paged: bool = False
    files: dict | None = None  # multipart field name -> description
    form: dict | None = None  # other multipart fields: name -> JSON schema
    content_type: str = "application/json"  # of the success response
    errors: tuple = ()
    headers: dict = field(default_factory=dict)  # success response headers: name -> description
    description: str | None = None


def doc(summary: str, *, method: str | None = None, **options):
    """Declare a view's operation for the OpenAPI document (see the module docstring).
    ``method`` documents one method of a view that serves several."""
    operation = Operation(summary, **options)

    def decorate(view):
        registry = dict(getattr(view, DOC_ATTRIBUTE, {}))
        registry[(method or "*").upper()] = operation
        setattr(view, DOC_ATTRIBUTE, registry)
        return view

    return decorate


def operation_for(view, method: str) -> Operation | None:
    registry = getattr(view, DOC_ATTRIBUTE, {})
    return registry.get(method) or registry.get("*")


# ---------------------------------------------------------------------------- shared shapes

ERRORS = {
    400: "The request is malformed: not a JSON object, or the session's CSRF token is missing.",
    401: "No session and no valid bearer token (malformed, unknown, revoked or expired).",
    403: "The user is not an admin, or lacks the crm.delete permission this action needs.",
    404: "No such record in this tenant (or the tenant has no CRM).",
    409: "A business rule refuses the change; the message names the rule.",
    413: "The upload is larger than the configured limit.",
    422: "Some fields are invalid; `fields` says which and why.",
}


# ---------------------------------------------------------------------------- the document

def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    return name


def _openapi_path(rule) -> tuple[str, list[dict]]:
    params = []
    for name in sorted(rule.arguments):
        converter = rule._converters.get(name)
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        else:
            schema = {"type": "string"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), params


def _content(schema, content_type: str = "application/json") -> dict:
    return {content_type: {"schema": schema}}


def _operation(op: Operation, view, method: str, path_params: list[dict], operation_id: str) -> dict:
    has_input = bool(op.body or op.files or op.query or op.paged)
    result: dict = {
        "operationId": operation_id,
        "summary": op.summary,
        "tags": [op.tag or view.__module__.rsplit(".", 1)[-1].replace("_", " ").capitalize()],
        "parameters": list(path_params),
    }
    description = op.description or (view.__doc__ or "").strip()
    if description:
        result["description"] = description
    if op.query is not None:
        result["parameters"].append({"in": "query", "schema": op.query})
    if op.paged:
        result["parameters"].append({"in": "query", "schema": PageArgs})
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": _content(op.body)}
    elif op.files:
        result["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": sorted(op.files),
            "properties": {**{name: {"type": "string", "format": "binary", "description": text}
                              for name, text in op.files.items()}, **(op.form or {})}}}}}
    success: dict = {"description": op.summary}
    if op.status != 204:
        if op.content_type == "application/json":
            schema = op.response if op.response is not None else {"type": "object"}
            if op.paged:
                schema = {"type": "array", "items": schema}
            success["content"] = _content(schema)
        else:
            success["content"] = _content({"type": "string"} if op.content_type.startswith("text/")
                                          else {"type": "string", "format": "binary"}, op.content_type)
    headers = dict(op.headers)
    if op.paged:
        headers["X-Total-Count"] = "The number of rows matching the filters, over all pages."
    if headers:
        success["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                              for name, text in headers.items()}
    responses = {str(op.status): success}
    statuses = {401, 403, 404, *op.errors}
    if has_input or method in WRITE_METHODS:
        statuses |= {400, 422}
    if method in WRITE_METHODS:
        statuses.add(409)
    if op.files:
        statuses.add(413)
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    result["responses"] = responses
    return result


# Answers write every moment as UTC with an offset (``Z``, kw_crm.timestamps): RFC 3339
# date-times, and the pattern makes the fuzz run's schema check fail on one without it. Inputs
# take ISO 8601 with or without an offset (none = UTC), so their pattern is the lenient one.
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
INPUT_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"


def _timestamp_attributes(self, field, **_kwargs) -> dict:
    if isinstance(field, Timestamp):
        return {"format": "date-time", "pattern": TIMESTAMP_PATTERN,
                "description": field.metadata.get("description", "UTC, RFC 3339 (e.g. 2026-11-26T02:34:56.550446Z).")}
    if isinstance(field, fields.DateTime):
        return {"pattern": INPUT_TIMESTAMP_PATTERN, "description": field.metadata.get(
            "description", "ISO 8601; without an offset the time is taken as UTC.")}
    return {}


def build_document(app) -> dict:
    """The whole document for ``app``'s ``/api/crm`` routes (views without ``@doc`` are left
    out; ``tests/test_openapi.py`` fails on them)."""
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="kw_crm API", version="1", openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": (
            "The CRM's JSON API. Authenticate with `Authorization: Bearer <token>` (an API token "
            "made by an admin at /crm/settings/tokens; no CSRF token needed) or with the portal's "
            "session cookie plus an `X-CSRFToken` header on writes. Lists are paged with `limit` and "
            "`offset` and carry the full count in `X-Total-Count`. Money is integer cents plus an ISO "
            "currency. Errors are `{\"error\": {\"code\", \"message\", \"fields\"?}}`.")},
    )
    plugin.map_to_openapi_type(fields.DateTime, "string", None)
    plugin.converter.add_attribute_function(_timestamp_attributes)
    spec.components.security_scheme("bearerToken", {"type": "http", "scheme": "bearer",
                                                     "description": "An API token (kwcrm_...)."})
    spec.components.security_scheme("portalSession", {"type": "apiKey", "in": "cookie", "name": "session",
                                                      "description": "The portal's login session; writes "
                                                                     "also need the X-CSRFToken header."})
    spec.components.schema("Error", schema=Error)
    for status, text in ERRORS.items():
        spec.components.response(f"E{status}", {"description": text, "content": _content("Error")})
    spec.options["security"] = [{"bearerToken": []}, {"portalSession": []}]

    paths: dict[str, tuple] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("crm_api."):
            continue
        view = app.view_functions[rule.endpoint]
        path, params = _openapi_path(rule)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        operations = paths.setdefault(path, ({},))[0]
        for method in methods:
            op = operation_for(view, method)
            if op is None:
                continue
            operation_id = rule.endpoint.split(".", 1)[1] + ("" if len(methods) == 1 else f"_{method.lower()}")
            operations[method.lower()] = _operation(op, view, method, params, operation_id)
    for path, (operations,) in paths.items():
        if operations:
            spec.path(path=path, operations=operations)
    return spec.to_dict()


def document() -> dict:
    """The current app's document, built once per process (it depends on the code only)."""
    state = current_app.extensions["kw_crm"]
    if state.openapi is None:
        state.openapi = build_document(current_app)
    return state.openapi


def register(api_bp) -> None:
    @api_bp.get("/openapi.json")
    @doc("This document", response=OpenApiDocumentOut, tag="Meta")
    def openapi_document():
        """The OpenAPI 3.1 description of every route under /api/crm."""
        return jsonify(document())
