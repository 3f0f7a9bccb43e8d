"""Paged HTML lists read ``?page=`` and ``?per_page=`` one way (kw_crm/web/paging.py): a page
past the end says so and links to the last page; a page or page size that is not one is a 422
that says what is allowed (as the API refuses ``limit=0``), never silently page 1 or 1 row."""
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from tests.support.deals import new_deal

# every paged HTML list of the CRM: (path, what its rows are)
LISTS = [("/crm/", "contacts"), ("/crm/customers", "customers"), ("/crm/activities", "activities"),
         ("/crm/deals/table", "deals"), ("/crm/risk", "captures waiting"), ("/crm/import", "imports"),
         ("/crm/communications", "communications")]
SIZED = ["/crm/", "/crm/activities"]  # the lists that take ?per_page=


def page(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return BeautifulSoup(response.data, "html.parser")


def words(node) -> str:
    return " ".join(node.get_text(" ").split())


@pytest.fixture
def rows(admin_client):
    for n in range(3):
        response = admin_client.post("/api/crm/contacts", json={"first_name": f"P{n}", "last_name": "Ager",
                                                                "company": f"Pager Co {n}"})
        assert response.status_code == 201
    new_deal(admin_client, title="Paged deal")


@pytest.mark.parametrize("path,noun", LISTS)
def test_a_page_past_the_end_says_so_and_links_to_the_last_page(admin_client, rows, path, noun):
    html = page(admin_client.get(f"{path}?page=99999"))
    text = words(html)
    assert "Page 99999 is past the end" in text
    assert "No contacts yet" not in text and "of 1" not in text.replace("(", "")
    link = html.select_one("a[data-last-page]")
    assert link is not None and "last page" in words(link)
    assert urlsplit(link["href"]).path == path and "page" not in parse_qs(urlsplit(link["href"]).query)
    assert page(admin_client.get(link["href"])).select_one("a[data-last-page]") is None
    huge = page(admin_client.get(f"{path}?page={'9' * 25}"))  # beyond any OFFSET: past the end too
    assert "is past the end" in words(huge)


def test_the_last_page_link_keeps_the_filters_and_page_size(admin_client, rows):
    html = page(admin_client.get("/crm/?per_page=2&page=7&q=Ager"))
    assert "There are only 2 pages of contacts (3 in all)." in words(html)
    query = parse_qs(urlsplit(html.select_one("a[data-last-page]")["href"]).query)
    assert query == {"page": ["2"], "per_page": ["2"], "q": ["Ager"]}
    pager = html.select_one(".crm-pager a[rel=prev]")
    assert words(pager) == "‹ Last page" and parse_qs(urlsplit(pager["href"]).query)["page"] == ["2"]


@pytest.mark.parametrize("path", [p for p, _ in LISTS])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "²", "1²", "1.5"])
def test_a_page_that_is_not_a_page_number_is_refused_with_the_rule(admin_client, path, value):
    html = page(admin_client.get(path, query_string={"page": value}), 422)
    assert "Page numbers are whole numbers from 1 up." in words(html)


@pytest.mark.parametrize("path", SIZED)
@pytest.mark.parametrize("value", ["0", "-1", "201", "abc", "٣"])
def test_a_page_size_out_of_range_is_refused_like_the_apis_limit(admin_client, path, value):
    html = page(admin_client.get(path, query_string={"per_page": value}), 422)
    assert "Rows per page must be a whole number from 1 to 200." in words(html)
    api = admin_client.get("/api/crm/contacts", query_string={"limit": value})
    assert api.status_code == 422 and "limit" in api.get_json()["error"]["fields"]


@pytest.mark.parametrize("path", SIZED)
def test_a_valid_page_size_is_used_and_kept_by_the_pager(admin_client, rows, path):
    contact = admin_client.get("/api/crm/contacts").get_json()[0]["id"]
    for n in range(3):  # three open activities
        response = admin_client.post("/api/crm/activities", json={"type": "call", "title": f"Call {n}",
                                                                  "due_date": "2030-01-01", "contact_id": contact})
        assert response.status_code == 201, response.get_json()
    html = page(admin_client.get(path, query_string={"per_page": "2"}))
    following = html.select_one(".crm-pager a[rel=next]")
    assert parse_qs(urlsplit(following["href"]).query)["per_page"] == ["2"]
