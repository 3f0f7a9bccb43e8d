"""The access table of contract section 3, checked for every rule of every CRM blueprint found
in ``app.url_map`` — a new route is covered without anyone adding it here."""
import re

import pytest

SAMPLE_ARG = 2_000_000_000  # no record has this id


def crm_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("crm", "crm_admin", "crm_api"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def build_url(rule) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", "x.css" if arg == "filename" else str(SAMPLE_ARG), url)
    return url


def is_api(rule) -> bool:
    return rule.endpoint.startswith("crm_api.")


def call(client, rule, method):
    return client.open(build_url(rule), method=method, json={} if method != "GET" else None)


def test_the_crm_has_routes_to_check(app):
    endpoints = {rule.endpoint for rule, _ in crm_rules(app)}
    assert {"crm.contacts", "crm_api.index"} <= endpoints


def test_anonymous_is_sent_to_login_or_gets_401(app):
    client = app.test_client().with_csrf()
    for rule, method in crm_rules(app):
        response = call(client, rule, method)
        if is_api(rule):
            assert response.status_code == 401, (rule.rule, method)
            assert response.get_json()["error"]["code"] == "unauthorized"
        else:
            assert response.status_code == 302, (rule.rule, method)
            assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["STAFF", "VENDOR"])
def test_staff_and_vendor_get_403(app, make_user, tenant, role):
    client = app.test_client().login(make_user(tenant, role))
    for rule, method in crm_rules(app):
        assert call(client, rule, method).status_code == 403, (rule.rule, method)


@pytest.mark.parametrize("role", ["ADMIN", "STAFF", "VENDOR"])
def test_tenant_without_the_feature_gets_404(app, make_tenant, make_user, role):
    client = app.test_client().login(make_user(make_tenant(features=()), role))
    for rule, method in crm_rules(app):
        response = call(client, rule, method)
        assert response.status_code == 404, (rule.rule, method)
        if is_api(rule):
            assert response.get_json()["error"]["code"] == "not_found"


def test_admin_reaches_the_crm(admin_client):
    assert admin_client.get("/crm/").status_code == 200
    assert admin_client.get("/api/crm/").status_code == 200


def test_admin_asking_for_unknown_ids_gets_404_not_500(app, admin_client):
    for rule, method in crm_rules(app):
        if rule.arguments - {"filename"} and method in ("GET", "DELETE"):
            response = call(admin_client, rule, method)
            assert response.status_code == 404, (rule.rule, method, response.status_code)


def test_state_changing_calls_without_csrf_token_are_refused(app, admin):
    client = app.test_client().login(admin)
    for rule, method in crm_rules(app):
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            response = client.open(build_url(rule), method=method, json={}, csrf=False)
            assert response.status_code == 400, (rule.rule, method)
            if is_api(rule):
                assert response.get_json()["error"]["code"] == "csrf"


def test_ids_beyond_the_column_range_are_404_not_500(app, admin_client):
    for rule, method in crm_rules(app):
        if rule.arguments - {"filename"}:
            url = build_url(rule).replace(str(SAMPLE_ARG), str(2**63))
            response = admin_client.open(url, method=method, json={} if method != "GET" else None)
            assert response.status_code == 404, (url, method, response.status_code)
