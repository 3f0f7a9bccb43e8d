"""Messages for the admin's next CRM page ("Deal saved.", "Archive refused: ..."), by kind.

Kept in the signed session cookie (not in process memory) and rendered by
``kw_crm/base.html`` as styled alerts, so a host layout needs no flash rendering of its own and
an error never looks like a success. Use ``notify(message, "error")`` instead of Flask's
``flash`` in CRM views."""
from flask import session

KINDS = ("success", "info", "warning", "error")
_KEY = "kw_crm_notices"


def notify(message: str, kind: str = "success") -> None:
    if kind not in KINDS:
        raise ValueError(f"notice kind must be one of {KINDS}")
    session[_KEY] = [*session.get(_KEY, []), [kind, message]]


def pop_notices() -> list[tuple[str, str]]:
    """The waiting notices (oldest first), removed from the session."""
    return [(kind, message) for kind, message in session.pop(_KEY, [])]
