"""Domain errors raised by services; the API turns them into the contract's JSON errors and
the pages into flashed messages or error pages."""


class CrmError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields


class NotFound(CrmError):
    status, code = 404, "not_found"


class Forbidden(CrmError):
    status, code = 403, "forbidden"


class Conflict(CrmError):
    """A business rule forbids the change (archived record, closed deal, stale version...)."""

    status, code = 409, "conflict"


class Invalid(CrmError):
    """Input that parses but breaks a field rule; ``fields`` maps field -> [messages]."""

    status, code = 422, "validation_error"

    def __init__(self, fields: dict, message: str = "Some fields are invalid."):
        super().__init__(message, {k: v if isinstance(v, list) else [v] for k, v in fields.items()})


class TooLarge(CrmError):
    status, code = 413, "too_large"


class Busy(CrmError):
    """The database refused a write because another one holds it (SQLite's single writer, when
    two writes collide instead of queueing): nothing was written, the client may retry."""

    status, code = 503, "busy"


def as_busy(error: Exception) -> Busy:
    """The ``Busy`` a database error stands for; any other database error is raised again (a
    real failure stays a 500 with its traceback)."""
    text = str(getattr(error, "orig", error)).lower()
    if "database is locked" in text or "database table is locked" in text:
        return Busy("Another change was being saved at the same moment; nothing was changed. Try again.")
    raise error
