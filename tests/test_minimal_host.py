"""The README's host guide holds for a host that is not host_stub (tests/minimal_host): the CRM
checks what it needs at init_app, and the main flows work through that host — real CSRF tokens
taken from the pages, the host's own layout, mail through the host's hook."""
import re
import tomllib
from html import unescape
from pathlib import Path

import pytest

from kw_crm import hookspecs as crm_hookspecs
from kw_crm import platform
from kw_crm.hostcheck import HostSetupError
from kw_crm.platform import hookimpl
from tests.minimal_host import CrmHooks, add_org_with_people, build_schema, create_app
from tests.support.scratch import scratch_database


@pytest.fixture
def mini(database_url, tmp_path):
    with scratch_database(database_url, tmp_path, "kw_mini") as url:
        app = create_app(url)
        build_schema(app)
        ids = add_org_with_people(app)
        yield app, ids
        from tests.minimal_host import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def signed_in(app, user_id):
    client = app.test_client()
    with client.session_transaction() as session:
        session["uid"] = user_id
    return client


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def test_a_host_without_csrfprotect_is_told_at_init(database_url, tmp_path):
    with pytest.raises(HostSetupError, match="CSRFProtect is not set up"):
        create_app("sqlite://", csrf=False)


def test_a_customer_model_without_created_at_is_named_at_init():
    class Company:  # id, tenant_id and name, but no created_at
        id = tenant_id = name = None

    class NoCreatedAt(CrmHooks):
        @hookimpl
        def crm_customer_model(self):
            return Company

    with pytest.raises(HostSetupError, match="lacks created_at"):
        create_app("sqlite://", hooks=NoCreatedAt([]))


def test_the_main_flows_run_through_a_host_of_its_own(mini):
    app, ids = mini
    client = signed_in(app, ids["ADMIN"])

    page = client.get("/crm/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<header>Mini host</header>" in html
    assert "kw_crm/crm.css" in html  # styled without the layout having a head block

    # a contact through the real form, with the CSRF token the page carries
    form = client.get("/crm/contacts/new").get_data(as_text=True)
    response = client.post("/crm/contacts/new", data={
        "csrf_token": csrf_from(form), "first_name": "Ada", "last_name": "Byron", "company": "Analytical Engines",
        "email": "ada@engines.test", "type": "customer", "status": "lead", "owner_id": str(ids["ADMIN"])})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ada Byron" in detail and "Created Ada Byron." in detail  # notice shown by the CRM itself

    # without a CSRF token the same post is refused
    assert client.post("/crm/contacts/new", data={"first_name": "No", "last_name": "Token"}).status_code == 400

    # a deal for the company the contact created, then won: the owner gets mail via the host hook
    token = csrf_from(client.get("/crm/deals/new").get_data(as_text=True))
    response = client.post("/crm/deals/new", data={
        "csrf_token": token, "title": "Engine order", "value": "12,500.50", "currency": "EUR",
        "stage": "LEAD", "owner_id": str(ids["ADMIN"])})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    deal_url = response.headers["Location"]
    deal_page = client.get(deal_url).get_data(as_text=True)
    assert "Engine order" in deal_page and "12,500.50" in deal_page
    response = client.post(f"{deal_url}/close", data={"csrf_token": csrf_from(deal_page), "outcome": "won"})
    assert response.status_code == 302
    assert [m["to"] for m in app.extensions["mini_mail"]] == ["admin@mini.test"]

    for path in ("/crm/customers", "/crm/deals", "/crm/dashboard", "/crm/settings", "/crm/activities"):
        assert client.get(path).status_code == 200, path
    assert "Analytical Engines" in client.get("/crm/customers").get_data(as_text=True)

    missing = client.get("/crm/contacts/abc")
    assert missing.status_code == 404 and "We couldn't find that page" in unescape(missing.get_data(as_text=True))
    assert "<header>Mini host</header>" in missing.get_data(as_text=True)


def test_staff_of_a_host_of_its_own_gets_the_styled_403(mini):
    app, ids = mini
    response = signed_in(app, ids["STAFF"]).get("/crm/")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 403 and "You don't have access to this page" in html
    assert "<header>Mini host</header>" in html and 'aria-label="CRM"' not in html


def test_anonymous_visitors_are_sent_to_the_hosts_login(mini):
    app, _ = mini
    response = app.test_client().get("/crm/deals")
    assert response.status_code == 302 and response.headers["Location"] == "/signin?next=/crm/deals"


ROOT = Path(__file__).resolve().parents[1]


def test_the_distribution_ships_only_the_kw_crm_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert [p for p in setuptools["packages"] if p != "kw_crm" and not p.startswith("kw_crm.")] == []
    assert [p for p in setuptools.get("package-data", {}) if not p.startswith("kw_crm")] == []


def test_the_readme_host_guide_names_every_crm_hook():
    readme = (ROOT / "README.md").read_text()
    guide = readme[readme.index("## How a host enables kw_crm"):readme.index("### host_stub, the stand-in host")]
    hooks = [name for name in vars(crm_hookspecs) if name.startswith("crm_")]
    assert hooks and [name for name in hooks if f"`{name}`" not in guide] == []
    platform_hooks = [name for name in vars(platform) if name.startswith("platform_")]
    assert platform_hooks and [name for name in platform_hooks if f"`{name}(" not in guide] == []
