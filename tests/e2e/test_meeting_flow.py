"""A team lead runs the planning meeting from the keyboard; a manager follows on a laptop."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.meetings import services
from portal.models import Deal, Meeting, Team, User


def _meeting_with_two_deals(app) -> int:
    """The demo's open meeting of the Moscow team, with at least two deals on its agenda."""
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.name == "Москва — промышленность"))
        lead = db.session.scalar(select(User).where(User.email == "a.morozov@tehpromsnab.ru"))
        meeting = db.session.scalar(
            select(Meeting).where(Meeting.team_id == team.id, Meeting.status == "open")
        )
        won = db.session.scalars(
            select(Deal.id)
            .where(Deal.team_id == team.id, Deal.status == "won")
            .order_by(Deal.closed_at.desc())
            .limit(4)
        ).all()
        for deal_id in won:
            if len(meeting.items) >= 2:
                break
            services.add_to_agenda(lead, meeting, deal_id)
            db.session.refresh(meeting)
        return meeting.id


def _sign_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Пароль", exact=True).fill("planerka-demo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{url}/")


@pytest.mark.e2e
def test_lead_runs_a_whole_meeting_with_the_keyboard(live_app, browser):
    url = live_app.url
    meeting_id = _meeting_with_two_deals(live_app.app)
    lead_context = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 1000})
    page = lead_context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    _sign_in(page, url, "a.morozov@tehpromsnab.ru")

    # A manager of the team follows the meeting read-only on a laptop.
    follower_context = browser.new_context(locale="ru-RU")
    follower = follower_context.new_page()
    _sign_in(follower, url, "d.kozlov@tehpromsnab.ru")
    follower.goto(f"{url}/meetings/{meeting_id}/follow")
    expect(follower.locator("#follow-stage")).to_contain_text("Сделка 1 из")

    page.goto(f"{url}/meetings/{meeting_id}/present")
    stage = page.locator("#stage")
    expect(stage).to_have_attribute("data-position", "1")
    expect(page.locator("#deal-progress")).to_contain_text("Сделка 1 из")

    # t: tag a tool by typing; another word form than the title's «СПИН-вопросы».
    page.keyboard.press("t")
    expect(page.locator("#tag-q")).to_be_focused()
    page.keyboard.type("спин вопрос", delay=20)
    expect(page.locator("#tag-suggestions [data-tag-option]").first).to_contain_text("СПИН")
    page.keyboard.press("Enter")
    chips = page.locator("#tag-chips .tag-chip")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("СПИН-вопросы")

    # The field is ready for the next tool at once.
    expect(page.locator("#tag-q")).to_be_focused()
    page.keyboard.type("возражение дорого", delay=20)
    expect(page.locator("#tag-suggestions [data-tag-option]").first).to_contain_text("Дорого")
    page.keyboard.press("Enter")
    expect(chips).to_have_count(2)
    expect(page.locator("#tag-chips")).to_contain_text("Возражение «Дорого»")

    # The follower sees the tags within a few seconds (htmx polling).
    expect(follower.locator("#follow-stage")).to_contain_text("Возражение «Дорого»", timeout=8000)

    # k: the key move — focus goes to the star of the last tagged tool, Enter marks it.
    page.keyboard.press("Escape")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    key_chip = page.locator("#tag-chips .tag-chip.is-key")
    expect(key_chip).to_have_count(1)
    expect(key_chip).to_contain_text("Дорого")
    # Focus stays on the star, so ← → and Enter can move the key move to another tool.
    expect(page.locator("#tag-chips .key-toggle[aria-pressed=true]")).to_be_focused()

    # n: the lesson; Ctrl+Enter saves it.
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.locator("#lesson")).to_be_focused()
    page.keyboard.type("Посчитали стоимость простоя вместе с главным механиком.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#lesson-box .saved")).to_be_visible()
    expect(page.locator("#lesson-box .lesson")).to_contain_text("стоимость простоя")
    expect(page.locator("#lesson")).to_be_focused()  # the editor is back, ready for more

    # ?: the shortcut help opens and closes.
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-help")).to_be_hidden()

    # →: the next deal, in place, with the URL of that deal's screen.
    page.keyboard.press("ArrowRight")
    expect(stage).to_have_attribute("data-position", "2")
    expect(page.locator("#deal-progress")).to_contain_text("Сделка 2 из")
    expect(page).to_have_url(re.compile(rf"/meetings/{meeting_id}/present\?n=2$"))
    expect(page.locator("#tag-chips .tag-chip")).to_have_count(0)
    expect(page.locator("#tag-chips")).to_contain_text("Инструменты пока не отмечены")
    expect(follower.locator("#follow-stage")).to_contain_text("Сделка 2 из", timeout=8000)

    # ←: back to the first deal; its review is still there.
    page.keyboard.press("ArrowLeft")
    expect(stage).to_have_attribute("data-position", "1")
    expect(page.locator("#tag-chips .tag-chip.is-key")).to_contain_text("Дорого")

    # c, Enter: close the meeting and land on its summary.
    page.keyboard.press("c")
    expect(page.locator("#close-meeting")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{url}/meetings/{meeting_id}/summary")
    summary = page.locator("main")
    expect(summary).to_contain_text("СПИН-вопросы")
    expect(summary).to_contain_text("Возражение «Дорого»")
    expect(summary).to_contain_text("стоимость простоя")
    expect(page.locator(".stat-number").first).to_have_text("1")

    # The follower is told the meeting is closed.
    expect(follower.locator("#follow-stage")).to_contain_text("Планёрка закрыта", timeout=8000)
    assert [e for e in errors if "Content Security Policy" in e] == []
    follower_context.close()
    lead_context.close()
