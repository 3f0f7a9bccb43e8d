"""Tenancy by construction: reads are filtered, writes stamped, unbound queries refused."""
import pytest
from sqlalchemy import select, update

from kw_crm.models import Contact
from kw_crm.tenancy import ALL_TENANTS, TenantNotBound, tenant_scope


def add_contact(crm_scope, tenant, last_name):
    with crm_scope(tenant) as session:
        contact = Contact(first_name="Ann", last_name=last_name)
        session.add(contact)
        session.commit()
        assert contact.tenant_id == tenant.id  # stamped from the bound tenant
        return contact.id


def test_reads_see_only_the_bound_tenant(crm_scope, tenant, other_tenant):
    mine = add_contact(crm_scope, tenant, "Mine")
    theirs = add_contact(crm_scope, other_tenant, "Theirs")
    with crm_scope(tenant) as session:
        assert session.scalars(select(Contact.id)).all() == [mine]
        assert session.get(Contact, theirs) is None
        assert session.scalar(select(Contact).where(Contact.id == theirs)) is None


def test_bulk_updates_touch_only_the_bound_tenant(crm_scope, tenant, other_tenant):
    add_contact(crm_scope, tenant, "Mine")
    theirs = add_contact(crm_scope, other_tenant, "Theirs")
    with crm_scope(tenant) as session:
        session.execute(update(Contact).values(notes="touched"))
        session.commit()
    with crm_scope(other_tenant) as session:
        assert session.scalar(select(Contact.notes).where(Contact.id == theirs)) is None


def test_querying_without_a_tenant_is_refused(app):
    with app.app_context():
        from host_stub.models import db

        with pytest.raises(TenantNotBound):
            db.session.scalars(select(Contact)).all()
        assert isinstance(db.session.scalars(select(Contact).execution_options(**ALL_TENANTS)).all(), list)


def test_writing_a_row_for_another_tenant_is_refused(app, tenant, other_tenant):
    with app.app_context(), tenant_scope(tenant.id):
        from host_stub.models import db

        db.session.add(Contact(first_name="X", last_name="Y", tenant_id=other_tenant.id))
        with pytest.raises(TenantNotBound):
            db.session.flush()
        db.session.rollback()


def test_counts_and_subqueries_are_scoped_too(crm_scope, tenant, other_tenant):
    from sqlalchemy import func

    add_contact(crm_scope, other_tenant, "Theirs")
    with crm_scope(tenant) as session:
        assert session.query(Contact).count() == 0
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
        assert session.scalar(select(func.count()).select_from(select(Contact.id).subquery())) == 0


def test_unbound_counts_are_refused_as_well(app):
    from sqlalchemy import func

    from host_stub.models import db

    with app.app_context():
        with pytest.raises(TenantNotBound):
            db.session.query(Contact).count()
        with pytest.raises(TenantNotBound):
            db.session.scalar(select(func.count()).select_from(Contact))
