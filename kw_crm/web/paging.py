"""``?page=`` and ``?per_page=`` of every paged HTML list, read one way (as the API reads
``limit`` and ``offset``): a value that is not a page number or a page size is a 422 that says
what is allowed — never silently page 1 or one row per page. A page past the end is not an
error: the list says so and links to the last page (``_pager.html``)."""
import re
from dataclasses import dataclass

from flask import request

from ..db import MAX_ID
from ..errors import Invalid
from ..inputs import parse_int

MAX_PER_PAGE = 200  # as the API's limit
_PAGE = re.compile(r"[0-9]{1,30}")  # ASCII digits only ("²", "٣" are not page numbers); longer is not one


@dataclass(frozen=True)
class Paging:
    page: int  # as asked, so a page past the end can be named
    per_page: int

    @property
    def offset(self) -> int:
        """Where the page starts, capped to what an OFFSET holds (past the end either way)."""
        return min((self.page - 1) * self.per_page, MAX_ID)

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.per_page))


def page_number(param: str = "page") -> int:
    """The request's page number (default 1) from ``?page=`` or another page argument."""
    raw = request.args.get(param, "")
    page = int(raw) if _PAGE.fullmatch(raw) else None if raw else 1
    if not page:
        raise Invalid({param: ["Page numbers are whole numbers from 1 up."]}, "This list cannot be shown that way.")
    return page


def paging(per_page: int, *, sizable: bool = False) -> Paging:
    """The request's page (default 1) and page size (``per_page``, or ``?per_page=`` from 1 to
    ``MAX_PER_PAGE`` when the list is ``sizable``)."""
    errors = {}
    try:
        page = page_number()
    except Invalid as error:
        errors.update(error.fields)
    raw = request.args.get("per_page", "")
    if sizable and raw:
        per_page = parse_int(raw, low=1, high=MAX_PER_PAGE)
        if per_page is None:
            errors["per_page"] = [f"Rows per page must be a whole number from 1 to {MAX_PER_PAGE}."]
    if errors:
        raise Invalid(errors, "This list cannot be shown that way.")
    return Paging(page, per_page)
