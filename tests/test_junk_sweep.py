"""Property-based junk sweep (issue 10): hypothesis throws generated junk — text with NUL, lone
surrogates, control and bidi characters, huge and deeply nested values, wrong types — at every
CRM route and every host form found in ``app.url_map`` (so routes added later are covered
without anyone listing them), as an admin with real ids, and requires a 4xx with no row changed.

Every generated request carries at least one piece of text no service may store, so the right
answer is always a refusal, whatever the route does with valid input. Runtime is bounded:
``KW_JUNK_EXAMPLES`` examples per route and method (default 4), derandomized so CI is stable."""
import json
import os
import re

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_stub.models import db
from kw_crm.db import Base
from tests.test_robustness import records  # noqa: F401 - the fixture with one record of each kind

EXAMPLES = int(os.environ.get("KW_JUNK_EXAMPLES", "4"))
# Host routes whose forms are parsed: login and password change. Logout reads no input at all.
HOST_FORMS = {"host.login", "host.change_password"}

FIELDS = sorted({
    "first_name", "last_name", "email", "phone", "company", "title", "value", "value_cents", "currency",
    "stage", "stages", "ids", "owner_id", "contact_id", "customer_id", "name", "subject", "summary", "body",
    "reason", "outcome", "type", "status", "notes", "health_score", "lifecycle_stage", "occurred_at",
    "due_date", "expected_close_date", "version", "action", "lead_source", "billing_email", "key",
    "label", "probability", "position", "next", "move_to", "search", "q", "page", "confirm", "password",
    "current_password", "new_password", "description", "channel", "closed_reason", "file"})

POISONS = ["\x00", "\x07", "\x1b[2J", "\x7f", "\x85", "\u202e", "\u2066", "\x00" * 3 + "'; --"]
JSON_POISONS = POISONS + ["\ud800", "x\udfff"]

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                    text, st.just("x" * 30_000), st.just("9" * 400), st.just("٣²"))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(FIELDS) | text, inner, max_size=4), max_leaves=12)


def poisoned(poisons):
    return st.builds(lambda a, p, b: a + p + b, text, st.sampled_from(poisons), text)


def _plant(body, name, bad):
    body = dict(body)
    body[name] = bad
    return body


json_bodies = st.one_of(
    st.builds(_plant, st.dictionaries(st.sampled_from(FIELDS) | text, json_values, max_size=6),
              st.sampled_from(FIELDS), poisoned(JSON_POISONS) | st.lists(poisoned(JSON_POISONS), min_size=1, max_size=3)),
    st.builds(lambda items, bad: items + [{"key": bad}], st.lists(json_values, max_size=3), poisoned(JSON_POISONS)),
)
form_values = text | st.just("x" * 30_000) | st.just("٣²") | st.just(str(2**70))
form_bodies = st.builds(_plant, st.dictionaries(st.sampled_from(FIELDS) | text.filter(bool), form_values, max_size=6),
                        st.sampled_from(FIELDS), poisoned(POISONS))
query_args = st.builds(_plant, st.dictionaries(st.sampled_from(FIELDS), form_values, max_size=3),
                       st.sampled_from(FIELDS), poisoned(POISONS))


def swept_rules(app):
    for rule in app.url_map.iter_rules():
        area = rule.endpoint.split(".")[0]
        if area in ("crm", "crm_admin", "crm_api"):
            methods = rule.methods - {"HEAD", "OPTIONS"}
        elif rule.endpoint in HOST_FORMS:
            methods = {"POST"}  # their pages show no stored data from the query string
        else:
            continue
        for method in sorted(methods):
            yield rule, method


def concrete_url(rule, ids) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(ids.get(arg, "kw_crm/crm.css")), url)
    return url


def fingerprint(app, client, ids) -> dict:
    """Row counts of every host and CRM table, plus the API view of each fixture record."""
    with app.app_context():
        tables = sorted({*db.metadata.tables, *Base.metadata.tables})
        counts = dict(db.session.execute(sa.text(" UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM {name}" for name in tables))).all())  # noqa: S608 - table names from metadata
    views = {path: client.get(path).get_data(as_text=True) for path in (
        f"/api/crm/contacts/{ids['contact_id']}", f"/api/crm/contacts/{ids['contact_id']}/timeline",
        f"/api/crm/deals/{ids['deal_id']}", f"/api/crm/customers/{ids['customer_id']}", "/api/crm/stages")}
    return {"counts": counts, "views": views}


def test_every_route_refuses_generated_junk_and_changes_nothing(app, admin_client, records):  # noqa: F811
    rules = list(swept_rules(app))
    assert len(rules) > 50 and any(rule.endpoint == "host.login" for rule, _ in rules)
    failures = []

    for rule, method in rules:
        url = concrete_url(rule, records)
        before = fingerprint(app, admin_client, records)

        def send(kwargs, body, url=url, method=method, rule=rule):
            try:
                status = admin_client.open(url, method=method, **kwargs).status_code
            except Exception as exc:  # TESTING propagates what would be a 500
                status = f"{type(exc).__name__}: {exc}"[:200]
            if not (isinstance(status, int) and 400 <= status < 500):
                failures.append((method, rule.rule, repr(body)[:120], status))

        if method == "GET":
            @given(args=query_args)
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def attempt(args):
                send({"query_string": args}, args)
        elif rule.endpoint.startswith("crm_api.") and "import" not in rule.endpoint:
            @given(body=json_bodies)
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def attempt(body):
                send({"data": json.dumps(body), "content_type": "application/json"}, body)
        else:
            @given(form=form_bodies)
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def attempt(form):
                send({"data": form}, form)

        attempt()
        if fingerprint(app, admin_client, records) != before:
            failures.append((method, rule.rule, "changed stored data", None))
    assert failures == [], "\n".join(map(repr, failures))
