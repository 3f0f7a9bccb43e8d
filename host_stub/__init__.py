"""host_stub: a small but real host platform for kw_crm (tenants, users, login, feature flags,
mail, layout) that loads portal plugins through pluggy entry points."""
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, jsonify, request
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import event

from . import crm_impl, features, security
from .mailer import Mailer
from .models import User, db
from .plugins import init_plugins, load_plugins

csrf = CSRFProtect()
migrate = Migrate()
login_manager = LoginManager()
login_manager.login_view = "host.login"


@dataclass
class HostState:
    plugin_manager: object
    mailer: Mailer
    plugin_errors: dict
    feature_names: set = field(default_factory=set)

    @property
    def outbox(self) -> list[dict]:
        return self.mailer.outbox


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config = dict(config or {})
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL")
        or f"sqlite:///{Path(app.instance_path) / 'portal.db'}",
        PORTAL_DEFAULT_FEATURES=["crm"],
        MAIL_FROM="portal@example.com", MAIL_SERVER="localhost", MAIL_PORT=25,
        PLATFORM_DISABLED_PLUGINS=[],
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1024 * 1024,  # bodies of host routes; CRM routes set their own limits
        CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL") or None,
        CELERY_QUEUE=os.environ.get("CELERY_QUEUE", "kw_portal"),
        MAIL_FILE=os.environ.get("MAIL_FILE"),
    )
    app.config.update(config)
    app.config["SECRET_KEY"] = security.resolve_secret_key(
        app, config.get("SECRET_KEY") or os.environ.get("SECRET_KEY"))
    app.session_interface = security.SessionInterface()
    app.after_request(security.security_headers)
    app.config.setdefault("MAIL_BACKEND", os.environ.get("MAIL_BACKEND")
                          or ("memory" if app.config.get("TESTING") else "log"))

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_limiter(app)

    loaded = load_plugins(set(app.config["PLATFORM_DISABLED_PLUGINS"]))
    pm = loaded.manager
    pm.register(crm_impl, name="host_stub.crm")
    pm.register(crm_impl.TicketsTab(), name="host_stub.helpdesk")
    if app.config["CELERY_BROKER_URL"]:  # jobs of plugins go to Celery; otherwise plugins run their own
        from .tasks import CeleryJobs, make_celery

        pm.register(CeleryJobs(make_celery(app)), name="host_stub.celery")
    state = HostState(pm, Mailer(app), loaded.errors)
    app.extensions["host_stub"] = state
    for names in pm.hook.platform_features():
        state.feature_names.update(names or [])

    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    from .auth import bp as auth_bp
    from .cli import register_cli

    app.register_blueprint(auth_bp)
    register_cli(app)
    _register_layout(app, state)
    _register_errors(app)
    init_plugins(loaded, app)
    return app


def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite enforces foreign keys (and their ON DELETE rules) only when asked, per connection.
    Write-ahead logging lets pages read while a long write (a background import) is open;
    in the default rollback journal a reader waits until that write commits."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@login_manager.user_loader
def _load_user(session_id: str):
    """The session's user, if the cookie is of the user's current session generation (logging
    out or changing the password starts a new one, ending every older cookie)."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 10):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or str(user.session_generation) != (generation or "0"):
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    from flask import redirect, url_for

    if request.path.startswith("/api/"):
        return jsonify(error={"code": "unauthorized", "message": "Log in first."}), 401
    return redirect(url_for("host.login", next=request.full_path.rstrip("?")))


def _register_layout(app: Flask, state: HostState) -> None:
    @app.context_processor
    def nav():
        if not current_user.is_authenticated:
            return {"nav_entries": [], "host_plugin_errors": state.plugin_errors}
        enabled = features.enabled_features(current_user.tenant_id)
        entries = [e for group in state.plugin_manager.hook.platform_nav_entries(
            user=current_user, tenant_id=current_user.tenant_id, features=enabled) for e in (group or [])]
        return {"nav_entries": entries, "host_plugin_errors": state.plugin_errors}


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        if request.path.startswith("/api/"):
            return jsonify(error={"code": "csrf", "message": exc.description}), 400
        return f"<h1>Bad request</h1><p>{exc.description} Reload the page and try again.</p>", 400
