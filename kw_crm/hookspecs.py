"""The CRM extension interface: what a host must (or may) offer kw_crm.

The host implements these with ``pluggy.HookimplMarker("kw_platform")``; kw_crm adds this
module to the host's plugin manager from ``platform_add_hookspecs``. Only ``kw_crm.host`` calls
them. Besides these hooks the CRM expects the host to run Flask-SQLAlchemy
(``app.extensions["sqlalchemy"]``), whose session the CRM shares so that host and CRM rows
commit together.

User objects the hooks return carry ``id, tenant_id, email, name, role ("ADMIN" | "STAFF" |
"VENDOR"), active``; customer (company) objects carry ``id, tenant_id, name, created_at``.
The host must also set up Flask-WTF's ``CSRFProtect`` and a ``SECRET_KEY``; ``init_app``
checks all of this and names what is missing.
"""
import pluggy

hookspec = pluggy.HookspecMarker("kw_platform")


# --- required -------------------------------------------------------------------------------

# checked at init_app (kw_crm/hostcheck.py): a host without one of these cannot run the CRM
REQUIRED_HOOKS = ("crm_current_user", "crm_current_tenant_id", "crm_login_url", "crm_feature_enabled",
                  "crm_user_has_permission", "crm_user_model", "crm_customer_model", "crm_create_customer",
                  "crm_send_mail", "crm_layout_template")


@hookspec(firstresult=True)
def crm_current_user():
    """Called by the guard on every CRM request. Return the logged-in host user, or ``None``
    for an anonymous (or deactivated, or expired) session."""


@hookspec(firstresult=True)
def crm_current_tenant_id():
    """Called by the guard on every CRM request after a user is known. Return the id of the
    tenant the request belongs to, or ``None`` when it cannot be resolved (answered with 404)."""


@hookspec(firstresult=True)
def crm_login_url(next_url):
    """Called when an anonymous visitor opens a CRM page. Return the URL of the host's login
    page that brings the visitor back to ``next_url`` (a same-site path) afterwards."""


@hookspec(firstresult=True)
def crm_feature_enabled(tenant_id, name):
    """Called by the guard and the nav entry. Return ``True`` when feature ``name`` is
    switched on for ``tenant_id``."""


@hookspec(firstresult=True)
def crm_user_has_permission(user, permission):
    """Called before archive and hard delete (``permission == "crm.delete"``). Return ``True``
    when ``user`` holds ``permission``."""


@hookspec(firstresult=True)
def crm_user_model():
    """Called when the CRM lists or validates owners and VENDOR links. Return the host's
    SQLAlchemy user class (attributes as in the module docstring)."""


@hookspec(firstresult=True)
def crm_customer_model():
    """Called when the CRM reads companies. Return the host's SQLAlchemy PortalCustomer class
    (``id, tenant_id, name, created_at``)."""


@hookspec(firstresult=True)
def crm_create_customer(tenant_id, name, fields):
    """Called when a contact names a company the tenant does not have yet, or when a customer
    is created from the CRM. Create the PortalCustomer in the shared session (flush, do not
    commit) and return it. ``fields`` holds optional extras (``email``...). The host must keep
    names unique per tenant, case-insensitively (a unique index), so concurrent creates fail
    loudly instead of duplicating."""


@hookspec(firstresult=True)
def crm_send_mail(to, subject, body, message_id):
    """Called by the CRM's mail job after commit (e.g. the deal-won mail). Send it now, with
    ``message_id`` as its Message-ID header (the same on every attempt; an implementation that
    does not declare the argument still works). ``to`` and ``subject`` are single-line.
    Raise any exception when the mail could not be handed over, and the CRM will retry later —
    unless the exception has a true ``delivery_uncertain`` attribute (the server may have got
    the mail: e.g. the connection died after the message data was sent): then the CRM records
    the mail as failed with that reason and never resends it blindly."""


@hookspec(firstresult=True)
def crm_layout_template():
    """Called when a CRM page renders. Return the name of the host's base template; CRM pages
    extend it and fill the blocks ``title`` and ``content`` (nothing else is needed: the CRM's
    stylesheet link, its notices and its CSRF token live inside ``content``). The layout should
    carry ``<meta name="viewport" content="width=device-width, initial-scale=1">`` so CRM pages
    fit phones. Without the hook (``None``) the CRM uses a bare page of its own."""


# --- optional: a host without them still gets a working CRM ----------------------------------

@hookspec
def crm_contact_tabs(contact):
    """Called when the contact page renders. Return ``{"key", "label", "columns": [..],
    "rows": [[..]]}`` for an extra tab (Projects, Tickets...) or ``None``. No answer, no tab."""


@hookspec(firstresult=True)
def crm_user_admin_url(user):
    """Called on contractor/vendor contacts linked to a VENDOR login. Return the URL of the
    host's page for that login, or ``None`` to show the login without a link."""


@hookspec(firstresult=True)
def crm_customer_has_active_subscription(tenant_id, customer_id):
    """Called before a customer is archived. Return ``True`` to block the archive."""


@hookspec(firstresult=True)
def crm_customer_has_finance_history(tenant_id, customer_id):
    """Called before a customer is hard-deleted. Return ``True`` when invoices or other
    finance records exist, which blocks the delete."""


@hookspec(firstresult=True)
def crm_delete_customer(tenant_id, customer_id):
    """Called when an archived customer without CRM or finance history is hard-deleted. Delete
    the PortalCustomer in the shared session (flush, do not commit) and return ``True``; no
    answer means the host keeps its company records and the CRM refuses the delete (409)."""


@hookspec(firstresult=True)
def crm_customer_billing_summary(tenant_id, customer_id):
    """Called by the customer workspace. Return ``{"subscriptions": [..], "invoices": [..],
    "outstanding_ar_cents": {currency: cents}}`` or ``None`` when the host has no billing."""


@hookspec(firstresult=True)
def crm_products(tenant_id):
    """Called by ``GET /api/crm/products``, the deal form and conversion. Return the catalogue
    the tenant may sell: ``[{"id", "name", "plans": [{"id", "name", "trial" (bool),
    "trial_days", "interval" ("month" | "year"), "price_cents", "currency", "prices":
    [{"currency", "price_cents"}]}]}]`` (ids are integers, unique across products; ``price_cents``
    and ``currency`` are the plan's primary price). With this hook deals carry a product
    (required on create unless ``CRM_REQUIRE_PRODUCT`` is off); without it deals have none and
    conversion is unavailable."""


@hookspec(firstresult=True)
def crm_create_subscription(tenant_id, customer_id, product, plan, trial, currency, deal_id):
    """Called when a deal is converted. ``product`` and ``plan`` are the catalogue entries of
    ``crm_products``; ``trial`` asks for a trial subscription instead of billed service;
    ``currency`` is the deal's. Create the subscription (and whatever billing records go with
    it) in the shared session — flush, never commit: the CRM commits it together with the won
    deal, or rolls everything back if anything fails. Return ``{"id", "status", "trial_ends_at"
    (ISO or None), "price_cents", "currency"}`` (a bare id is accepted). Raise ``ValueError``
    with a message when a billing rule refuses it (the customer already has this product): the
    CRM answers 409 with that message."""


@hookspec(firstresult=True)
def crm_customer_billing_activity(tenant_id, customer_id, limit):
    """Called by the customer workspace. Return the newest ``limit`` payments and billing
    events of the customer with their true totals: ``{"payments": {"items": [{"id",
    "amount_cents", "currency", "method", "status", "received_at", "invoice_number"}],
    "total"}, "events": {"items": [{"id", "kind", "summary", "occurred_at"}], "total"}}``, or
    ``None`` when the host has no billing. No answer, no payment and event sections."""


@hookspec(firstresult=True)
def crm_tenant_id_by_name(name):
    """Called by CRM command-line tools that take ``--tenant NAME`` (``flask crm import``).
    Return the id of the tenant called ``name``, or ``None`` when there is none. Without this
    hook such commands cannot pick a tenant and say so."""


@hookspec(firstresult=True)
def crm_user_can_view_billing(user):
    """Called when the activity queue is ranked for ``user``. Return ``True`` when the host lets
    this user see billing and finance data; only then do outstanding AR and subscription states
    enter the priority, the recommendation and the sequence blockers. No answer means no."""


@hookspec(firstresult=True)
def crm_customers_billing_posture(tenant_id, customer_ids):
    """Called once per queue ranking with every customer id on the queue (batch, so the queue
    costs a constant number of queries). Return ``{customer_id: {"outstanding_ar_cents":
    {currency: cents}, "past_due_ar_cents": {currency: cents}, "subscriptions": [{"product",
    "status"}]}}``; customers without billing records may be left out. No answer: no billing."""


@hookspec(firstresult=True)
def crm_enqueue_job(name, kwargs):
    """Called after a commit for each job the transaction queued (mail, automation runs, webhook
    deliveries, imports). Hand it to your task engine and return ``True``; the task must call
    ``name`` — today always ``"kw_crm.run_job"``, meaning ``kw_crm.jobs.run_job(**kwargs)`` — in
    an app context. Retries come due later: also schedule ``kw_crm.jobs.run_due()`` periodically
    (a beat), or run ``flask crm worker``. Without this hook the CRM runs jobs itself
    (``CRM_JOB_RUNNER``). Raising leaves the job waiting for a worker."""
