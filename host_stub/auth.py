"""Session login for the host: /login, /logout, and the tiny host pages around them."""
import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from . import features
from .models import User, db
from .security import check_password_evenly, limiter

bp = Blueprint("host", __name__)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect). Browsers
    drop tabs and newlines and read backslashes as slashes (``/\t/evil.example`` is
    ``//evil.example`` to them), so any control character, space or backslash disqualifies."""
    fallback = url_for("host.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\\" for c in target):
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc else target


def _form_text(name: str, limit: int) -> str | None:
    """A login form field, or ``None`` when it cannot be a real email/password (too long,
    control characters such as NUL, which PostgreSQL cannot even compare)."""
    value = request.form.get(name) or ""
    if len(value) > limit or any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        return None
    return value


def _login_account_key() -> str:
    """Failed logins count per account (the normalised email), whichever address tries."""
    email = (request.form.get("email") or "").strip().lower()[:255]
    return "login-account:" + hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_login_account_key,
               methods=["POST"], deduct_when=_failed, scope="login-account")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_failed,
               scope="login-address")
def login():
    error = None
    if request.method == "POST":
        email, password = _form_text("email", 255), _form_text("password", 1024)
        user = None
        if email is not None and password is not None:
            user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if not check_password_evenly(user, password or ""):
            error = "Unknown email or wrong password."
        elif not user.active:
            error = "This account is deactivated."
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next") or request.form.get("next")))
    return render_template("host_stub/login.html", error=error), (401 if error else 200)


@bp.errorhandler(429)
def _too_many_attempts(_exc):
    error = "Too many failed logins. Wait a minute and try again."
    return render_template("host_stub/login.html", error=error), 429


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: this and every other session cookie of the account stops working server-side."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("host.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """A new password ends every session opened with the old one; this browser stays signed in."""
    error = None
    if request.method == "POST":
        user = db.session.get(User, current_user.id)
        current, new = _form_text("current_password", 1024), _form_text("new_password", 1024)
        if current is None or not user.check_password(current):
            error = "The current password is wrong."
        elif new is None or len(new) < 8:
            error = "The new password needs at least 8 characters."
        else:
            user.set_password(new)
            db.session.commit()
            login_user(user)  # this browser gets a cookie of the new generation
            flash("Password changed. Other sessions were signed out.")
            return redirect(url_for("host.index"))
    return render_template("host_stub/password.html", error=error), (422 if error else 200)


@bp.route("/")
@login_required
def index():
    return render_template("host_stub/index.html",
                           features=sorted(features.enabled_features(current_user.tenant_id)))


@bp.route("/users/<int:user_id>")
@login_required
def user_detail(user_id: int):
    user = db.session.get(User, user_id)
    if user is None or user.tenant_id != current_user.tenant_id:
        abort(404)
    return render_template("host_stub/user.html", user=user)


def plugin_errors():
    return current_app.extensions["host_stub"].plugin_errors
