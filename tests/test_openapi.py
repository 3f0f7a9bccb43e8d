"""The OpenAPI document: valid 3.1, generated from the schemas, and covering every /api/crm
route of ``app.url_map`` (so a new route without ``@doc`` fails here)."""
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
