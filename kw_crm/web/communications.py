"""The Communications page: the tenant's communication log (filtered, paged, provenance on every
row) above the capture review queue, which resolves and dismisses exactly as on Risk & Health."""
import math

from flask import request

from ..db import is_valid_id
from ..schemas.communications import CHANNELS, DIRECTIONS
from ..services import communications, names
from . import render, web_bp
from .paging import Paging, page_number
from .risk import review_queue

LOG_PAGE = 50
CHOICES = {"channel": CHANNELS, "direction": DIRECTIONS, "source": communications.SOURCES}


def log_filters() -> dict:
    """The query's filters that mean something; anything else is ignored (a filter page never
    fails on a hand-edited URL)."""
    filters = {key: value for key, choices in CHOICES.items() if (value := request.args.get(key)) in choices}
    raw = (request.args.get("customer_id") or "").strip()
    if raw.isdigit() and len(raw) <= 10 and is_valid_id(int(raw)):
        filters["customer_id"] = int(raw)
    return filters


@web_bp.route("/communications", endpoint="communications")
def communications_page():
    filters, page = log_filters(), page_number()
    entries, total, capped = communications.tenant_log(filters, LOG_PAGE, Paging(page, LOG_PAGE).offset)
    filtered_customer = None
    if "customer_id" in filters:
        filtered_customer = names.customers([filters["customer_id"]]).get(filters["customer_id"])
    queue = review_queue(page_number("queue_page"))
    return render("communications/index.html", entries=entries, total=total, capped=capped, page=page,
                  pages=max(1, math.ceil(total / LOG_PAGE)), filters=filters, choices=CHOICES,
                  filtered_customer=filtered_customer, queue_endpoint="crm.communications",
                  queue_page_param="queue_page", queue_query=dict(filters, page=page), **queue)
