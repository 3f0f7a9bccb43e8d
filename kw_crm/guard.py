"""The one access guard of every CRM blueprint: feature flag -> admin role -> tenant.

Applied once per blueprint with ``before_request``, so a new route is guarded without anyone
remembering to. Order of answers (contract section 3): anonymous -> login (302 / 401 JSON);
unknown tenant or feature off -> 404 as if the route did not exist; not an ADMIN -> 403.
On success the request's tenant is bound for the tenancy hooks and the user kept in ``g``."""
from flask import Blueprint, abort, g, jsonify, redirect, request

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


def check_access():
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
    bind_tenant(tenant_id)
    g.crm_user = user


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


def require_delete_permission() -> None:
    if not host.has_permission(g.crm_user, DELETE_PERMISSION):
        raise Forbidden(f"You need the {DELETE_PERMISSION} permission to archive or delete.")
