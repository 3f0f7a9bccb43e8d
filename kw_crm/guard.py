"""The one access guard of every CRM blueprint: feature flag -> admin role -> tenant.

Applied once per blueprint with ``before_request``, so a new route is guarded without anyone
remembering to. Order of answers (contract section 3): anonymous -> login (302 / 401 JSON);
unknown tenant or feature off -> 404 as if the route did not exist; not an ADMIN -> 403.
On success the request's tenant is bound for the tenancy hooks and the user kept in ``g``.

API requests may instead carry ``Authorization: Bearer <token>`` (an API token): the request
then acts as the token's admin in the token's tenant, with the same checks, and needs no CSRF
token (a browser never sends the header by itself). Session-authenticated API writes are
CSRF-checked here, after the access checks, because the API blueprint is exempt from the host's
blanket check so that bearer requests can pass it."""
from flask import Blueprint, abort, current_app, g, jsonify, redirect, request

from . import DELETE_PERMISSION, FEATURE, host
from .db import is_valid_id
from .errors import Forbidden
from .inputs import check_request_text
from .security import security_headers
from .tenancy import bind_tenant


def _wants_json() -> bool:
    return request.blueprint is not None and request.blueprint.startswith("crm_api")


def _deny(status: int, message: str):
    if _wants_json():
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[status]
        return jsonify(error={"code": code, "message": message}), status
    abort(status)


def _bearer_secret() -> str | None:
    """The bearer token of an API request, ``""`` for a malformed header, ``None`` for none."""
    header = request.headers.get("Authorization")
    if header is None or not _wants_json():
        return None
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme (e.g. the host's own): fall back to the session
    return secret.strip()


def check_access():
    from .services import tokens

    secret = _bearer_secret()
    if secret is not None:
        found = tokens.authenticate(secret) if secret else None
        if found is None:
            response = _deny(401, "The API token is malformed, unknown, revoked or expired.")
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="kw_crm", error="invalid_token"'
            return response
        user, token = found
        tenant_id = token.tenant_id
        g.crm_token_id = token.id
    else:
        user = host.current_user()
        if user is None:
            if _wants_json():
                return _deny(401, "Log in first.")
            return redirect(host.login_url(request.full_path.rstrip("?")))
        tenant_id = host.current_tenant_id()
    if tenant_id is None or not host.feature_enabled(tenant_id, FEATURE):
        return _deny(404, "Not found.")
    if getattr(user, "role", None) != "ADMIN":
        return _deny(403, "CRM pages are for admins.")
    if any(isinstance(v, int) and not is_valid_id(v) for v in (request.view_args or {}).values()):
        return _deny(404, "Not found.")  # no row has such an id; the database would overflow
    if secret is None and _wants_json():
        _check_csrf()
    bind_tenant(tenant_id)
    g.crm_user = user


def _check_csrf() -> None:
    """The host's CSRF check for a session-authenticated API call (raises the host's CSRF error)."""
    csrf = current_app.extensions.get("csrf")
    if csrf is not None and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def exempt_from_host_csrf(app, blueprint: Blueprint) -> None:
    """Let bearer-token requests through the host's blanket CSRF check; :func:`check_access`
    applies it to session-authenticated calls of ``blueprint`` instead."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(blueprint)


def finish_request(response):
    """Send the signals of this request's commits and hand on the jobs it queued; write
    requests also let the embedded runner retry the tenant's older due jobs."""
    from . import jobs, signals
    from .db import session
    from .tenancy import current_tenant_id

    signals.send_committed(session)
    if g.get("crm_user") is not None:
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        jobs.dispatch_committed(sweep_tenant=current_tenant_id() if writes else None)
    return response


def protect(blueprint: Blueprint) -> Blueprint:
    blueprint.before_request(check_access)
    blueprint.before_request(check_request_text)  # after the guard: anonymous requests stop there
    blueprint.after_request(finish_request)
    blueprint.after_request(security_headers)
    return blueprint


def current_actor():
    """The admin making this request (set by the guard)."""
    return g.crm_user


# Shown beside a disabled Delete or Archive control (pages offer only what the admin may do).
DELETE_PERMISSION_REASON = f"Needs the delete permission ({DELETE_PERMISSION})"


def has_delete_permission() -> bool:
    return host.has_permission(g.crm_user, DELETE_PERMISSION)


def require_delete_permission() -> None:
    if not has_delete_permission():
        raise Forbidden(f"You need the {DELETE_PERMISSION} permission to archive or delete.")
