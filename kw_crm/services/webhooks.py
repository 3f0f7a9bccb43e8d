"""Webhooks: a tenant's endpoints, the deliveries of its events, and the job that POSTs them.

Every signal of :mod:`kw_crm.signals` (the ones of today and any added later) is an event. When a
service queues a signal, :func:`_remember` notes it on the session; just before that transaction
commits, :func:`_write_deliveries` writes one delivery row per subscribed active endpoint, plus a
``webhook`` job for each — so a delivery exists exactly when the change that caused it was
committed. The job (run after commit by the job path, never in the request) POSTs the stored body
with ``X-KW-Signature: sha256=<HMAC-SHA256 of the body with the endpoint's secret>``, retries with
the job path's backoff, and disables an endpoint after ``CRM_WEBHOOK_DISABLE_AFTER`` failed
attempts in a row, saying why.

Addresses: only http(s) URLs. Before each POST the host name is resolved and every address is
checked: loopback, private, link-local and other non-public addresses are refused unless they lie
in ``CRM_WEBHOOK_ALLOWED_NETWORKS`` (e.g. ``["10.1.2.0/24"]``, or ``["127.0.0.0/8"]`` in tests),
and the connection goes to the checked address, so a DNS answer cannot switch targets in between.
With ``CRM_WEBHOOK_PUBLIC_ADDRESSES = False`` only the allowed networks are reachable at all (the
test suite runs so, and then host names other than ``localhost`` are refused up front)."""
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import re
import secrets
import socket
import ssl
import uuid
from datetime import date, datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session

from .. import jobs, signals
from ..db import commit, session, utcnow
from ..errors import Conflict, Invalid, NotFound
from ..models import Job, WebhookDelivery, WebhookEndpoint
from ..tenancy import current_tenant_id, tenant_scope
from ..timestamps import iso_timestamp
from . import audit

log = logging.getLogger("kw_crm.webhooks")
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
URL_MAX = 2000
USER_AGENT = "kw_crm-webhooks/1"
_EVENTS = "kw_crm_webhook_events"


def config(name: str):
    return current_app.config[f"CRM_WEBHOOK_{name}"]


# ---------------------------------------------------------------------------- addresses

def _allowed_networks() -> list:
    return [ipaddress.ip_network(n, strict=False) for n in config("ALLOWED_NETWORKS")]


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP) may not receive webhooks, or ``None`` when it may."""
    ip = ipaddress.ip_address(address)
    if any(ip in network for network in _allowed_networks()):
        return None
    if not config("PUBLIC_ADDRESSES"):
        return f"{ip} is not in CRM_WEBHOOK_ALLOWED_NETWORKS"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is not a public address (loopback, private, link-local or reserved)"
    return None


def check_url(url) -> str:
    """A webhook URL that may be stored, or a 422 saying why not. Host names are resolved at
    delivery time, not here (a name may point elsewhere by then)."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid({"url": ["A URL is required."]})
    url = url.strip()
    if len(url) > URL_MAX or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise Invalid({"url": [f"A URL of at most {URL_MAX} characters without spaces or control characters."]})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Invalid({"url": ["Not a valid URL."]}) from None
    if parts.scheme not in ("http", "https"):
        raise Invalid({"url": ["Webhooks are delivered to http:// or https:// URLs only."]})
    if not parts.hostname:
        raise Invalid({"url": ["The URL needs a host."]})
    if parts.username or parts.password:
        raise Invalid({"url": ["Put no credentials in the URL; verify the X-KW-Signature header instead."]})
    if port == 0:
        raise Invalid({"url": ["Port 0 is not a port."]})
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        refusal = address_refusal(str(literal))
        if refusal:
            raise Invalid({"url": [f"Webhooks cannot be delivered there: {refusal}."]})
    elif not config("PUBLIC_ADDRESSES") and parts.hostname != "localhost":
        raise Invalid({"url": ["Only addresses in CRM_WEBHOOK_ALLOWED_NETWORKS are allowed here; "
                               "use an IP address."]})
    return url


def check_events(events) -> list[str]:
    known = set(signals.event_names())
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise Invalid({"events": [f"A list of event names; \"{ALL_EVENTS}\" for all."]})
    unknown = [e for e in events if e != ALL_EVENTS and e not in known]
    if unknown:
        raise Invalid({"events": [f"Unknown event(s): {', '.join(map(str, unknown))}. "
                                  f"Known: {', '.join(sorted(known))}, or \"{ALL_EVENTS}\"."]})
    return sorted(set(events))


def check_secret(secret) -> str:
    if secret is None or secret == "":
        return SECRET_PREFIX + secrets.token_urlsafe(32)
    if not isinstance(secret, str) or not 16 <= len(secret) <= 200 or not secret.isprintable():
        raise Invalid({"secret": ["A secret of 16-200 printable characters (or leave it out to get one)."]})
    return secret


# ---------------------------------------------------------------------------- endpoints

def list_endpoints(limit: int = 200, offset: int = 0) -> tuple[list[WebhookEndpoint], int]:
    total = session.scalar(select(func.count(WebhookEndpoint.id))) or 0
    rows = list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit).offset(offset)))
    return rows, total


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def create_endpoint(data: dict, *, actor_id: int) -> WebhookEndpoint:
    url, events, secret = _checked(lambda: check_url(data.get("url")), lambda: check_events(data.get("events")),
                                   lambda: check_secret(data.get("secret")))
    endpoint = WebhookEndpoint(url=url, events=events, secret=secret, description=data.get("description"),
                               created_by_id=actor_id)
    session.add(endpoint)
    session.flush()
    audit.record("webhook", endpoint.id, "created", actor_id=actor_id, changes={"url": [None, url]})
    commit()
    return endpoint


def _checked(*checks):
    """Run every check and report all their field errors together."""
    results, errors = [], {}
    for check in checks:
        try:
            results.append(check())
        except Invalid as error:
            errors.update(error.fields)
            results.append(None)
    if errors:
        raise Invalid(errors)
    return results


def update_endpoint(endpoint_id: int, data: dict, *, actor_id: int) -> WebhookEndpoint:
    """Change url, events, description or secret; ``active: true`` re-enables a disabled
    endpoint (and forgets its failures), ``active: false`` pauses it."""
    endpoint = get_endpoint(endpoint_id)
    checks = {"url": check_url, "events": check_events, "secret": check_secret}
    values = dict(zip([k for k in checks if k in data],
                      _checked(*[lambda k=k: checks[k](data[k]) for k in checks if k in data]), strict=True))
    changes = {k: [getattr(endpoint, k), v] for k, v in values.items() if k != "secret" and getattr(endpoint, k) != v}
    for key, value in values.items():
        setattr(endpoint, key, value)
    if "description" in data:
        endpoint.description = data["description"]
    if "active" in data and data["active"] != endpoint.active:
        changes["active"] = [endpoint.active, data["active"]]
        endpoint.active = data["active"]
        if endpoint.active:
            endpoint.consecutive_failures, endpoint.disabled_at, endpoint.disabled_reason = 0, None, None
        else:
            endpoint.disabled_at, endpoint.disabled_reason = utcnow(), "Paused by an admin."
    audit.record("webhook", endpoint.id, "updated", actor_id=actor_id, changes=changes)
    commit()
    return endpoint


def delete_endpoint(endpoint_id: int, *, actor_id: int) -> None:
    endpoint = get_endpoint(endpoint_id)
    audit.record("webhook", endpoint.id, "deleted", actor_id=actor_id, changes={"url": [endpoint.url, None]})
    session.delete(endpoint)
    commit()


# ---------------------------------------------------------------------------- deliveries

def list_deliveries(endpoint_id: int, limit: int, offset: int) -> tuple[list[WebhookDelivery], int]:
    get_endpoint(endpoint_id)
    where = WebhookDelivery.endpoint_id == endpoint_id
    total = session.scalar(select(func.count(WebhookDelivery.id)).where(where)) or 0
    rows = list(session.scalars(select(WebhookDelivery).where(where).order_by(WebhookDelivery.id.desc())
                                .limit(limit).offset(offset)))
    return rows, total


def resend(endpoint_id: int, delivery_id: int, *, actor_id: int) -> WebhookDelivery:
    """Send a delivery again (same body and event id, so the receiver can drop a repeat)."""
    endpoint = get_endpoint(endpoint_id)
    delivery = session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id))
    if delivery is None:
        raise NotFound("No such delivery.")
    if not endpoint.active:
        raise Conflict("The endpoint is disabled; enable it before resending.")
    if delivery.status == "pending":
        raise Conflict("This delivery is still being attempted.")
    delivery.status = "pending"
    audit.record("webhook", endpoint.id, "resend", actor_id=actor_id, changes={"delivery": [None, delivery.id]})
    jobs.enqueue("webhook", {"delivery_id": delivery.id})
    commit()
    return delivery


def send_test(endpoint_id: int, *, actor_id: int) -> WebhookDelivery:
    """Queue a ``ping`` delivery to check the receiver and its signature check."""
    endpoint = get_endpoint(endpoint_id)
    if not endpoint.active:
        raise Conflict("The endpoint is disabled; enable it before sending a test.")
    delivery = _add_delivery(endpoint, "ping", {"message": "A test delivery from the CRM."}, utcnow())
    session.flush()
    jobs.enqueue("webhook", {"delivery_id": delivery.id})
    audit.record("webhook", endpoint.id, "ping", actor_id=actor_id)
    commit()
    return delivery


def _add_delivery(endpoint: WebhookEndpoint, event_name: str, data: dict, occurred_at: datetime) -> WebhookDelivery:
    event_id = str(uuid.uuid4())
    body = json.dumps({"id": event_id, "event": event_name, "occurred_at": iso_timestamp(occurred_at),
                       "data": data}, default=_json_default, separators=(",", ":"), ensure_ascii=False)
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id, event=event_name, body=body,
                               tenant_id=endpoint.tenant_id)
    session.add(delivery)
    return delivery


# ---------------------------------------------------------------------------- events -> deliveries

def _remember(db_session: Session, signal, sender, kwargs: dict) -> None:
    db_session.info.setdefault(_EVENTS, []).append((signal, sender, kwargs, utcnow()))


def _forget(db_session: Session, _previous_transaction=None) -> None:
    db_session.info.pop(_EVENTS, None)


def _write_deliveries(db_session: Session) -> None:
    """Before the commit of a transaction that queued signals: a delivery (and its job) per
    subscribed active endpoint of the tenant."""
    events = db_session.info.pop(_EVENTS, None)
    if not events:
        return
    tenant_id = current_tenant_id() or getattr(events[0][1], "tenant_id", None)
    if tenant_id is None:
        log.warning("signals without a bound tenant: no webhook deliveries written")
        return
    with tenant_scope(tenant_id):
        db_session.flush()  # ids of new records, before they are serialised
        endpoints = list(db_session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))))
        if not endpoints:
            return
        added = []
        for signal, sender, kwargs, occurred_at in events:
            name = signals.event_name(signal)
            targets = [e for e in endpoints if ALL_EVENTS in e.events or name in e.events]
            if targets:
                data = event_data(sender, kwargs)
                added += [_add_delivery(endpoint, name, data, occurred_at) for endpoint in targets]
        if added:
            db_session.flush()
            for delivery in added:
                jobs.enqueue("webhook", {"delivery_id": delivery.id})


def _json_default(value):
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


def record_of(sender) -> dict:
    """The JSON view of a signal's sender: the API's shape where there is one, else the row's
    columns, else the object's ``as_dict()``."""
    from ..models import Communication, Contact, Deal

    if isinstance(sender, Communication):
        from .communications import serialise

        return serialise(sender)
    if isinstance(sender, Deal):
        from . import deals

        return deals.serialise(sender)
    if isinstance(sender, Contact):
        from ..schemas.contacts import ContactOutput

        return ContactOutput().dump(sender)
    if hasattr(sender, "as_dict"):
        return sender.as_dict()
    mapper = inspect(type(sender), raiseerr=False)
    if mapper is None:
        return {"value": str(sender)}
    return {c.key: getattr(sender, c.key) for c in mapper.column_attrs if c.key != "tenant_id"}


def event_data(sender, kwargs: dict) -> dict:
    """``data`` of an event body: the kind of record, the record, and the signal's arguments."""
    kind = getattr(sender, "__tablename__", type(sender).__name__).removeprefix("crm_").rstrip("s")
    data = {"object": kind, "record": record_of(sender)}
    data.update({k: v for k, v in kwargs.items() if k not in ("object", "record")})
    return data


# ---------------------------------------------------------------------------- delivering

class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by then."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int, str]:
    """POST ``body`` to ``url`` after checking where it goes; ``(status, first 500 characters)``.
    Raises ``OSError``/``http.client.HTTPException`` for network failures, ``PermissionError``
    for a refused address."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise PermissionError(f"refused address: {refusal}")
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, addresses[0], timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(2000).decode("utf-8", "replace")
        return response.status, text[:500]
    finally:
        connection.close()


def _record_attempt(delivery_id: int, endpoint_id: int, *, status: str, response_status: int | None,
                    error: str | None) -> tuple[int, bool]:
    """Write the attempt on a connection of its own, so it stays in the log even when the job
    then fails and its transaction is rolled back. Returns (consecutive failures, disabled now)."""
    engine = current_app.extensions["sqlalchemy"].engine
    deliveries, endpoints = WebhookDelivery.__table__, WebhookEndpoint.__table__
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
            attempts=deliveries.c.attempts + 1, last_attempt_at=now, response_status=response_status,
            last_error=error, status=status, delivered_at=now if status == "delivered" else None))
        if status == "delivered":
            connection.execute(update(endpoints).where(endpoints.c.id == endpoint_id).values(consecutive_failures=0))
            return 0, False
        connection.execute(update(endpoints).where(endpoints.c.id == endpoint_id).values(
            consecutive_failures=endpoints.c.consecutive_failures + 1))
        failures = connection.execute(select(endpoints.c.consecutive_failures).where(
            endpoints.c.id == endpoint_id)).scalar() or 0
        limit = config("DISABLE_AFTER")
        reason = f"Disabled after {failures} failed delivery attempts in a row; last error: {error}"[:2000]
        disabled = connection.execute(update(endpoints).where(
            endpoints.c.id == endpoint_id, endpoints.c.active.is_(True), endpoints.c.consecutive_failures >= limit)
            .values(active=False, disabled_at=now, disabled_reason=reason)).rowcount == 1
        if disabled:  # what still waits for a retry will not be sent: say so in the log now
            connection.execute(update(deliveries).where(
                deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "pending")
                .values(status="failed", last_error=deliveries.c.last_error))
        return failures, disabled


@jobs.job("webhook", max_attempts=8, on_failure=lambda payload, error: _mark_failed(payload, error))
def deliver(payload: dict, job: Job) -> None:
    delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == payload.get("delivery_id")))
    if delivery is None:
        raise jobs.GiveUp("the delivery no longer exists (its endpoint was deleted)")
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id))
    if not endpoint.active:
        raise jobs.GiveUp(f"the endpoint is disabled: {endpoint.disabled_reason or 'paused'}")
    body = delivery.body.encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-KW-Signature": signature(endpoint.secret, body), "X-KW-Event": delivery.event,
               "X-KW-Delivery": delivery.event_id}
    delivery_id, endpoint_id, url = delivery.id, endpoint.id, endpoint.url
    try:
        status, text = post(url, body, headers, config("TIMEOUT"))
    except Exception as exc:  # noqa: BLE001 - every network failure is a failed attempt
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout):
            error = f"timed out after {config('TIMEOUT')} s"
        _fail(delivery_id, endpoint_id, None, error)
    else:
        if 200 <= status < 300:
            _record_attempt(delivery_id, endpoint_id, status="delivered", response_status=status, error=None)
            return
        _fail(delivery_id, endpoint_id, status, f"HTTP {status}: {_excerpt(text)}".strip())


def _excerpt(text: str, limit: int = 120) -> str:
    """The start of a receiver's answer, as one line of text (HTML tags dropped)."""
    plain = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return plain if len(plain) <= limit else plain[:limit - 1] + "…"


def _fail(delivery_id: int, endpoint_id: int, response_status: int | None, error: str) -> None:
    _, disabled = _record_attempt(delivery_id, endpoint_id, status="pending", response_status=response_status,
                                  error=error)
    if disabled:
        raise jobs.GiveUp(f"{error} (the endpoint is now disabled)")
    raise RuntimeError(error)


def _mark_failed(payload: dict, error: str) -> None:
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == payload.get("delivery_id"))
                    .values(status="failed", last_error=error[:2000]))


def install() -> None:
    signals.record_in_transaction(_remember)
    if not event.contains(Session, "before_commit", _write_deliveries):
        event.listen(Session, "before_commit", _write_deliveries)
        event.listen(Session, "after_soft_rollback", _forget)
