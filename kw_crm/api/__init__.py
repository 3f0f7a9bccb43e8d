"""The JSON API under /api/crm: thin views (schema -> service -> schema).

Errors are always ``{"error": {"code", "message", "fields"?}}`` with the contract's statuses."""
from datetime import date, datetime

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..db import MAX_ID, session
from ..errors import CrmError, Invalid, as_busy
from ..guard import protect
from ..inputs import parse_int, request_json
from ..schemas.common import MAX_LIMIT, ApiMapOut
from ..timestamps import iso
from .openapi import doc
from .openapi import register as register_openapi

api_bp = protect(Blueprint("crm_api", __name__, url_prefix="/api/crm"))

def error_response(status: int, code: str, message: str, fields: dict | None = None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(error=body), status


@api_bp.errorhandler(CrmError)
def _crm_error(error: CrmError):
    return error_response(error.status, error.code, error.message, error.fields)


@api_bp.errorhandler(OperationalError)
def _database_busy(error: OperationalError):
    busy = as_busy(error)
    session.rollback()
    return _crm_error(busy)


@api_bp.errorhandler(ValidationError)
def _validation_error(error: ValidationError):
    fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return error_response(422, "validation_error", "Some fields are invalid.", fields)


@api_bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        error.code, "error")
    return error_response(error.code, code, error.description or error.name)


def install_json_not_found(app) -> None:
    """URLs under /api/crm that match no route (``/api/crm/deals/-1``, a wrong method) answer in
    the API's error shape too. The app-wide handler keeps whatever the host registered for the
    rest of its site."""
    for status in (404, 405):
        previous = app.error_handler_spec[None][status].get(HTTPException) or next(
            iter(app.error_handler_spec[None][status].values()), None)

        def handle(error, previous=previous):
            if request.path == api_bp.url_prefix or request.path.startswith(api_bp.url_prefix + "/"):
                return _http_error(error)
            # An app-wide handler for a status code is found before a blueprint's handler of
            # HTTPException (Flask looks by code first): hand the CRM pages' errors back to theirs.
            own = app.error_handler_spec.get(request.blueprint, {}).get(None, {}).get(HTTPException) \
                if request.blueprint else None
            if own is not None:
                return own(error)
            return previous(error) if previous is not None else error

        app.register_error_handler(status, handle)


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


def query_args(schema: Schema) -> dict:
    """The query string loaded through ``schema`` (blank values count as absent); a 422 names
    the bad arguments."""
    return schema.load({name: value for name, value in request.args.items() if value != ""})


def jsonable(value):
    """Dates in nested service dicts as ISO 8601 strings (timestamps in UTC with ``Z``)."""
    if isinstance(value, datetime | date):
        return iso(value)
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
@doc("A map of the API", response=ApiMapOut, tag="Meta")
def index():
    """A map of the API, so a client (or a human) can find its way."""
    return jsonify(name="kw_crm", version=1, endpoints=sorted(
        rule.rule for rule in current_app.url_map.iter_rules() if rule.endpoint.startswith("crm_api.")))


register_openapi(api_bp)

from . import (  # noqa: E402,F401
    activities,
    automation,
    communications,
    contacts,
    customers,
    deals,
    exports,
    forecast,
    import_jobs,
    imports,
    products,
    risk,
    tokens,
    webhooks,
)
