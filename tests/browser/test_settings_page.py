"""Settings → Pipeline stages in Chromium: reorder with the arrow and by dragging the handle
(crm.js), save, and the board follows; a refused save keeps the edits; at 1400 and 390 px
without sideways scrolling."""
import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import SCREENSHOTS, WIDTHS


def order(page) -> list[str]:
    return page.locator(".stage-list > li").evaluate_all("rows => rows.map(r => r.dataset.stage)")


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_reorder_by_arrow_and_drag_then_save(page, login, admin, admin_client, width_name):
    page.set_viewport_size({"width": WIDTHS[width_name], "height": 900})
    login(admin, "/crm/settings")
    expect(page.get_by_role("heading", name="Pipeline stages")).to_be_visible()
    assert order(page) == ["LEAD", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"]
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    folder = SCREENSHOTS / "settings_page"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"stages-{width_name}.png"), full_page=True)

    page.get_by_role("button", name="Move Negotiation up").click()  # in place, nothing posted yet
    assert order(page) == ["LEAD", "QUALIFIED", "NEGOTIATION", "PROPOSAL", "WON", "LOST"]
    assert page.url.endswith("/crm/settings")
    page.get_by_role("button", name="Drag Lost to reorder").drag_to(page.locator('.stage-list > li[data-stage="WON"]'),
                                                                    target_position={"x": 40, "y": 5})
    assert order(page) == ["LEAD", "QUALIFIED", "NEGOTIATION", "PROPOSAL", "LOST", "WON"]
    page.get_by_role("button", name="Save changes").first.click()
    expect(page.get_by_role("status")).to_contain_text("Stages saved.")
    assert order(page) == ["LEAD", "QUALIFIED", "NEGOTIATION", "PROPOSAL", "LOST", "WON"]
    assert [s["key"] for s in admin_client.get("/api/crm/stages").get_json()] == order(page)


def test_a_refused_save_keeps_the_edits_in_the_browser(page, login, admin):
    login(admin, "/crm/settings")
    page.get_by_label("Label of LEAD").fill("Inbound lead")
    page.get_by_role("button", name="Move Won up").click()
    page.get_by_label("Outcome of NEGOTIATION").select_option("won")  # a second won stage
    page.get_by_role("button", name="Save changes").first.click()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("There must be exactly one won stage")
    expect(page.get_by_label("Label of LEAD")).to_have_value("Inbound lead")
    expect(page.get_by_label("Outcome of NEGOTIATION")).to_have_value("won")
    assert order(page) == ["LEAD", "QUALIFIED", "PROPOSAL", "WON", "NEGOTIATION", "LOST"]
