"""The one input layer of the CRM: every byte a client sends passes here before a view sees it.

- **Body size** per route class, enforced before anything (the CSRF check included) reads the
  body: small for forms and JSON, the attachment limit for uploads, the import limit for
  imports (``@body_limit(...)`` on the view), anonymous or not.
- **Text**: NUL, lone surrogates, control characters (tab/newline are allowed in form bodies
  and JSON strings, for text areas; never in query strings) and bidirectional override/isolate characters are refused with a
  field-level 4xx in every query argument, form field and JSON string, so no service ever gets
  text PostgreSQL cannot store or that spoofs its own rendering.
- **Numbers**: ids, page numbers and versions are ASCII digits within the column range.
- **JSON**: nesting is bounded before parsing; NaN/Infinity and oversized numbers are refused.
- **Redirect targets** (``next=``, referrers) are followed only when they are same-site paths."""
import io
import json
import re
from urllib.parse import urlsplit

from flask import current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from .db import MAX_ID
from .errors import CrmError, Invalid

DEFAULT_BODY_BYTES = 1024 * 1024  # forms and JSON: the largest honest body is a 20,000-character note
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the CSRF field around an uploaded file
MAX_JSON_DEPTH = 20

# Bidirectional embedding/override/isolate controls: they reorder how text is displayed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MULTILINE_OK = frozenset("\t\n\r")
# any character text_problem looks at twice; most text has none and is cleared by one C-level search
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(BIDI_CONTROLS)) + "]")


# --- body size --------------------------------------------------------------------------------

def body_limit(config_key: str, *, slack: int = 0):
    """Declare the body size limit of a view: the config value named ``config_key`` plus
    ``slack`` bytes (the multipart wrapping around a file whose own size the service checks).
    Views without it get ``CRM_MAX_BODY_BYTES``."""
    def mark(view):
        view.crm_body_limit = (config_key, slack)
        return view
    return mark


def route_body_limit() -> int | None:
    """The byte limit of this request's CRM route, or ``None`` when it is not a CRM route."""
    rule = request.url_rule
    if rule is None or not rule.endpoint.startswith(("crm.", "crm_admin.", "crm_api.")):
        return None
    config_key, slack = getattr(current_app.view_functions.get(rule.endpoint), "crm_body_limit",
                                ("CRM_MAX_BODY_BYTES", 0))
    return int(current_app.config[config_key]) + slack


def limit_body():
    """App-level, first of all ``before_request`` functions: cap the request body.

    CRM routes get their declared limit, other routes keep the host's ``MAX_CONTENT_LENGTH``.
    A declared ``Content-Length`` above the limit is refused at once, nothing read; a body
    without one (chunked) is read through a stream that answers 413 on the first byte past the
    limit (werkzeug's own cap would silently truncate it into a different, smaller request)."""
    limit = route_body_limit()
    if limit is None:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit is None:
            return None
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge(f"The request body is larger than this route's limit of {limit} bytes.")
    if length is None and request.environ.get("wsgi.input_terminated"):
        request.environ["wsgi.input"] = CappedInput(request.environ["wsgi.input"], limit)
        request.max_content_length = limit + 1  # so werkzeug reads the byte that proves the excess
    else:
        request.max_content_length = limit
    return None


class CappedInput(io.RawIOBase):
    """``wsgi.input`` of a body of unknown length: 413 once more than ``limit`` bytes arrive."""

    def __init__(self, stream, limit: int):
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise RequestEntityTooLarge("The request body is larger than this route's limit.")
        self._left -= len(data)
        buffer[:len(data)] = data
        return len(data)


# --- text -------------------------------------------------------------------------------------

def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored, or ``None`` when it is clean."""
    if not _SUSPECT.search(value):
        return None
    for char in value:
        code = ord(char)
        if code < 32 or 0x7F <= code <= 0x9F:
            if char == "\x00":
                return "NUL characters are not allowed."
            if not (multiline and char in _MULTILINE_OK):
                return "Control characters are not allowed."
        elif 0xD800 <= code <= 0xDFFF:
            return "The text is not valid Unicode (a lone surrogate)."
        elif char in BIDI_CONTROLS:
            return "Bidirectional override characters are not allowed."
    return None


def strip_unsafe(value: str) -> str:
    """``value`` without control, surrogate and bidi characters: for labels we keep but never
    refuse (an uploaded file's name)."""
    return "".join(c for c in value if text_problem(c) is None)


def keeps_raw_text(view):
    """Mark a view that ingests text from elsewhere (captured mail) and cleans it itself: a
    mail with a stray control character must be stored cleaned, not refused. Its JSON is still
    depth- and syntax-checked."""
    view.crm_raw_text = True
    return view


def check_request_text() -> None:
    """Refuse a request whose query arguments, form fields or JSON body carry unstorable text
    (422 naming the fields) or whose JSON is malformed (400), before any view runs, so even a
    view that ignores its body never acts on such a request. Form bodies and JSON strings may
    contain tab and newlines (text areas); query strings may not."""
    raw = getattr(current_app.view_functions.get(request.endpoint), "crm_raw_text", False)
    if request.is_json and request.method not in ("GET", "HEAD", "OPTIONS") and request.content_length != 0:
        g.crm_json = load_json(request.get_data(cache=True), check_text=not raw)
    if raw:
        return
    errors: dict[str, list[str]] = {}
    for source, multiline in ((request.args, False), (request.form, True)):
        for key, values in source.lists():
            problem = text_problem(key) or next(
                (p for p in (text_problem(v, multiline=multiline) for v in values) if p), None)
            if problem:
                errors[_field_name(key)] = [problem]
    if errors:
        raise Invalid(errors, f"Text that cannot be stored in: {', '.join(errors)}.")


def _field_name(key: str) -> str:
    return key if text_problem(key) is None else repr(key)[1:-1][:60]


# --- numbers ------------------------------------------------------------------------------------

_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_int(raw, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number from form/query text: ASCII digits only (``"²"``, ``"1²"``, ``"٣"``, ``"+1"``
    and ``" 1"`` are not numbers here), within ``low..high``; otherwise ``None``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if low <= value <= high else None


def parse_id(raw) -> int | None:
    """A row id from form/query text (1..MAX_ID), or ``None``."""
    return parse_int(raw, low=1, high=MAX_ID)


# --- JSON ---------------------------------------------------------------------------------------

def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number.")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does the JSON text nest arrays/objects deeper than ``limit``? A linear scan that skips
    strings, done before ``json.loads`` (which recurses and would hit the interpreter's limit)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def request_json():
    """This request's JSON document (parsed once, by ``check_request_text``), or a 400."""
    if not request.is_json:
        raise CrmError("Send a JSON body with Content-Type: application/json.")
    if "crm_json" not in g:
        g.crm_json = load_json(request.get_data(cache=True))
    return g.crm_json


def load_json(raw: bytes, *, check_text: bool = True):
    """Parse a request body: 400 for malformed, too deeply nested or non-finite JSON; 422 naming
    the field for strings that may not be stored (NUL, lone surrogates, control characters;
    newlines and tabs are allowed inside JSON strings)."""
    if json_depth_exceeds(raw):
        raise CrmError(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise CrmError("The request body is not UTF-8.") from exc
    except ValueError as exc:  # malformed, NaN/Infinity, an integer of more than 4,300 digits
        raise CrmError(f"The request body is not valid JSON: {str(exc)[:120]}") from exc
    errors: dict[str, list[str]] = {}
    if check_text:
        _check_json_strings(data, "", errors)
    if errors:
        raise Invalid(errors)
    return data


def _check_json_strings(value, path: str, errors: dict) -> None:
    if isinstance(value, str):
        problem = text_problem(value, multiline=True)
        if problem:
            errors.setdefault(path or "_schema", [problem])
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            if text_problem(key):
                errors.setdefault(_field_name(name), ["Field names may not contain control characters."])
                continue
            _check_json_strings(item, name, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_strings(item, f"{path}.{index}" if path else str(index), errors)


# --- redirects ------------------------------------------------------------------------------------

def safe_redirect_target(target, fallback: str) -> str:
    """``target`` when it is a path on this site, else ``fallback``.

    Browsers drop tab and newline characters and read backslashes as slashes, so
    ``/\\t/evil.example`` would become ``//evil.example``: any control character, whitespace
    or backslash disqualifies a target, as do a scheme, a host and a leading ``//``."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return fallback
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\\" for c in target) or text_problem(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def same_site_referrer(fallback: str) -> str:
    """The page the request came from, when it is on this site (as a path), else ``fallback``."""
    referrer = request.referrer or ""
    if not referrer.startswith(request.host_url):
        return fallback
    return safe_redirect_target("/" + referrer[len(request.host_url):], fallback)
