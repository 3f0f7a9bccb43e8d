"""The contacts demo data: every type, companies linked, timeline entries, safe to run twice."""
from sqlalchemy import func, select

from kw_crm.demo_data import contacts as demo
from kw_crm.models import Activity, Contact, Note


def test_demo_contacts_seed_once_even_when_run_twice(crm_scope, tenant, admin, make_user):
    make_user(tenant, "VENDOR")
    with crm_scope(tenant) as session:
        demo.seed(admin.id)
        demo.seed(admin.id)
        assert session.scalar(select(func.count(Contact.id))) == len(demo.PEOPLE)
        types = set(session.scalars(select(Contact.type).distinct()))
        assert types == {"customer", "contractor", "vendor", "partner", "other"}
        assert session.scalar(select(func.count(Contact.id)).where(Contact.customer_id.is_not(None))) > 20
        assert session.scalar(select(func.count(Note.id))) == len(demo.PEOPLE[::2])
        assert session.scalar(select(func.count(Activity.id))) == len(demo.PEOPLE[::3])
        assert session.scalar(select(func.count(Contact.id)).where(Contact.vendor_user_id.is_not(None))) == 1
