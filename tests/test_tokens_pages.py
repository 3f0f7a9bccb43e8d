"""/crm/settings/tokens (create, shown once, revoke) and /crm/api-docs (rendered from files the
package ships, no CDN)."""
import re

from kw_crm.services import tokens


def test_token_is_created_shown_once_and_revoked_on_the_page(app, admin_client):
    page = admin_client.get("/crm/settings/tokens")
    assert page.status_code == 200 and "No tokens yet" in page.get_data(as_text=True)
    created = admin_client.post("/crm/settings/tokens", data={"name": "Accounting sync", "expires_on": "2099-12-31"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200
    secret = re.search(r'value="(kwcrm_[^"]+)"', html).group(1)
    assert "will not be shown again" in html and "2100-01-01 00:00" in html
    assert app.test_client().get("/api/crm/contacts", headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    again = admin_client.get("/crm/settings/tokens").get_data(as_text=True)
    assert secret not in again and secret[:10] in again and "Accounting sync" in again

    token_id = admin_client.get("/api/crm/tokens").get_json()[0]["id"]
    revoked = admin_client.post(f"/crm/settings/tokens/{token_id}/revoke", follow_redirects=True)
    assert "revoked" in revoked.get_data(as_text=True)
    assert app.test_client().get("/api/crm/contacts", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_bad_token_form_input_is_422_with_the_message(admin_client):
    for data, text in (({"name": ""}, "name"), ({"name": "x", "expires_on": "soon"}, "Pick a date"),
                       ({"name": "x", "expires_on": "2001-01-01"}, "future")):
        response = admin_client.post("/crm/settings/tokens", data=data)
        assert response.status_code == 422, data
        assert text.lower() in response.get_data(as_text=True).lower()
    assert admin_client.get("/api/crm/tokens").get_json() == []


def test_other_tenants_tokens_cannot_be_revoked(admin_client, other_admin_client):
    token = other_admin_client.post("/api/crm/tokens", json={"name": "theirs"}).get_json()
    assert admin_client.post(f"/crm/settings/tokens/{token['id']}/revoke").status_code == 404
    assert other_admin_client.get("/api/crm/tokens").get_json()[0]["state"] == "active"


def test_api_docs_page_uses_only_packaged_assets(admin_client):
    page = admin_client.get("/crm/api-docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href|data-bundle-url)="([^"]+\.(?:js|css))"', html)
    assert assets and all(a.startswith("/crm/static/") for a in assets)
    assert "//" not in "".join(assets)
    for asset in assets:
        response = admin_client.get(asset)
        assert response.status_code == 200 and len(response.data) > 100, asset
        response.close()
    assert 'data-openapi-url="/api/crm/openapi.json"' in html


def test_state_names(app, crm_scope, tenant):
    from datetime import datetime

    from kw_crm.models import ApiToken

    now = datetime(2030, 1, 1)
    assert tokens.state(ApiToken(expires_at=None, revoked_at=None), now) == "active"
    assert tokens.state(ApiToken(expires_at=datetime(2029, 1, 1), revoked_at=None), now) == "expired"
    assert tokens.state(ApiToken(expires_at=None, revoked_at=datetime(2029, 1, 1)), now) == "revoked"
