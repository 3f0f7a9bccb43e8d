"""API tokens and API docs in a real browser: create a token, copy it once, use it, revoke it;
the API docs page renders every operation from the packaged Swagger UI without the network."""
import urllib.request

from playwright.sync_api import expect


def test_admin_creates_uses_and_revokes_a_token(page, login, admin, live_server_url):
    login(admin, next_path="/crm/settings/tokens")
    page.get_by_label("Name").fill("Warehouse sync")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_label("The new token")
    secret = shown.input_value()
    assert secret.startswith("kwcrm_")
    shown.focus()  # selected whole, ready to copy (crm.js: the page's policy allows no inline handler)
    assert page.evaluate("() => window.getSelection().toString() || "
                         "document.activeElement.value.substring(document.activeElement.selectionStart,"
                         " document.activeElement.selectionEnd)") == secret

    def call():
        request = urllib.request.Request(f"{live_server_url}/api/crm/contacts",
                                         headers={"Authorization": f"Bearer {secret}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert call() == 200
    page.goto("/crm/settings/tokens")
    expect(page.get_by_label("The new token")).to_have_count(0)
    row = page.locator("#tokens tbody tr", has_text="Warehouse sync")
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke Warehouse sync").click()
    expect(page.locator("#tokens tbody tr", has_text="Warehouse sync")).to_contain_text("revoked")
    assert call() == 401


def test_api_docs_render_offline(page, login, admin, live_server_url):
    outside = []
    page.route("**/*", lambda route: (outside.append(route.request.url), route.abort())
               if not route.request.url.startswith(live_server_url) else route.continue_())
    login(admin, next_path="/crm/api-docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=60_000)  # 2 MB of JS on a busy CI
    expect(page.locator(".opblock-summary-path", has_text="/api/crm/contacts/export.csv")).to_be_visible()
    assert page.locator(".opblock").count() > 40
    assert outside == []
