"""API tokens: created by an admin, shown once, stored hashed, acting as that admin in that
tenant with no CSRF token and every access rule still applied; revoked and expired tokens 401."""
import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from host_stub.features import set_feature
from host_stub.models import Tenant, User, db


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def make_token(client, **body) -> dict:
    response = client.post("/api/crm/tokens", json={"name": "Zapier", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_token_is_shown_once_and_stored_only_as_a_hash(app, admin_client, admin):
    created = make_token(admin_client)
    secret = created["token"]
    assert secret.startswith("kwcrm_") and len(secret) > 40
    assert created["state"] == "active" and created["user_id"] == admin.id and secret.startswith(created["prefix"])
    listed = admin_client.get("/api/crm/tokens").get_json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT * FROM crm_api_tokens WHERE id = :id"),
                                    {"id": created["id"]}).mappings().one()
    assert secret not in [str(v) for v in stored.values()]
    assert stored["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()


def test_bearer_acts_as_the_admin_without_csrf_and_records_last_use(app, admin_client, admin):
    secret = make_token(admin_client)["token"]
    client = app.test_client()  # no session, no CSRF token
    created = client.post("/api/crm/contacts", json={"first_name": "Ada", "last_name": "Byron"}, headers=bearer(secret))
    assert created.status_code == 201
    assert created.get_json()["owner_id"] is None or created.get_json()["owner_id"] == admin.id
    assert client.get(f"/api/crm/contacts/{created.get_json()['id']}", headers=bearer(secret)).status_code == 200
    listed = admin_client.get("/api/crm/tokens").get_json()[0]
    assert listed["last_used_at"] is not None
    with app.app_context():
        actor = db.session.execute(sa.text(
            "SELECT actor_id FROM crm_audit_events WHERE entity_type = 'contact' AND entity_id = :id"),
            {"id": created.get_json()["id"]}).scalar()
    assert actor == admin.id


def test_session_writes_still_need_csrf(app, admin):
    client = app.test_client().login(admin)
    response = client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}, csrf=False)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf"


def test_malformed_unknown_revoked_and_expired_tokens_are_401(app, admin_client):
    client = app.test_client()
    live = make_token(admin_client)
    revoked = make_token(admin_client, name="old")
    assert admin_client.delete(f"/api/crm/tokens/{revoked['id']}").status_code == 204
    expiring = make_token(admin_client, name="short", expires_at=(datetime.now(UTC) + timedelta(seconds=2)).isoformat())
    with app.app_context():
        db.session.execute(sa.text("UPDATE crm_api_tokens SET expires_at = :past WHERE id = :id"),
                           {"past": datetime(2000, 1, 1), "id": expiring["id"]})
        db.session.commit()
    for header in ("Bearer", "Bearer ", "Bearer kwcrm_", "Bearer " + "x" * 500, "Bearer " + live["token"] + "x",
                   "Bearer " + live["token"].upper(), "Bearer " + revoked["token"], "Bearer " + expiring["token"]):
        response = client.get("/api/crm/contacts", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/crm/contacts", headers=bearer(live["token"])).status_code == 200
    states = {t["id"]: t["state"] for t in admin_client.get("/api/crm/tokens").get_json()}
    assert states == {live["id"]: "active", revoked["id"]: "revoked", expiring["id"]: "expired"}


def test_token_input_is_validated(admin_client):
    for body, field in (({"name": ""}, "name"), ({}, "name"), ({"name": "x" * 101}, "name"),
                        ({"name": "x", "expires_at": "tomorrow"}, "expires_at"),
                        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
                        ({"name": "x", "scope": "all"}, "scope")):
        response = admin_client.post("/api/crm/tokens", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"]


def test_a_token_sees_only_its_tenant(app, admin_client, other_admin_client):
    mine = admin_client.post("/api/crm/contacts", json={"first_name": "Mine", "last_name": "Only"}).get_json()
    theirs = make_token(other_admin_client)
    client = app.test_client()
    assert client.get(f"/api/crm/contacts/{mine['id']}", headers=bearer(theirs["token"])).status_code == 404
    assert client.get("/api/crm/contacts", headers=bearer(theirs["token"])).get_json() == []
    # and the other tenant's token cannot be revoked from here
    assert admin_client.delete(f"/api/crm/tokens/{theirs['id']}").status_code == 404


def test_access_rules_apply_to_the_tokens_admin(app, make_tenant, make_user):
    tenant = make_tenant()
    plain_admin = make_user(tenant, "ADMIN")  # without crm.delete
    secret = make_token(app.test_client().login(plain_admin))["token"]
    client = app.test_client()
    contact = client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}, headers=bearer(secret))
    response = client.delete(f"/api/crm/contacts/{contact.get_json()['id']}", headers=bearer(secret))
    assert response.status_code == 403 and "crm.delete" in response.get_json()["error"]["message"]

    with app.app_context():
        set_feature(db.session.get(Tenant, tenant.id), "crm", False)
        db.session.commit()
    response = client.get("/api/crm/contacts", headers=bearer(secret))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"

    with app.app_context():
        set_feature(db.session.get(Tenant, tenant.id), "crm", True)
        db.session.get(User, plain_admin.id).role = "STAFF"
        db.session.commit()
    assert client.get("/api/crm/contacts", headers=bearer(secret)).status_code == 403

    with app.app_context():
        user = db.session.get(User, plain_admin.id)
        user.role, user.active = "ADMIN", False
        db.session.commit()
    assert client.get("/api/crm/contacts", headers=bearer(secret)).status_code == 401


def test_bearer_is_ignored_by_pages(app, admin_client):
    secret = make_token(admin_client)["token"]
    response = app.test_client().get("/crm/", headers=bearer(secret))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_revoking_is_audited_and_idempotent(app, admin_client, admin):
    token = make_token(admin_client)
    assert admin_client.delete(f"/api/crm/tokens/{token['id']}").status_code == 204
    assert admin_client.delete(f"/api/crm/tokens/{token['id']}").status_code == 204
    assert admin_client.delete("/api/crm/tokens/999999999").status_code == 404
    with app.app_context():
        actions = db.session.execute(sa.text(
            "SELECT action, actor_id FROM crm_audit_events WHERE entity_type = 'api_token' AND entity_id = :id "
            "ORDER BY id"), {"id": token["id"]}).all()
    assert [tuple(a) for a in actions] == [("created", admin.id), ("revoked", admin.id)]
