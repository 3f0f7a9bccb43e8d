"""The host's side of issue 10: secret key, server-side session invalidation, login throttling
and timing, security headers, same-site redirects after login."""
import statistics
import time
import uuid

import pytest
from flask import Flask

from host_stub import security
from host_stub.models import User, db
from tests.conftest import PASSWORD


def _address() -> str:
    """A client address of its own, so the per-address login limit of one test never counts
    another test's failures."""
    raw = uuid.uuid4().int
    return f"10.{raw % 250}.{raw // 250 % 250}.{raw // 62500 % 250 + 1}"


def _login(client, email, password, address, **kwargs):
    client.get("/login")  # a session with a CSRF token
    return client.post("/login", data={"email": email, "password": password, **kwargs},
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def web(app):
    """A browser-like client: real login form, CSRF token taken from the session."""
    client = app.test_client()
    client.with_csrf()
    return client


# --- the secret key ---------------------------------------------------------------------------

def test_a_served_app_without_a_key_refuses_to_start(tmp_path):
    app = Flask("keyless", instance_path=str(tmp_path / "instance"))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        security.resolve_secret_key(app, None)


def test_the_demo_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path):
    app = Flask("demo", instance_path=str(tmp_path / "instance"))
    assert security.write_instance_key(app) is True
    key = security.resolve_secret_key(app, None)
    assert len(key) >= 32 and security.key_path(app).stat().st_mode & 0o077 == 0
    assert security.write_instance_key(app) is False and security.resolve_secret_key(app, None) == key
    assert security.resolve_secret_key(app, "configured") == "configured"


def test_a_debug_app_gets_a_random_key_never_the_old_default(tmp_path):
    app = Flask("debug", instance_path=str(tmp_path / "instance"))
    app.debug = True
    key = security.resolve_secret_key(app, None)
    assert key and key != "dev-only-change-me" and security.key_path(app).is_file()


# --- sessions die server-side -------------------------------------------------------------------

def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def _browser_with(app, cookie) -> object:
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_logout_invalidates_the_old_session_cookie(app, web, admin):
    assert _login(web, admin.email, PASSWORD, _address()).status_code == 302
    stolen = _session_cookie(web)
    assert _browser_with(app, stolen).get("/").status_code == 200
    assert web.post("/logout").status_code == 302
    replay = _browser_with(app, stolen).get("/")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]
    assert _browser_with(app, stolen).get("/api/crm/contacts").status_code == 401


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, web, admin):
    assert _login(web, admin.email, PASSWORD, _address()).status_code == 302
    other_device = _session_cookie(web)
    response = web.post("/account/password", data={"current_password": PASSWORD, "new_password": "a new secret"})
    assert response.status_code == 302
    assert web.get("/").status_code == 200  # this browser got a fresh cookie
    assert _browser_with(app, other_device).get("/").status_code == 302
    wrong = web.post("/account/password", data={"current_password": "nope", "new_password": "another one"})
    assert wrong.status_code == 422


def test_a_password_reset_from_the_cli_ends_sessions(app, web, admin):
    assert _login(web, admin.email, PASSWORD, _address()).status_code == 302
    cookie = _session_cookie(web)
    result = app.test_cli_runner().invoke(args=["create-user", admin.email, "--password", "reset-pass",
                                                "--tenant", _tenant_name(app, admin)])
    assert result.exit_code == 0, result.output
    assert _browser_with(app, cookie).get("/").status_code == 302


def _tenant_name(app, user) -> str:
    from host_stub.models import Tenant

    with app.app_context():
        return db.session.get(Tenant, user.tenant_id).name


# --- throttling and timing ------------------------------------------------------------------------

def test_failed_logins_are_throttled_per_account_even_from_many_addresses(web, admin):
    for _ in range(5):
        assert _login(web, admin.email, "wrong", _address()).status_code == 401
    blocked = _login(web, admin.email, PASSWORD, _address())  # right password, new address: still throttled
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.get_data(as_text=True)


def test_failed_logins_are_throttled_per_address_across_accounts(web, admin):
    address = _address()
    for n in range(30):
        assert _login(web, f"nobody-{n}-{uuid.uuid4().hex[:6]}@example.test", "x", address).status_code == 401
    assert _login(web, admin.email, PASSWORD, address).status_code == 429
    assert _login(web, admin.email, PASSWORD, _address()).status_code == 302  # another address is not blocked


def test_successful_logins_are_not_counted(web, admin):
    address = _address()
    for _ in range(8):
        assert _login(web, admin.email, PASSWORD, address).status_code == 302


def test_unknown_emails_take_as_long_as_known_ones(web, admin):
    """The answer for an unknown email costs a password hash too (before: 5 ms against 104 ms)."""
    def timed(email):
        started = time.perf_counter()
        assert _login(web, email, "wrong password", _address()).status_code == 401
        return time.perf_counter() - started

    known = statistics.median(timed(admin.email) for _ in range(4))
    unknown = statistics.median(timed(f"ghost-{uuid.uuid4().hex}@example.test") for _ in range(4))
    assert unknown > 0.4 * known, (unknown, known)


def test_junk_in_the_login_form_is_a_plain_failed_login(web):
    for email in ("a\x00b@example.test", "x" * 100_000):
        assert _login(web, email, "pw\x00", _address()).status_code == 401
    raw = b"email=%ED%A0%80%00@example.test&password=x&csrf_token=" + web.csrf_token.encode()  # a UTF-8 surrogate
    response = web.post("/login", data=raw, content_type="application/x-www-form-urlencoded",
                        environ_base={"REMOTE_ADDR": _address()})
    assert response.status_code == 401


# --- headers, cookies, redirects ----------------------------------------------------------------

def test_host_and_crm_pages_carry_the_security_headers(app, web, admin_client):
    for response in (web.get("/login"), admin_client.get("/crm/"), admin_client.get("/api/crm/contacts")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    crm_policy = admin_client.get("/crm/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in crm_policy and "unsafe-inline" not in crm_policy.split("script-src")[1].split(";")[0]


def test_the_session_cookie_is_secure_over_https(app, admin):
    client = app.test_client()
    client.get("/login", base_url="https://portal.example")
    response = client.post("/login", base_url="https://portal.example",
                           data={"email": admin.email, "password": PASSWORD,
                                 "csrf_token": _csrf_from_login_page(client, "https://portal.example")},
                           headers={"Referer": "https://portal.example/login"},  # CSRF's HTTPS referrer check
                           environ_base={"REMOTE_ADDR": _address()})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = app.test_client().get("/login")
    assert "Secure" not in plain.headers.get("Set-Cookie", "")


def _csrf_from_login_page(client, base_url) -> str:
    import re

    html = client.get("/login", base_url=base_url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/ok\r\nSet-Cookie: x=1", " /evil"])
def test_login_never_redirects_off_site(web, admin, target):
    response = _login(web, admin.email, PASSWORD, _address(), next=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_login_follows_a_same_site_next(web, admin):
    response = _login(web, admin.email, PASSWORD, _address(), next="/crm/?page=2")
    assert response.headers["Location"] == "/crm/?page=2"


def test_a_user_row_keeps_its_generation_in_the_database(app, admin):
    with app.app_context():
        user = db.session.get(User, admin.id)
        before = user.session_generation
        user.end_sessions()
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(User, admin.id).session_generation == before + 1
