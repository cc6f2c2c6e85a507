"""A manager types in the header search, sees results drop down and opens one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


@pytest.mark.e2e
def test_header_search_drops_down_and_opens_a_tool(live_server, browser):
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("d.kozlov@tehpromsnab.ru")
    page.get_by_label("Пароль", exact=True).fill("planerka-demo")
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(f"{live_server}/")

    search = page.locator("#header-q")
    search.click()
    # A different word form than the title's «Дорого»: the stemmer and pymorphy match it.
    search.type("возражения дорогой", delay=30)
    dropdown = page.locator("#search-dropdown")
    first = dropdown.locator(".dropdown-item").first
    expect(first).to_be_visible()
    expect(dropdown).to_contain_text("Дорого")

    # Keyboard: arrow down highlights the first result, Enter opens it.
    title = first.locator(".dropdown-title").inner_text()
    search.press("ArrowDown")
    expect(first).to_have_class("dropdown-item active")
    search.press("Enter")
    expect(page.locator("h1")).to_have_text(title)
    assert "/kb/" in page.url

    # Enter without a highlighted result opens the full results page with a shareable URL.
    page.locator("#header-q").fill("скидок")
    page.locator("#header-q").press("Enter")
    expect(page).to_have_url(f"{live_server}/search?q=%D1%81%D0%BA%D0%B8%D0%B4%D0%BE%D0%BA")
    expect(page.locator("#search-results")).to_contain_text("скидк")
    assert [e for e in errors if "Content Security Policy" in e] == []
    context.close()
