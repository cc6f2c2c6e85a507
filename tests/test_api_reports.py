"""The reports part of API.md, field by field, through the real app and bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

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
    set_version_created,
    xlsx_sheet,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

API = "/api/v1/reports"
MARCH = "from=2026-03-01&to=2026-03-31"


def person(make, role="manager", team=None, name=None):
    user = make.user(role=role, team=team, name=name)
    return SimpleNamespace(user=user, id=user.id, h={"Authorization": f"Bearer {make.token(user)}"})


@pytest.fixture
def world(app, make):
    """Moscow's March 2026, hand-counted (Yekaterinburg has one deal of its own):

    ====================  ======  ========  ===============  ================================
    deal                  status  manager   closed (Moscow)  tags
    ====================  ======  ========  ===============  ================================
    «Уралмаш»             won     Козлов    3 Mar            СПИН, Дорого
    «Северсталь»          won     Козлов    4 Mar            СПИН, hostile 0
    «Газпром нефть»       won     Соколова  10 Mar           СПИН, КП, hostile 1, 2, 3
    «Камаз»               lost    Соколова  5 Mar            Дорого
    поздний вечер         won     Козлов    31 Mar 23:30     Дорого
    первые минуты апреля  won     Козлов    1 Apr 00:10      Дорого
    Екатеринбург          won     Попова    4 Mar            СПИН
    ====================  ======  ========  ===============  ================================
    """
    lead = person(make, "lead", "Москва", "Алексей Морозов")
    w = SimpleNamespace(
        lead=lead,
        kozlov=person(make, "manager", "Москва", "Дмитрий Козлов"),
        sokolova=person(make, "manager", "Москва", "Ирина Соколова"),
        rival=person(make, "lead", "Екатеринбург", "Наталья Волкова"),
        popova=person(make, "manager", "Екатеринбург", "Мария Попова"),
        head=person(make, "head", None, "Ольга Директорова"),
        admin=person(make, "admin", None, "Сергей Админов"),
    )
    owner = lead.user
    w.team_id, w.rival_team_id = owner.team_id, w.rival.user.team_id
    w.spin = make.tool(owner, title="СПИН-вопросы", kind="technique")
    w.dear = make.tool(owner, title="Возражение «Дорого»", kind="objection")
    w.kp = make.tool(owner, title="КП на компрессоры", kind="proposal")
    w.hostile = [make.tool(owner, title=t, kind="script") for t in HOSTILE_TITLES]
    new_versions(app, w.kp, 1)

    def won(manager, when, tools, title, status="won", meeting=None):
        deal = make.deal(manager.user, status=status, closed_at=when, title=title)
        review(app, owner if meeting is None else w.rival.user, meeting or moscow, deal, tools)
        return deal

    moscow = open_meeting(app, owner, w.team_id, "2026-W10")
    w.uralmash = won(w.kozlov, msk(2026, 3, 3), [w.spin, w.dear], "Компрессоры «Уралмаш»")
    won(w.kozlov, msk(2026, 3, 4), [w.spin, w.hostile[0]], "Осушители «Северсталь»")
    w.gazprom = won(w.sokolova, msk(2026, 3, 10), [w.spin, w.kp, *w.hostile[1:]],
                    "Ресиверы «Газпром нефть»")  # fmt: skip
    won(w.sokolova, msk(2026, 3, 5), [w.dear], "Тендер «Камаза»", status="lost")
    won(w.kozlov, msk(2026, 3, 31, 23, 30), [w.dear], "Поздний вечер 31 марта")
    won(w.kozlov, msk(2026, 4, 1, 0, 10), [w.dear], "Первые минуты апреля")
    rival_meeting = open_meeting(app, w.rival.user, w.rival_team_id, "2026-W10")
    won(w.popova, msk(2026, 3, 4), [w.spin], "Сделка Екатеринбурга", meeting=rival_meeting)

    # КП: v1 — 10 sends, 8 responded after 1, 2, 3, 4, 6, 8, 9, 10 hours, 3 accepted;
    # v2 — 3 sends, all responded after 2, 10 and 4 hours, 1 accepted.
    talks = make.deal(w.kozlov.user, status="open", title="Переговоры с «Уралмашем»")
    reactions = ["accepted"] * 3 + ["replied", "meeting", "changes_requested", "rejected",
                                    "replied", "none", "none"]  # fmt: skip
    hours = [1, 2, 3, 4, 6, 8, 9, 10, None, None]
    v1 = []
    for i, (reaction, h) in enumerate(zip(reactions, hours, strict=True)):
        sent = msk(2026, 3, 1 + i // 2, 10)
        v1.append((sent, reaction, sent + timedelta(hours=h) if h else None))
    bulk_sends(app, talks, w.kp, 1, v1)
    v2 = [(msk(2026, 3, 10, 9), "replied", 2), (msk(2026, 3, 11, 9), "meeting", 10),
          (msk(2026, 3, 12, 9), "accepted", 4)]  # fmt: skip
    bulk_sends(app, talks, w.kp, 2, [(s, r, s + timedelta(hours=h)) for s, r, h in v2])
    rival_talks = make.deal(w.popova.user, status="open", title="Переговоры в Екатеринбурге")
    bulk_sends(app, rival_talks, w.kp, 2, [(msk(2026, 3, 12), "accepted", msk(2026, 3, 13))])

    # ТКП: 30 of 100 responded in February, 45 of 100 in March; version 2 written on 1 March,
    # 00:10 Moscow time (28 February in UTC).
    w.tkp = make.tool(owner, title="ТКП на винтовые компрессоры", kind="tech_proposal")
    new_versions(app, w.tkp, 1)
    set_version_created(app, w.tkp, 2, msk(2026, 3, 1, 0, 10))
    tender = make.deal(w.kozlov.user, status="open", title="Тендер на компрессорную станцию")
    for month, version, responded, days in ((2, 1, 30, 28), (3, 2, 45, 31)):
        bulk_sends(app, tender, w.tkp, version, [
            (msk(2026, month, 1 + i % days, 10), "replied" if i < responded else "none",
             msk(2026, month, 1 + i % days, 15) if i < responded else None)
            for i in range(100)
        ])  # fmt: skip
    return w


def get(client, who, path):
    return client.get(path, headers=who.h)


ENDPOINTS = [
    "tool-usage",
    "adoption",
    "proposal-reactions?tool_id={kp}",
    "before-after?tool_id={kp}&split=2026-03-06",
    "win-association",
    "dashboard",
]


def endpoint(w, template: str, query: str = "") -> str:
    path = f"{API}/{template.format(kp=w.kp.id)}"
    return f"{path}{'&' if '?' in path else '?'}{query}" if query else path


# --- who may ask --------------------------------------------------------------------------------


def test_reports_need_a_token(client, world):
    for template in ENDPOINTS:
        path = endpoint(world, template)
        assert client.get(path).status_code == 401, path
        bad = client.get(path, headers={"Authorization": "Bearer nonsense"})
        assert bad.status_code == 401, path
        assert bad.get_json()["error"]["code"]


def test_managers_get_403(client, world):
    for template in ENDPOINTS:
        for fmt in ("json", "csv"):
            response = get(client, world.kozlov, endpoint(world, template, f"format={fmt}"))
            assert response.status_code == 403, template
            assert response.get_json()["error"]["code"]


def test_a_lead_sees_their_team_even_when_asking_for_all(client, world):
    rows = get(client, world.lead, f"{API}/tool-usage?{MARCH}").get_json()["rows"]
    assert rows[0]["title"] == "СПИН-вопросы" and rows[0]["uses"] == 3
    same = get(client, world.lead, f"{API}/tool-usage?{MARCH}&team=Москва").get_json()["rows"]
    assert same == rows
    assert (
        get(client, world.lead, f"{API}/tool-usage?{MARCH}&team={world.team_id}").status_code == 200
    )
    for template in ENDPOINTS:
        for team in ("Екатеринбург", str(world.rival_team_id)):
            response = get(client, world.lead, endpoint(world, template, f"team={team}"))
            assert response.status_code == 403, (template, team)


def test_heads_and_admins_see_all_teams_or_filter_by_name_or_id(client, world):
    for boss in (world.head, world.admin):
        rows = get(client, boss, f"{API}/tool-usage?{MARCH}").get_json()["rows"]
        assert (rows[0]["title"], rows[0]["uses"], rows[0]["won_deals"], rows[0]["managers"]) == (
            "СПИН-вопросы", 4, 4, 3
        )  # fmt: skip
        for team in ("Екатеринбург", "  Екатеринбург ", str(world.rival_team_id)):
            only = get(client, boss, f"{API}/tool-usage?{MARCH}&team={team}").get_json()["rows"]
            assert [(r["title"], r["uses"]) for r in only] == [("СПИН-вопросы", 1)]
        unknown = get(client, boss, f"{API}/tool-usage?team=Казань")
        assert unknown.status_code == 422 and "team" in unknown.get_json()["error"]["fields"]


# --- 1. tool usage -------------------------------------------------------------------------------


def test_tool_usage_fields_and_figures(client, world):
    response = get(client, world.lead, f"{API}/tool-usage?{MARCH}")
    assert response.status_code == 200
    assert "СПИН-вопросы".encode() in response.get_data()  # Cyrillic unescaped
    data = response.get_json()
    assert (data["from"], data["to"], data["group"]) == ("2026-03-01", "2026-03-31", "none")
    rows = {r["title"]: r for r in data["rows"]}
    assert rows["СПИН-вопросы"] == {
        "tool_id": world.spin.id, "title": "СПИН-вопросы", "kind": "technique", "period": None,
        "uses": 3, "won_deals": 3, "managers": 2,
    }  # fmt: skip
    # The lost «Камаз» does not count; the deal closed at 23:30 on the `to` date does.
    assert rows["Возражение «Дорого»"] == {
        "tool_id": world.dear.id, "title": "Возражение «Дорого»", "kind": "objection",
        "period": None, "uses": 2, "won_deals": 2, "managers": 1,
    }  # fmt: skip
    assert (rows["КП на компрессоры"]["uses"], rows["КП на компрессоры"]["kind"]) == (1, "proposal")
    assert len(rows) == 3 + len(HOSTILE_TITLES)
    assert data["proven_min"] == 3 and data["proven"] == 1
    assert (
        get(client, world.lead, f"{API}/tool-usage?{MARCH}&proven_min=2").get_json()["proven"] == 2
    )


def test_tool_usage_period_boundaries_and_grouping(client, world):
    def dear(query):
        data = get(client, world.lead, f"{API}/tool-usage?{query}").get_json()
        return [(r["period"], r["uses"]) for r in data["rows"] if r["tool_id"] == world.dear.id]

    assert dear("from=2026-03-01&to=2026-03-31") == [(None, 2)]
    assert dear("from=2026-03-01&to=2026-03-30") == [(None, 1)]  # 31 March is out
    assert dear("from=2026-04-01&to=2026-04-01") == [(None, 1)]  # 1 April, 00:10
    assert dear("from=2026-03-04&to=2026-03-30") == []
    assert dear(f"{MARCH}&group=week") == [("2026-W10", 1), ("2026-W14", 1)]
    assert dear(f"{MARCH}&group=month") == [("2026-03", 2)]
    assert dear("group=month") == [("2026-03", 2), ("2026-04", 1)]  # no dates: all time
    weekly = get(client, world.lead, f"{API}/tool-usage?{MARCH}&group=week").get_json()
    assert "proven" not in weekly and weekly["group"] == "week"


# --- 2. adoption ----------------------------------------------------------------------------------


def test_adoption_fields_and_figures(client, world):
    data = get(client, world.lead, f"{API}/adoption?weeks=8&to=2026-03-31").get_json()
    assert (data["weeks"], data["from"], data["to"]) == (8, "2026-02-04", "2026-03-31")
    assert data["managers_total"] == 2  # Козлов and Соколова had won deals reviewed
    rows = {r["title"]: r for r in data["rows"]}
    assert rows["СПИН-вопросы"] == {
        "tool_id": world.spin.id, "title": "СПИН-вопросы", "kind": "technique",
        "managers_using": 2, "share": 1.0,
    }  # fmt: skip
    assert (rows["Возражение «Дорого»"]["managers_using"], rows["Возражение «Дорого»"]["share"]) == (
        1, 0.5
    )  # fmt: skip
    assert data["rows"][0]["title"] == "СПИН-вопросы"
    everyone = get(client, world.head, f"{API}/adoption?weeks=8&to=2026-03-31").get_json()
    assert everyone["managers_total"] == 3
    spin = next(r for r in everyone["rows"] if r["tool_id"] == world.spin.id)
    assert (spin["managers_using"], spin["share"]) == (3, 1.0)
    # One week up to 9 March: only «Уралмаш» and «Северсталь» (3 and 4 March), both Козлов's.
    week = get(client, world.lead, f"{API}/adoption?weeks=1&to=2026-03-09").get_json()
    assert (week["from"], week["managers_total"]) == ("2026-03-03", 1)


# --- 3. proposal reactions --------------------------------------------------------------------------


def test_proposal_reactions_fields_and_figures(client, world):
    data = get(client, world.lead, f"{API}/proposal-reactions?tool_id={world.kp.id}&{MARCH}")
    data = data.get_json()
    assert data["tool_id"] == world.kp.id
    v1, v2 = data["versions"]
    fields = {"version", "sends", "responded", "response_rate", "accepted", "acceptance_rate",
              "ci_low", "ci_high", "median_hours_to_reaction"}  # fmt: skip
    assert fields <= set(v1)
    assert [v1[k] for k in ("version", "sends", "responded", "accepted")] == [1, 10, 8, 3]
    assert (v1["response_rate"], v1["acceptance_rate"]) == (0.8, 0.3)
    assert (round(v1["ci_low"], 4), round(v1["ci_high"], 4)) == (0.4902, 0.9433)
    assert v1["median_hours_to_reaction"] == 5.0  # between 4 and 6 hours
    assert [v2[k] for k in ("version", "sends", "responded", "accepted")] == [2, 3, 3, 1]
    assert v2["response_rate"] == 1.0 and v2["acceptance_rate"] == pytest.approx(1 / 3)
    assert (round(v2["ci_low"], 4), v2["ci_high"]) == (0.4385, 1.0)
    assert v2["median_hours_to_reaction"] == 4.0  # 2, 4, 10 hours
    everyone = get(client, world.head, f"{API}/proposal-reactions?tool_id={world.kp.id}")
    assert [v["sends"] for v in everyone.get_json()["versions"]] == [10, 4]
    empty = get(client, world.lead,
                f"{API}/proposal-reactions?tool_id={world.kp.id}&from=2025-01-01&to=2025-12-31")  # fmt: skip
    assert empty.status_code == 200 and empty.get_json()["versions"] == []


# --- 4. было/стало -------------------------------------------------------------------------------------


def test_before_after_of_a_proposal(client, world):
    base = f"{API}/before-after?tool_id={world.tkp.id}"
    by_split = get(client, world.lead, f"{base}&split=2026-03-01").get_json()
    by_version = get(client, world.lead, f"{base}&version=2").get_json()
    by_periods = get(client, world.lead, f"{base}&a_from=2026-02-01&a_to=2026-02-28"
                     "&b_from=2026-03-01&b_to=2026-03-31").get_json()  # fmt: skip
    assert set(by_split) >= {"before", "after", "delta", "p_value"}
    for data in (by_split, by_version, by_periods):
        b, a = data["before"], data["after"]
        assert (b["sends"], b["responded"], b["response_rate"]) == (100, 30, 0.3)
        assert (a["sends"], a["responded"], a["response_rate"]) == (100, 45, 0.45)
        assert (b["accepted"], b["acceptance_rate"]) == (0, 0.0)
        # 30/100 against 45/100, pooled two-proportion z-test: p = 0.0285.
        assert data["p_value"] == pytest.approx(0.0285, abs=5e-5)
        assert data["delta"]["response_rate"] == pytest.approx(0.15)
        assert data["measure"] == "proposal_sends"
    # Without from/to the split date divides all time; version 2's date is 1 March (Moscow).
    assert (by_version["before"]["from"], by_version["before"]["to"]) == (None, "2026-02-28")
    assert (by_version["after"]["from"], by_version["after"]["to"]) == ("2026-03-01", None)
    assert (by_periods["before"]["from"], by_periods["after"]["to"]) == ("2026-02-01", "2026-03-31")


def test_before_after_of_a_technique(client, world):
    data = get(client, world.lead, f"{API}/before-after?tool_id={world.spin.id}&split=2026-03-06"
               f"&{MARCH}").get_json()  # fmt: skip
    assert data["measure"] == "won_deals" and data["kind"] == "technique"
    keys = ("won_deals_reviewed", "won_deals_with_tool", "usage_rate", "closed_deals_with_tool",
            "win_rate_with_tool")  # fmt: skip
    # 1–5 March: «Уралмаш» and «Северсталь» won with СПИН, «Камаз» lost without it.
    assert [data["before"][k] for k in keys] == [2, 2, 1.0, 2, 1.0]
    # 6–31 March: «Газпром нефть» won with СПИН, the late deal of 31 March without it.
    assert [data["after"][k] for k in keys] == [2, 1, 0.5, 1, 1.0]
    assert data["p_value"] == pytest.approx(0.2482, abs=5e-5)  # 2/2 against 1/2
    assert data["delta"] == {"usage_rate": -0.5, "won_deals_with_tool": -1,
                             "win_rate_with_tool": 0.0}  # fmt: skip


def test_empty_period_gives_empty_rows_zeros_and_null_rates(client, world):
    empty = "from=2025-01-01&to=2025-01-31"
    usage = get(client, world.lead, f"{API}/tool-usage?{empty}").get_json()
    assert (usage["rows"], usage["proven"]) == ([], 0)
    adoption = get(client, world.lead, f"{API}/adoption?to=2025-01-31").get_json()
    assert (adoption["managers_total"], adoption["rows"]) == (0, [])
    assert get(client, world.lead, f"{API}/adoption").get_json()["managers_total"] == 0  # today
    association = get(client, world.lead, f"{API}/win-association?{empty}").get_json()
    assert (association["rows"], association["reviewed_closed_deals"]) == ([], 0)
    data = get(client, world.lead, f"{API}/before-after?tool_id={world.kp.id}&split=2025-01-15"
               f"&{empty}").get_json()  # fmt: skip
    for side in ("before", "after"):
        assert data[side]["sends"] == 0
        assert data[side]["response_rate"] is data[side]["ci_low"] is None
    assert data["p_value"] is None and data["delta"]["response_rate"] is None
    dashboard = get(client, world.lead, f"{API}/dashboard?{empty}").get_json()
    assert all(set(m["values"]) == {0} and m["change"] is None for m in dashboard["metrics"])


# --- 5 and 6: extra endpoints ----------------------------------------------------------------------


def test_win_association_and_dashboard_fields(client, world):
    data = get(client, world.lead, f"{API}/win-association?{MARCH}").get_json()
    assert data["reviewed_closed_deals"] == 5 and data["min_sample"] == 10 and data["note"]
    spin = next(r for r in data["rows"] if r["tool_id"] == world.spin.id)
    assert {k: spin[k] for k in ("deals_with", "won_with", "deals_without", "won_without")} == {
        "deals_with": 3, "won_with": 3, "deals_without": 2, "won_without": 1,
    }  # fmt: skip
    assert (spin["win_rate_with"], spin["win_rate_without"], spin["difference"]) == (1.0, 0.5, 0.5)
    assert spin["enough_data"] is False  # fewer than 10 deals on either side
    assert spin["reverses_within"] == [] and len(spin["ci_with"]) == 2
    loose = get(client, world.lead, f"{API}/win-association?{MARCH}&min_sample=2").get_json()
    assert next(r for r in loose["rows"] if r["tool_id"] == world.spin.id)["enough_data"] is True

    dashboard = get(client, world.lead, f"{API}/dashboard?from=2026-03-02&to=2026-03-15")
    metrics = dashboard.get_json()["metrics"]
    assert [m["key"] for m in metrics] == ["won_reviewed", "tools_per_deal", "tools_approved",
                                           "open_action_items", "zero_result_searches"]  # fmt: skip
    assert all(m["weeks"] == ["2026-W10", "2026-W11"] for m in metrics)
    assert {"label", "values", "total", "previous", "change"} <= set(metrics[0])
    # One end given: the other comes from the default four weeks, the given one is kept.
    only_to = get(client, world.lead, f"{API}/dashboard?to=2026-03-15").get_json()
    assert (only_to["from"], only_to["to"]) == ("2026-02-16", "2026-03-15")  # whole weeks
    only_from = get(client, world.lead, f"{API}/dashboard?from=2026-03-02").get_json()
    assert only_from["from"] == "2026-03-02" and only_from["to"] >= "2026-03-02"


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tool-usage?from=2026-13-01", "from"),
        ("tool-usage?to=вчера", "to"),
        ("tool-usage?from=2026-03-31&to=2026-03-01", "to"),
        ("tool-usage?from=1999-12-31", "from"),
        ("tool-usage?group=day", "group"),
        ("tool-usage?format=pdf", "format"),
        ("tool-usage?proven_min=0", "proven_min"),
        ("adoption?weeks=0", "weeks"),
        ("adoption?weeks=восемь", "weeks"),
        ("adoption?weeks=²", "weeks"),
        ("win-association?min_sample=-1", "min_sample"),
        ("proposal-reactions", "tool_id"),
        ("proposal-reactions?tool_id=abc", "tool_id"),
        ("proposal-reactions?tool_id={spin}", "tool_id"),
        ("before-after?tool_id={kp}", "split"),
        ("before-after?tool_id={kp}&split=2026-02-30", "split"),
        ("before-after?tool_id={kp}&version=9", "version"),
        ("before-after?tool_id={kp}&a_from=2026-02-01", "a_from"),
        ("before-after?tool_id={kp}&a_from=2026-02-10&a_to=2026-02-01&b_from=2026-03-01"
         "&b_to=2026-03-31", "a_to"),
        ("before-after?tool_id={kp}&a_from=x&a_to=2026-02-01&b_from=2026-03-01&b_to=2026-03-31",
         "a_from"),
        ("before-after?split=2026-03-01", "tool_id"),
        ("tool-usage?team=99999999999999999999999", "team"),
    ],
)  # fmt: skip
def test_bad_values_are_422_with_the_field(client, world, query, field):
    path = f"{API}/{query.format(kp=world.kp.id, spin=world.spin.id)}"
    response = get(client, world.head, path)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("tool_id", ["999999", "99999999999999999999999", "²"])
def test_unknown_tool_is_404(client, world, tool_id):
    for name in ("proposal-reactions", "before-after"):
        response = get(client, world.head, f"{API}/{name}?tool_id={tool_id}&split=2026-03-01")
        assert response.status_code == 404, name


# --- CSV and XLSX ---------------------------------------------------------------------------------


def test_tool_usage_csv_and_xlsx_keep_hostile_titles_inert(client, world):
    csv_export = get(client, world.lead, f"{API}/tool-usage?{MARCH}&format=csv")
    assert csv_export.status_code == 200
    assert csv_export.mimetype == "text/csv" and csv_export.mimetype_params["charset"] == "utf-8"
    assert csv_export.headers["Content-Disposition"] == 'attachment; filename="tool-usage.csv"'
    header, *rows = csv_rows(csv_export)
    assert header == ["tool_id", "title", "kind", "period", "uses", "won_deals", "managers"]
    by_id = {int(r[0]): r for r in rows}
    assert by_id[world.spin.id] == [str(world.spin.id), "СПИН-вопросы", "technique", "", "3", "3",
                                    "2"]  # fmt: skip
    for tool in world.hostile:
        assert by_id[tool.id][1] == "'" + tool.title

    xlsx_export = get(client, world.lead, f"{API}/tool-usage?{MARCH}&format=xlsx")
    assert xlsx_export.status_code == 200 and xlsx_export.mimetype == XLSX_TYPE
    assert xlsx_export.headers["Content-Disposition"] == 'attachment; filename="tool-usage.xlsx"'
    values, cells = xlsx_sheet(xlsx_export)
    assert_inert_xlsx(cells)
    assert values[0] == header
    by_id = {r[0]: r for r in values[1:]}
    assert by_id[world.spin.id] == [world.spin.id, "СПИН-вопросы", "technique", None, 3, 3, 2]
    assert {by_id[t.id][1] for t in world.hostile} == {"'" + t for t in HOSTILE_TITLES}
    for row in cells[1:]:
        assert all(c.data_type == "n" for c in (row[0], *row[4:]))


def test_every_report_exports_csv_and_xlsx(client, world):
    for template in ENDPOINTS:
        name = template.split("?")[0]
        for fmt, mimetype in (("csv", "text/csv"), ("xlsx", XLSX_TYPE)):
            response = get(client, world.lead, endpoint(world, template, f"{MARCH}&format={fmt}"))
            assert response.status_code == 200, (template, fmt)
            assert response.mimetype == mimetype
            assert f'filename="{name}.{fmt}"' in response.headers["Content-Disposition"]
            if fmt == "csv":
                assert csv_rows(response)[0]
            else:
                values, cells = xlsx_sheet(response)
                assert_inert_xlsx(cells)
                assert values[0]
    reactions = get(client, world.lead,
                    f"{API}/proposal-reactions?tool_id={world.kp.id}&{MARCH}&format=xlsx")  # fmt: skip
    values, cells = xlsx_sheet(reactions)
    header = values[0]
    first = dict(zip(header, values[1], strict=True))
    assert (first["version"], first["sends"], first["responded"], first["response_rate"]) == (
        1, 10, 8, 0.8
    )  # fmt: skip
    assert isinstance(first["ci_low"], float) and round(first["ci_low"], 4) == 0.4902
    association = csv_rows(get(client, world.lead, f"{API}/win-association?{MARCH}&format=csv"))
    titles = {r[association[0].index("title")] for r in association[1:]}
    assert {"'" + t for t in HOSTILE_TITLES} <= titles
