"""The JSON API under /api/crm: thin views (schema -> service -> schema).

Errors are always ``{"error": {"code", "message", "fields"?}}`` with the contract's statuses."""
from datetime import date, datetime

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

from ..db import MAX_ID
from ..errors import CrmError, Invalid
from ..guard import protect
from ..inputs import parse_int, request_json

api_bp = protect(Blueprint("crm_api", __name__, url_prefix="/api/crm"))

MAX_LIMIT = 200


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(error=body), status


@api_bp.errorhandler(CrmError)
def _crm_error(error: CrmError):
    return error_response(error.status, error.code, error.message, error.fields)


@api_bp.errorhandler(ValidationError)
def _validation_error(error: ValidationError):
    fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return error_response(422, "validation_error", "Some fields are invalid.", fields)


@api_bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        error.code, "error")
    return error_response(error.code, code, error.description or error.name)


def json_body() -> dict:
    """The request's JSON object, or a 400 for anything else."""
    data = request_json()
    if not isinstance(data, dict):
        raise CrmError("The request body must be a JSON object.")
    return data


def load(schema: Schema, *, partial: bool = False) -> dict:
    return schema.load(json_body(), partial=partial)


def page_params() -> tuple[int, int]:
    """``limit`` (default 50, 1..200) and ``offset`` (>= 0); anything else is a 422."""
    errors, values = {}, {}
    for name, default, low, high in (("limit", current_app.config["CRM_PAGE_SIZE"], 1, MAX_LIMIT),
                                     ("offset", 0, 0, MAX_ID)):
        raw = request.args.get(name)
        value = default if raw in (None, "") else parse_int(raw, low=low, high=high)
        if value is None:
            errors[name] = [f"{name} must be a whole number from {low} to {high}."]
        values[name] = value
    if errors:
        raise Invalid(errors)
    return values["limit"], values["offset"]


def jsonable(value):
    """Dates in nested service dicts as ISO 8601 strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def list_response(items: list, total: int):
    response = jsonify(items)
    response.headers["X-Total-Count"] = str(total)
    return response


@api_bp.get("/")
def index():
    """A map of the API, so a client (or a human) can find its way."""
    return jsonify(name="kw_crm", version=1, endpoints=sorted(
        rule.rule for rule in current_app.url_map.iter_rules() if rule.endpoint.startswith("crm_api.")))


from . import (  # noqa: E402,F401
    activities,
    automation,
    communications,
    contacts,
    customers,
    deals,
    forecast,
    import_jobs,
    imports,
    products,
    risk,
)
