"""The reports: every figure on a small data set counted by hand, the periods, who sees what,
the pages with their filters, drill-down and exports."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.meetings import services as meetings
from portal.models import ActionItem, Meeting, SearchQueryLog, Team, User
from portal.reports import services
from portal.reports.periods import Period, PeriodError, period_from_args, preset_period
from portal.reports.services import Scope

from .conftest import page_text
from .factories import DEFAULT_PASSWORD
from .report_data import (
    HOSTILE_TITLES,
    XLSX_TYPE,
    assert_inert_xlsx,
    bulk_sends,
    csv_rows,
    msk,
    new_versions,
    open_meeting,
    review,
    set_approved_at,
    set_version_created,
    table_rows,
    xlsx_sheet,
)

PAGES = [
    "/reports",
    "/reports/usage",
    "/reports/adoption",
    "/reports/proposals",
    "/reports/before-after",
    "/reports/association",
    "/reports/deals",
]
pytestmark = pytest.mark.usefixtures("fast_passwords")
MARCH_ARGS = "from=2026-03-01&to=2026-03-31"


def period(start: str | None, end: str | None) -> Period:
    return Period(
        date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None
    )


@pytest.fixture
def org(make):
    """Moscow (a lead, three managers), Yekaterinburg (a lead, a manager), a head, an admin."""
    lead = make.user(role="lead", team="Москва", name="Алексей Морозов")
    rival = make.user(role="lead", team="Екатеринбург", name="Наталья Волкова")
    return SimpleNamespace(
        lead=lead,
        team_id=lead.team_id,
        kozlov=make.user(team="Москва", name="Дмитрий Козлов"),
        sokolova=make.user(team="Москва", name="Ирина Соколова"),
        petrov=make.user(team="Москва", name="Павел Петров"),
        rival=rival,
        rival_team_id=rival.team_id,
        popova=make.user(team="Екатеринбург", name="Мария Попова"),
        head=make.user(role="head", name="Ольга Директорова"),
        admin=make.user(role="admin", name="Сергей Админов"),
    )


def signed_in(app, user):
    """A browser signed in as ``user``."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    return browser


def moscow(org) -> Scope:
    return Scope(team_id=org.team_id)


def usage(app, p: Period, scope: Scope, group: str = "none") -> list[tuple]:
    with app.app_context():
        return [
            (r.title, r.period, r.uses, r.won_deals, r.managers)
            for r in services.tool_usage(p, scope, group)
        ]


def deal_titles(response) -> list[str]:
    """The deals listed on a drill-down page, in order."""
    text = response.get_data(as_text=True)
    return [html.unescape(t) for t in re.findall(r'<a href="/deals/\d+">([^<]+)</a>', text)]


def links_to_deals(response) -> list[tuple[str, str]]:
    """(href, link text) of every link of the page to the drill-down."""
    text = response.get_data(as_text=True)
    return [
        (html.unescape(href), html.unescape(label).strip())
        for href, label in re.findall(r'<a href="(/reports/deals[^"]*)">([^<]*)</a>', text)
    ]


# --- a month of reviewed deals -----------------------------------------------------------------


@pytest.fixture
def march(app, make, org):
    """Won and lost deals of March 2026 reviewed at the planning meetings, hand-counted:

    ========================  ======  ========  ======  ===========================
    deal                      status  manager   closed  tags (meeting)
    ========================  ======  ========  ======  ===========================
    «Уралмаш»                 won     Козлов    3 Mar   СПИН, Дорого (W10)
    «Северсталь»              won     Козлов    4 Mar   СПИН (W10)
    «Газпром нефть»           won     Соколова  10 Mar  СПИН (W10); СПИН, КП (W11)
    тендер «Камаза»           lost    Соколова  5 Mar   Дорого (W10)
    февральская поставка      won     Козлов    20 Feb  Дорого (W10)
    не разобрана              won     Петров    6 Mar   —
    сделка Екатеринбурга      won     Попова    4 Mar   СПИН (Yekaterinburg, W10)
    ========================  ======  ========  ======  ===========================
    """
    lead = org.lead
    spin = make.tool(lead, title="СПИН-вопросы", kind="technique")
    dear = make.tool(lead, title="Возражение «Дорого»", kind="objection")
    kp = make.tool(lead, title="КП на компрессоры", kind="proposal")
    d = SimpleNamespace(
        uralmash=make.deal(org.kozlov, closed_at=msk(2026, 3, 3), title="Компрессоры «Уралмаш»",
                           segment="Машиностроение"),
        severstal=make.deal(org.kozlov, closed_at=msk(2026, 3, 4), title="Осушители «Северсталь»",
                            segment="Металлургия"),
        gazprom=make.deal(org.sokolova, closed_at=msk(2026, 3, 10), title="Ресиверы «Газпром нефть»",
                          segment="Нефтегаз"),
        kamaz=make.deal(org.sokolova, status="lost", closed_at=msk(2026, 3, 5),
                        title="Тендер «Камаза»", segment="Машиностроение"),
        february=make.deal(org.kozlov, closed_at=msk(2026, 2, 20), title="Февральская поставка"),
        unreviewed=make.deal(org.petrov, closed_at=msk(2026, 3, 6), title="Не разобрана"),
        rival=make.deal(org.popova, closed_at=msk(2026, 3, 4), title="Сделка Екатеринбурга"),
    )  # fmt: skip
    w10 = open_meeting(app, lead, org.team_id, "2026-W10")
    w11 = open_meeting(app, lead, org.team_id, "2026-W11")
    review(app, lead, w10, d.uralmash, [spin, dear], key=spin)
    review(app, lead, w10, d.severstal, [spin])
    review(app, lead, w10, d.gazprom, [spin])
    review(app, lead, w11, d.gazprom, [spin, kp])
    review(app, lead, w10, d.kamaz, [dear])
    review(app, lead, w10, d.february, [dear])
    rival_meeting = open_meeting(app, org.rival, org.rival_team_id, "2026-W10")
    review(app, org.rival, rival_meeting, d.rival, [spin])
    return SimpleNamespace(spin=spin, dear=dear, kp=kp, deals=d)


MOSCOW_MARCH = [
    ("СПИН-вопросы", None, 4, 3, 2),
    ("Возражение «Дорого»", None, 1, 1, 1),
    ("КП на компрессоры", None, 1, 1, 1),
]
ALL_MARCH = [
    ("СПИН-вопросы", None, 5, 4, 3),
    ("Возражение «Дорого»", None, 1, 1, 1),
    ("КП на компрессоры", None, 1, 1, 1),
]


def test_tool_usage_counts_tags_won_deals_and_managers_of_won_deals_closed_in_the_period(
    app, org, march
):
    # СПИН: four tags (the «Газпром нефть» deal was reviewed twice), three won deals, two
    # managers; the lost deal, the February deal and the unreviewed one count for nothing.
    assert usage(app, period("2026-03-01", "2026-03-31"), moscow(org)) == MOSCOW_MARCH
    assert usage(app, period("2026-03-01", "2026-03-31"), Scope()) == ALL_MARCH
    assert usage(app, period("2026-03-01", "2026-03-31"), Scope(kind="objection")) == [
        ("Возражение «Дорого»", None, 1, 1, 1)
    ]
    assert usage(app, period("2026-03-01", "2026-03-31"), Scope(manager_id=org.sokolova.id)) == [
        ("СПИН-вопросы", None, 2, 1, 1),
        ("КП на компрессоры", None, 1, 1, 1),
    ]
    assert usage(app, period("2026-03-01", "2026-03-31"), Scope(segment="Металлургия")) == [
        ("СПИН-вопросы", None, 1, 1, 1)
    ]
    # Without dates: every won deal ever, the February one included.
    assert usage(app, period(None, None), moscow(org))[1] == ("Возражение «Дорого»", None, 2, 2, 1)


def test_tool_usage_by_week_and_by_month(app, org, march):
    march_period = period("2026-03-01", "2026-03-31")
    assert usage(app, march_period, moscow(org), "week") == [
        ("СПИН-вопросы", "2026-W10", 2, 2, 1),
        ("Возражение «Дорого»", "2026-W10", 1, 1, 1),
        ("СПИН-вопросы", "2026-W11", 2, 1, 1),
        ("КП на компрессоры", "2026-W11", 1, 1, 1),
    ]
    # The page's export of the same grouping.
    weekly = csv_rows(
        signed_in(app, org.lead).get(f"/reports/usage?{MARCH_ARGS}&group=week&format=csv")
    )
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in weekly[1:]] == [
        ("СПИН-вопросы", "2026-W10", "2", "2", "1"),
        ("Возражение «Дорого»", "2026-W10", "1", "1", "1"),
        ("СПИН-вопросы", "2026-W11", "2", "1", "1"),
        ("КП на компрессоры", "2026-W11", "1", "1", "1"),
    ]
    assert usage(app, march_period, moscow(org), "month") == [
        ("СПИН-вопросы", "2026-03", 4, 3, 2),
        ("Возражение «Дорого»", "2026-03", 1, 1, 1),
        ("КП на компрессоры", "2026-03", 1, 1, 1),
    ]


def test_proven_tools_are_those_used_in_at_least_proven_min_won_deals(app, org, march):
    march_period = period("2026-03-01", "2026-03-31")
    with app.app_context():
        report = services.usage_report(march_period, moscow(org), 3)
        assert [r.title for r in report.proven] == ["СПИН-вопросы"]
        assert report.won_deals_reviewed == 3  # «Уралмаш», «Северсталь», «Газпром нефть»
        weeks = ["2026-W09", "2026-W10", "2026-W11", "2026-W12", "2026-W13", "2026-W14"]
        assert report.weeks == weeks
        assert report.trends[march.spin.id] == [0, 2, 2, 0, 0, 0]
        assert report.trends[march.kp.id] == [0, 0, 1, 0, 0, 0]
        proven = {n: len(services.usage_report(march_period, moscow(org), n).proven)
                  for n in (1, 2, 3, 4)}  # fmt: skip
    assert proven == {1: 3, 2: 1, 3: 1, 4: 0}
    # The page's headline figures: proven tools, tools used, won deals reviewed.
    browser = signed_in(app, org.lead)
    for proven_min, count in proven.items():
        page = browser.get(f"/reports/usage?{MARCH_ARGS}&proven_min={proven_min}")
        figures = re.findall(r'class="stat-number">(\d+)<', page.get_data(as_text=True))
        assert figures == [str(count), "3", "3"], proven_min
    dashboard = browser.get(f"/reports?{MARCH_ARGS}")
    assert re.search(r'class="big-number">1<', dashboard.get_data(as_text=True))


# --- periods -----------------------------------------------------------------------------------


def test_iso_weeks_and_months_are_counted_in_moscow_time_across_a_year_end(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    # 31 December 2026 is the Thursday of 2026-W53; 1 January 2027, 01:00 in Moscow is still
    # 31 December in UTC; 4 January 2027, 00:30 in Moscow (Monday of 2027-W01) is Sunday 3
    # January, 21:30 in UTC — buckets in UTC would put both in the wrong place.
    thursday = make.deal(org.kozlov, closed_at=msk(2026, 12, 31, 12), title="31 декабря")
    new_year = make.deal(org.kozlov, closed_at=msk(2027, 1, 1, 1, 0), title="1 января, 01:00")
    monday = make.deal(org.sokolova, closed_at=msk(2027, 1, 4, 0, 30), title="4 января, 00:30")
    meeting = open_meeting(app, org.lead, org.team_id, "2027-W01")
    for deal in (thursday, new_year, monday):
        review(app, org.lead, meeting, deal, [spin])

    holidays = period("2026-12-28", "2027-01-10")
    with app.app_context():
        assert holidays.weeks() == ["2026-W53", "2027-W01"]
        assert holidays.months() == ["2026-12", "2027-01"]
        assert services.usage_report(holidays, moscow(org)).trends == {spin.id: [2, 1]}
    assert usage(app, holidays, moscow(org), "week") == [
        ("СПИН-вопросы", "2026-W53", 2, 2, 1),
        ("СПИН-вопросы", "2027-W01", 1, 1, 1),
    ]
    assert usage(app, holidays, moscow(org), "month") == [
        ("СПИН-вопросы", "2026-12", 1, 1, 1),
        ("СПИН-вопросы", "2027-01", 2, 2, 2),
    ]


def test_period_dates_are_inclusive_in_local_time(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    closed = {
        "30 ноября, 23:59": msk(2026, 11, 30, 23, 59),  # before
        "1 декабря, 00:00": msk(2026, 12, 1, 0, 0),  # the first minute: inside
        "31 декабря, 23:30": msk(2026, 12, 31, 23, 30),  # late on the `to` date: inside
        "1 января, 00:10": msk(2027, 1, 1, 0, 10),  # the next day: outside
    }
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W53")
    for title, when in closed.items():
        review(app, org.lead, meeting, make.deal(org.kozlov, closed_at=when, title=title), [spin])

    december = period("2026-12-01", "2026-12-31")
    with app.app_context():
        assert december.utc_start == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
        assert december.utc_end == datetime(2026, 12, 31, 21, 0, tzinfo=UTC)
        assert december.days == 31
        assert december.previous() == period("2026-10-31", "2026-11-30")
        found = services.drill_deals(december, moscow(org))
        assert [d.title for d in found] == ["31 декабря, 23:30", "1 декабря, 00:00"]
    assert usage(app, december, moscow(org)) == [("СПИН-вопросы", None, 2, 2, 1)]

    page = signed_in(app, org.lead).get("/reports/deals?from=2026-12-01&to=2026-12-31")
    assert page.status_code == 200
    assert deal_titles(page) == ["31 декабря, 23:30", "1 декабря, 00:00"]


def test_presets_and_url_arguments_make_the_period(app):
    wednesday = date(2026, 11, 25)
    assert preset_period("this_week", wednesday) == Period(
        date(2026, 11, 23), date(2026, 11, 29), "this_week"
    )
    assert preset_period("last_4_weeks", wednesday) == Period(
        date(2026, 11, 2), date(2026, 11, 29), "last_4_weeks"
    )
    assert preset_period("quarter", wednesday) == Period(
        date(2026, 10, 1), date(2026, 12, 31), "quarter"
    )
    assert preset_period("last_quarter", wednesday) == Period(
        date(2026, 7, 1), date(2026, 9, 30), "last_quarter"
    )
    assert preset_period("last_quarter", date(2027, 2, 1)) == Period(
        date(2026, 10, 1), date(2026, 12, 31), "last_quarter"
    )
    assert preset_period("year", wednesday) == Period(
        date(2025, 11, 26), date(2026, 11, 25), "year"
    )
    with app.test_request_context():
        # Dates win over a preset; without either, the default preset (or an open period).
        given = period_from_args({"from": "2026-03-01", "to": "2026-03-31", "preset": "year"})
        assert (given.start, given.end, given.preset) == (
            date(2026, 3, 1), date(2026, 3, 31), "year"
        )  # fmt: skip
        assert period_from_args({}, default=None) == Period(None, None)
        assert period_from_args({"preset": "this_week"}).preset == "this_week"
        for bad in ({"from": "2026-13-01"}, {"to": "вчера"}, {"from": "1999-12-31"},
                    {"from": "2026-03-31", "to": "2026-03-01"}):  # fmt: skip
            with pytest.raises(PeriodError):
                period_from_args(bad)


# --- adoption ----------------------------------------------------------------------------------


@pytest.fixture
def adoption_data(app, make, org):
    """Eight weeks up to Sunday 8 March 2026 are 12 January to 8 March."""
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    dear = make.tool(org.lead, title="Возражение «Дорого»", kind="objection")
    orlova = make.user(team="Москва", name="Ольга Орлова")
    smirnov = make.user(team="Москва", name="Сергей Смирнов")
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W10")

    def won(manager, when, *tools, title):
        deal = make.deal(manager, closed_at=when, title=title)
        review(app, org.lead, meeting, deal, tools)

    won(org.kozlov, msk(2026, 3, 2), spin, title="Козлов, март")
    won(org.kozlov, msk(2026, 2, 10), spin, title="Козлов, февраль")
    won(org.kozlov, msk(2026, 1, 11, 23, 30), dear, title="Козлов, за день до окна")
    won(org.sokolova, msk(2026, 3, 3), spin, title="Соколова, март")
    won(org.petrov, msk(2026, 1, 12, 0, 10), dear, title="Петров, первые минуты окна")
    won(org.petrov, msk(2026, 3, 8, 23, 30), dear, title="Петров, последний вечер окна")
    won(org.petrov, msk(2026, 3, 9, 0, 10), spin, title="Петров, уже после окна")
    make.deal(orlova, closed_at=msk(2026, 3, 4), title="Орлова: не разобрана")
    lost = make.deal(smirnov, status="lost", closed_at=msk(2026, 3, 4), title="Смирнов: проиграна")
    review(app, org.lead, meeting, lost, [spin])
    rival = open_meeting(app, org.rival, org.rival_team_id, "2026-W10")
    review(app, org.rival, rival, make.deal(org.popova, closed_at=msk(2026, 3, 3)), [spin])
    return SimpleNamespace(spin=spin, dear=dear)


def test_adoption_counts_managers_with_a_reviewed_won_deal_and_who_used_each_tool(
    app, org, adoption_data
):
    spin, dear = adoption_data.spin, adoption_data.dear
    window = services.adoption_period(8, date(2026, 3, 8))
    assert window == period("2026-01-12", "2026-03-08")
    with app.app_context():
        result = services.adoption(window, moscow(org))
        # Орлова's won deal was not reviewed and Смирнов only lost: neither counts.
        assert [m.name for m in result.managers] == [
            "Дмитрий Козлов", "Ирина Соколова", "Павел Петров"
        ]  # fmt: skip
        assert result.managers_total == 3
        assert [(r.title, r.managers_using, r.share) for r in result.rows] == [
            ("СПИН-вопросы", 2, 2 / 3),
            ("Возражение «Дорого»", 1, 1 / 3),
        ]
        assert result.cells == {
            (org.kozlov.id, spin.id): 2,
            (org.sokolova.id, spin.id): 1,
            (org.petrov.id, dear.id): 2,
        }
        assert services.adoption_weeks(window, moscow(org), org.petrov.id, dear.id) == {
            "2026-W03": 1,
            "2026-W10": 1,
        }
        everyone = services.adoption(window, Scope())
        assert everyone.managers_total == 4
        assert [(r.title, r.managers_using, r.share) for r in everyone.rows] == [
            ("СПИН-вопросы", 3, 0.75),
            ("Возражение «Дорого»", 1, 0.25),
        ]
        techniques = services.adoption(window, Scope(team_id=org.team_id, kind="technique"))
        assert [(r.title, r.managers_using) for r in techniques.rows] == [("СПИН-вопросы", 2)]
        assert techniques.managers_total == 3


def test_adoption_page_shows_managers_using_and_share(app, org, adoption_data):
    browser = signed_in(app, org.lead)
    page = browser.get("/reports/adoption?to=2026-03-08&weeks=8")
    assert page.status_code == 200
    rows = {r[0]: r for r in table_rows(page) if r and r[0] in ("СПИН-вопросы",
                                                                 "Возражение «Дорого»")}  # fmt: skip
    assert rows["СПИН-вопросы"][2:4] == ["2 / 3", "67\u00a0%"]
    assert rows["Возражение «Дорого»"][2:4] == ["1 / 3", "33\u00a0%"]
    # The number links to the won deals behind it, in the same eight weeks.
    link = next(h for h, label in links_to_deals(page) if label == "2")
    assert "from=2026-01-12" in link and "to=2026-03-08" in link
    assert sorted(deal_titles(browser.get(link))) == [
        "Козлов, март", "Козлов, февраль", "Соколова, март"
    ]  # fmt: skip
    # A matrix cell drills down week by week.
    cell = browser.get(
        f"/reports/adoption?to=2026-03-08&weeks=8&cell_manager={org.petrov.id}"
        f"&cell_tool={adoption_data.dear.id}"
    )
    weeks = {r[0]: r[1] for r in table_rows(cell) if r and re.fullmatch(r"2026-W\d\d", r[0])}
    assert weeks["2026-W03"] == "1" and weeks["2026-W10"] == "1" and weeks["2026-W05"] == "0"


# --- the adoption gap on the next meeting --------------------------------------------------------


def action_items(app) -> list[tuple]:
    with app.app_context():
        return [
            (a.meeting_id, a.team_id, a.owner_id, a.text)
            for a in db.session.scalars(select(ActionItem).order_by(ActionItem.id))
        ]


def gap(browser, manager, tool, back="/reports/adoption?weeks=8"):
    return browser.post(
        "/reports/adoption/gap",
        data={"manager_id": manager.id, "tool_id": tool.id, "back": back},
    )


def test_adoption_gap_goes_on_the_teams_open_meeting(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    closed = open_meeting(app, org.lead, org.team_id, "2026-W40")
    with app.app_context():
        meetings.close_meeting(db.session.get(User, org.lead.id), db.session.get(Meeting, closed))
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W41")

    response = gap(signed_in(app, org.lead), org.petrov, spin)

    assert response.status_code == 303
    assert response.headers["Location"] == "/reports/adoption?weeks=8"
    [(meeting_id, team_id, owner_id, text)] = action_items(app)
    assert (meeting_id, team_id, owner_id) == (meeting, org.team_id, org.petrov.id)
    assert "СПИН-вопросы" in text and "Павел Петров" in text
    # A head may put it there too; an outside address to go back to is not followed.
    response = gap(signed_in(app, org.head), org.petrov, spin, back="//evil.example/")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert [a[0] for a in action_items(app)] == [meeting, meeting]


def test_adoption_gap_opens_a_meeting_when_the_team_has_none_open(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    response = gap(signed_in(app, org.lead), org.kozlov, spin)
    assert response.status_code == 303
    with app.app_context():
        [meeting] = db.session.scalars(select(Meeting)).all()
        assert (meeting.team_id, meeting.week, meeting.status) == (
            org.team_id, meetings.current_week(), "open"
        )  # fmt: skip
        this_week = meeting.id
        meetings.close_meeting(db.session.get(User, org.lead.id), meeting)
    # This week's meeting is closed already: the gap goes on a new one for next week.
    assert gap(signed_in(app, org.lead), org.sokolova, spin).status_code == 303
    with app.app_context():
        latest = db.session.scalars(select(Meeting).order_by(Meeting.id.desc())).first()
        assert latest.week == meetings.shift_week(meetings.current_week(), 1)
    assert [(a[0], a[2]) for a in action_items(app)] == [
        (this_week, org.kozlov.id), (latest.id, org.sokolova.id)
    ]  # fmt: skip


def test_adoption_gap_without_a_meeting_to_take_it_says_why(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    with app.app_context():
        this_week = meetings.current_week()
    for week in (this_week, meetings.shift_week(this_week, 1)):
        held = open_meeting(app, org.lead, org.team_id, week)
        with app.app_context():
            meetings.close_meeting(db.session.get(User, org.lead.id), db.session.get(Meeting, held))
    browser = signed_in(app, org.lead)
    response = gap(browser, org.petrov, spin)
    assert response.status_code == 303
    assert "Не поставлено в повестку" in page_text(browser.get(response.headers["Location"]))
    assert action_items(app) == []


def test_adoption_gap_is_refused_for_another_teams_lead_and_for_managers(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    open_meeting(app, org.lead, org.team_id, "2026-W41")
    assert gap(signed_in(app, org.rival), org.petrov, spin).status_code == 404
    assert gap(signed_in(app, org.kozlov), org.petrov, spin).status_code == 403
    browser = signed_in(app, org.lead)
    assert browser.post("/reports/adoption/gap", data={"manager_id": "Петров",
                                                       "tool_id": spin.id}).status_code == 404  # fmt: skip
    assert browser.post("/reports/adoption/gap", data={"manager_id": "²",
                                                       "tool_id": spin.id}).status_code == 404  # fmt: skip
    assert browser.post("/reports/adoption/gap", data={"manager_id": 999999,
                                                       "tool_id": spin.id}).status_code == 404  # fmt: skip
    assert action_items(app) == []


# --- proposal reactions --------------------------------------------------------------------------


@pytest.fixture
def reactions(app, make, org):
    """Two versions of a КП sent in March 2026, reactions after a known number of hours."""
    kp = make.tool(org.lead, title="КП на компрессоры", kind="proposal")
    new_versions(app, kp, 1)
    deal = make.deal(org.kozlov, status="open", title="Переговоры с «Уралмашем»")
    rival_deal = make.deal(org.popova, status="open", title="Переговоры в Екатеринбурге")

    def send(version, sent_at, reaction="none", hours=None, in_deal=deal):
        reacted = sent_at + timedelta(hours=hours) if hours is not None else None
        make.send(in_deal, kp, version=version, reaction=reaction, sent_at=sent_at,
                  reacted_at=reacted)  # fmt: skip

    # v1: 4 sends, 3 responded (after 2, 10 and 4 hours), 1 accepted.
    send(1, msk(2026, 3, 2, 10), "replied", 2)
    send(1, msk(2026, 3, 3, 10), "meeting", 10)
    send(1, msk(2026, 3, 4, 10), "accepted", 4)
    send(1, msk(2026, 3, 5, 10))
    # v2: 10 sends, 8 responded (a rejection is a response too), 5 accepted.
    for day, (reaction, hours) in enumerate(
        [("accepted", 1), ("accepted", 2), ("accepted", 3), ("accepted", 5), ("accepted", 7),
         ("rejected", 8), ("changes_requested", 9), ("replied", 20), ("none", None),
         ("none", None)], start=10,
    ):  # fmt: skip
        send(2, msk(2026, 3, day, 10), reaction, hours)
    # Outside March, and another team's deal.
    send(2, msk(2026, 2, 28, 23, 30), "accepted", 1)
    send(2, msk(2026, 4, 1, 0, 10), "replied", 1)
    send(1, msk(2026, 3, 6, 10), "accepted", 30, in_deal=rival_deal)
    return kp


def test_proposal_reactions_per_version(app, org, reactions):
    with app.app_context():
        found = services.proposal_reactions(reactions.id, period("2026-03-01", "2026-03-31"),
                                            moscow(org))  # fmt: skip
        data = [v.as_api() for v in found]
    v1, v2 = data
    assert {k: v1[k] for k in ("version", "sends", "responded", "accepted")} == {
        "version": 1, "sends": 4, "responded": 3, "accepted": 1,
    }  # fmt: skip
    assert v1["response_rate"] == 0.75 and v1["acceptance_rate"] == 0.25
    assert v1["median_hours_to_reaction"] == 4.0  # 2, 4, 10 hours
    # The 95% Wilson interval of 3 of 4, worked out by hand: 0.3006 to 0.9544.
    assert (round(v1["ci_low"], 4), round(v1["ci_high"], 4)) == (0.3006, 0.9544)

    assert {k: v2[k] for k in ("version", "sends", "responded", "accepted")} == {
        "version": 2, "sends": 10, "responded": 8, "accepted": 5,
    }  # fmt: skip
    assert v2["response_rate"] == 0.8 and v2["acceptance_rate"] == 0.5
    # An even count: the mean of the two middle values of 1, 2, 3, 5, 7, 8, 9, 20 hours.
    assert v2["median_hours_to_reaction"] == 6.0
    # 8 of 10: the textbook Wilson interval 0.4902 to 0.9433.
    assert (round(v2["ci_low"], 4), round(v2["ci_high"], 4)) == (0.4902, 0.9433)
    assert v2["change_note"] == "Правка 1"

    with app.app_context():
        everyone = services.proposal_reactions(
            reactions.id, period("2026-03-01", "2026-03-31"), Scope()
        )
        v1_all = everyone[0].as_api()
    assert (v1_all["sends"], v1_all["responded"], v1_all["accepted"]) == (5, 4, 2)
    assert v1_all["median_hours_to_reaction"] == 7.0  # 2, 4, 10, 30 hours
    assert (round(v1_all["ci_low"], 4), round(v1_all["ci_high"], 4)) == (0.3755, 0.9638)


def test_proposal_reactions_page(app, org, reactions):
    page = signed_in(app, org.lead).get(
        f"/reports/proposals?from=2026-03-01&to=2026-03-31&tool_id={reactions.id}"
    )
    assert page.status_code == 200
    rows = [r for r in table_rows(page) if r and r[0] in ("v1", "v2")]
    assert [r[2:5] for r in rows] == [["4", "3", "75\u00a0%"], ["10", "8", "80\u00a0%"]]
    assert rows[0][5] == "30\u00a0% – 95\u00a0%" and rows[1][5] == "49\u00a0% – 94\u00a0%"
    assert [r[6:9] for r in rows] == [["1", "25\u00a0%", "4.0"], ["5", "50\u00a0%", "6.0"]]
    # The picker offers the КП sent in the period; a non-proposal tool is not a КП.
    assert signed_in(app, org.lead).get("/reports/proposals?tool_id=999999").status_code == 200


# --- было/стало ------------------------------------------------------------------------------------


@pytest.fixture
def tkp(app, make, org):
    """100 sends in February (30 responded, 10 accepted), 100 in March (45 and 20).

    Version 2 was written on 1 March 2026 at 00:10 Moscow time — still 28 February in UTC.
    """
    tool = make.tool(org.lead, title="ТКП на винтовые компрессоры", kind="tech_proposal")
    new_versions(app, tool, 1)
    set_version_created(app, tool, 2, msk(2026, 3, 1, 0, 10))
    deal = make.deal(org.kozlov, status="open", title="Тендер на компрессорную станцию")

    def sends(month, responded, accepted, first, days):
        out = []
        for i in range(100):
            sent = first if i == 0 else msk(2026, month, 1 + i % days, 10)
            reaction = "accepted" if i < accepted else "replied" if i < responded else "none"
            out.append((sent, reaction, sent + timedelta(hours=3) if reaction != "none" else None))
        return out

    bulk_sends(app, deal, tool, 1, sends(2, 30, 10, msk(2026, 2, 28, 23, 30), 28))
    bulk_sends(app, deal, tool, 2, sends(3, 45, 20, msk(2026, 3, 1, 0, 10), 31))
    bulk_sends(app, deal, tool, 1, [(msk(2026, 1, 20), "none", None)])  # before the period
    return tool


def before_after(app, tool, before: Period, after: Period, scope: Scope) -> dict:
    with app.app_context():
        row = db.session.get(type(tool), tool.id)
        return services.before_after(row, before, after, scope).as_api()


def test_before_after_of_a_proposal_split_at_a_date(app, org, tkp):
    with app.app_context():
        before, after = services.split_periods(date(2026, 3, 1), period("2026-02-01",
                                                                          "2026-03-31"))  # fmt: skip
    assert (before, after) == (period("2026-02-01", "2026-02-28"), period("2026-03-01",
                                                                          "2026-03-31"))  # fmt: skip
    data = before_after(app, tkp, before, after, moscow(org))
    assert data["measure"] == "proposal_sends" and data["kind"] == "tech_proposal"
    b, a = data["before"], data["after"]
    assert (b["from"], b["to"], a["from"], a["to"]) == (
        "2026-02-01", "2026-02-28", "2026-03-01", "2026-03-31"
    )  # fmt: skip
    assert (b["sends"], b["responded"], b["accepted"]) == (100, 30, 10)
    assert (a["sends"], a["responded"], a["accepted"]) == (100, 45, 20)
    assert (b["response_rate"], b["acceptance_rate"]) == (0.3, 0.1)
    assert (a["response_rate"], a["acceptance_rate"]) == (0.45, 0.2)
    assert (round(b["ci_low"], 4), round(b["ci_high"], 4)) == (0.2189, 0.3958)
    assert (round(a["ci_low"], 4), round(a["ci_high"], 4)) == (0.3561, 0.5476)
    # Pooled two-proportion z-test, 30/100 against 45/100: z = 2.19, p = 0.0285.
    assert data["p_value"] == pytest.approx(0.0285, abs=5e-5)
    assert data["p_value_acceptance"] == pytest.approx(0.0477, abs=5e-5)  # 10/100 vs 20/100
    assert data["delta"]["response_rate"] == pytest.approx(0.15)
    assert data["delta"]["acceptance_rate"] == pytest.approx(0.1)
    assert data["delta"]["sends"] == 0
    # Two periods given outright give the same; an open start takes in January too.
    assert before_after(app, tkp, before, after, moscow(org)) == data
    open_before = before_after(app, tkp, period(None, "2026-02-28"), after, moscow(org))
    assert (open_before["before"]["sends"], open_before["before"]["from"]) == (101, None)
    # Another team's lead sees nothing of it.
    other = before_after(app, tkp, before, after, Scope(team_id=org.rival_team_id))
    assert other["before"]["sends"] == 0 and other["before"]["response_rate"] is None
    assert other["p_value"] is None and other["delta"]["response_rate"] is None


def test_before_after_split_at_a_version_uses_its_local_creation_date(app, org, tkp):
    browser = signed_in(app, org.lead)
    by_version = browser.get(
        f"/reports/before-after?tool_id={tkp.id}&version=2&from=2026-02-01&to=2026-03-31&format=csv"
    )
    by_date = browser.get(
        f"/reports/before-after?tool_id={tkp.id}&split=2026-03-01&from=2026-02-01&to=2026-03-31"
        "&format=csv"
    )
    assert by_version.status_code == by_date.status_code == 200
    assert csv_rows(by_version) == csv_rows(by_date)
    header, before, after = csv_rows(by_version)
    assert [before[header.index(k)] for k in ("side", "to", "sends", "responded")] == [
        "before", "2026-02-28", "100", "30"
    ]  # fmt: skip
    assert [after[header.index(k)] for k in ("side", "from", "sends", "responded")] == [
        "after", "2026-03-01", "100", "45"
    ]  # fmt: skip


def test_before_after_page_shows_the_test(app, org, tkp):
    browser = signed_in(app, org.lead)
    page = browser.get(
        f"/reports/before-after?tool_id={tkp.id}&split=2026-03-01&from=2026-02-01&to=2026-03-31"
    )
    assert page.status_code == 200
    assert "p = 0.028" in page_text(page)
    two = browser.get(
        f"/reports/before-after?tool_id={tkp.id}&mode=periods&a_from=2026-02-01&a_to=2026-02-28"
        "&b_from=2026-03-01&b_to=2026-03-31"
    )
    assert two.status_code == 200 and "p = 0.028" in page_text(two)
    rows = [r for r in table_rows(two) if len(r) == 5 and r[2] in ("100", "0")]
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("100", "30.0\u00a0%", "10.0\u00a0%"), ("100", "45.0\u00a0%", "20.0\u00a0%"),
        ("0", "+15.0 п.п.", "+10.0 п.п."),
    ]  # fmt: skip
    # Half-given periods are not an error page.
    assert browser.get(f"/reports/before-after?tool_id={tkp.id}&mode=periods&a_from=2026-02-01"
                       ).status_code == 200  # fmt: skip
    assert browser.get(f"/reports/before-after?tool_id={tkp.id}&split=когда-то").status_code == 200


def test_before_after_of_a_technique_is_its_usage_in_won_deals(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    dear = make.tool(org.lead, title="Возражение «Дорого»", kind="objection")
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W10")

    def closed(when, tools, status="won", reviewed=True):
        deal = make.deal(org.kozlov, status=status, closed_at=when)
        if reviewed:
            review(app, org.lead, meeting, deal, tools)

    # February: 4 reviewed won deals, 1 with СПИН; a lost one with СПИН; an unreviewed win.
    closed(msk(2026, 2, 2), [spin])
    closed(msk(2026, 2, 3), [])
    closed(msk(2026, 2, 4), [dear])
    closed(msk(2026, 2, 28, 23, 30), [])
    closed(msk(2026, 2, 10), [spin], status="lost")
    closed(msk(2026, 2, 11), [spin], reviewed=False)
    # March: 4 reviewed won deals, 3 with СПИН; a lost one with it and a lost one without.
    closed(msk(2026, 3, 1, 0, 10), [spin])
    closed(msk(2026, 3, 2), [spin])
    closed(msk(2026, 3, 3), [spin, dear])
    closed(msk(2026, 3, 4), [])
    closed(msk(2026, 3, 5), [spin], status="lost")
    closed(msk(2026, 3, 6), [dear], status="lost")

    data = before_after(app, spin, period("2026-02-01", "2026-02-28"),
                        period("2026-03-01", "2026-03-31"), moscow(org))  # fmt: skip
    assert data["measure"] == "won_deals"
    keys = ("won_deals_reviewed", "won_deals_with_tool", "usage_rate", "closed_deals_with_tool",
            "win_rate_with_tool")  # fmt: skip
    assert [data["before"][k] for k in keys] == [4, 1, 0.25, 2, 0.5]
    assert [data["after"][k] for k in keys] == [4, 3, 0.75, 4, 0.75]
    assert (round(data["before"]["ci_low"], 4), round(data["before"]["ci_high"], 4)) == (
        0.0456, 0.6994
    )  # fmt: skip
    assert data["p_value"] == pytest.approx(0.1573, abs=5e-5)  # 1/4 against 3/4
    assert data["delta"] == {
        "usage_rate": 0.5, "won_deals_with_tool": 2, "win_rate_with_tool": 0.25
    }  # fmt: skip
    assert data["p_value_acceptance"] is None


# --- does a technique go with winning ---------------------------------------------------------------


def reviewed_deals(app, make, org, meeting, manager, tool, counts, segment="Машиностроение"):
    """counts: (won with tool, lost with tool, won without, lost without)."""
    won_with, lost_with, won_without, lost_without = counts
    for status, tools, n in (("won", [tool], won_with), ("lost", [tool], lost_with),
                             ("won", [], won_without), ("lost", [], lost_without)):  # fmt: skip
        for _ in range(n):
            deal = make.deal(manager, status=status, closed_at=msk(2026, 3, 4), segment=segment)
            review(app, org.lead, meeting, deal, tools)


def association(app, scope, min_sample=10):
    with app.app_context():
        rows, total = services.win_association(period("2026-03-01", "2026-03-31"), scope,
                                               min_sample)  # fmt: skip
        return [r.as_api() for r in rows], total


def test_simpsons_paradox_is_flagged_when_the_tool_loses_within_every_manager(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W10")
    # Козлов wins a lot and uses the tool a lot; Соколова seldom does either. Within each
    # manager the deals with the tool win less often; overall they win more often.
    reviewed_deals(app, make, org, meeting, org.kozlov, spin, (6, 2, 2, 0))  # 75% vs 100%
    reviewed_deals(app, make, org, meeting, org.sokolova, spin, (0, 2, 2, 6))  # 0% vs 25%
    make.deal(org.kozlov, closed_at=msk(2026, 3, 4))  # not reviewed: not counted
    make.deal(org.kozlov, status="open")

    [row], total = association(app, moscow(org))
    assert total == 20
    assert (row["deals_with"], row["won_with"], row["deals_without"], row["won_without"]) == (
        10, 6, 10, 4
    )  # fmt: skip
    assert (row["win_rate_with"], row["win_rate_without"]) == (0.6, 0.4)
    assert row["difference"] == pytest.approx(0.2)
    assert [round(x, 4) for x in row["ci_with"]] == [0.3127, 0.8318]
    assert [round(x, 4) for x in row["ci_without"]] == [0.1682, 0.6873]
    assert row["enough_data"] is True  # 10 on each side, min_sample 10
    assert row["reverses_within"] == ["managers"]  # one segment only: no reversal there
    [row], _ = association(app, moscow(org), min_sample=11)
    assert row["enough_data"] is False

    page = signed_in(app, org.lead).get("/reports/association?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    assert 'class="badge badge-warn"' in page.get_data(as_text=True)


def test_no_simpson_warning_when_the_tool_goes_with_winning_within_managers_too(app, make, org):
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W10")
    reviewed_deals(app, make, org, meeting, org.kozlov, spin, (6, 2, 1, 1), "Нефтегаз")
    reviewed_deals(app, make, org, meeting, org.sokolova, spin, (1, 1, 2, 6), "Металлургия")
    [row], total = association(app, moscow(org))
    assert total == 20
    assert (row["win_rate_with"], row["win_rate_without"]) == (0.7, 0.3)
    assert row["reverses_within"] == []
    page = signed_in(app, org.lead).get("/reports/association?from=2026-03-01&to=2026-03-31")
    assert 'class="badge badge-warn"' not in page.get_data(as_text=True)


def test_win_association_reports_not_enough_data_below_min_sample(app, make, org, march):
    rows, total = association(app, moscow(org))
    assert total == 4  # «Уралмаш», «Северсталь», «Газпром нефть» won; «Камаз» lost
    by_title = {r["title"]: r for r in rows}
    spin = by_title["СПИН-вопросы"]
    assert (spin["deals_with"], spin["won_with"], spin["deals_without"], spin["won_without"]) == (
        3, 3, 1, 0
    )  # fmt: skip
    assert spin["enough_data"] is False
    dear = by_title["Возражение «Дорого»"]
    assert (dear["deals_with"], dear["won_with"], dear["win_rate_with"]) == (2, 1, 0.5)
    assert all(r["enough_data"] is False for r in rows)
    rows, _ = association(app, moscow(org), min_sample=1)
    assert {r["title"]: r["enough_data"] for r in rows} == {
        "СПИН-вопросы": True, "Возражение «Дорого»": True, "КП на компрессоры": True
    }  # fmt: skip


# --- the head's dashboard ---------------------------------------------------------------------------


@pytest.fixture
def weeks_data(app, make, org):
    """Reviews at the meetings of 2026-W09, W10 and W11, action items, searches."""
    spin = make.tool(org.lead, title="СПИН-вопросы", kind="technique")
    dear = make.tool(org.lead, title="Возражение «Дорого»", kind="objection")
    set_approved_at(app, spin, msk(2026, 3, 11))
    set_approved_at(app, dear, msk(2026, 2, 18))
    lead = org.lead
    w09 = open_meeting(app, lead, org.team_id, "2026-W09")
    w10 = open_meeting(app, lead, org.team_id, "2026-W10")
    w11 = open_meeting(app, lead, org.team_id, "2026-W11")
    tuesday10, tuesday11 = msk(2026, 3, 3, 11), msk(2026, 3, 10, 11)
    # Closed on Sunday of W09, reviewed on Tuesday of W10: the week of the review counts.
    sunday = make.deal(org.kozlov, closed_at=msk(2026, 3, 1, 15), title="Закрыта в воскресенье")
    review(app, lead, w10, sunday, [spin, dear], at=tuesday10)
    monday = make.deal(org.sokolova, closed_at=msk(2026, 3, 2, 15), title="Закрыта в понедельник")
    review(app, lead, w10, monday, [spin], at=tuesday10)
    lost = make.deal(org.kozlov, status="lost", closed_at=msk(2026, 3, 2), title="Проиграна")
    review(app, lead, w10, lost, [dear], at=tuesday10)
    later = make.deal(org.petrov, closed_at=msk(2026, 3, 9, 10), title="Разобрана в W11")
    review(app, lead, w11, later, [], at=tuesday11)
    earlier = make.deal(org.kozlov, closed_at=msk(2026, 2, 20), title="Разобрана в W09")
    review(app, lead, w09, earlier, [spin], at=msk(2026, 2, 24, 11))
    rival = open_meeting(app, org.rival, org.rival_team_id, "2026-W10")
    review(app, org.rival, rival, make.deal(org.popova, closed_at=msk(2026, 3, 2)), [spin],
           at=tuesday10)  # fmt: skip

    def item(meeting_id, actor, created, done_at=None):
        with app.app_context():
            made = meetings.add_action_item(
                db.session.get(User, actor.id), db.session.get(Meeting, meeting_id), None,
                "Разобрать возражения по цене", None, None,
            )  # fmt: skip
            made.created_at = created.astimezone(UTC)
            made.done, made.done_at = done_at is not None, done_at
            db.session.commit()

    item(w10, lead, msk(2026, 3, 3, 12))  # open throughout
    item(w11, lead, msk(2026, 3, 10, 12), msk(2026, 3, 12, 12))  # done within its week
    item(w09, lead, msk(2026, 2, 24, 12), msk(2026, 3, 4, 12))  # open at the end of W09
    item(rival, org.rival, msk(2026, 3, 3, 12))
    with app.app_context():
        for user, results, when in ((org.kozlov, 0, msk(2026, 3, 4)),
                                    (org.kozlov, 3, msk(2026, 3, 4)),
                                    (org.popova, 0, msk(2026, 3, 11)),
                                    (org.sokolova, 0, msk(2026, 2, 25))):  # fmt: skip
            db.session.add(SearchQueryLog(query="компрессор винтовой", normalized="компрессор",
                                          user_id=user.id, results=results,
                                          created_at=when.astimezone(UTC)))  # fmt: skip
        db.session.commit()
    return SimpleNamespace(spin=spin, dear=dear)


def test_dashboard_trends_week_by_week(app, org, weeks_data):
    with app.app_context():
        trends = services.dashboard(period("2026-03-02", "2026-03-15"), moscow(org))
    got = {t.key: (t.weeks, t.values, t.total, t.previous, t.change) for t in trends}
    weeks = ["2026-W10", "2026-W11"]
    assert list(got) == ["won_reviewed", "tools_per_deal", "tools_approved", "open_action_items",
                         "zero_result_searches"]  # fmt: skip
    assert got["won_reviewed"] == (weeks, [2.0, 1.0], 3.0, 1.0, 2.0)
    assert got["tools_per_deal"] == (weeks, [1.5, 0.0], 1.0, 1.0, 0.0)
    assert got["tools_approved"] == (weeks, [0.0, 1.0], 1.0, 1.0, 0.0)
    assert got["open_action_items"] == (weeks, [1.0, 1.0], 1.0, 1.0, 0.0)
    assert got["zero_result_searches"] == (weeks, [1.0, 0.0], 1.0, 1.0, 0.0)
    with app.app_context():
        everyone = {t.key: t for t in services.dashboard(period("2026-03-02", "2026-03-15"),
                                                         Scope())}  # fmt: skip
    assert everyone["won_reviewed"].values == [3.0, 1.0]
    assert everyone["open_action_items"].values == [2.0, 2.0]
    assert everyone["zero_result_searches"].values == [1.0, 1.0]


def test_dashboard_page_and_its_week_drill_down(app, org, weeks_data):
    browser = signed_in(app, org.lead)
    page = browser.get("/reports?from=2026-03-02&to=2026-03-15")
    assert page.status_code == 200
    assert "<svg" in page.get_data(as_text=True)
    rows = [r for r in table_rows(page) if r and r[0].startswith("2026-W")]
    assert rows == [
        ["2026-W10", "2", "1.5", "0", "1", "1"],
        ["2026-W11", "1", "0.0", "1", "1", "0"],
    ]
    # Each week links to exactly the won deals reviewed that week.
    links = dict((label, href) for href, label in links_to_deals(page))
    assert sorted(deal_titles(browser.get(links["2026-W10"]))) == [
        "Закрыта в воскресенье", "Закрыта в понедельник"
    ]  # fmt: skip
    assert deal_titles(browser.get(links["2026-W11"])) == ["Разобрана в W11"]
    csv_export = browser.get("/reports?from=2026-03-02&to=2026-03-15&format=csv")
    assert csv_export.status_code == 200
    assert [r[:3] for r in csv_rows(csv_export)[1:]] == [["2026-W10", "2.0", "1.5"],
                                                        ["2026-W11", "1.0", "0.0"]]  # fmt: skip


# --- empty periods ------------------------------------------------------------------------------------


def test_every_report_is_empty_not_an_error_for_a_period_without_data(app, org, march, reactions):
    empty = period("2025-01-01", "2025-01-31")
    scope = moscow(org)
    with app.app_context():
        assert services.tool_usage(empty, scope, "week") == []
        report = services.usage_report(empty, scope)
        assert (report.rows, report.proven, report.won_deals_reviewed) == ([], [], 0)
        result = services.adoption(services.adoption_period(4, date(2025, 1, 31)), scope)
        assert (result.managers_total, result.rows, result.cells) == (0, [], {})
        assert services.proposal_reactions(reactions.id, empty, scope) == []
        assert services.win_association(empty, scope) == ([], 0)
        assert services.drill_deals(empty, scope) == []
        trends = services.dashboard(empty, scope)
        assert all(t.values == [0.0] * 5 and t.total == 0 for t in trends)
        assert all(t.change is None for t in trends)
    data = before_after(app, march.kp, empty, period("2025-02-01", "2025-02-28"), scope)
    for side in (data["before"], data["after"]):
        assert (side["sends"], side["responded"], side["accepted"]) == (0, 0, 0)
        assert side["response_rate"] is side["acceptance_rate"] is None
        assert side["ci_low"] is side["ci_high"] is None
    assert data["p_value"] is data["p_value_acceptance"] is None
    assert data["delta"] == {"response_rate": None, "acceptance_rate": None, "sends": 0}
    technique = before_after(app, march.spin, empty, empty, scope)
    assert technique["before"]["usage_rate"] is None
    assert technique["before"]["win_rate_with_tool"] is None
    assert technique["p_value"] is None


# --- who sees what ------------------------------------------------------------------------------------


def test_report_scope_by_role(app, make, org):
    loner = make.user(role="lead", name="Лид без команды")
    with app.app_context():
        user = lambda u: db.session.get(User, u.id)  # noqa: E731
        team = lambda team_id: db.session.get(Team, team_id)  # noqa: E731
        assert services.report_scope(user(org.lead), None) == Scope(team_id=org.team_id)
        assert services.report_scope(user(org.lead), team(org.team_id)).team_id == org.team_id
        with pytest.raises(services.ReportForbidden):
            services.report_scope(user(org.lead), team(org.rival_team_id))
        for boss in (org.head, org.admin):
            assert services.report_scope(user(boss), None).team_id is None
            assert services.report_scope(user(boss), team(org.rival_team_id)).team_id == (
                org.rival_team_id
            )
        with pytest.raises(services.ReportForbidden):
            services.report_scope(user(org.kozlov), None)
        assert services.report_scope(user(loner), None).team_id == -1  # sees nothing


def usage_table(response) -> list[list[str]]:
    """(title, uses, won deals, managers) of the usage page's table."""
    return [[r[0].split(" ")[0], *r[2:5]] for r in table_rows(response)
            if len(r) == 6 and r[2].isdigit()]  # fmt: skip


def test_a_lead_sees_only_their_teams_figures(app, org, march):
    browser = signed_in(app, org.lead)
    page = browser.get("/reports/usage?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    assert usage_table(page)[0] == ["СПИН-вопросы", "4", "3", "2"]
    assert browser.get(f"/reports/usage?from=2026-03-01&to=2026-03-31&team={org.team_id}"
                       ).status_code == 200  # fmt: skip
    for path in PAGES:
        assert browser.get(f"{path}?team={org.rival_team_id}").status_code == 403, path
    deals = browser.get(f"/reports/deals?from=2026-03-01&to=2026-03-31&tool_id={march.spin.id}")
    assert "Сделка Екатеринбурга" not in deal_titles(deals)


def test_heads_and_admins_see_all_teams_or_one(app, org, march):
    for boss in (org.head, org.admin):
        browser = signed_in(app, boss)
        everyone = browser.get("/reports/usage?from=2026-03-01&to=2026-03-31")
        assert usage_table(everyone)[0] == ["СПИН-вопросы", "5", "4", "3"]
        rival = browser.get(
            f"/reports/usage?from=2026-03-01&to=2026-03-31&team={org.rival_team_id}"
        )
        assert usage_table(rival) == [["СПИН-вопросы", "1", "1", "1"]]
        drill = browser.get(f"/reports/deals?from=2026-03-01&to=2026-03-31&tool_id={march.spin.id}")
        assert sorted(deal_titles(drill)) == [
            "Компрессоры «Уралмаш»", "Осушители «Северсталь»", "Ресиверы «Газпром нефть»",
            "Сделка Екатеринбурга",
        ]  # fmt: skip


def test_managers_may_not_see_reports(app, org, march):
    browser = signed_in(app, org.kozlov)
    for path in PAGES:
        assert browser.get(path).status_code == 403, path
        assert browser.get(f"{path}?format=csv").status_code == 403, path
    anonymous = app.test_client()
    assert anonymous.get("/reports/usage").status_code == 302


# --- the pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["lead", "head", "admin"])
def test_every_page_renders_for_staff_when_there_is_nothing(app, make, role):
    browser = signed_in(app, make.user(role=role, team="Москва" if role == "lead" else None))
    for path in PAGES:
        page = browser.get(path)
        assert page.status_code == 200, path
        assert browser.get(f"{path}?from=2025-01-01&to=2025-01-31").status_code == 200, path
    assert browser.get("/reports/before-after?tool_id=999999").status_code == 200
    # Odd numbers in the URL are ignored, not a server error.
    for query in ("team=²", "manager=99999999999999999", "proven_min=²", "tool_id=²&version=²",
                  "weeks=-1", "cell_manager=x&cell_tool=²"):  # fmt: skip
        for path in PAGES:
            assert browser.get(f"{path}?{query}").status_code == 200, (path, query)


@pytest.mark.parametrize("role", ["lead", "head", "admin"])
def test_every_page_renders_with_data_and_filters(app, org, march, reactions, role):
    browser = signed_in(app, getattr(org, role))
    extra = {
        "/reports/proposals": f"&tool_id={reactions.id}",
        "/reports/before-after": f"&tool_id={march.spin.id}&split=2026-03-05",
        "/reports/deals": f"&tool_id={march.spin.id}&status=closed",
        "/reports/adoption": f"&weeks=4&cell_manager={org.kozlov.id}&cell_tool={march.spin.id}",
    }
    filters = (f"?from=2026-03-01&to=2026-03-31&team={org.team_id}&manager={org.kozlov.id}"
               "&segment=Машиностроение")  # fmt: skip
    for path in PAGES:
        for query in ("?from=2026-03-01&to=2026-03-31", filters, "?preset=quarter",
                      "?to=2026-03-31", "?from=2026-03-01", "?from=2026-13-45"):  # fmt: skip
            page = browser.get(path + query + extra.get(path, ""))
            assert page.status_code == 200, path + query
    page = browser.get(f"/reports/usage{filters}&kind=technique&proven_min=2&group=week")
    text = page.get_data(as_text=True)
    assert 'value="2026-03-01"' in text and 'value="2026-03-31"' in text
    assert f'<option value="{org.kozlov.id}" selected>' in text
    assert "<option selected>Машиностроение</option>" in text
    assert '<option value="technique" selected>' in text
    # Links keep the filters: export and drill-down.
    exports = re.findall(r'href="(/reports/usage\?[^"]*format=csv[^"]*)"', text)
    assert exports and all(
        f"manager={org.kozlov.id}" in html.unescape(e) and "proven_min=2" in html.unescape(e)
        for e in exports
    )
    assert usage_table(page) == [["СПИН-вопросы", "1", "1", "1"]]


def test_usage_page_numbers_link_to_the_deals_behind_them(app, org, march):
    browser = signed_in(app, org.lead)
    page = browser.get("/reports/usage?from=2026-03-01&to=2026-03-31&proven_min=3")
    assert usage_table(page) == [
        ["СПИН-вопросы", "4", "3", "2"], ["Возражение", "1", "1", "1"], ["КП", "1", "1", "1"]
    ]  # fmt: skip
    links = links_to_deals(page)
    assert len(links) == 3  # one per tool (the «won deals reviewed» figure is a block link)
    for href, label in links:
        assert len(deal_titles(browser.get(href))) == int(label), href
    spin_link = next(h for h, label in links if f"tool_id={march.spin.id}" in h)
    assert sorted(deal_titles(browser.get(spin_link))) == [
        "Компрессоры «Уралмаш»", "Осушители «Северсталь»", "Ресиверы «Газпром нефть»"
    ]  # fmt: skip
    # The block with all reviewed won deals of the period.
    all_won = browser.get("/reports/deals?from=2026-03-01&to=2026-03-31")
    assert sorted(deal_titles(all_won)) == sorted(deal_titles(browser.get(spin_link)))
    lost_too = browser.get(
        f"/reports/deals?from=2026-03-01&to=2026-03-31&tool_id={march.dear.id}&status=closed"
    )
    assert deal_titles(lost_too) == ["Тендер «Камаза»", "Компрессоры «Уралмаш»"]
    lost = browser.get("/reports/deals?from=2026-03-01&to=2026-03-31&status=lost")
    assert deal_titles(lost) == ["Тендер «Камаза»"]


def test_association_numbers_link_to_the_deals_behind_them(app, org, march):
    browser = signed_in(app, org.lead)
    page = browser.get("/reports/association?from=2026-03-01&to=2026-03-31")
    links = links_to_deals(page)
    assert sorted(label for _, label in links) == ["1", "2", "3"]
    for href, label in links:
        assert len(deal_titles(browser.get(href))) == int(label), href


# --- exports --------------------------------------------------------------------------------------------


@pytest.fixture
def hostile(app, make, org):
    """Tools whose titles a spreadsheet would run as formulas, tagged in won deals."""
    tools = [make.tool(org.lead, title=title, kind="technique") for title in HOSTILE_TITLES]
    meeting = open_meeting(app, org.lead, org.team_id, "2026-W10")
    for n, tool in enumerate(tools):
        deal = make.deal(org.kozlov, closed_at=msk(2026, 3, 2 + n), title=f"=1+{n}",
                         amount=1_000_000 + n)  # fmt: skip
        review(app, org.lead, meeting, deal, [tool])
    return tools


def test_usage_exports_keep_hostile_titles_inert(app, org, hostile):
    browser = signed_in(app, org.lead)
    csv_export = browser.get("/reports/usage?from=2026-03-01&to=2026-03-31&format=csv")
    assert csv_export.status_code == 200
    assert csv_export.mimetype == "text/csv"
    assert 'filename="tool-usage.csv"' in csv_export.headers["Content-Disposition"]
    header, *rows = csv_rows(csv_export)
    assert header == ["tool_id", "title", "kind", "period", "uses", "won_deals", "managers"]
    assert sorted(r[1] for r in rows) == sorted("'" + t for t in HOSTILE_TITLES)
    assert all(r[4:] == ["1", "1", "1"] for r in rows)

    xlsx_export = browser.get("/reports/usage?from=2026-03-01&to=2026-03-31&format=xlsx")
    assert xlsx_export.status_code == 200 and xlsx_export.mimetype == XLSX_TYPE
    values, cells = xlsx_sheet(xlsx_export)
    assert_inert_xlsx(cells)
    assert values[0] == header
    assert sorted(r[1] for r in values[1:]) == sorted("'" + t for t in HOSTILE_TITLES)
    for row in cells[1:]:
        assert row[0].data_type == "n" and isinstance(row[0].value, int)
        assert [c.value for c in row[4:]] == [1, 1, 1]
        assert all(c.data_type == "n" for c in row[4:])


def test_every_page_exports_csv_and_xlsx(app, org, hostile):
    browser = signed_in(app, org.lead)
    spin = hostile[0]
    for path in PAGES:
        extra = {"/reports/before-after": f"&tool_id={spin.id}&split=2026-03-03"}.get(path, "")
        for fmt in ("csv", "xlsx"):
            response = browser.get(f"{path}?from=2026-03-01&to=2026-03-31&format={fmt}{extra}")
            assert response.status_code == 200, (path, fmt)
            if fmt == "csv":
                assert response.mimetype == "text/csv", path
                assert csv_rows(response)[0], path
            else:
                assert response.mimetype == XLSX_TYPE, path
                assert_inert_xlsx(xlsx_sheet(response)[1])
    deals = browser.get("/reports/deals?from=2026-03-01&to=2026-03-31&format=xlsx")
    values, cells = xlsx_sheet(deals)
    assert values[0] == ["id", "title", "client", "manager", "segment", "amount", "status",
                         "closed_at"]  # fmt: skip
    assert sorted(r[1] for r in values[1:]) == ["'=1+0", "'=1+1", "'=1+2", "'=1+3"]
    assert sorted(r[5] for r in values[1:]) == [1_000_000, 1_000_001, 1_000_002, 1_000_003]
    # Closing times are shown as in Moscow: the first deal closed on 2 March at 12:00.
    assert min(r[7] for r in values[1:]) == datetime(2026, 3, 2, 12, 0)
    csv_deals = csv_rows(browser.get("/reports/deals?from=2026-03-01&to=2026-03-31&format=csv"))
    assert min(r[7] for r in csv_deals[1:]) == "2026-03-02T12:00:00+03:00"
