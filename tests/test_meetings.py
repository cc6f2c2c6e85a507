"""The planning meeting through its services and pages: agenda, tagging, lessons, action
items, capture into the knowledge base, closing, the summary and who may do what."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.auth import services as accounts
from portal.extensions import db
from portal.kb import services as kb
from portal.meetings import services
from portal.models import ActionItem, Meeting, MeetingItem, SalesTool, Team, User

from .conftest import HTMX, page_text
from .factories import DEFAULT_PASSWORD

MSK = ZoneInfo("Europe/Moscow")
WEEK = "2026-W10"  # Monday 2 March 2026 to Sunday 8 March 2026


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment of 2026 in Moscow time."""
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def hx(target: str) -> dict:
    return {**HTMX, "HX-Target": target}


# --- people and rows ---------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def crew(make):
    """The Moscow team: its lead and two managers."""
    lead = make.user(role="lead", team="Москва", name="Алексей Морозов")
    return SimpleNamespace(
        lead=lead,
        kozlov=make.user(team="Москва", name="Дмитрий Козлов"),
        sokolova=make.user(team="Москва", name="Ирина Соколова"),
        team_id=lead.team_id,
    )


@pytest.fixture
def rivals(make):
    """Another team, whose meetings the Moscow team must not see."""
    lead = make.user(role="lead", team="Екатеринбург", name="Наталья Волкова")
    return SimpleNamespace(
        lead=lead, popova=make.user(team="Екатеринбург", name="Мария Попова"), team_id=lead.team_id
    )


def signed_in(app, user):
    """A separate browser signed in as ``user`` (several people at one meeting)."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    return browser


def won(make, manager, title, when=None, **kwargs):
    return make.deal(manager, title=title, closed_at=when or at(3, 4), **kwargs)


def new_versions(app, tool, count: int) -> None:
    """Edit ``tool`` ``count`` times, so that it has versions 1 to count + 1."""
    with app.app_context():
        row = db.session.get(SalesTool, tool.id)
        for n in range(1, count + 1):
            kb.update_tool(
                row.owner,
                row,
                kb.ToolInput(kind=row.kind, title=row.title, body=f"{row.body}\n\nПравка {n}",
                             summary=row.summary, change_note=f"Правка {n}"),
                None,
            )  # fmt: skip


def open_meeting(app, actor, team_id, week=WEEK, **kwargs) -> int:
    with app.app_context():
        meeting = services.create_meeting(
            db.session.get(User, actor.id), db.session.get(Team, team_id), week, **kwargs
        )
        return meeting.id


def open_via_page(browser, team_id, week=WEEK, **form) -> int:
    response = browser.post("/meetings", data={"team_id": team_id, "week": week, **form})
    assert response.status_code == 303, page_text(response)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def agenda_titles(app, meeting_id) -> list[str]:
    with app.app_context():
        return [e.deal.title for e in services.agenda(db.session.get(Meeting, meeting_id))]


def item_id(app, meeting_id, deal_id) -> int:
    with app.app_context():
        return db.session.scalar(
            select(MeetingItem.id).where(
                MeetingItem.meeting_id == meeting_id, MeetingItem.deal_id == deal_id
            )
        )


def review_of(app, meeting_id, deal_id) -> dict | None:
    """The review as plain data: lesson, version, key tool and {tool_id: version}."""
    with app.app_context():
        review = services.review_for(db.session.get(Meeting, meeting_id), deal_id)
        if review is None:
            return None
        return {
            "lesson": review.lesson,
            "version": review.version,
            "key": review.key_tool_id,
            "tools": {t.tool_id: t.version for t in review.tools},
            "editing_by": review.editing_by_id,
        }


def meeting_row(app, meeting_id) -> SimpleNamespace:
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        return SimpleNamespace(status=m.status, revision=m.revision, current=m.current_deal_id,
                               title=m.title, minutes=m.minutes_per_deal)  # fmt: skip


def set_opened_at(app, meeting_id, when: datetime) -> None:
    with app.app_context():
        db.session.get(Meeting, meeting_id).created_at = when
        db.session.commit()


def carried_texts(app, meeting_id) -> list[tuple[str, bool]]:
    with app.app_context():
        return [
            (a.text, a.done) for a in services.carried_over(db.session.get(Meeting, meeting_id))
        ]


# --- the agenda ------------------------------------------------------------------------


def test_first_meeting_suggests_won_deals_from_the_week_before_to_the_end_of_its_week(
    app, make, crew, rivals
):
    kozlov = crew.kozlov
    won(make, kozlov, "Закрыта до окна", at(2, 22, 23, 59))
    won(make, kozlov, "Первая минута окна", at(2, 23, 0, 0))
    won(make, kozlov, "Среда недели", at(3, 4, 15))
    won(make, kozlov, "Последняя минута недели", at(3, 8, 23, 59))
    won(make, kozlov, "Уже следующая неделя", at(3, 9, 0, 0))
    make.deal(kozlov, status="lost", title="Проигранная", closed_at=at(3, 4))
    make.deal(kozlov, status="open", title="Ещё в работе")
    won(make, rivals.popova, "Сделка Екатеринбурга", at(3, 4))

    meeting_id = open_meeting(app, crew.lead, crew.team_id)

    assert agenda_titles(app, meeting_id) == [
        "Первая минута окна",
        "Среда недели",
        "Последняя минута недели",
    ]
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert services.agenda_window(meeting) == (at(2, 23, 0, 0), at(3, 9, 0, 0))
        assert all(item.suggested for item in meeting.items)
        assert [item.position for item in meeting.items] == [1, 2, 3]
    rival_meeting = open_meeting(app, rivals.lead, rivals.team_id)
    assert agenda_titles(app, rival_meeting) == ["Сделка Екатеринбурга"]


def test_next_meeting_suggests_what_was_won_after_the_previous_one_was_opened(app, make, crew):
    won(make, crew.kozlov, "Вторник: на прошлой планёрке", at(3, 3))
    first = open_meeting(app, crew.lead, crew.team_id)
    set_opened_at(app, first, at(3, 4, 12))  # opened on Wednesday at noon
    # Closed before the first meeting cut its agenda, but entered into the CRM late.
    won(make, crew.kozlov, "Среда, 11:00", at(3, 4, 11))
    won(make, crew.kozlov, "Среда, 13:00", at(3, 4, 13))
    won(make, crew.kozlov, "Четверг следующей недели", at(3, 12))
    won(make, crew.kozlov, "Через неделю", at(3, 16, 0, 0))

    second = open_meeting(app, crew.lead, crew.team_id, "2026-W11")

    assert agenda_titles(app, first) == ["Вторник: на прошлой планёрке"]
    assert agenda_titles(app, second) == ["Среда, 13:00", "Четверг следующей недели"]
    with app.app_context():
        since, until = services.agenda_window(db.session.get(Meeting, second))
    assert (since, until) == (at(3, 4, 12), at(3, 16, 0, 0))


def test_an_ad_hoc_meeting_in_between_does_not_hide_the_weeks_deals_from_the_next_weekly(
    app, make, crew
):
    first = open_meeting(app, crew.lead, crew.team_id)
    set_opened_at(app, first, at(3, 2, 10))  # the W10 планёрка, Monday morning
    won(make, crew.kozlov, "Понедельник, после планёрки", at(3, 2, 15))
    extra = open_meeting(app, crew.lead, crew.team_id, adhoc=True)  # a tender review, later
    set_opened_at(app, extra, at(3, 6, 10))
    with app.app_context():
        lead = db.session.get(User, crew.lead.id)
        meeting = db.session.get(Meeting, extra)
        for item in list(meeting.items):  # it was about another deal: the lead clears it
            services.remove_from_agenda(lead, meeting, item)
        services.close_meeting(lead, meeting)

    second = open_meeting(app, crew.lead, crew.team_id, "2026-W11")
    assert agenda_titles(app, second) == ["Понедельник, после планёрки"]
    with app.app_context():
        since, _ = services.agenda_window(db.session.get(Meeting, second))
    assert since == at(3, 2, 10)


def test_previous_meeting_opened_after_its_week_cuts_at_the_end_of_that_week(app, make, crew):
    first = open_meeting(app, crew.lead, crew.team_id)  # opened today, long after 2026-W10
    won(make, crew.kozlov, "Воскресенье прошлой недели", at(3, 8, 20))
    won(make, crew.kozlov, "Понедельник, полночь", at(3, 9, 0, 0))

    second = open_meeting(app, crew.lead, crew.team_id, "2026-W11")

    assert agenda_titles(app, first) == []
    assert agenda_titles(app, second) == ["Понедельник, полночь"]


def test_reviewed_deals_and_deals_on_another_open_agenda_are_not_suggested(app, make, crew):
    reviewed = won(make, crew.kozlov, "Разобрана на внеплановой", at(3, 3))
    pending = won(make, crew.kozlov, "В повестке внеплановой", at(3, 4))
    won(make, crew.kozlov, "Свободная", at(3, 5))
    extra = open_meeting(app, crew.lead, crew.team_id, "2026-W09", adhoc=True)
    with app.app_context():
        lead, meeting = db.session.get(User, crew.lead.id), db.session.get(Meeting, extra)
        services.add_to_agenda(lead, meeting, pending.id)
        services.create_review(lead, meeting, reviewed.id, lesson="Разобрали заранее")

    weekly = open_meeting(app, crew.lead, crew.team_id)
    assert agenda_titles(app, weekly) == ["Свободная"]

    with app.app_context():
        lead = db.session.get(User, crew.lead.id)
        services.close_meeting(lead, db.session.get(Meeting, extra))
        assert services.refresh_agenda(lead, db.session.get(Meeting, weekly)) == 1
        assert services.refresh_agenda(lead, db.session.get(Meeting, weekly)) == 0
    assert agenda_titles(app, weekly) == ["Свободная", "В повестке внеплановой"]


def test_lost_deals_are_not_suggested_but_the_lead_can_add_them(
    app, client, make, crew, rivals, auth
):
    won(make, crew.kozlov, "Компрессоры для Подольска")
    lost = make.deal(crew.sokolova, status="lost", title="Проигрыш: Хлебозавод", closed_at=at(3, 5))
    still_open = make.deal(crew.kozlov, status="open", title="Ещё торгуемся")
    foreign = won(make, rivals.popova, "Сделка Екатеринбурга")
    auth.login(crew.lead.email)
    meeting_id = open_via_page(client, crew.team_id)
    assert agenda_titles(app, meeting_id) == ["Компрессоры для Подольска"]

    found = client.get(f"/meetings/{meeting_id}/agenda/candidates?q=хлебо",
                       headers=hx("agenda-candidates"))  # fmt: skip
    assert found.status_code == 200
    assert "Проигрыш: Хлебозавод" in page_text(found)
    assert "Компрессоры для Подольска" not in page_text(found)  # already on the agenda
    assert "Сделка Екатеринбурга" not in page_text(
        client.get(f"/meetings/{meeting_id}/agenda/candidates?q=сделка")
    )

    added = client.post(f"/meetings/{meeting_id}/agenda", data={"deal_id": lost.id})
    assert added.status_code == 303
    again = client.post(f"/meetings/{meeting_id}/agenda", data={"deal_id": lost.id},
                        headers=hx("agenda"))  # fmt: skip
    assert again.status_code == 200 and "Проигрыш: Хлебозавод" in page_text(again)
    assert agenda_titles(app, meeting_id) == ["Компрессоры для Подольска", "Проигрыш: Хлебозавод"]
    with app.app_context():
        item = db.session.get(MeetingItem, item_id(app, meeting_id, lost.id))
        assert (item.suggested, item.position, item.added_by_id) == (False, 2, crew.lead.id)

    assert client.post(f"/meetings/{meeting_id}/agenda",
                       data={"deal_id": still_open.id}).status_code == 422  # fmt: skip
    assert client.post(f"/meetings/{meeting_id}/agenda",
                       data={"deal_id": foreign.id}).status_code == 404  # fmt: skip
    assert client.post(f"/meetings/{meeting_id}/agenda", data={"deal_id": "x"}).status_code == 404
    assert len(agenda_titles(app, meeting_id)) == 2


def test_lead_reorders_and_removes_agenda_items(app, client, make, crew, auth):
    a = won(make, crew.kozlov, "Сделка А", at(3, 2))
    b = won(make, crew.kozlov, "Сделка Б", at(3, 3))
    c = won(make, crew.sokolova, "Сделка В", at(3, 4))
    auth.login(crew.lead.email)
    meeting_id = open_via_page(client, crew.team_id)
    assert agenda_titles(app, meeting_id) == ["Сделка А", "Сделка Б", "Сделка В"]

    url = f"/meetings/{meeting_id}/agenda"
    moved = client.post(f"{url}/{item_id(app, meeting_id, c.id)}/move", data={"direction": "up"},
                        headers=hx("agenda"))  # fmt: skip
    assert moved.status_code == 200
    text = page_text(moved)
    assert text.index("Сделка А") < text.index("Сделка В") < text.index("Сделка Б")
    assert agenda_titles(app, meeting_id) == ["Сделка А", "Сделка В", "Сделка Б"]

    response = client.post(f"{url}/{item_id(app, meeting_id, a.id)}/move", data={"position": 3})
    assert response.status_code == 303
    assert agenda_titles(app, meeting_id) == ["Сделка В", "Сделка Б", "Сделка А"]

    response = client.post(f"{url}/{item_id(app, meeting_id, b.id)}/remove")
    assert response.status_code == 303
    assert agenda_titles(app, meeting_id) == ["Сделка В", "Сделка А"]
    with app.app_context():
        positions = db.session.execute(
            select(MeetingItem.deal_id, MeetingItem.position)
            .where(MeetingItem.meeting_id == meeting_id)
            .order_by(MeetingItem.position)
        ).all()
    assert [tuple(p) for p in positions] == [(c.id, 1), (a.id, 2)]

    spin = make.tool(crew.lead, title="SPIN-вопросы", kind="technique")
    client.post(f"/meetings/{meeting_id}/deals/{a.id}/tags", data={"tool_id": spin.id})
    refused = client.post(f"{url}/{item_id(app, meeting_id, a.id)}/remove", headers=hx("agenda"))
    assert refused.status_code == 409
    assert refused.headers["HX-Retarget"] == "#notice"
    assert agenda_titles(app, meeting_id) == ["Сделка В", "Сделка А"]
    assert client.post(f"{url}/999999/remove").status_code == 404


def test_weekly_meeting_is_one_per_team_and_week_but_extra_ones_are_allowed(
    app, client, crew, rivals, make, auth
):
    auth.login(crew.lead.email)
    first = open_via_page(client, crew.team_id, "2026-w10")
    again = client.post("/meetings", data={"team_id": crew.team_id, "week": "2026-W10"})
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"/meetings/{first}")
    extra = open_via_page(client, crew.team_id, WEEK, adhoc="1", title="Разбор тендера")
    assert extra != first
    rival = open_meeting(app, rivals.lead, rivals.team_id)  # the same week for another team
    with app.app_context():
        rows = db.session.execute(
            select(Meeting.id, Meeting.week, Meeting.kind, Meeting.title).order_by(Meeting.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (first, WEEK, "weekly", ""),
        (extra, WEEK, "adhoc", "Разбор тендера"),
        (rival, WEEK, "weekly", ""),
    ]


def test_opening_this_weeks_meeting_twice_leads_to_the_first(app, client, crew, auth):
    auth.login(crew.lead.email)
    first = open_via_page(client, crew.team_id, "")
    again = client.post("/meetings", data={"team_id": crew.team_id, "week": ""})
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"/meetings/{first}")
    with app.app_context():
        assert db.session.get(Meeting, first).week == services.current_week()
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 1


@pytest.mark.parametrize(
    "form",
    [
        {"week": "2026-48"},
        {"week": "2026-W54"},
        {"week": "1999-W10"},
        {"minutes_per_deal": "0"},
        {"minutes_per_deal": "61"},
        {"minutes_per_deal": "три"},
        {"title": "Т" * 201},
    ],
)
def test_invalid_meeting_settings_are_refused(app, client, crew, auth, form):
    auth.login(crew.lead.email)
    response = client.post("/meetings", data={"team_id": crew.team_id, "week": WEEK, **form})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 0


def test_lead_changes_title_and_minutes_per_deal(app, client, crew, auth):
    auth.login(crew.lead.email)
    meeting_id = open_via_page(client, crew.team_id)
    response = client.post(f"/meetings/{meeting_id}/settings",
                           data={"title": "  Планёрка   отдела  ", "minutes_per_deal": "5"})  # fmt: skip
    assert response.status_code == 303
    row = meeting_row(app, meeting_id)
    assert (row.title, row.minutes) == ("Планёрка отдела", 5)
    bad = client.post(f"/meetings/{meeting_id}/settings", data={"minutes_per_deal": "90"})
    assert bad.status_code == 422
    assert meeting_row(app, meeting_id).minutes == 5


# --- presenter mode and tagging ------------------------------------------------------------


@pytest.fixture
def stage(app, client, make, crew, auth):
    """A meeting of 2026-W10 with two won deals, a КП sent in the first, the lead signed in."""
    kp = make.tool(crew.lead, title="КП на винтовые компрессоры", kind="proposal")
    new_versions(app, kp, 2)  # v1..v3
    tkp = make.tool(crew.lead, title="ТКП на модернизацию компрессорной", kind="tech_proposal")
    new_versions(app, tkp, 1)  # v1..v2
    spin = make.tool(crew.lead, title="SPIN-вопросы для первой встречи", kind="technique")
    price = make.tool(crew.lead, title="Возражение «Дорого»", kind="objection")
    deal = won(make, crew.kozlov, "Компрессоры для склада в Подольске", at(3, 3), amount=1_250_000)
    other = won(make, crew.sokolova, "Осушители для хлебозавода", at(3, 5), amount=480_000)
    make.send(deal, kp, version=2, reaction="accepted")
    auth.login(crew.lead.email)
    meeting_id = open_via_page(client, crew.team_id)
    return SimpleNamespace(
        id=meeting_id, url=f"/meetings/{meeting_id}", deal=deal, other=other,
        kp=kp, tkp=tkp, spin=spin, price=price,
    )  # fmt: skip


def test_presenter_walks_the_agenda_and_followers_see_the_shown_deal(app, client, stage, crew):
    first = client.get(f"{stage.url}/present")
    assert first.status_code == 200
    assert "Компрессоры для склада в Подольске" in page_text(first)
    assert "КП на винтовые компрессоры" in page_text(first)  # the proposal sent in the deal

    shown = client.post(f"{stage.url}/show", data={"n": 2}, headers=hx("stage"))
    assert shown.status_code == 200
    assert "Осушители для хлебозавода" in page_text(shown)
    assert shown.headers["HX-Push-Url"].endswith(f"{stage.url}/present?n=2")
    assert meeting_row(app, stage.id).current == stage.other.id

    assert client.get(f"{stage.url}/present?n=99").status_code == 200  # clamped to the last
    assert client.post(f"{stage.url}/show", data={"n": 1}).status_code == 303
    follower = signed_in(app, crew.sokolova)
    page = follower.get(f"{stage.url}/follow")
    assert page.status_code == 200
    assert "Компрессоры для склада в Подольске" in page_text(page)
    assert "Осушители для хлебозавода" not in page_text(page)


def test_tagging_records_versions_and_proposals_default_to_the_version_sent(app, client, stage):
    tags = f"{stage.url}/deals/{stage.deal.id}/tags"

    response = client.post(tags, data={"tool_id": stage.kp.id}, headers=hx("review-tags"))
    assert response.status_code == 200
    assert "v2" in page_text(response)
    client.post(tags, data={"tool_id": stage.tkp.id})  # never sent: its current version
    client.post(tags, data={"tool_id": stage.spin.id})  # not a proposal: no version
    assert review_of(app, stage.id, stage.deal.id)["tools"] == {
        stage.kp.id: 2,
        stage.tkp.id: 2,
        stage.spin.id: None,
    }

    retag = client.post(
        tags, data={"tool_id": stage.kp.id, "version": 3}, headers=hx("review-tags")
    )
    assert retag.status_code == 200 and "v3" in page_text(retag)
    old = client.post(tags, data={"tool_id": stage.tkp.id, "version": 1})
    assert old.status_code == 303
    assert review_of(app, stage.id, stage.deal.id)["tools"] == {
        stage.kp.id: 3,
        stage.tkp.id: 1,
        stage.spin.id: None,
    }

    too_new = client.post(
        tags, data={"tool_id": stage.kp.id, "version": 4}, headers=hx("review-tags")
    )
    assert too_new.status_code == 422
    assert too_new.headers["HX-Retarget"] == "#notice"
    assert client.post(tags, data={"tool_id": 999_999}).status_code == 422
    assert client.post(tags, data={}).status_code == 422
    assert review_of(app, stage.id, stage.deal.id)["tools"][stage.kp.id] == 3

    removed = client.post(f"{tags}/{stage.tkp.id}/remove", headers=hx("review-tags"))
    assert removed.status_code == 200
    assert "ТКП на модернизацию" not in page_text(removed)
    assert set(review_of(app, stage.id, stage.deal.id)["tools"]) == {stage.kp.id, stage.spin.id}


def test_tag_suggestions_put_the_proposal_version_sent_in_the_deal_first(client, stage):
    url = f"{stage.url}/deals/{stage.deal.id}/tool-suggestions"
    empty = client.get(url, headers=hx("tag-suggestions"))
    assert empty.status_code == 200
    html = empty.get_data(as_text=True)
    assert "КП на винтовые компрессоры" in page_text(empty)
    assert re.findall(r'name="version" value="(\d+)"', html) == ["2"]

    found = client.get(f"{url}?q=компрессоры", headers=hx("tag-suggestions"))
    html = found.get_data(as_text=True)
    kp_versions = re.findall(
        rf'name="tool_id" value="{stage.kp.id}">\s*<input type="hidden" name="version" value="(\d+)"',
        html,
    )
    assert kp_versions == ["2", "3"]  # the one sent, then the latest

    page = client.get(f"{url}?q=SPIN")
    assert page.status_code == 200  # a full page without htmx
    assert "SPIN-вопросы для первой встречи" in page_text(page)
    nothing = client.get(f"{url}?q=дирижабль", headers=hx("tag-suggestions"))
    assert "SPIN" not in page_text(nothing) and "КП" not in page_text(nothing)


def test_tag_suggestions_complete_a_word_still_being_typed(client, stage):
    url = f"{stage.url}/deals/{stage.deal.id}/tool-suggestions"

    def titles(q):
        return page_text(client.get(url, query_string={"q": q}, headers=hx("tag-suggestions")))

    assert "Возражение «Дорого»" in titles("возраж")  # half a word
    assert "SPIN-вопросы для первой встречи" in titles("spi")
    assert "ТКП на модернизацию компрессорной" in titles("ткп модерн")  # every word counts
    assert "Возражение «Дорого»" not in titles("возраж модерн")
    assert "Дорого" not in titles("%")  # LIKE wildcards are literal


def test_key_move_is_one_per_review_and_marking_it_again_unmarks_it(app, client, stage):
    base = f"{stage.url}/deals/{stage.deal.id}"
    client.post(f"{base}/tags", data={"tool_id": stage.spin.id})
    client.post(f"{base}/tags", data={"tool_id": stage.price.id})

    marked = client.post(f"{base}/key", data={"tool_id": stage.spin.id}, headers=hx("review-tags"))
    assert marked.status_code == 200 and "is-key" in page_text(marked)
    assert review_of(app, stage.id, stage.deal.id)["key"] == stage.spin.id
    client.post(f"{base}/key", data={"tool_id": stage.price.id})
    assert review_of(app, stage.id, stage.deal.id)["key"] == stage.price.id
    client.post(f"{base}/key", data={"tool_id": stage.price.id})
    assert review_of(app, stage.id, stage.deal.id)["key"] is None

    untagged = client.post(f"{base}/key", data={"tool_id": stage.kp.id}, headers=hx("review-tags"))
    assert untagged.status_code == 422
    assert review_of(app, stage.id, stage.deal.id)["key"] is None

    client.post(f"{base}/key", data={"tool_id": stage.spin.id})
    client.post(f"{base}/tags/{stage.spin.id}/remove")
    review = review_of(app, stage.id, stage.deal.id)
    assert review["key"] is None and set(review["tools"]) == {stage.price.id}
    # No review yet for the other deal: marking a key move there is "not found".
    assert client.post(f"{stage.url}/deals/{stage.other.id}/key",
                       data={"tool_id": stage.spin.id}).status_code == 404  # fmt: skip


def test_a_deal_off_the_agenda_cannot_be_reviewed_from_the_presenter(
    app, client, make, stage, crew
):
    lost = make.deal(crew.kozlov, status="lost", title="Проигрыш", closed_at=at(3, 6))
    base = f"{stage.url}/deals/{lost.id}"
    for url, data in (
        (f"{base}/tags", {"tool_id": stage.spin.id}),
        (f"{base}/lesson", {"lesson": "Вывод", "version": 0}),
        (f"{base}/editing", {}),
        (f"{base}/actions", {"text": "Позвонить"}),
    ):
        assert client.post(url, data=data).status_code == 404, url
    assert review_of(app, stage.id, lost.id) is None  # nothing written behind the 404
    assert client.post(f"{stage.url}/agenda", data={"deal_id": lost.id}).status_code == 303
    assert client.post(f"{base}/tags", data={"tool_id": stage.spin.id}).status_code == 303
    assert review_of(app, stage.id, lost.id)["tools"] == {stage.spin.id: None}


def test_manager_cannot_tag_a_colleagues_draft(app, make, stage, crew):
    draft = make.tool(crew.sokolova, title="Черновик Соколовой", kind="script", status="draft")
    own = make.tool(crew.kozlov, title="Черновик Козлова", kind="script", status="draft")
    kozlov = signed_in(app, crew.kozlov)
    tags = f"{stage.url}/deals/{stage.deal.id}/tags"
    assert kozlov.post(tags, data={"tool_id": draft.id}).status_code == 422
    assert kozlov.post(tags, data={"tool_id": own.id}).status_code == 303
    assert review_of(app, stage.id, stage.deal.id)["tools"] == {own.id: None}


# --- the lesson ------------------------------------------------------------------------------


def test_stale_lesson_save_is_a_conflict_that_keeps_both_texts(app, client, stage, crew):
    lesson = f"{stage.url}/deals/{stage.deal.id}/lesson"
    kozlov = signed_in(app, crew.kozlov)  # the deal's manager, from a laptop
    # Both opened the editor before the review existed (version 0).
    saved = client.post(lesson, data={"lesson": "Клиенту важнее **сроки**, чем цена", "version": 0},
                        headers=hx("lesson-box"))  # fmt: skip
    assert saved.status_code == 200
    assert "<strong>сроки</strong>" in saved.get_data(as_text=True)
    assert review_of(app, stage.id, stage.deal.id)["version"] == 2

    stale = kozlov.post(lesson, data={"lesson": "Решила демонстрация на складе", "version": 0},
                        headers=hx("lesson-box"))  # fmt: skip
    assert stale.status_code == 409
    text = page_text(stale)
    assert "Клиенту важнее" in text and "Решила демонстрация на складе" in text
    assert "Алексей Морозов" in text  # who saved meanwhile
    assert 'name="version" value="2"' in stale.get_data(as_text=True)
    review = review_of(app, stage.id, stage.deal.id)
    assert (review["lesson"], review["version"]) == ("Клиенту важнее **сроки**, чем цена", 2)

    page = kozlov.post(lesson, data={"lesson": "Решила демонстрация на складе", "version": 1})
    assert page.status_code == 409  # without htmx: a full page with both texts
    assert "<html" in page.get_data(as_text=True)
    assert "Клиенту важнее" in page_text(page) and "Решила демонстрация" in page_text(page)

    same = kozlov.post(lesson, data={"lesson": "Клиенту важнее **сроки**, чем цена", "version": 1},
                       headers=hx("lesson-box"))  # fmt: skip
    assert same.status_code == 200  # the same words reached both screens: nothing to merge
    assert review_of(app, stage.id, stage.deal.id)["version"] == 2

    merged = "Клиенту важнее **сроки**, чем цена. Решила демонстрация на складе"
    after = kozlov.post(lesson, data={"lesson": merged, "version": 2}, headers=hx("lesson-box"))
    assert after.status_code == 200
    review = review_of(app, stage.id, stage.deal.id)
    assert (review["lesson"], review["version"]) == (merged, 3)


def test_lesson_saved_after_tagging_uses_the_reviews_version(app, client, stage):
    base = f"{stage.url}/deals/{stage.deal.id}"
    client.post(f"{base}/tags", data={"tool_id": stage.spin.id})  # the review exists, version 1
    saved = client.post(f"{base}/lesson", data={"lesson": "Первая мысль", "version": 0})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"{stage.url}/present?n=1")
    long = client.post(f"{base}/lesson", data={"lesson": "ы" * 20_001, "version": 2})
    assert long.status_code == 422
    review = review_of(app, stage.id, stage.deal.id)
    assert (review["lesson"], review["version"]) == ("Первая мысль", 2)


HOSTILE = (
    '<script>alert("xss")</script>\n\n'
    '<img src="x" onerror="alert(1)">\n\n'
    "[ссылка](javascript:alert(2))\n\n"
    '<a href="#" onclick="alert(3)" hx-get="/logout">клик</a>\n\n'
    "**жирный вывод**"
)


def _assert_clean(html: str) -> None:
    """No live script, handler, javascript: link or htmx attribute from the lesson.

    (The editor's textarea shows the source escaped, which is harmless.)"""
    assert "<script>alert" not in html
    assert not re.search(r"<[a-z][^>]*\son(error|click)\s*=", html, re.IGNORECASE)
    assert 'href="javascript:' not in html
    assert 'hx-get="/logout"' not in html


def test_hostile_markdown_in_a_lesson_is_sanitised_everywhere(app, client, stage, crew):
    lesson = f"{stage.url}/deals/{stage.deal.id}/lesson"
    saved = client.post(lesson, data={"lesson": HOSTILE, "version": 0}, headers=hx("lesson-box"))
    assert saved.status_code == 200
    html = saved.get_data(as_text=True)
    _assert_clean(html)
    assert "<strong>жирный вывод</strong>" in html
    assert review_of(app, stage.id, stage.deal.id)["lesson"] == HOSTILE  # stored as written

    for url in (f"{stage.url}/present", f"{stage.url}/summary"):
        html = client.get(url).get_data(as_text=True)
        _assert_clean(html)
        assert "<strong>жирный вывод</strong>" in html
    follower = signed_in(app, crew.sokolova)
    _assert_clean(follower.get(f"{stage.url}/follow").get_data(as_text=True))

    conflict = signed_in(app, crew.kozlov).post(
        lesson, data={"lesson": HOSTILE + " ещё", "version": 1}, headers=hx("lesson-box")
    )
    assert conflict.status_code == 409
    _assert_clean(conflict.get_data(as_text=True))  # "your text" is escaped, not rendered
    assert "&lt;script&gt;" in conflict.get_data(as_text=True)


# --- closing --------------------------------------------------------------------------------


def test_closing_waits_while_someone_else_edits_a_lesson(app, client, stage, crew):
    kozlov = signed_in(app, crew.kozlov)
    editing = kozlov.post(f"{stage.url}/deals/{stage.deal.id}/editing", headers=HTMX)
    assert editing.status_code == 204
    assert review_of(app, stage.id, stage.deal.id)["editing_by"] == crew.kozlov.id

    refused = client.post(f"{stage.url}/close", headers=HTMX)
    assert refused.status_code == 409
    assert refused.headers["HX-Retarget"] == "#notice"
    assert "Дмитрий Козлов" in page_text(refused)
    assert "Компрессоры для склада в Подольске" in page_text(refused)
    assert meeting_row(app, stage.id).status == "open"

    # The lead's own open editor does not hold the meeting up; Kozlov's still does.
    assert client.post(f"{stage.url}/deals/{stage.other.id}/editing").status_code == 204
    assert client.post(f"{stage.url}/close").status_code == 409

    kozlov.post(f"{stage.url}/deals/{stage.deal.id}/lesson",
                data={"lesson": "Сроки решили всё", "version": 1})  # fmt: skip
    assert review_of(app, stage.id, stage.deal.id)["editing_by"] is None
    closed = client.post(f"{stage.url}/close", headers=HTMX)
    assert closed.status_code == 204
    assert closed.headers["HX-Redirect"].endswith(f"{stage.url}/summary")
    assert meeting_row(app, stage.id).status == "closed"
    assert review_of(app, stage.id, stage.other.id) is None  # the lead's focus opened none


def test_a_review_opened_but_never_written_does_not_count_as_reviewed(app, client, stage, crew):
    """Focusing the lesson box, or tagging and untagging, leaves the deal not reviewed."""
    base = f"{stage.url}/deals/{stage.deal.id}"
    assert client.post(f"{base}/editing").status_code == 204  # the lead presses n, types nothing
    assert review_of(app, stage.id, stage.deal.id) is None
    client.post(f"{base}/tags", data={"tool_id": stage.spin.id})
    client.post(f"{base}/tags/{stage.spin.id}/remove")
    assert review_of(app, stage.id, stage.deal.id) is None
    removed = client.post(f"{stage.url}/agenda/{item_id(app, stage.id, stage.deal.id)}/remove")
    assert removed.status_code == 303  # still an unreviewed deal: it may leave the agenda

    kozlov = signed_in(app, crew.sokolova)  # the other deal's manager opens its lesson box
    assert kozlov.post(f"{stage.url}/deals/{stage.other.id}/editing").status_code == 204
    assert review_of(app, stage.id, stage.other.id)["editing_by"] == crew.sokolova.id
    with app.app_context():  # their lease runs out without a word written
        review = services.review_for(db.session.get(Meeting, stage.id), stage.other.id)
        review.editing_until = datetime.now(MSK) - timedelta(seconds=1)
        db.session.commit()
    assert client.post(f"{stage.url}/close").status_code in (204, 303)
    assert review_of(app, stage.id, stage.other.id) is None
    summary = page_text(client.get(f"{stage.url}/summary"))
    assert "Осушители для хлебозавода" not in summary


def test_a_lesson_form_without_its_version_and_an_unreadable_due_date_are_refused(
    app, client, stage, crew
):
    base = f"{stage.url}/deals/{stage.deal.id}"
    client.post(f"{base}/lesson", data={"lesson": "Первый текст", "version": 0})
    for version in ("abc", None):
        data = {"lesson": "Чужая старая правка"} | ({"version": version} if version else {})
        refused = client.post(f"{base}/lesson", data=data)
        assert refused.status_code == 422
    assert review_of(app, stage.id, stage.deal.id)["lesson"] == "Первый текст"
    refused = client.post(f"{base}/actions", data={"text": "Обновить КП", "due_date": "завтра"})
    assert refused.status_code == 422 and "2026-11-27" in page_text(refused)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ActionItem.id))) == 0


def test_an_expired_editing_lease_does_not_hold_up_closing(app, stage, crew):
    with app.app_context():
        meeting = db.session.get(Meeting, stage.id)
        kozlov = db.session.get(User, crew.kozlov.id)
        review = services.review_editor(kozlov, meeting, stage.deal.id)
        services.start_editing(kozlov, meeting, review)
        review.editing_until = datetime.now(MSK) - timedelta(seconds=1)
        db.session.commit()
        closed = services.close_meeting(db.session.get(User, crew.lead.id), meeting)
        assert closed.status == "closed" and closed.closed_by_id == crew.lead.id


def test_closed_meeting_refuses_every_change(app, client, make, stage, crew):
    base = f"{stage.url}/deals/{stage.deal.id}"
    client.post(f"{base}/tags", data={"tool_id": stage.spin.id})
    lost = make.deal(crew.kozlov, status="lost", title="Проигрыш", closed_at=at(3, 6))
    closed = client.post(f"{stage.url}/close")
    assert closed.status_code == 303
    assert closed.headers["Location"].endswith(f"{stage.url}/summary")
    revision = meeting_row(app, stage.id).revision
    item = item_id(app, stage.id, stage.other.id)

    attempts = [
        (f"{base}/tags", {"tool_id": stage.price.id}),
        (f"{base}/tags/{stage.spin.id}/remove", {}),
        (f"{base}/key", {"tool_id": stage.spin.id}),
        (f"{base}/lesson", {"lesson": "Поздно", "version": 1}),
        (f"{base}/editing", {}),
        (f"{base}/actions", {"text": "Поздно", "owner_id": crew.kozlov.id}),
        (f"{base}/capture", {"kind": "objection", "title": "Поздно"}),
        (f"{stage.url}/deals/{stage.other.id}/tags", {"tool_id": stage.spin.id}),
        (f"{stage.url}/agenda", {"deal_id": lost.id}),
        (f"{stage.url}/agenda/{item}/remove", {}),
        (f"{stage.url}/agenda/{item}/move", {"direction": "up"}),
        (f"{stage.url}/agenda/refresh", {}),
        (f"{stage.url}/settings", {"title": "Поздно", "minutes_per_deal": "4"}),
        (f"{stage.url}/close", {}),
    ]
    for url, data in attempts:
        response = client.post(url, data=data, headers=HTMX)
        assert response.status_code == 409, url
        assert response.headers["HX-Retarget"] == "#notice", url

    assert review_of(app, stage.id, stage.deal.id)["tools"] == {stage.spin.id: None}
    assert review_of(app, stage.id, stage.other.id) is None
    assert agenda_titles(app, stage.id) == [
        "Компрессоры для склада в Подольске",
        "Осушители для хлебозавода",
    ]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ActionItem.id))) == 0
        assert db.session.scalar(select(SalesTool.id).where(SalesTool.title == "Поздно")) is None
    assert meeting_row(app, stage.id).revision == revision
    # Walking through a closed meeting still works and changes nothing.
    assert client.post(f"{stage.url}/show", data={"n": 2}).status_code == 303
    assert meeting_row(app, stage.id).current != stage.other.id
    assert client.get(f"{stage.url}/present?n=2").status_code == 200


# --- followers ------------------------------------------------------------------------------


def test_followers_get_204_until_something_changes(app, client, stage, crew):
    follower = signed_in(app, crew.sokolova)
    page = follower.get(f"{stage.url}/follow")
    assert page.status_code == 200
    revision = int(re.search(r'data-revision="(\d+)"', page.get_data(as_text=True)).group(1))
    assert revision == meeting_row(app, stage.id).revision

    poll = f"{stage.url}/follow?rev={revision}"
    assert follower.get(poll, headers=hx("follow-stage")).status_code == 204
    assert follower.get(poll).status_code == 200  # a plain reload always gets the page

    client.post(f"{stage.url}/show", data={"n": 2}, headers=hx("stage"))
    changed = follower.get(poll, headers=hx("follow-stage"))
    assert changed.status_code == 200
    assert "Осушители для хлебозавода" in page_text(changed)
    assert "<html" not in changed.get_data(as_text=True)  # only the fragment
    newer = int(re.search(r'data-revision="(\d+)"', changed.get_data(as_text=True)).group(1))
    assert newer > revision

    client.post(f"{stage.url}/deals/{stage.other.id}/tags", data={"tool_id": stage.spin.id})
    tagged = follower.get(f"{stage.url}/follow?rev={newer}", headers=hx("follow-stage"))
    assert tagged.status_code == 200 and "SPIN-вопросы" in page_text(tagged)


# --- action items ------------------------------------------------------------------------------


def test_open_action_items_come_back_at_the_next_meetings_until_done(
    app, client, make, crew, rivals, auth
):
    deal = won(make, crew.kozlov, "Компрессоры для Подольска", at(3, 4))
    auth.login(crew.lead.email)
    first = open_via_page(client, crew.team_id)
    actions = f"/meetings/{first}/deals/{deal.id}/actions"
    added = client.post(actions, data={"text": "Обновить КП для логистики",
                                       "owner_id": crew.kozlov.id, "due_date": "2026-03-13"},
                        headers=hx("review-actions"))  # fmt: skip
    assert added.status_code == 200 and "Обновить КП для логистики" in page_text(added)
    client.post(actions, data={"text": "Позвонить главному инженеру", "owner_id": crew.sokolova.id})
    with app.app_context():
        items = db.session.scalars(select(ActionItem).order_by(ActionItem.id)).all()
        assert [(a.text, a.owner_id, a.due_date, a.done) for a in items] == [
            ("Обновить КП для логистики", crew.kozlov.id, date(2026, 3, 13), False),
            ("Позвонить главному инженеру", crew.sokolova.id, None, False),
        ]
        update_kp, call = items[0].id, items[1].id

    second = open_via_page(client, crew.team_id, "2026-W11")
    page = client.get(f"/meetings/{second}")
    assert "Обновить КП для логистики" in page_text(page)
    assert "Позвонить главному инженеру" in page_text(page)
    ticked = client.post(f"/meetings/{second}/actions/{update_kp}/done", data={"done": "1"},
                         headers=HTMX)  # fmt: skip
    assert ticked.status_code == 200 and "☑" in page_text(ticked)
    with app.app_context():
        item = db.session.get(ActionItem, update_kp)
        assert (item.done, item.done_in_meeting_id) == (True, second)
    assert carried_texts(app, second) == [
        ("Обновить КП для логистики", True),  # ticked off here, so still shown here
        ("Позвонить главному инженеру", False),
    ]

    third = open_via_page(client, crew.team_id, "2026-W12")
    assert carried_texts(app, third) == [("Позвонить главному инженеру", False)]
    assert carried_texts(app, open_meeting(app, rivals.lead, rivals.team_id)) == []

    reopened = client.post(f"/meetings/{third}/actions/{update_kp}/done", data={"done": "0"})
    assert reopened.status_code == 303
    assert carried_texts(app, third) == [
        ("Обновить КП для логистики", False),
        ("Позвонить главному инженеру", False),
    ]
    # The owner ticks their own item off; a colleague may not.
    kozlov, sokolova = signed_in(app, crew.kozlov), signed_in(app, crew.sokolova)
    assert sokolova.post(f"/meetings/{third}/actions/{update_kp}/done",
                         data={"done": "1"}).status_code == 403  # fmt: skip
    assert kozlov.post(f"/meetings/{third}/actions/{update_kp}/done",
                       data={"done": "1"}).status_code == 303  # fmt: skip
    assert carried_texts(app, third) == [
        ("Обновить КП для логистики", True),
        ("Позвонить главному инженеру", False),
    ]
    with app.app_context():
        assert db.session.get(ActionItem, call).done is False


@pytest.mark.parametrize(
    "form",
    [
        {"text": "   "},
        {"text": "д" * 501},
        {"text": "Позвонить", "owner_id": "rival"},
        {"text": "Позвонить", "owner_id": "999999"},
    ],
)
def test_invalid_action_items_are_refused(app, client, make, crew, rivals, auth, form):
    deal = won(make, crew.kozlov, "Компрессоры")
    auth.login(crew.lead.email)
    meeting_id = open_via_page(client, crew.team_id)
    if form.get("owner_id") == "rival":
        form = {**form, "owner_id": rivals.popova.id}
    response = client.post(f"/meetings/{meeting_id}/deals/{deal.id}/actions", data=form,
                           headers=hx("review-actions"))  # fmt: skip
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ActionItem.id))) == 0


# --- capture into the knowledge base --------------------------------------------------------


def test_capture_creates_drafts_linked_to_the_deal_and_the_meeting(app, client, stage, crew):
    capture = f"{stage.url}/deals/{stage.deal.id}/capture"
    response = client.post(capture, data={"kind": "objection", "title": "У нас уже есть поставщик",
                                          "body": "Ответ: сравнили сроки поставки"},
                           headers=hx("review-drafts"))  # fmt: skip
    assert response.status_code == 200
    assert "У нас уже есть поставщик" in page_text(response)
    kozlov = signed_in(app, crew.kozlov)  # the deal's manager captures too
    assert (
        kozlov.post(capture, data={"kind": "move", "title": "Демо на складе клиента"}).status_code
        == 303
    )

    with app.app_context():
        drafts = db.session.scalars(select(SalesTool).where(SalesTool.status == "draft")
                                    .order_by(SalesTool.id)).all()  # fmt: skip
        got = [
            (t.title, t.kind, t.owner_id, t.origin_meeting_id, t.origin_deal_id, t.version,
             [x.name for x in t.tags], [s.name for s in t.segments])
            for t in drafts
        ]  # fmt: skip
        bodies = [t.body for t in drafts]
    assert got == [
        ("У нас уже есть поставщик", "objection", crew.lead.id, stage.id, stage.deal.id, 1,
         ["планёрка"], ["Логистика"]),
        ("Демо на складе клиента", "technique", crew.kozlov.id, stage.id, stage.deal.id, 1,
         ["планёрка"], ["Логистика"]),
    ]  # fmt: skip
    assert bodies[0].startswith("Ответ: сравнили сроки поставки\n\n---\n_")
    for body in bodies:
        assert "2026-W10" in body and "Компрессоры для склада в Подольске" in body

    for form in ({"kind": "spaceship", "title": "Что-то"}, {"kind": "objection", "title": "  "}):
        assert client.post(capture, data=form, headers=hx("review-drafts")).status_code == 422
    other = signed_in(app, crew.sokolova)  # not her deal
    assert other.post(capture, data={"kind": "move", "title": "Чужое"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(db.func.count(SalesTool.id)).where(
            SalesTool.origin_meeting_id == stage.id)) == 2  # fmt: skip


# --- the summary -----------------------------------------------------------------------------


def test_summary_page_and_markdown_tell_what_happened(app, client, make, stage, crew):
    lost = make.deal(
        crew.sokolova, status="lost", title="Проигрыш: Хлебозавод №3", closed_at=at(3, 6)
    )
    client.post(f"{stage.url}/agenda", data={"deal_id": lost.id})
    base = f"{stage.url}/deals/{stage.deal.id}"
    client.post(f"{base}/tags", data={"tool_id": stage.kp.id})  # v2, as sent
    client.post(f"{base}/tags", data={"tool_id": stage.spin.id})
    client.post(f"{base}/key", data={"tool_id": stage.spin.id})
    client.post(f"{base}/lesson", data={"lesson": "**Сроки** важнее цены", "version": 0})
    client.post(f"{base}/actions", data={"text": "Обновить КП для логистики",
                                         "owner_id": crew.kozlov.id, "due_date": "2026-03-13"})  # fmt: skip
    client.post(f"{base}/capture", data={"kind": "objection", "title": "У нас уже есть поставщик"})
    client.post(f"{stage.url}/deals/{lost.id}/tags", data={"tool_id": stage.spin.id})
    client.post(f"{stage.url}/close")

    with app.app_context():
        summary = services.summary(db.session.get(Meeting, stage.id))
        assert [r.deal.title for r in summary.reviews] == [
            "Компрессоры для склада в Подольске",
            "Проигрыш: Хлебозавод №3",
        ]
        assert [(c.tool.title, c.uses, c.versions) for c in summary.tools] == [
            ("SPIN-вопросы для первой встречи", 2, []),
            ("КП на винтовые компрессоры", 1, [2]),
        ]
        assert [r.key_tool_id for r in summary.key_moves] == [stage.spin.id]
        assert summary.agenda_total == 3
        assert summary.won_total == 1_250_000

    page = client.get(f"{stage.url}/summary")
    assert page.status_code == 200
    text, html = page_text(page), page.get_data(as_text=True)
    for expected in ("Компрессоры для склада в Подольске", "Проигрыш: Хлебозавод №3",
                     "КП на винтовые компрессоры v2", "SPIN-вопросы для первой встречи",
                     "Обновить КП для логистики", "У нас уже есть поставщик", "Дмитрий Козлов"):  # fmt: skip
        assert expected in text, expected
    assert "<strong>Сроки</strong> важнее цены" in html
    assert "Осушители для хлебозавода" not in text  # on the agenda, never reviewed

    download = client.get(f"{stage.url}/summary.md")
    assert download.status_code == 200
    assert download.mimetype == "text/markdown"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="planerka-{crew.team_id}-2026-W10-{stage.id}.md"'
    )
    lines = download.get_data(as_text=True).splitlines()
    assert lines[0].endswith("— Москва, 2026-W10")
    assert re.fullmatch(r"\D+ 2 \D+ 3\.", lines[3])  # reviewed: 2 of 3
    assert lines[4].endswith(f"http://localhost/meetings/{stage.id}/summary")
    assert "  - КП на винтовые компрессоры v2" in lines
    assert "- SPIN-вопросы для первой встречи: 2" in lines
    assert "- КП на винтовые компрессоры: 1 (v2)" in lines
    assert "- SPIN-вопросы для первой встречи — Компрессоры для склада в Подольске" in lines
    heading = lines.index("### Компрессоры для склада в Подольске")
    assert lines[heading + 1] == "**Сроки** важнее цены"
    assert any(
        line.startswith("- [ ] Обновить КП для логистики — Дмитрий Козлов") for line in lines
    )
    assert any(line.startswith("- У нас уже есть поставщик — http") for line in lines)


def test_summary_of_an_empty_meeting(app, client, crew, auth):
    auth.login(crew.lead.email)
    meeting_id = open_via_page(client, crew.team_id)
    assert client.get(f"/meetings/{meeting_id}/present").status_code == 200  # "empty agenda"
    assert client.get(f"/meetings/{meeting_id}/summary").status_code == 200
    lines = client.get(f"/meetings/{meeting_id}/summary.md").get_data(as_text=True).splitlines()
    assert lines[0].endswith("— Москва, 2026-W10")
    assert re.fullmatch(r"\D+ 0 \D+ 0\.", lines[3])  # reviewed: 0 of 0


# --- who may do what -------------------------------------------------------------------------


def test_lead_of_another_team_gets_404_for_every_page_and_action(app, client, stage, crew, rivals):
    base = f"{stage.url}/deals/{stage.deal.id}"
    client.post(f"{base}/tags", data={"tool_id": stage.spin.id})
    client.post(f"{base}/actions", data={"text": "Обновить КП", "owner_id": crew.kozlov.id})
    with app.app_context():
        action = db.session.scalar(select(ActionItem.id))
    item = item_id(app, stage.id, stage.deal.id)
    before = review_of(app, stage.id, stage.deal.id)
    revision = meeting_row(app, stage.id).revision
    rival = signed_in(app, rivals.lead)

    for url in (stage.url, f"{stage.url}/present", f"{stage.url}/follow", f"{stage.url}/summary",
                f"{stage.url}/summary.md", f"{stage.url}/agenda/candidates",
                f"{base}/tool-suggestions?q=SPIN"):  # fmt: skip
        assert rival.get(url).status_code == 404, url
    posts = [
        (f"{stage.url}/show", {"n": 1}),
        (f"{base}/tags", {"tool_id": stage.kp.id}),
        (f"{base}/tags/{stage.spin.id}/remove", {}),
        (f"{base}/key", {"tool_id": stage.spin.id}),
        (f"{base}/lesson", {"lesson": "Чужой текст", "version": 1}),
        (f"{base}/editing", {}),
        (f"{base}/actions", {"text": "Чужое"}),
        (f"{base}/capture", {"kind": "objection", "title": "Чужое"}),
        (f"{stage.url}/actions/{action}/done", {"done": "1"}),
        (f"{stage.url}/agenda", {"deal_id": stage.deal.id}),
        (f"{stage.url}/agenda/{item}/remove", {}),
        (f"{stage.url}/agenda/{item}/move", {"direction": "down"}),
        (f"{stage.url}/agenda/refresh", {}),
        (f"{stage.url}/settings", {"title": "Чужое"}),
        (f"{stage.url}/close", {}),
    ]
    for url, data in posts:
        assert rival.post(url, data=data).status_code == 404, url

    assert review_of(app, stage.id, stage.deal.id) == before
    assert meeting_row(app, stage.id).revision == revision
    overview = page_text(rival.get("/meetings"))
    assert f'/meetings/{stage.id}"' not in overview and "Москва" not in overview
    refused = rival.post("/meetings", data={"team_id": crew.team_id, "week": "2026-W11"})
    assert refused.status_code == 422  # not a team they may even name
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 1
        lead = db.session.get(User, rivals.lead.id)
        with pytest.raises(services.PermissionDenied):
            services.create_meeting(lead, db.session.get(Team, crew.team_id), "2026-W11")


def test_manager_follows_but_does_not_run_the_meeting(app, stage, crew, make):
    lost = make.deal(crew.kozlov, status="lost", title="Проигрыш", closed_at=at(3, 6))
    kozlov = signed_in(app, crew.kozlov)
    item = item_id(app, stage.id, stage.deal.id)
    for url in (
        stage.url,
        f"{stage.url}/follow",
        f"{stage.url}/summary",
        f"{stage.url}/summary.md",
    ):
        assert kozlov.get(url).status_code == 200, url
    # A colleague's deal: the manager follows the shared screen instead.
    present = kozlov.get(f"{stage.url}/present?n=2")
    assert present.status_code == 302
    assert present.headers["Location"].endswith(f"{stage.url}/follow")
    # Their own deal: the review editor, without the controls that move the shared screen.
    own = kozlov.get(f"{stage.url}/present?n=1")
    assert own.status_code == 200
    assert 'id="tag-q"' in own.get_data(as_text=True)
    assert f'action="{stage.url}/show"' not in own.get_data(as_text=True)
    assert f'action="{stage.url}/close"' not in own.get_data(as_text=True)
    assert kozlov.get(f"{stage.url}/agenda/candidates").status_code == 403

    refusals = [
        ("/meetings", {"team_id": crew.team_id, "week": "2026-W11"}),
        (f"{stage.url}/show", {"n": 2}),
        (f"{stage.url}/close", {}),
        (f"{stage.url}/agenda", {"deal_id": lost.id}),
        (f"{stage.url}/agenda/{item}/remove", {}),
        (f"{stage.url}/agenda/{item}/move", {"direction": "down"}),
        (f"{stage.url}/agenda/refresh", {}),
        (f"{stage.url}/settings", {"title": "Моя планёрка"}),
    ]
    for url, data in refusals:
        assert kozlov.post(url, data=data).status_code == 403, url
    row = meeting_row(app, stage.id)
    assert (row.status, row.title, row.current) == ("open", "", None)
    assert agenda_titles(app, stage.id) == [
        "Компрессоры для склада в Подольске",
        "Осушители для хлебозавода",
    ]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 1


def test_manager_edits_the_review_of_their_own_deal_only(app, client, stage, crew):
    client.post(f"{stage.url}/deals/{stage.other.id}/tags", data={"tool_id": stage.spin.id})
    kozlov = signed_in(app, crew.kozlov)
    own = f"{stage.url}/deals/{stage.deal.id}"
    assert kozlov.post(f"{own}/tags", data={"tool_id": stage.spin.id},
                       headers=hx("review-tags")).status_code == 200  # fmt: skip
    assert kozlov.post(f"{own}/key", data={"tool_id": stage.spin.id}).status_code == 303
    assert (
        kozlov.post(f"{own}/lesson", data={"lesson": "Помогли сроки", "version": 0}).status_code
        == 303
    )
    assert kozlov.post(f"{own}/actions", data={"text": "Отправить КП v3"}).status_code == 303
    assert review_of(app, stage.id, stage.deal.id) == {
        "lesson": "Помогли сроки", "version": 2, "key": stage.spin.id,
        "tools": {stage.spin.id: None}, "editing_by": None,
    }  # fmt: skip
    follow = kozlov.get(f"{stage.url}/follow")
    assert follow.status_code == 200

    colleague = f"{stage.url}/deals/{stage.other.id}"
    # Sokolova's deal is outside Kozlov's deals: it is "not found" for new changes, and the
    # existing review refuses his edits.
    assert kozlov.post(f"{colleague}/tags", data={"tool_id": stage.kp.id}).status_code == 404
    assert (
        kozlov.post(f"{colleague}/lesson", data={"lesson": "Чужое", "version": 1}).status_code
        == 404
    )
    assert kozlov.post(f"{colleague}/actions", data={"text": "Чужое"}).status_code == 404
    assert kozlov.post(f"{colleague}/tags/{stage.spin.id}/remove").status_code == 403
    assert kozlov.post(f"{colleague}/key", data={"tool_id": stage.spin.id}).status_code == 403
    assert kozlov.get(f"{colleague}/tool-suggestions?q=SPIN").status_code == 403
    assert review_of(app, stage.id, stage.other.id) == {
        "lesson": "", "version": 1, "key": None, "tools": {stage.spin.id: None}, "editing_by": None,
    }  # fmt: skip


def test_head_and_admin_run_any_teams_meeting(app, make, crew):
    deal = won(make, crew.kozlov, "Компрессоры")
    spin = make.tool(crew.lead, title="SPIN-вопросы", kind="technique")
    head = signed_in(app, make.user(role="head", name="Ольга Директорова"))
    meeting_id = open_via_page(head, crew.team_id)
    assert head.post(f"/meetings/{meeting_id}/deals/{deal.id}/tags",
                     data={"tool_id": spin.id}).status_code == 303  # fmt: skip
    admin = signed_in(app, make.user(role="admin"))
    assert admin.get(f"/meetings/{meeting_id}/present").status_code == 200
    assert admin.post(f"/meetings/{meeting_id}/close").status_code == 303
    assert meeting_row(app, meeting_id).status == "closed"


def test_a_deactivated_user_is_refused(app, client, stage, crew):
    kozlov = signed_in(app, crew.kozlov)
    assert kozlov.get(stage.url).status_code == 200
    with app.app_context():
        accounts.set_user_active(db.session.get(User, crew.kozlov.id), False)
    page = kozlov.get(stage.url)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    tagged = kozlov.post(f"{stage.url}/deals/{stage.deal.id}/tags",
                         data={"tool_id": stage.spin.id}, headers=HTMX)  # fmt: skip
    assert tagged.status_code == 401
    assert review_of(app, stage.id, stage.deal.id) is None
    with app.app_context():
        lead = db.session.get(User, crew.lead.id)
        accounts.set_user_active(lead, False)
        lead = db.session.get(User, crew.lead.id)
        meeting = db.session.get(Meeting, stage.id)
        assert services.get_meeting_for(lead, stage.id) is None
        with pytest.raises(services.PermissionDenied):
            services.create_meeting(lead, meeting.team, "2026-W11")
        with pytest.raises(services.NotFound):
            services.close_meeting(lead, meeting)
    assert client.get(stage.url).status_code == 302  # the lead's own session ended too


def test_won_deal_counts_count_distinct_won_deals(app, make, stage, crew):
    lost = make.deal(crew.kozlov, status="lost", title="Проигрыш", closed_at=at(3, 6))
    with app.app_context():
        lead = db.session.get(User, crew.lead.id)
        meeting = db.session.get(Meeting, stage.id)
        for deal_id in (stage.deal.id, stage.other.id, lost.id):
            services.create_review(lead, meeting, deal_id, [services.ToolUse(stage.spin.id)])
        services.close_meeting(lead, meeting)
        extra = services.create_meeting(lead, meeting.team, WEEK, adhoc=True)
        services.create_review(lead, extra, stage.deal.id, [services.ToolUse(stage.spin.id)])
        assert services.won_deal_counts([stage.spin.id, stage.kp.id]) == {stage.spin.id: 2}
