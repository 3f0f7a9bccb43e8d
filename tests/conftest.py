"""Fixtures: the real host app from ``host_stub.create_app``, its schema built by running the
real migrations, on the database named by ``KW_TEST_DATABASE_URL`` (default: a SQLite file).

Isolation: every test gets tenants (and users) of its own, so tests never see each other's
rows; the schema is built once per run. For PostgreSQL a scratch database is created for the
run and dropped afterwards, so runs never see each other's data either."""
import itertools
import os
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer

from host_stub import create_app
from host_stub.features import set_feature
from host_stub.models import Tenant, User, db
from kw_crm.tenancy import tenant_scope

PASSWORD = "correct horse"
_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_seq)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("KW_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'kw_crm_test.db'}"
        return
    parsed = sa.make_url(url)
    if not parsed.get_backend_name().startswith("postgresql"):
        yield url
        return
    scratch = f"kw_crm_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
    try:
        yield parsed.set(database=scratch).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": None,
        "CRM_STORAGE_DIR": str(tmp_path_factory.mktemp("storage")),
        "CRM_JOB_RUNNER": "inline",  # jobs run right after the commit, so tests see their effect
        # host_stub sells products, which makes a product required on new deals; the suite's
        # deal tests are about other rules, so the product tests switch it on themselves
        "CRM_REQUIRE_PRODUCT": False,
        "CELERY_BROKER_URL": None,  # jobs run in the test process; tests/test_celery.py starts a worker
        # Login throttling counts in the shared store production uses (one key prefix per run,
        # so parallel runs never share counters).
        "RATELIMIT_STORAGE_URI": os.environ.get("KW_TEST_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
        "RATELIMIT_KEY_PREFIX": unique("kw-test-limits"),
    })
    app.test_client_class = CrmClient
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replaces pytest-flask's fixture of this name, which keeps one request context open
    around each test: the test client's requests would then share its ``g`` (a cached login,
    a bound tenant) and hide real bugs. Tests open the contexts they need themselves."""
    yield


@pytest.fixture(autouse=True)
def _clean_session(app):
    yield
    with app.app_context():
        db.session.rollback()
        db.session.remove()


class CrmClient(FlaskClient):
    """A test client that logs a user in through the session and sends a valid CSRF token
    with every state-changing request (pass ``csrf=False`` to leave it out)."""

    csrf_token: str | None = None

    def login(self, user) -> "CrmClient":
        with self.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
        return self.with_csrf()

    def with_csrf(self) -> "CrmClient":
        raw = uuid.uuid4().hex
        with self.session_transaction() as session:
            session["csrf_token"] = raw
        self.csrf_token = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)
        return self

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and self.csrf_token and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def make_tenant(app):
    def make(features=("crm",), name=None) -> Tenant:
        with app.app_context():
            tenant = Tenant(name=name or unique("tenant"))
            db.session.add(tenant)
            db.session.flush()
            for feature in features:
                set_feature(tenant, feature, True)
            db.session.commit()
            db.session.refresh(tenant)
            db.session.expunge(tenant)
            return tenant
    return make


@pytest.fixture
def make_user(app):
    def make(tenant, role="ADMIN", grants=(), active=True, name=None) -> User:
        with app.app_context():
            email = f"{unique(role.lower())}@example.test"
            user = User(tenant_id=tenant.id, email=email, name=name or email.split("@")[0], role=role,
                        permissions=list(grants), active=active)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user
    return make


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


@pytest.fixture
def admin(make_user, tenant):
    """An ADMIN of ``tenant`` holding ``crm.delete``."""
    return make_user(tenant, "ADMIN", grants=("crm.delete",))


@pytest.fixture
def admin_client(app, admin) -> CrmClient:
    return app.test_client().login(admin)


@pytest.fixture
def staff_client(app, make_user, tenant) -> CrmClient:
    return app.test_client().login(make_user(tenant, "STAFF"))


@pytest.fixture
def vendor_client(app, make_user, tenant) -> CrmClient:
    return app.test_client().login(make_user(tenant, "VENDOR"))


@pytest.fixture
def other_tenant(make_tenant):
    return make_tenant()


@pytest.fixture
def other_admin(make_user, other_tenant):
    return make_user(other_tenant, "ADMIN", grants=("crm.delete",))


@pytest.fixture
def other_admin_client(app, other_admin) -> CrmClient:
    """An ADMIN of another tenant: every record of ``tenant`` must look like a 404 to it."""
    return app.test_client().login(other_admin)


@pytest.fixture
def crm_scope(app):
    """``with crm_scope(tenant):`` binds the tenant in an app context for model/service tests."""
    @contextmanager
    def scope(tenant):
        with app.app_context(), tenant_scope(tenant.id):
            yield db.session
    return scope


@pytest.fixture
def count_queries(app):
    """``with count_queries() as queries: ...`` then ``len(queries)`` is the SQL sent."""
    @contextmanager
    def counting():
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    return counting


@pytest.fixture
def outbox(app):
    """The host's memory mailer outbox (cleared for the test)."""
    box = app.extensions["host_stub"].outbox
    box.clear()
    return box


def pytest_sessionfinish(session, exitstatus):
    """In CI (``KW_FAIL_ON_SKIP=1``) a skipped test counts as a failure: a skipped browser or
    database run must never pass as green."""
    if os.environ.get("KW_FAIL_ON_SKIP") == "1" and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and reporter.stats.get("skipped"):
            reporter.write_line("KW_FAIL_ON_SKIP: skipped tests are failures in CI", red=True)
            session.exitstatus = 1
