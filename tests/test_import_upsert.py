"""What an import writes: match by email ignoring case, duplicates within a file, skipped rows,
statuses, empty cells, tenant isolation, atomicity, idempotent re-import, the signal, and a
constant number of statements per batch."""
import io
import uuid

import pytest
from sqlalchemy import func, select, text

from host_stub.models import PortalCustomer, db
from kw_crm import signals
from kw_crm.models.contact import Contact
from kw_crm.services import importer
from tests.support.importing import HEADER, api_import, contacts_of, csv_bytes, read_csv


def run_import(crm_scope, tenant, data: bytes, **kwargs) -> importer.ImportResult:
    with crm_scope(tenant):
        return importer.import_contacts(io.BytesIO(data), **kwargs)


def add_contact(crm_scope, tenant, **values) -> int:
    with crm_scope(tenant) as session:
        contact = Contact(**{"first_name": "Old", "last_name": "Name", **values})
        session.add(contact)
        session.commit()
        return contact.id


def test_existing_contacts_are_matched_by_email_ignoring_case_and_spaces(app, crm_scope, tenant):
    kept = add_contact(crm_scope, tenant, email="Ada.Lovelace@Example.TEST", phone="111", job_title="Countess")
    data = csv_bytes([["Ada", "Byron", "  ada.lovelace@example.test ", "", "Engines", "", "ACTIVE"],
                      ["New", "Person", "new@example.test", "", "", "", ""]])
    result = run_import(crm_scope, tenant, data)
    assert (result.created, result.updated, result.skipped) == (1, 1, 0)
    first, second = contacts_of(app, tenant)
    assert first["id"] == kept
    assert (first["last_name"], first["email"], first["status"]) == ("Byron", "ada.lovelace@example.test", "active")
    assert (first["phone"], first["job_title"], first["company"]) == ("111", "Countess", "Engines")  # empty cells keep
    assert (second["email"], second["status"], second["type"]) == ("new@example.test", "lead", "customer")


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_duplicate_emails_in_one_file_last_row_wins_and_count_as_updated(app, crm_scope, tenant, batch_size):
    data = csv_bytes([["Ann", "First", "dup@example.test", "1", "A Corp", "", "lead"],
                      ["Bob", "Other", "bob@example.test", "", "", "", ""],
                      ["Ann", "Second", "DUP@example.test", "", "", "CTO", ""],
                      ["Ann", "Third", "dup@example.test ", "", "C Corp", "", "prospect"]])
    result = run_import(crm_scope, tenant, data, batch_size=batch_size)
    assert (result.created, result.updated, result.duplicates, result.skipped) == (2, 2, 2, 0)
    dup = [c for c in contacts_of(app, tenant) if c["email"].lower() == "dup@example.test"]
    assert len(dup) == 1
    assert (dup[0]["last_name"], dup[0]["phone"], dup[0]["company"], dup[0]["job_title"], dup[0]["status"]) == (
        "Third", "1", "C Corp", "CTO", "prospect")


def test_rows_without_email_are_always_created(app, crm_scope, tenant):
    data = csv_bytes([["No", "Mail", "", "", "", "", ""], ["No", "Mail", "", "", "", "", ""]])
    assert run_import(crm_scope, tenant, data).created == 2
    assert run_import(crm_scope, tenant, data).created == 2  # nothing to match them by
    assert len(contacts_of(app, tenant)) == 4


def test_skipped_rows_are_reported_with_row_and_reason(app, admin_client, tenant):
    data = csv_bytes([["Ok", "Row", "ok@example.test", "", "", "", ""],
                      ["", "NoFirst", "", "", "", "", ""],
                      ["NoLast", " ", "", "", "", "", ""],
                      ["Bad", "Mail", "not-an-email", "", "", "", ""],
                      ["Odd", "Status", "", "", "", "", "VIP"],
                      ["Long", "x" * 101, "", "", "", "", ""],
                      ["Fine", "Status", "", "", "", "", "Inactive"]])
    body = api_import(admin_client, data).get_json()
    assert (body["created"], body["updated"], body["skipped"]) == (2, 0, 5)
    assert body["errors"] == [
        {"row": 3, "message": "Missing first name."},
        {"row": 4, "message": "Missing last name."},
        {"row": 5, "message": "Invalid email address: not-an-email."},
        {"row": 6, "message": "Unknown status 'VIP' (use one of: lead, prospect, active, inactive)."},
        {"row": 7, "message": "The last name is longer than 100 characters."},
    ]
    assert [c["status"] for c in contacts_of(app, tenant)] == ["lead", "inactive"]


def test_company_stays_free_text(app, crm_scope, tenant):
    with crm_scope(tenant) as session:
        before = session.scalar(select(func.count()).select_from(PortalCustomer))
    run_import(crm_scope, tenant, csv_bytes([["Ada", "L", "a@example.test", "", "Brand New Co", "", ""]]))
    [contact] = contacts_of(app, tenant)
    assert contact["company"] == "Brand New Co" and contact["customer_id"] is None
    with crm_scope(tenant) as session:
        assert session.scalar(select(func.count()).select_from(PortalCustomer)) == before


def test_another_tenants_contact_with_the_same_email_is_untouched(app, crm_scope, tenant, other_tenant):
    add_contact(crm_scope, other_tenant, email="shared@example.test", last_name="Theirs")
    result = run_import(crm_scope, tenant, csv_bytes([["Mine", "Ours", "shared@example.test", "", "", "", ""]]))
    assert (result.created, result.updated) == (1, 0)
    assert contacts_of(app, other_tenant)[0]["last_name"] == "Theirs"
    assert contacts_of(app, tenant)[0]["last_name"] == "Ours"


def test_re_importing_the_same_file_creates_nothing_new(app, admin_client, tenant):
    data = csv_bytes([[f"P{i}", "Person", f"p{i}@example.test", "", "Co", "", "active"] for i in range(25)])
    first = api_import(admin_client, data).get_json()
    snapshot = [{k: v for k, v in c.items() if k != "updated_at"} for c in contacts_of(app, tenant)]
    second = api_import(admin_client, data).get_json()
    assert (first["created"], first["updated"]) == (25, 0)
    assert (second["created"], second["updated"]) == (0, 25)
    assert [{k: v for k, v in c.items() if k != "updated_at"} for c in contacts_of(app, tenant)] == snapshot


@pytest.fixture
def failing_trigger(app):
    """A real database trigger that refuses to store one last name (a mid-file failure)."""
    marker = f"Boom{uuid.uuid4().hex[:8]}"
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"""
                CREATE FUNCTION {marker.lower()}() RETURNS trigger AS $$
                BEGIN IF NEW.last_name = '{marker}' THEN RAISE EXCEPTION 'refused row {marker}'; END IF;
                RETURN NEW; END $$ LANGUAGE plpgsql"""))
            db.session.execute(text(f"CREATE TRIGGER {marker.lower()} BEFORE INSERT OR UPDATE ON crm_contacts "
                                    f"FOR EACH ROW EXECUTE FUNCTION {marker.lower()}()"))
        else:
            db.session.execute(text(f"""
                CREATE TRIGGER {marker.lower()} BEFORE INSERT ON crm_contacts
                WHEN NEW.last_name = '{marker}' BEGIN SELECT RAISE(ABORT, 'refused row {marker}'); END"""))
        db.session.commit()
    yield marker
    with app.app_context():
        db.session.execute(text(f"DROP TRIGGER IF EXISTS {marker.lower()}"
                                + (" ON crm_contacts" if db.engine.dialect.name == "postgresql" else "")))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"DROP FUNCTION IF EXISTS {marker.lower()}()"))
        db.session.commit()


def test_a_failure_mid_file_leaves_the_database_exactly_as_before(app, admin_client, crm_scope, tenant,
                                                                   failing_trigger):
    add_contact(crm_scope, tenant, email="kept@example.test", last_name="Original", phone="1")
    before = contacts_of(app, tenant)
    rows = [["Kept", "Changed", "kept@example.test", "2", "", "", "active"]]
    rows += [[f"N{i}", "New", f"n{i}@example.test", "", "", "", ""] for i in range(7)]
    rows += [["Bad", failing_trigger, "bad@example.test", "", "", "", ""]]
    rows += [[f"M{i}", "Later", f"m{i}@example.test", "", "", "", ""] for i in range(5)]
    received = []
    signals.contacts_imported.connect(received.append)
    try:
        with pytest.raises(importer.ImportFailed, match="nothing was imported"):
            run_import(crm_scope, tenant, csv_bytes(rows), batch_size=3)  # fails in the 3rd batch
        response = api_import(admin_client, csv_bytes(rows))
    finally:
        signals.contacts_imported.disconnect(received.append)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "import_failed"
    assert contacts_of(app, tenant) == before
    assert received == []


def test_the_signal_is_sent_after_commit_with_the_result(app, admin_client, tenant):
    seen = []

    def receiver(result, **extra):
        seen.append((result.created, result.tenant_id, len(contacts_of(app, tenant))))

    signals.contacts_imported.connect(receiver)
    try:
        api_import(admin_client, csv_bytes([["A", "B", "", "", "", "", ""], ["C", "D", "", "", "", "", ""]]))
    finally:
        signals.contacts_imported.disconnect(receiver)
    assert seen == [(2, tenant.id, 2)]  # the receiver already sees the stored rows


def test_statements_per_batch_are_constant(app, crm_scope, tenant, count_queries):
    def statements_for(rows: int) -> int:
        data = csv_bytes([[f"P{i}", "Q", f"q{rows}-{i}@example.test", "", "", "", ""] for i in range(rows)])
        with count_queries() as queries:
            run_import(crm_scope, tenant, data, batch_size=100)
        return len([q for q in queries if "crm_contacts" in q])

    assert statements_for(100) == 1 + 2 * 1   # max(id), then per batch: existing emails + upsert
    assert statements_for(1000) == 1 + 2 * 10


def test_skipped_rows_csv_is_formula_safe(app, crm_scope, tenant):
    data = csv_bytes([["=HYPERLINK(\"http://evil\")", "", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "", ""]])
    result = run_import(crm_scope, tenant, data)
    header, row = read_csv(result.skipped_rows_csv())
    assert header == ["row", "reason", *HEADER]
    assert row[:2] == ["2", "Missing last name."]
    assert row[2] == "'=HYPERLINK(\"http://evil\")" and row[4] == "'+cmd|' /C calc'!A0"
    assert row[5] == "'@SUM(1)" and row[6] == "'-2+3"


def test_the_api_lists_the_first_1000_skipped_rows_and_says_when_there_were_more(app, admin_client, tenant):
    rows = [["", f"Nameless{i}", "", "", "", "", ""] for i in range(1003)] + [["Ok", "Row", "", "", "", "", ""]]
    body = api_import(admin_client, csv_bytes(rows)).get_json()
    assert (body["created"], body["skipped"]) == (1, 1003)
    assert len(body["errors"]) == 1000 and body["errors_truncated"] is True
    assert body["errors"][-1] == {"row": 1001, "message": "Missing first name."}
