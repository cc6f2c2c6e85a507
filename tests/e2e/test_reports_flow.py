"""The head of sales opens the reports, changes the period and drills down to the deals."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect


def _sign_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Пароль", exact=True).fill("planerka-demo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{url}/")


def _week_rows(page):
    """The rows of the week-by-week table: the first cell links to that week's deals."""
    return page.locator("table.table tbody tr").filter(has=page.locator("a[href*='week=']"))


@pytest.mark.e2e
def test_head_changes_the_period_and_drills_down_to_deals(live_app, browser):
    url = live_app.url
    context = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    _sign_in(page, url, "i.sokolova@tehpromsnab.ru")

    # The dashboard: figures of the last four weeks, a chart, a week-by-week table.
    page.goto(f"{url}/reports")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".stat-row .stat-number").first).to_be_visible()
    expect(page.locator("section.card svg").first).to_be_visible()
    expect(_week_rows(page)).to_have_count(4)

    # A preset link: this week only, written into the URL.
    page.locator(".presets a[href*='preset=this_week']").click()
    expect(page).to_have_url(re.compile(r"/reports\?(.*&)?preset=this_week"))
    expect(page.locator(".presets a[href*='preset=this_week']")).to_have_class(
        re.compile("chip-on")
    )
    expect(_week_rows(page)).to_have_count(1)

    # The date inputs: the last three weeks up to today, shareable from the URL.
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=2)
    page.locator("input[name=from]").fill(start.isoformat())
    page.locator("input[name=to]").fill(today.isoformat())
    page.locator("form.report-filters button[type=submit]").click()
    expect(page).to_have_url(
        re.compile(rf"/reports\?(.*&)?from={start.isoformat()}&(.*&)?to={today.isoformat()}")
    )
    rows = _week_rows(page)
    expect(rows).to_have_count(3)
    expect(page.locator("input[name=from]")).to_have_value(start.isoformat())

    # The demo reviewed won deals at every meeting: drill down into a week that has some.
    reviewed = [int(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(3)]
    busiest = max(range(3), key=lambda i: reviewed[i])
    assert reviewed[busiest] > 0, reviewed
    week = rows.nth(busiest).locator("td").first.inner_text().strip()
    rows.nth(busiest).locator("a").first.click()
    expect(page).to_have_url(re.compile(rf"/reports/deals\?.*week={week}"))
    assert f"from={start.isoformat()}" in page.url
    deals = page.locator("table.table tbody tr a[href^='/deals/']")
    expect(deals).to_have_count(reviewed[busiest])
    expect(page.locator("table.table tbody")).to_contain_text(week)  # the meeting of that week

    # The tool-usage page of the same period, and its numbers drill down too.
    page.goto(f"{url}/reports/usage?from={start.isoformat()}&to={today.isoformat()}")
    first_number = page.locator("table.table tbody td.num a[href^='/reports/deals']").first
    expect(first_number).to_be_visible()
    won_deals = int(first_number.inner_text())
    first_number.click()
    expect(page).to_have_url(re.compile(r"/reports/deals\?.*tool_id=\d+"))
    expect(page.locator("table.table tbody tr a[href^='/deals/']")).to_have_count(won_deals)

    assert [e for e in errors if "Content Security Policy" in e] == []
    context.close()
