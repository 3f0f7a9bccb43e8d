"""The host boundary: plugin loading, login, sessions, CSRF, feature flags and the CLI."""
import pytest
from sqlalchemy import select

from host_stub import create_app
from host_stub.models import Tenant, TenantFeature, User, db
from tests.conftest import PASSWORD
from tests.support.fake_dist import installed_plugin


def login(client, email, password=PASSWORD, next_path=None):
    client.with_csrf()
    url = "/login" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"email": email, "password": password})


def test_the_crm_plugin_is_found_through_its_entry_point(app):
    pm = app.extensions["host_stub"].plugin_manager
    assert pm.has_plugin("crm")
    assert "crm" in app.extensions["host_stub"].feature_names
    assert app.extensions["host_stub"].plugin_errors == {}


def test_a_broken_plugin_is_reported_by_name_and_the_host_still_serves(tmp_path, database_url, app, admin):
    source = "raise RuntimeError('boom at import')\n"
    with installed_plugin(tmp_path, "broken-plugin", "broken", "kw_broken_plugin", source):
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})
    errors = other.extensions["host_stub"].plugin_errors
    assert "broken" in errors and "boom at import" in errors["broken"]
    client = other.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(admin.id)
    assert client.get("/crm/").status_code == 200
    assert "broken" in client.get("/").get_data(as_text=True)


def test_a_plugin_failing_in_init_is_unregistered_and_reported(tmp_path, database_url):
    source = (
        "import pluggy\nhookimpl = pluggy.HookimplMarker('kw_platform')\n"
        "@hookimpl\ndef platform_init_app(app, plugin_manager):\n    raise ValueError('bad init')\n"
    )
    with installed_plugin(tmp_path, "bad-init", "badinit", "kw_bad_init_plugin", source):
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    assert "bad init" in other.extensions["host_stub"].plugin_errors["badinit"]
    assert not other.extensions["host_stub"].plugin_manager.has_plugin("badinit")
    assert other.extensions["host_stub"].plugin_manager.has_plugin("crm")


def test_login_follows_a_local_next_and_opens_the_crm(app, admin):
    client = app.test_client()
    response = login(client, admin.email, next_path="/crm/")
    assert response.status_code == 302 and response.headers["Location"] == "/crm/"
    assert client.get("/crm/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, admin, target):
    response = login(app.test_client(), admin.email, next_path=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_without_a_session(app, admin):
    client = app.test_client()
    response = login(client, admin.email, password="nope")
    assert response.status_code == 401 and "wrong password" in response.get_data(as_text=True)
    assert client.get("/crm/").status_code == 302


def test_login_without_csrf_token_is_a_400(app, admin):
    response = app.test_client().post("/login", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 400


def test_a_deactivated_user_loses_access_at_once(app, admin):
    client = app.test_client().login(admin)
    assert client.get("/crm/").status_code == 200
    with app.app_context():
        db.session.get(User, admin.id).active = False
        db.session.commit()
    assert client.get("/crm/").status_code == 302
    assert client.get("/api/crm/").status_code == 401
    assert "deactivated" in login(app.test_client(), admin.email).get_data(as_text=True)


def test_an_expired_or_forged_session_is_anonymous(app, admin):
    client = app.test_client()
    client.set_cookie("session", "not-a-valid-signed-session")
    assert client.get("/crm/").status_code == 302
    assert client.get("/api/crm/").status_code == 401


def test_unknown_user_in_session_is_anonymous(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "999999999"
    assert client.get("/crm/").status_code == 302


def test_nav_shows_crm_only_to_admins_of_tenants_with_the_feature(app, make_tenant, make_user):
    on, off = make_tenant(), make_tenant(features=())
    assert ">CRM<" in app.test_client().login(make_user(on)).get("/").get_data(as_text=True)
    assert ">CRM<" not in app.test_client().login(make_user(on, "STAFF")).get("/").get_data(as_text=True)
    assert ">CRM<" not in app.test_client().login(make_user(off)).get("/").get_data(as_text=True)


def test_logout_ends_the_session(admin_client):
    assert admin_client.post("/logout").status_code == 302
    assert admin_client.get("/crm/").status_code == 302


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_features_cli_switches_the_crm_per_tenant(app, make_user):
    name = "cli-tenant-features"
    result = cli(app, "features", "disable", "crm", "--tenant", name)
    assert result.exit_code == 0, result.output
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.name == name))
    client = app.test_client().login(make_user(tenant))
    assert client.get("/crm/").status_code == 404
    assert cli(app, "features", "enable", "crm", "--tenant", name).exit_code == 0
    assert client.get("/crm/").status_code == 200
    assert "crm\ton" in cli(app, "features", "list", "--tenant", name).output


def test_features_cli_rejects_unknown_features(app):
    result = cli(app, "features", "enable", "nonsense", "--tenant", "whatever")
    assert result.exit_code != 0 and "unknown feature" in result.output


def test_create_user_cli_creates_tenant_with_default_features_and_grants(app):
    result = cli(app, "create-user", "Boss@Example.test", "--password", "pw", "--role", "ADMIN",
                 "--tenant", "cli-tenant-users", "--grant", "crm.delete")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "boss@example.test"))
        assert user.role == "ADMIN" and user.permissions == ["crm.delete"] and user.check_password("pw")
        assert db.session.get(TenantFeature, (user.tenant_id, "crm")) is not None
    assert login(app.test_client(), "boss@example.test", password="pw").status_code == 302


def test_create_user_cli_rejects_unknown_roles(app):
    result = cli(app, "create-user", "x@example.test", "--password", "pw", "--role", "ROOT")
    assert result.exit_code != 0
