"""The host's own hardening: the secret key, session cookies that die server-side, login
throttling, security headers. A real host copies these decisions; kw_crm relies on them."""
import logging
import os
import secrets
from functools import cache
from pathlib import Path

import click
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger("host_stub.security")
KEY_FILE = "secret_key"

# --- the secret key ----------------------------------------------------------------------------


def key_path(app: Flask) -> Path:
    return Path(app.instance_path) / KEY_FILE


def write_instance_key(app: Flask) -> bool:
    """Create ``<instance>/secret_key`` (random, readable by the owner only) unless it exists."""
    path = key_path(app)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return True


def _serving() -> bool:
    """Is this app being built to answer requests? True under a WSGI server and ``flask run``;
    false for the other CLI commands (``db upgrade``, ``demo``...), which use no session."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"


def resolve_secret_key(app: Flask, configured: str | None) -> str:
    """The key signing session cookies: configured (``SECRET_KEY`` in the config or the
    environment), else the instance folder's ``secret_key`` file. A debug or test app without
    one gets a random key; anything else that serves refuses to start: a guessable default key
    would let anyone forge a session."""
    if configured:
        return configured
    path = key_path(app)
    if path.is_file():
        return path.read_text().strip()
    if app.debug:
        write_instance_key(app)
        return path.read_text().strip()
    if app.config.get("TESTING") or not _serving():
        return secrets.token_urlsafe(48)  # tests, and CLI commands that never issue a cookie
    raise RuntimeError(
        f"No SECRET_KEY: set the SECRET_KEY environment variable, or create {path} "
        "(`flask --app host_stub demo` does, for the demo). Refusing to start with a guessable key.")


# --- session cookies --------------------------------------------------------------------------

class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS (behind a proxy,
    let ``werkzeug.middleware.proxy_fix.ProxyFix`` tell the app), not only when configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


# --- login throttling and timing -----------------------------------------------------------------

limiter = Limiter(key_func=get_remote_address)


def init_limiter(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("RATELIMIT_STORAGE_URI", "memory://"))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "host_stub")
    # A Redis outage must not lock everyone out: count in this process until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute; 20 per hour")
    app.config.setdefault("LOGIN_LIMIT_PER_ADDRESS", "30 per minute; 200 per hour")
    in_memory = app.config["RATELIMIT_STORAGE_URI"].startswith("memory:")
    if in_memory and _serving() and not (app.debug or app.config.get("TESTING")):
        log.warning("login throttling counts in process memory: with several workers or machines set "
                    "RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379/0)")
    limiter.init_app(app)


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def check_password_evenly(user, password: str) -> bool:
    """Check ``password`` against ``user`` (or, for an unknown email, against a dummy hash of
    the same algorithm), so the answer takes as long whether or not the email exists."""
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


# --- headers ---------------------------------------------------------------------------------------

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; object-src 'none'; "
                               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def security_headers(response):
    """Every host response; a plugin's own (stricter or looser) policy for its pages is kept."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
