"""Settings: API tokens (create with an optional expiry, shown once; list with last use; revoke)."""
from datetime import UTC, datetime, timedelta

from flask import redirect, request, url_for
from marshmallow import ValidationError

from ..guard import current_actor
from ..schemas.tokens import TokenInput
from ..services import tokens
from . import render, web_bp
from .notices import notify


def _input_from_form(form) -> dict:
    """The form (a name and an optional last valid day) as the API's input: the token stops
    working at the end of that day, UTC."""
    data = {"name": form.get("name", "")}
    day = form.get("expires_on", "").strip()
    if day:
        try:
            data["expires_at"] = (datetime.fromisoformat(day) + timedelta(days=1)).replace(tzinfo=UTC).isoformat()
        except ValueError:
            raise ValidationError({"expires_at": ["Pick a date (YYYY-MM-DD)."]}) from None
    return TokenInput().load(data)


def _page(status: int = 200, **context):
    rows, total = tokens.list_tokens(limit=200, offset=0)
    return render("settings/tokens.html", status=status, tokens=rows, total=total, state=tokens.state, **context)


@web_bp.get("/settings/tokens", endpoint="settings_tokens")
def tokens_page():
    return _page()


@web_bp.post("/settings/tokens")
def tokens_create():
    try:
        data = _input_from_form(request.form)
    except ValidationError as error:
        return _page(422, errors=error.messages, form=request.form)
    created = tokens.create(data["name"], data.get("expires_at"), actor_id=current_actor().id)
    # Rendered, never redirected: the secret must not travel through the session cookie.
    return _page(created=created)


@web_bp.post("/settings/tokens/<int:token_id>/revoke")
def tokens_revoke(token_id: int):
    token = tokens.revoke(token_id, actor_id=current_actor().id)
    notify(f"Token “{token.name}” revoked: requests with it are refused from now on.")
    return redirect(url_for("crm.settings_tokens"))
