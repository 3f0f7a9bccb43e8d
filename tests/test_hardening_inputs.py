"""The CRM's input layer (issue 10): body limits before anything reads the body, the JSON
loader, text that cannot be stored, strict numbers, dates with offsets, redirect targets, and
one rule for destructive actions."""
import io
import tracemalloc

import pytest

from kw_crm.inputs import json_depth_exceeds, safe_redirect_target
from tests.test_robustness import records  # noqa: F401 - one record of each kind

BIG = 200 * 1024 * 1024


class EndlessBody(io.RawIOBase):
    """A request body of ``size`` bytes produced on demand, counting what the app reads."""

    def __init__(self, size: int, chunk: bytes = b"a=" + b"x" * 65534):
        self.left, self.chunk, self.read_bytes = size, chunk, 0

    def readable(self):
        return True

    # The test client measures the body by seeking to its end; pretend to, without producing it.
    def seekable(self):
        return True

    def tell(self):
        return getattr(self, "_position", 0)

    def seek(self, offset, whence=0):
        self._position = self.left if whence == 2 else offset
        return self._position

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        if n <= 0:
            return 0
        buffer[:n] = (self.chunk * (n // len(self.chunk) + 1))[:n]
        self.left -= n
        self.read_bytes += n
        return n


def _stream(client, url, content_type, *, declared: bool, address="10.9.9.9"):
    body = EndlessBody(BIG)
    kwargs = {"input_stream": body, "content_type": content_type, "environ_base": {"REMOTE_ADDR": address}}
    if not declared:  # chunked: no length; the server says the stream ends by itself
        kwargs["headers"] = {"Transfer-Encoding": "chunked"}
        kwargs["environ_overrides"] = {"wsgi.input_terminated": True}
    tracemalloc.start()
    try:
        response = client.post(url, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response, body.read_bytes, peak


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("who", ["anonymous", "admin"])
@pytest.mark.parametrize("url,content_type,limit_key", [
    ("/login", "application/x-www-form-urlencoded", "MAX_CONTENT_LENGTH"),
    ("/crm/contacts/new", "application/x-www-form-urlencoded", "CRM_MAX_BODY_BYTES"),
    ("/api/crm/contacts", "application/json", "CRM_MAX_BODY_BYTES"),
    ("/api/crm/contacts/{contact}/attachments", "multipart/form-data; boundary=x", "CRM_MAX_ATTACHMENT_BYTES"),
])
def test_a_200_mb_body_gets_413_without_being_read(app, admin_client, who, url, content_type, limit_key, declared):
    client = admin_client if who == "admin" else app.test_client()
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}).get_json()["id"]
    response, read, peak = _stream(client, url.format(contact=contact), content_type, declared=declared)
    limit = app.config[limit_key] + (64 * 1024 if "attachments" in url else 0)
    if who == "anonymous" and url.startswith(("/crm", "/api")):
        # the CSRF check or the CRM's guard may answer before anything reads the body
        assert response.status_code in (302, 400, 401, 413)
    else:
        assert response.status_code == 413, response.get_data(as_text=True)[:200]
    assert read <= limit + 64 * 1024, f"read {read} bytes of a {limit}-byte limit"
    assert peak < 3 * limit + 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_an_import_route_takes_more_than_the_small_limit(app, admin_client):
    rows = "".join(f"First{i},Last{i},p{i}@example.test\n" for i in range(80_000))
    data = ("firstname,lastname,email\n" + rows).encode()
    assert len(data) > app.config["CRM_MAX_BODY_BYTES"]
    response = admin_client.post("/api/crm/import/preview", data={"file": (io.BytesIO(data), "big.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 200 and len(response.get_json()["rows"]) == 10


# --- JSON -------------------------------------------------------------------------------------

def test_json_nested_50000_deep_is_a_400(admin_client):
    body = b"[" * 50_000 + b"]" * 50_000
    response = admin_client.post("/api/crm/contacts", data=body, content_type="application/json")
    assert response.status_code == 400 and "nested" in response.get_json()["error"]["message"]
    assert json_depth_exceeds(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') is False


@pytest.mark.parametrize("raw,field", [
    (b'{"first_name": "\\ud800x", "last_name": "B"}', "first_name"),
    (b'{"first_name": "A", "last_name": "B\\u0000"}', "last_name"),
    (b'{"first_name": "A\\u202eevil", "last_name": "B"}', "first_name"),
    (b'{"first_name": "A", "last_name": "B", "notes": "\\u0007bell"}', "notes"),
])
def test_unstorable_json_text_is_a_422_naming_the_field(app, admin_client, crm_scope, tenant, raw, field):
    from sqlalchemy import func, select

    from kw_crm.models import Contact

    with crm_scope(tenant) as session:
        before = session.scalar(select(func.count(Contact.id)))
    response = admin_client.post("/api/crm/contacts", data=raw, content_type="application/json")
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    with crm_scope(tenant) as session:
        assert session.scalar(select(func.count(Contact.id))) == before


@pytest.mark.parametrize("raw", [b'{"value_cents": NaN, "title": "x"}', b'{"title": "x", "value_cents": 1' + b"0" * 5000 + b"}",
                                 b"\xff\xfe{}", b'{"title": "x"'])
def test_malformed_json_is_a_400(admin_client, raw):
    response = admin_client.post("/api/crm/deals", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_multiline_text_keeps_its_newlines(admin_client):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}).get_json()
    note = admin_client.post(f"/api/crm/contacts/{contact['id']}/notes", json={"body": "line 1\r\nline 2\tend"})
    assert note.status_code == 201 and note.get_json()["body"] == "line 1\r\nline 2\tend"


# --- query strings and forms -----------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/crm/users?q=a%00b", "/api/crm/customers?search=%00", "/crm/customers?search=x%00",
                                 "/api/crm/contacts?q=%E2%80%AEabc", "/crm/?q=%01"])
def test_control_characters_in_query_strings_are_a_422(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 422


@pytest.mark.parametrize("query", ["page=99999999999999999999999999", "endpoint=x",
                                   "_method=POST", "page=2&endpoint=x&_external=1", "search=a&anchor=x"])
def test_the_customer_directory_survives_odd_query_arguments(admin_client, query):
    response = admin_client.get(f"/crm/customers?{query}")
    assert response.status_code == 200
    assert "endpoint=" not in response.get_data(as_text=True)


def test_unicode_digits_are_not_ids(admin_client):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}).get_json()
    deal = admin_client.post("/api/crm/deals", json={"title": "D", "contact_id": contact["id"]}).get_json()
    for ids in ("²", "1²", "٣"):
        response = admin_client.post("/crm/deals/bulk-stage", data={"ids": ids, "stage": "QUALIFIED"})
        assert response.status_code == 302  # "select at least one deal"
        assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] != "QUALIFIED"
    response = admin_client.post("/crm/contacts/bulk", data={"action": "reassign", "ids": ["²"], "owner_id": "1"},
                                 follow_redirects=True)
    assert "whole numbers" in response.get_data(as_text=True)
    assert admin_client.get("/api/crm/contacts?owner_id=1²").status_code == 422
    form = admin_client.post("/crm/deals/new", data={"title": "X", "owner_id": "1²", "value": "1"})
    assert form.status_code == 422


def test_dates_whose_offset_overflows_are_a_422(admin_client, app, make_user, tenant):
    customer = admin_client.post("/api/crm/customers", json={"name": "Overflow Ltd"}).get_json()
    for stamp in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        response = admin_client.post(f"/api/crm/customers/{customer['id']}/communications",
                                     json={"subject": "Hi", "occurred_at": stamp})
        assert response.status_code == 422 and "occurred_at" in response.get_json()["error"]["fields"]
    ok = admin_client.post(f"/api/crm/customers/{customer['id']}/communications",
                           json={"subject": "Hi", "occurred_at": "2026-01-01T10:00:00+02:00"})
    assert ok.status_code == 201 and ok.get_json()["occurred_at"].startswith("2026-01-01T08:00")


def test_customer_owner_ids_are_json_integers(admin_client, admin):
    for value in (str(admin.id), admin.id + 0.7, True):
        response = admin_client.post("/api/crm/customers", json={"name": f"Strict {value!r}", "owner_id": value})
        assert response.status_code == 422 and "owner_id" in response.get_json()["error"]["fields"]
    assert admin_client.post("/api/crm/customers", json={"name": "Strict ok", "owner_id": admin.id}).status_code == 201


# --- redirects ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/\t/evil.example", "/crm/\r\nX-Injected: 1", "//evil.example", "/\\evil",
                                    "https://evil.example", "/\u202e/x", "javascript:alert(1)"])
def test_activity_completion_never_redirects_off_site(admin_client, target):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}).get_json()
    activity = admin_client.post(f"/api/crm/contacts/{contact['id']}/activities",
                                 json={"type": "call", "subject": "Call"}).get_json()
    response = admin_client.post(f"/crm/activities/{activity['id']}/complete", data={"next": target})
    assert response.status_code in (302, 422)
    if response.status_code == 302:
        assert response.headers["Location"] == "/crm/activities"


def test_same_site_targets_are_kept():
    assert safe_redirect_target("/crm/contacts/5?tab=deals", "/x") == "/crm/contacts/5?tab=deals"
    assert safe_redirect_target("/crm/a b", "/x") == "/x"


# --- one rule for destructive actions --------------------------------------------------------------------

def test_foreign_customer_on_the_communication_form_is_a_404(admin_client, other_admin_client):
    customer = other_admin_client.post("/api/crm/customers", json={"name": "Elsewhere Inc"}).get_json()
    response = admin_client.post(f"/crm/customers/{customer['id']}/communications", data={"subject": "x"})
    assert response.status_code == 404


def test_attachment_names_lose_bidi_and_control_characters(admin_client):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}).get_json()
    response = admin_client.post(f"/api/crm/contacts/{contact['id']}/attachments",
                                 data={"file": (io.BytesIO(b"data"), "invoice\u202egpj.exe")},
                                 content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["filename"] == "invoicegpj.exe"


# Revoking an API token destroys no CRM data and must stay open to every admin, so a leaked
# token can always be cut off (README, "Access rules").
NOT_DESTRUCTIVE = {"crm_api.tokens_revoke"}


def destructive_rules(app):
    """Every CRM route that archives or deletes, found in url_map (so new ones are covered)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("crm", "crm_admin", "crm_api") or rule.endpoint in NOT_DESTRUCTIVE:
            continue
        name = rule.endpoint.split(".")[-1]
        for method in rule.methods - {"HEAD", "OPTIONS", "GET"}:
            if (method == "DELETE" and rule.endpoint.startswith("crm_api.")) or "delete" in name or "archive" in name:
                yield rule, method


def test_every_destructive_route_needs_crm_delete_and_answers_403(app, admin_client, make_user, tenant, records):  # noqa: F811
    from tests.test_junk_sweep import concrete_url, fingerprint

    seller = app.test_client().login(make_user(tenant, "ADMIN"))  # an admin without crm.delete
    rules = list(destructive_rules(app))
    assert len(rules) >= 8
    before = fingerprint(app, admin_client, records)
    answers = {}
    for rule, method in rules:
        body = {"json": {"reason": "why", "ids": [records["contact_id"]], "action": "delete"}} \
            if rule.endpoint.startswith("crm_api.") else {"data": {"reason": "why", "confirm": "yes"}}
        answers[(method, rule.rule)] = seller.open(concrete_url(rule, records), method=method, **body).status_code
    assert {k: v for k, v in answers.items() if v != 403} == {}
    assert fingerprint(app, admin_client, records) == before
    # removing a stage through the settings list is a delete too
    current = admin_client.get("/api/crm/stages").get_json()
    response = seller.put("/api/crm/stages", json=[s for s in current if s["key"] != "QUALIFIED"])
    assert response.status_code == 403
