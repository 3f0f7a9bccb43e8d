"""Keyset cursors of the API lists: the sort key of a page's last row, as an opaque token.

A cursor only says where a sorted list continues (it holds the last row's sort values, never
rights): the page after it is read with the caller's own tenant and filters. Tokens are
base64url JSON, so a bad one is a 422 naming the parameter, never a 500."""
import base64
import binascii
import json

from flask import request

from ..db import is_valid_id
from ..errors import Invalid

MAX_TEXT = 255


def encode(key: tuple[str, str, int]) -> str:
    raw = json.dumps(list(key), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str) -> tuple[str, str, int] | None:
    """The (text, text, id) key of ``token``, or None for anything else."""
    if not token or len(token) > 4 * MAX_TEXT:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if (isinstance(key, list) and len(key) == 3 and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in key[:2])
            and is_valid_id(key[2])):
        return key[0], key[1], key[2]
    return None


def cursor_arg(name: str, offset: int) -> tuple[str, str, int] | None:
    """The decoded cursor in query parameter ``name`` (None when absent); 422 when it is not a
    cursor of this list or comes with an ``offset``."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    key = decode(raw)
    if key is None:
        raise Invalid({name: ["Not a cursor of this list: pass the X-Next-Cursor header of the previous page."]})
    if offset:
        raise Invalid({name: ["Use either offset or after, not both."]})
    return key
