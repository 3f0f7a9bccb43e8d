"""Session login for the host: /login, /logout, and the tiny host pages around them."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from . import features
from .models import User, db

bp = Blueprint("host", __name__)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return url_for("host.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("host.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None or not user.check_password(request.form.get("password") or ""):
            error = "Unknown email or wrong password."
        elif not user.active:
            error = "This account is deactivated."
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next") or request.form.get("next")))
    return render_template("host_stub/login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("Signed out.")
    return redirect(url_for("host.login"))


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
