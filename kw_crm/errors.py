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
