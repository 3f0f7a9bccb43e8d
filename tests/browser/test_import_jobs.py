"""A big import from the browser: 50,000 rows go to a background job, the page's progress bar
moves while it runs, and the history lists the finished job."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete

from host_stub.models import db
from kw_crm.models import Contact
from kw_crm.tenancy import tenant_scope
from tests.support.importing import csv_bytes
from tests.test_import_jobs import SlowStorage


@pytest.fixture
def forget_imported_contacts(app, tenant):
    """50,000 rows would shift the planner's statistics under later tests of the shared
    database (the search-plan tests): remove them afterwards."""
    yield
    with app.app_context(), tenant_scope(tenant.id):
        db.session.execute(delete(Contact))
        db.session.commit()


def test_a_50000_row_upload_runs_as_a_job_with_a_moving_bar(page, login, admin, app, tmp_path, monkeypatch,
                                                           forget_imported_contacts):
    rows = [[f"Person{i}", "Imported", f"bulk{i}@example.test", "", "Bulk Co", "", ""] for i in range(50_000)]
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(rows))
    monkeypatch.setitem(app.config, "CRM_JOB_RUNNER", "thread")  # as in production: after the response
    monkeypatch.setitem(app.config, "CRM_IMPORT_PROGRESS_SECONDS", 0.2)
    monkeypatch.setitem(app.extensions, "kw_crm_storage", SlowStorage(tmp_path / "storage", delay=0.01))

    login(admin, "/crm/import")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_text("imported in the background")).to_be_visible()
    page.get_by_role("button", name="Import contacts").click()
    expect(page).to_have_url(re.compile(r"/crm/import/jobs/\d+$"))

    bar = page.locator("#import-progress")
    page.wait_for_function("() => { const b = document.getElementById('import-progress');"
                           " return b && b.value > 0 && b.value < b.max; }", timeout=60_000)
    expect(page.get_by_role("button", name="Cancel import")).to_be_visible()
    expect(page.locator("[data-count=created]")).to_have_text("50000", timeout=300_000)
    assert bar.get_attribute("value") == bar.get_attribute("max")
    expect(page.get_by_role("button", name="Cancel import")).to_have_count(0)

    page.get_by_role("link", name="Import history").click()
    row = page.get_by_role("row", name=re.compile("big.csv"))
    expect(row).to_contain_text("done")
    expect(row).to_contain_text("50000")
