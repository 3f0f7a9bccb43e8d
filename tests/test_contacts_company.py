"""Company linking when two admins type the same new company at once."""
import threading

from sqlalchemy import func, select

from host_stub.models import PortalCustomer, db


def test_two_admins_creating_the_same_new_company_get_one_customer(app, make_user, tenant):
    clients = [app.test_client().login(make_user(tenant, "ADMIN")) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    results = []

    def create(client, n):
        barrier.wait()
        response = client.post("/api/crm/contacts", json={"first_name": f"R{n}", "last_name": "Race",
                                                          "company": "Racing Widgets"})
        results.append((response.status_code, (response.get_json() or {}).get("customer_id")))

    threads = [threading.Thread(target=create, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [201] * len(clients)
    with app.app_context():
        rows = db.session.scalars(select(PortalCustomer).where(
            PortalCustomer.tenant_id == tenant.id, func.lower(PortalCustomer.name) == "racing widgets")).all()
    assert len(rows) == 1
    assert {customer_id for _, customer_id in results} == {rows[0].id}


def test_racing_duplicate_emails_give_one_contact_and_clear_422s(app, make_user, tenant, crm_scope):
    from kw_crm.models import Contact

    clients = [app.test_client().login(make_user(tenant, "ADMIN")) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def create(client, n):
        barrier.wait()
        response = client.post("/api/crm/contacts", json={"first_name": f"E{n}", "last_name": "Race",
                                                          "email": f"Same@Example.test{' ' * n}"})
        statuses.append((response.status_code, (response.get_json() or {}).get("error", {}).get("fields")))

    threads = [threading.Thread(target=create, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in statuses) == [201, 422, 422, 422]
    assert all("email" in fields for status, fields in statuses if status == 422)
    with crm_scope(tenant) as session:
        assert session.scalar(select(func.count(Contact.id))) == 1
