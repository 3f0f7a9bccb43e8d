"""Demo data a person would believe (issue 11): plain ASCII addresses at the company's whole
name, personal addresses for people without a company, and suppliers never shown as customers
(deals go to customer contacts only; the directory labels vendor and partner companies)."""
import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from host_stub.models import PortalCustomer, db
from kw_crm.demo import seed_demo
from kw_crm.models import Contact, CustomerProfile, Deal
from kw_crm.tenancy import tenant_scope

ADDRESS = re.compile(r"[a-z0-9]+(\.[a-z0-9]+)*@([a-z0-9]+\.)*example\.com")


@pytest.fixture
def demo(app, make_tenant, make_user):
    """A fresh tenant seeded with the CRM's demo data, and its admin."""
    tenant = make_tenant()
    admin = make_user(tenant, "ADMIN", grants=("crm.delete",))
    with app.app_context(), tenant_scope(tenant.id):
        seed_demo(tenant.id, admin.id)
        db.session.commit()
    return tenant, admin


def test_demo_addresses_are_believable(app, demo):
    tenant, _ = demo
    with app.app_context(), tenant_scope(tenant.id):
        emails = {f"{c.first_name} {c.last_name}": c.email for c in db.session.scalars(select(Contact))}
        for name, email in emails.items():
            assert ADDRESS.fullmatch(email), (name, email)
            assert "example.example" not in email
        assert emails["Grace Lee"] == "grace.lee@cloudlinedistribution.example.com"  # not cut at 20 letters
        assert emails["Hannah Müller"] == "hannah.mueller@greenleafaccounting.example.com"
        assert emails["Liam O'Brien"] == "liam.obrien@example.com"  # no company: a personal address
        assert emails["Jane Smith"] == "jane.smith@acmeltd.example.com"  # the demo mails still match her


def test_demo_suppliers_are_not_customers(app, demo):
    tenant, admin = demo
    with app.app_context(), tenant_scope(tenant.id):
        kinds: dict[int, set] = {}
        for customer_id, kind in db.session.execute(select(Contact.customer_id, Contact.type)
                                                    .where(Contact.customer_id.is_not(None))):
            kinds.setdefault(customer_id, set()).add(kind)
        suppliers = {cid for cid, found in kinds.items() if "customer" not in found}
        assert suppliers  # vendors, partners and contractors work for companies of their own
        sold_to = set(db.session.scalars(select(Deal.customer_id).where(Deal.customer_id.is_not(None))))
        assert not sold_to & suppliers
        advanced = set(db.session.scalars(select(CustomerProfile.customer_id)
                                          .where(CustomerProfile.lifecycle_stage != "prospect")))
        assert not advanced & suppliers
        names = dict(db.session.execute(select(PortalCustomer.id, PortalCustomer.name)
                                        .where(PortalCustomer.tenant_id == tenant.id)).all())
    client = app.test_client().login(admin)
    directory = BeautifulSoup(client.get("/crm/customers").data, "html.parser")
    rows = {row.select_one("td a").get_text(strip=True): row for row in directory.select("tbody tr")}
    vendor = rows["TechSupply Direct"]
    assert vendor.select_one("[data-relationship]")["data-relationship"] == "vendor"
    assert vendor.select_one("[data-lifecycle]").get_text(strip=True) == "not an account"
    for cid in suppliers:
        assert rows[names[cid]].select_one("[data-lifecycle]")["data-lifecycle"] == "", names[cid]
    assert rows["Acme Ltd"].select_one("[data-lifecycle]")["data-lifecycle"] in ("qualified", "customer")
