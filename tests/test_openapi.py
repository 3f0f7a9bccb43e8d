"""The OpenAPI document: valid 3.1, generated from the schemas, and covering every /api/crm
route of ``app.url_map`` (so a new route without ``@doc`` fails here)."""
from datetime import UTC, datetime, timedelta

from openapi_spec_validator import validate

from kw_crm.api.openapi import build_document


def api_operations(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("crm_api."):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield path, method.lower()


def test_every_api_route_has_an_operation(app, admin_client):
    document = admin_client.get("/api/crm/openapi.json").get_json()
    missing = [(path, method) for path, method in api_operations(app)
               if method not in document["paths"].get(path, {})]
    assert missing == [], "document these views with @doc (kw_crm/api/openapi.py): " + repr(missing)


def test_a_route_without_doc_is_reported(app):
    from flask import Flask

    from host_stub import create_app

    probe = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    probe.add_url_rule("/api/crm/undocumented", endpoint="crm_api.undocumented", view_func=lambda: "")
    assert isinstance(probe, Flask)
    document = build_document(probe)
    assert "/api/crm/undocumented" not in document["paths"]
    assert ("/api/crm/undocumented", "get") in set(api_operations(probe))


def test_the_document_is_valid_openapi_3_1(admin_client):
    document = admin_client.get("/api/crm/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_request_bodies_come_from_the_validating_schemas(admin_client):
    document = admin_client.get("/api/crm/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    create = document["paths"]["/api/crm/contacts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/ContactInput"}
    contact_input = schemas["ContactInput"]
    assert contact_input["additionalProperties"] is False
    assert set(contact_input["required"]) == {"first_name", "last_name"}
    assert contact_input["properties"]["type"]["enum"] == ["customer", "contractor", "vendor", "partner", "other"]
    assert "required" not in schemas["ContactInputPatch"]
    assert schemas["DealSchema"]["properties"]["value_cents"]["maximum"] == 10**15


def test_lists_document_paging_and_errors(admin_client):
    document = admin_client.get("/api/crm/openapi.json").get_json()
    listing = document["paths"]["/api/crm/contacts"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"limit", "offset", "type", "status", "q", "owner_id", "customer_id"} <= names
    ok = listing["responses"]["200"]
    assert "X-Total-Count" in ok["headers"]
    assert ok["content"]["application/json"]["schema"]["type"] == "array"
    assert {"401", "403", "404", "422"} <= set(listing["responses"])
    assert document["components"]["responses"]["E422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert {"bearerToken", "portalSession"} == set(document["components"]["securitySchemes"])


def test_the_document_needs_the_same_access_as_the_api(app, make_tenant, make_user):
    assert app.test_client().get("/api/crm/openapi.json").status_code == 401
    client = app.test_client().login(make_user(make_tenant(features=()), "ADMIN"))
    assert client.get("/api/crm/openapi.json").status_code == 404


def test_unmatched_api_urls_answer_in_the_error_shape(admin_client):
    for url, method, status in (("/api/crm/activities/-3/complete", "POST", 404), ("/api/crm/nope", "GET", 404),
                                ("/api/crm/contacts", "PUT", 405)):
        response = admin_client.open(url, method=method)
        assert response.status_code == status and response.is_json, url
        assert response.get_json()["error"]["code"] in ("not_found", "method_not_allowed")
    assert not admin_client.get("/no-such-page").is_json  # the host's own pages keep their 404


def _untyped_objects(schema, schemas, where, seen=frozenset(), nested=False):
    """Places in ``schema`` a client could not read without the code: objects without properties
    (nested free-form fields pass when their description says what they hold) and values of no
    type at all."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        return _untyped_objects(schemas[name], schemas, where, seen | {name}, nested)
    found = []
    for key in ("anyOf", "allOf", "oneOf"):
        for part in schema.get(key, []):
            found += _untyped_objects(part, schemas, where, seen, nested)
    if any(key in schema for key in ("anyOf", "allOf", "oneOf")):
        return found
    types = schema.get("type")
    types = {types} if isinstance(types, str) else set(types or ())
    if types == {"null"}:
        return found
    types.discard("null")
    if not types and "enum" not in schema:
        return found + ([] if nested and schema.get("description") else [where])
    if "array" in types:
        found += _untyped_objects(schema.get("items", {}), schemas, where + "[]", seen, nested)
    if "object" in types:
        properties = schema.get("properties") or {}
        values = schema.get("additionalProperties")
        if not properties and not isinstance(values, dict) and not (nested and schema.get("description")):
            found.append(where)
        for name, prop in properties.items():
            found += _untyped_objects(prop, schemas, f"{where}.{name}", seen, True)
        if isinstance(values, dict) and values:
            found += _untyped_objects(values, schemas, where + ".*", seen, True)
    return found


def test_every_success_answer_has_a_typed_schema(admin_client):
    """Every 2xx JSON answer says what it holds: no ``{"type": "object"}`` without properties, at
    the top or as list items; only nested host- or spec-defined fields may be free-form, and
    then their description says what they are."""
    document = admin_client.get("/api/crm/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                json_body = answer.get("content", {}).get("application/json")
                if status.startswith("2") and json_body:
                    untyped += [f"{method.upper()} {path} {status}: {where}"
                                for where in _untyped_objects(json_body["schema"], schemas, "$")]
    assert untyped == []


def test_the_checker_reports_an_untyped_answer():
    assert _untyped_objects({"type": "object"}, {}, "$") == ["$"]
    assert _untyped_objects({"type": "array", "items": {"type": "object"}}, {}, "$") == ["$[]"]
    nested = {"type": "object", "properties": {"a": {"type": "object"}, "b": {"type": "object", "description": "x"}}}
    assert _untyped_objects(nested, {}, "$") == ["$.a"]


def test_answers_write_timestamps_as_utc_with_offset(admin_client):
    document = admin_client.get("/api/crm/openapi.json").get_json()
    created_at = document["components"]["schemas"]["ContactOutput"]["properties"]["created_at"]
    assert created_at["format"] == "date-time" and created_at["pattern"].endswith("(Z|[+-]\\d{2}:\\d{2})$")
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "Zoe", "last_name": "Zulu"}).get_json()
    assert contact["created_at"].endswith("Z")
    moment = datetime.fromisoformat(contact["created_at"])
    assert moment.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


def test_lists_document_every_filter_they_read(admin_client):
    document = admin_client.get("/api/crm/openapi.json").get_json()

    def names(path, method="get"):
        return {p["name"] for p in document["paths"][path][method]["parameters"] if p["in"] == "query"}

    assert {"after", "limit", "offset"} <= names("/api/crm/contacts")
    assert "X-Next-Cursor" in document["paths"]["/api/crm/contacts"]["get"]["responses"]["200"]["headers"]
    assert {"owner_id", "customer_id", "contact_id", "deal_id", "status", "due_before", "due_after"} <= names(
        "/api/crm/activities")
    assert {"owner_id"} <= names("/api/crm/activities/queue") & names("/api/crm/activities/overdue")
    assert {"owner_id", "window"} <= names("/api/crm/forecast")
    assert {"status"} <= names("/api/crm/customers/{customer_id}/conversations")
    assert {"stage", "owner_id", "contact_id", "customer_id", "q", "include_archived"} <= names("/api/crm/deals")
    upload = document["paths"]["/api/crm/import/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["kind"]["enum"] == ["contacts", "customers"]
