"""A lead signs in, sees the Russian home page, switches to English and signs out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LEAD_EMAIL = "a.morozov@tehpromsnab.ru"
DEMO_PASSWORD = "planerka-demo"


@pytest.mark.e2e
def test_lead_signs_in_switches_language_and_signs_out(live_server, browser):
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console_errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            console_errors.append(f"{msg.text} at {msg.location.get('url')}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: console_errors.append(str(error)))

    page.goto(f"{live_server}/login")
    expect(page.locator("h1")).to_have_text("Вход в Планёрку")
    page.get_by_label("E-mail").fill(LEAD_EMAIL)
    page.get_by_label("Пароль", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Войти").click()

    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("h1")).to_have_text("Здравствуйте, Алексей!")
    expect(page.get_by_role("heading", name="Команды")).to_be_visible()
    expect(page.get_by_role("heading", name="Москва — промышленность")).to_be_visible()
    # app.js ran under the CSP: the language switch's fallback button is hidden.
    expect(page.locator("[data-autosubmit-fallback]")).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard-ru.png"
    page.screenshot(path=str(screenshot), full_page=True)

    page.locator("#lang-select").select_option("en")
    expect(page.locator("h1")).to_have_text("Hello, Алексей!")
    expect(page.get_by_role("heading", name="Teams")).to_be_visible()
    expect(page.locator("#lang-select")).to_have_value("en")
    page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("button", name="Войти")).to_be_visible()

    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(re.escape(f"{live_server}/login")))
    expect(page.get_by_label("E-mail")).to_be_visible()

    csp_errors = [text for text in console_errors if "Content Security Policy" in text]
    assert csp_errors == []
    assert console_errors == []
    context.close()
