"""The meetings part of API.md, through the real app and bearer tokens."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.auth import services as accounts
from portal.extensions import db
from portal.kb import services as kb
from portal.meetings import services
from portal.models import ActionItem, DealReview, Meeting, MeetingItem, SalesTool, User

from .factories import DEFAULT_PASSWORD

MSK = ZoneInfo("Europe/Moscow")
WEEK = "2026-W10"  # Monday 2 March 2026 to Sunday 8 March 2026
API = "/api/v1"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=MSK)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


pytestmark = pytest.mark.usefixtures("fast_passwords")


def person(make, role="manager", team=None, name=None):
    user = make.user(role=role, team=team, name=name)
    return SimpleNamespace(user=user, id=user.id, email=user.email, h=bearer(make.token(user)))


@pytest.fixture
def crew(make):
    """Moscow: a lead and two managers; Yekaterinburg: a lead and a manager; a head."""
    return SimpleNamespace(
        lead=person(make, "lead", "Москва", "Алексей Морозов"),
        kozlov=person(make, "manager", "Москва", "Дмитрий Козлов"),
        sokolova=person(make, "manager", "Москва", "Ирина Соколова"),
        rival=person(make, "lead", "Екатеринбург", "Наталья Волкова"),
        popova=person(make, "manager", "Екатеринбург", "Мария Попова"),
        head=person(make, "head", None, "Ольга Директорова"),
    )


def new_versions(app, tool, count: int) -> None:
    with app.app_context():
        row = db.session.get(SalesTool, tool.id)
        for n in range(1, count + 1):
            kb.update_tool(
                row.owner,
                row,
                kb.ToolInput(kind=row.kind, title=row.title, body=f"{row.body}\n\nПравка {n}",
                             change_note=f"Правка {n}"),
                None,
            )  # fmt: skip


@pytest.fixture
def board(app, client, make, crew):
    """An open 2026-W10 meeting of Moscow with two won deals; a КП v3 whose v2 was sent."""
    kp = make.tool(crew.lead.user, title="КП на винтовые компрессоры", kind="proposal")
    new_versions(app, kp, 2)
    tkp = make.tool(crew.lead.user, title="ТКП на модернизацию", kind="tech_proposal")
    new_versions(app, tkp, 1)
    spin = make.tool(crew.lead.user, title="SPIN-вопросы для первой встречи", kind="technique")
    deal = make.deal(crew.kozlov.user, title="Компрессоры для склада в Подольске",
                     closed_at=at(3, 3))  # fmt: skip
    other = make.deal(crew.sokolova.user, title="Осушители для хлебозавода", closed_at=at(3, 5))
    lost = make.deal(crew.kozlov.user, status="lost", title="Проигрыш: Хлебозавод №3",
                     closed_at=at(3, 6))  # fmt: skip
    still_open = make.deal(crew.kozlov.user, status="open", title="Ещё торгуемся")
    foreign = make.deal(crew.popova.user, title="Сделка Екатеринбурга", closed_at=at(3, 4))
    make.send(deal, kp, version=2, reaction="accepted")
    response = client.post(f"{API}/meetings", json={"team": "Москва", "week": WEEK},
                           headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 201, response.get_json()
    meeting_id = response.get_json()["id"]
    return SimpleNamespace(
        id=meeting_id, url=f"{API}/meetings/{meeting_id}", kp=kp, tkp=tkp, spin=spin,
        deal=deal, other=other, lost=lost, open=still_open, foreign=foreign,
    )  # fmt: skip


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) >= {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


def review_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count(DealReview.id)))


# --- POST /meetings ------------------------------------------------------------------------


def test_create_meeting_is_201_with_the_meeting_and_its_suggested_agenda(app, client, board, crew):
    body = client.get(board.url, headers=crew.lead.h).get_json()
    assert {k: body[k] for k in ("id", "team", "week", "status", "kind", "title")} == {
        "id": board.id, "team": "Москва", "week": WEEK, "status": "open", "kind": "weekly",
        "title": "",
    }  # fmt: skip
    assert [(a["position"], a["title"], a["suggested"], a["reviewed"]) for a in body["agenda"]] == [
        (1, "Компрессоры для склада в Подольске", True, False),
        (2, "Осушители для хлебозавода", True, False),
    ]
    assert body["agenda"][0]["manager_email"] == crew.kozlov.email
    assert body["reviews"] == [] and body["action_items"] == [] and body["carried_over"] == []
    assert body["summary_url"].endswith(f"/meetings/{board.id}/summary")

    created = client.post(f"{API}/meetings", json={"team": "Москва", "week": "2026-W11",
                                                   "title": "Планёрка отдела продаж"},
                          headers=crew.lead.h)  # fmt: skip
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"{API}/meetings/{created.get_json()['id']}")
    assert created.mimetype == "application/json"
    raw = created.get_data(as_text=True)
    assert "Планёрка отдела продаж" in raw and '"Москва"' in raw  # Cyrillic unescaped
    assert "\\u04" not in raw
    assert created.get_json()["agenda"] == []  # W10's deals were lined up for W10


def test_week_defaults_to_the_current_iso_week(app, client, crew):
    response = client.post(f"{API}/meetings", json={"team": "Москва"}, headers=crew.lead.h)
    assert response.status_code == 201
    with app.app_context():
        assert response.get_json()["week"] == services.current_week()


def test_second_weekly_meeting_is_409_but_an_extra_one_is_201(app, client, board, crew):
    again = client.post(f"{API}/meetings", json={"team": "Москва", "week": "2026-w10"},
                        headers=crew.lead.h)  # fmt: skip
    assert again.status_code == 409
    error = error_of(again)
    assert error["code"] == "duplicate" and "week" in error["fields"]
    extra = client.post(f"{API}/meetings", json={"team": "Москва", "week": WEEK, "adhoc": True},
                        headers=crew.lead.h)  # fmt: skip
    assert extra.status_code == 201
    assert extra.get_json()["kind"] == "adhoc"
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 2


def test_team_may_be_named_by_id(client, crew):
    team_id = crew.lead.user.team_id
    response = client.post(f"{API}/meetings", json={"team": team_id, "week": WEEK},
                           headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 201
    assert response.get_json()["team_id"] == team_id


def test_who_may_open_a_meeting(app, client, crew, make):
    def post(headers, team="Москва", week=WEEK):
        return client.post(f"{API}/meetings", json={"team": team, "week": week}, headers=headers)

    manager = post(crew.kozlov.h)
    assert manager.status_code == 403 and error_of(manager)["code"] == "forbidden"
    assert post(crew.rival.h).status_code == 403  # a lead of another team
    assert post(crew.head.h).status_code == 201
    assert post(person(make, "admin").h, week="2026-W11").status_code == 201
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 2


def test_no_token_or_a_bad_one_is_401(app, client, crew):
    missing = client.post(f"{API}/meetings", json={"team": "Москва"})
    assert missing.status_code == 401
    assert error_of(missing)["code"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    bad = bearer("plk_not-a-real-token")
    assert client.post(f"{API}/meetings", json={"team": "Москва"}, headers=bad).status_code == 401
    assert client.get(f"{API}/meetings", headers=bad).status_code == 401
    with app.app_context():
        accounts.set_user_active(db.session.get(User, crew.lead.id), False)
    gone = client.post(f"{API}/meetings", json={"team": "Москва"}, headers=crew.lead.h)
    assert gone.status_code == 401
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "team"),
        ({"team": "Нет такой команды"}, "team"),
        ({"team": ""}, "team"),
        ({"team": True}, "team"),
        ({"team": "Москва", "week": "2026-48"}, "week"),
        ({"team": "Москва", "week": "2026-W54"}, "week"),
        ({"team": "Москва", "week": 202610}, "week"),
        ({"team": "Москва", "title": 5}, "title"),
        ({"team": "Москва", "title": "Т" * 201}, "title"),
        ({"team": "Москва", "adhoc": "да"}, "adhoc"),
        ({"team": "Москва", "minutes_per_deal": 0}, "minutes_per_deal"),
        ({"team": "Москва", "minutes_per_deal": 61}, "minutes_per_deal"),
        ({"team": "Москва", "minutes_per_deal": "3"}, "minutes_per_deal"),
    ],
)
def test_invalid_meeting_values_are_422_with_fields(app, client, crew, payload, field):
    response = client.post(f"{API}/meetings", json=payload, headers=crew.lead.h)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid" and field in error["fields"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Meeting.id))) == 0


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"text"', b""])
def test_malformed_json_is_400(client, crew, data):
    response = client.post(f"{API}/meetings", data=data,
                           headers={**crew.lead.h, "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


# --- GET /meetings, GET /meetings/{id} -------------------------------------------------------


def test_meeting_of_another_team_is_404(client, board, crew):
    for headers in (crew.rival.h, crew.popova.h):
        response = client.get(board.url, headers=headers)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert client.get(f"{API}/meetings/999999", headers=crew.lead.h).status_code == 404
    assert client.get(board.url, headers=crew.kozlov.h).status_code == 200  # the team follows
    assert client.get(board.url, headers=crew.head.h).status_code == 200


def test_list_is_paginated_filtered_and_scoped(client, board, crew):
    client.post(f"{API}/meetings", json={"team": "Москва", "week": "2026-W11"}, headers=crew.lead.h)
    client.post(f"{API}/meetings", json={"team": "Екатеринбург", "week": WEEK},
                headers=crew.rival.h)  # fmt: skip
    client.post(f"{board.url}/close", headers=crew.lead.h)

    mine = client.get(f"{API}/meetings", headers=crew.lead.h).get_json()
    assert set(mine) == {"items", "total", "page", "per_page"}
    assert (mine["total"], mine["page"], mine["per_page"]) == (2, 1, 50)
    assert [(m["team"], m["week"], m["status"]) for m in mine["items"]] == [
        ("Москва", "2026-W11", "open"),
        ("Москва", WEEK, "closed"),
    ]
    everyone = client.get(f"{API}/meetings?per_page=1&page=2", headers=crew.head.h).get_json()
    assert (everyone["total"], len(everyone["items"]), everyone["page"]) == (3, 1, 2)

    def weeks(query, headers=crew.head.h):
        body = client.get(f"{API}/meetings?{query}", headers=headers).get_json()
        return sorted((m["team"], m["week"]) for m in body["items"])

    assert weeks("week=2026-W10") == [("Екатеринбург", WEEK), ("Москва", WEEK)]
    assert weeks("status=closed") == [("Москва", WEEK)]
    assert weeks("team=Екатеринбург") == [("Екатеринбург", WEEK)]
    assert weeks("team=Екатеринбург", crew.lead.h) == []  # not theirs to see
    for query, field in (("week=W10", "week"), ("status=done", "status"),
                         ("team=Нет", "team"), ("per_page=500", "per_page")):  # fmt: skip
        response = client.get(f"{API}/meetings?{query}", headers=crew.head.h)
        assert response.status_code == 422, query
        assert field in error_of(response)["fields"]


# --- POST /meetings/{id}/reviews ------------------------------------------------------------


def test_review_is_201_with_tools_versions_key_and_lesson(app, client, board, crew):
    payload = {
        "deal_id": board.deal.id,
        "tools": [{"tool_id": board.kp.id}, {"tool_id": board.spin.id, "version": 1}, board.tkp.id],
        "key_tool_id": board.spin.id,
        "lesson": "Клиенту важнее **сроки**, чем цена",
    }
    response = client.post(f"{board.url}/reviews", json=payload, headers=crew.lead.h)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{API}/reviews/{body['id']}")
    assert [(t["tool_id"], t["version"], t["title"]) for t in body["tools"]] == [
        (board.kp.id, 2, "КП на винтовые компрессоры"),  # the version sent in the deal
        (board.spin.id, 1, "SPIN-вопросы для первой встречи"),
        (board.tkp.id, 2, "ТКП на модернизацию"),  # never sent: the current version
    ]
    assert (body["meeting_id"], body["deal_id"], body["deal_status"]) == (
        board.id,
        board.deal.id,
        "won",
    )
    assert (body["key_tool_id"], body["version"]) == (board.spin.id, 1)
    assert body["lesson"] == payload["lesson"]
    assert "<strong>сроки</strong>" in body["lesson_html"]
    assert "Клиенту важнее" in response.get_data(as_text=True)

    fetched = client.get(f"{API}/reviews/{body['id']}", headers=crew.kozlov.h)
    assert fetched.status_code == 200 and fetched.get_json() == body
    meeting = client.get(board.url, headers=crew.lead.h).get_json()
    assert [r["id"] for r in meeting["reviews"]] == [body["id"]]
    assert [a["reviewed"] for a in meeting["agenda"]] == [True, False]
    assert client.get(f"{API}/reviews/{body['id']}", headers=crew.rival.h).status_code == 404
    assert client.get(f"{API}/reviews/999999", headers=crew.lead.h).status_code == 404


def test_a_deal_is_reviewed_once_per_meeting(app, client, board, crew):
    url = f"{board.url}/reviews"
    first = client.post(
        url, json={"deal_id": board.deal.id, "lesson": "Первый"}, headers=crew.lead.h
    )
    assert first.status_code == 201
    again = client.post(
        url, json={"deal_id": board.deal.id, "lesson": "Второй"}, headers=crew.head.h
    )
    assert again.status_code == 409
    assert error_of(again)["code"] == "duplicate"
    assert review_count(app) == 1
    # At another meeting the same deal may be reviewed again.
    extra = client.post(f"{API}/meetings", json={"team": "Москва", "week": WEEK, "adhoc": True},
                        headers=crew.lead.h).get_json()  # fmt: skip
    other = client.post(f"{API}/meetings/{extra['id']}/reviews", json={"deal_id": board.deal.id},
                        headers=crew.lead.h)  # fmt: skip
    assert other.status_code == 201
    assert review_count(app) == 2


def test_a_deal_off_the_agenda_joins_it_when_reviewed(app, client, board, crew):
    response = client.post(f"{board.url}/reviews", json={"deal_id": board.lost.id, "tools": []},
                           headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 201
    assert response.get_json()["deal_status"] == "lost"
    agenda = client.get(board.url, headers=crew.lead.h).get_json()["agenda"]
    assert [(a["title"], a["suggested"], a["reviewed"]) for a in agenda][-1] == (
        "Проигрыш: Хлебозавод №3", False, True,
    )  # fmt: skip


def test_key_tool_not_in_the_list_is_tagged_too(client, board, crew):
    body = client.post(f"{board.url}/reviews",
                       json={"deal_id": board.deal.id, "key_tool_id": board.kp.id},
                       headers=crew.lead.h).get_json()  # fmt: skip
    assert [(t["tool_id"], t["version"]) for t in body["tools"]] == [(board.kp.id, 2)]
    assert body["key_tool_id"] == board.kp.id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tools": []}, "deal_id"),
        ({"deal_id": "1"}, "deal_id"),
        ({"deal_id": "OPEN"}, "deal_id"),
        ({"deal_id": "FOREIGN", "as": "head"}, "deal_id"),  # another team's deal, for a head
        ({"deal_id": "DEAL", "tools": [{"tool_id": 999_999}]}, "tools[0].tool_id"),
        ({"deal_id": "DEAL", "tools": [{"tool_id": "KP", "version": 4}]}, "tools[0].version"),
        ({"deal_id": "DEAL", "tools": [{"tool_id": "KP", "version": 0}]}, "tools[0].version"),
        ({"deal_id": "DEAL", "tools": [{"tool_id": "KP", "version": "2"}]}, "tools[0].version"),
        ({"deal_id": "DEAL", "tools": [{"version": 1}]}, "tools[0].tool_id"),
        ({"deal_id": "DEAL", "tools": "SPIN"}, "tools"),
        ({"deal_id": "DEAL", "key_tool_id": 999_999}, "key_tool_id"),
        ({"deal_id": "DEAL", "key_tool_id": "SPIN"}, "key_tool_id"),
        ({"deal_id": "DEAL", "lesson": 42}, "lesson"),
        ({"deal_id": "DEAL", "lesson": "ы" * 20_001}, "lesson"),
    ],
)
def test_invalid_reviews_are_422_with_fields(app, client, board, crew, payload, field):
    names = {"DEAL": board.deal.id, "OPEN": board.open.id, "FOREIGN": board.foreign.id,
             "KP": board.kp.id}  # fmt: skip
    payload = dict(payload)
    headers = crew.head.h if payload.pop("as", None) == "head" else crew.lead.h
    if payload.get("deal_id") in names:
        payload["deal_id"] = names[payload["deal_id"]]
    for tool in payload.get("tools", []) if isinstance(payload.get("tools"), list) else []:
        if tool.get("tool_id") == "KP":
            tool["tool_id"] = board.kp.id
    response = client.post(f"{board.url}/reviews", json=payload, headers=headers)
    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert error["code"] == "invalid" and field in error["fields"]
    assert review_count(app) == 0


def test_review_of_a_deal_outside_ones_scope_is_404(app, client, board, crew):
    url = f"{board.url}/reviews"
    foreign = client.post(url, json={"deal_id": board.foreign.id}, headers=crew.lead.h)
    assert foreign.status_code == 404 and error_of(foreign)["code"] == "not_found"
    assert client.post(url, json={"deal_id": 999_999}, headers=crew.lead.h).status_code == 404
    # A manager reviews their own deal, not a colleague's.
    assert (
        client.post(url, json={"deal_id": board.other.id}, headers=crew.kozlov.h).status_code == 404
    )
    own = client.post(url, json={"deal_id": board.deal.id, "lesson": "Мой вывод"},
                      headers=crew.kozlov.h)  # fmt: skip
    assert own.status_code == 201
    rival = client.post(url, json={"deal_id": board.other.id}, headers=crew.rival.h)
    assert rival.status_code == 404  # the meeting itself is out of scope
    assert review_count(app) == 1


def test_closed_meeting_takes_no_more_reviews(app, client, board, crew):
    client.post(f"{board.url}/reviews", json={"deal_id": board.deal.id}, headers=crew.lead.h)
    assert client.post(f"{board.url}/close", headers=crew.lead.h).status_code == 200
    response = client.post(f"{board.url}/reviews", json={"deal_id": board.other.id},
                           headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 409
    assert error_of(response)["code"] == "meeting_closed"
    assert review_count(app) == 1


# --- PATCH /reviews/{id} ------------------------------------------------------------------------


@pytest.fixture
def review(client, board, crew):
    body = client.post(f"{board.url}/reviews",
                       json={"deal_id": board.deal.id, "tools": [board.kp.id, board.spin.id],
                             "key_tool_id": board.kp.id, "lesson": "Исходный вывод"},
                       headers=crew.lead.h).get_json()  # fmt: skip
    return SimpleNamespace(id=body["id"], url=f"{API}/reviews/{body['id']}")


def stored(app, review_id) -> dict:
    with app.app_context():
        row = db.session.get(DealReview, review_id)
        return {"lesson": row.lesson, "version": row.version, "key": row.key_tool_id,
                "tools": {t.tool_id: t.version for t in row.tools}}  # fmt: skip


def test_patch_saves_the_lesson_and_moves_the_version_on(app, client, board, crew, review):
    response = client.patch(review.url, json={"version": 1, "lesson": "Сроки важнее цены"},
                            headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 200
    body = response.get_json()
    assert (body["lesson"], body["version"]) == ("Сроки важнее цены", 2)
    assert stored(app, review.id)["version"] == 2
    own = client.patch(review.url, json={"version": 2, "lesson": "Сроки и демо"},
                       headers=crew.kozlov.h)  # fmt: skip
    assert own.status_code == 200 and own.get_json()["version"] == 3  # the deal's manager


def test_stale_patch_is_409_with_both_texts_and_overwrites_nothing(
    app, client, board, crew, review
):
    client.patch(
        review.url, json={"version": 1, "lesson": "Текст руководителя"}, headers=crew.lead.h
    )
    stale = client.patch(review.url,
                         json={"version": 1, "lesson": "Текст менеджера", "tools": [board.spin.id]},
                         headers=crew.kozlov.h)  # fmt: skip
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"]["code"] == "stale_version"
    assert "version" in body["error"]["fields"]
    assert (body["current"]["lesson"], body["current"]["version"]) == ("Текст руководителя", 2)
    assert body["yours"] == {"lesson": "Текст менеджера"}
    assert "Текст менеджера" in stale.get_data(as_text=True)  # unescaped Cyrillic
    after = stored(app, review.id)
    assert (after["lesson"], after["version"]) == ("Текст руководителя", 2)
    assert after["tools"] == {board.kp.id: 2, board.spin.id: None}  # nothing half-saved
    assert [t["tool_id"] for t in body["current"]["tools"]] == [board.kp.id, board.spin.id]

    # The same words reached both screens: no conflict, and the other changes are saved.
    same = client.patch(review.url,
                        json={"version": 1, "lesson": "Текст руководителя", "tools": [board.spin.id]},
                        headers=crew.kozlov.h)  # fmt: skip
    assert same.status_code == 200
    assert (same.get_json()["version"], same.get_json()["key_tool_id"]) == (2, None)
    assert [t["tool_id"] for t in same.get_json()["tools"]] == [board.spin.id]
    assert stored(app, review.id) == {"lesson": "Текст руководителя", "version": 2, "key": None,
                                      "tools": {board.spin.id: None}}  # fmt: skip


def test_patch_replaces_tools_and_the_key_tool(app, client, board, crew, review):
    response = client.patch(review.url,
                            json={"tools": [{"tool_id": board.spin.id},
                                            {"tool_id": board.tkp.id, "version": 1}]},
                            headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 200
    assert stored(app, review.id) == {
        "lesson": "Исходный вывод", "version": 1, "key": None,  # the key tool was untagged
        "tools": {board.spin.id: None, board.tkp.id: 1},
    }  # fmt: skip
    keyed = client.patch(review.url, json={"key_tool_id": board.tkp.id}, headers=crew.lead.h)
    assert keyed.get_json()["key_tool_id"] == board.tkp.id
    untagged = client.patch(review.url, json={"key_tool_id": board.kp.id}, headers=crew.lead.h)
    assert untagged.status_code == 422 and "key_tool_id" in error_of(untagged)["fields"]
    cleared = client.patch(review.url, json={"key_tool_id": None}, headers=crew.lead.h)
    assert cleared.status_code == 200 and cleared.get_json()["key_tool_id"] is None
    bad_version = client.patch(review.url, json={"tools": [{"tool_id": board.kp.id, "version": 9}]},
                               headers=crew.lead.h)  # fmt: skip
    assert bad_version.status_code == 422
    assert "tools[0].version" in error_of(bad_version)["fields"]
    assert stored(app, review.id)["tools"] == {board.spin.id: None, board.tkp.id: 1}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"lesson": "Без версии"}, "version"),
        ({"version": "1", "lesson": "Текст"}, "version"),
        ({"version": 1, "lesson": ["Текст"]}, "lesson"),
        ({"tools": [{"tool_id": "SPIN"}]}, "tools[0].tool_id"),
        ({"key_tool_id": "SPIN"}, "key_tool_id"),
    ],
)
def test_invalid_patches_are_422(app, client, crew, review, payload, field):
    response = client.patch(review.url, json=payload, headers=crew.lead.h)
    assert response.status_code == 422
    assert field in error_of(response)["fields"]
    assert stored(app, review.id)["lesson"] == "Исходный вывод"


def test_who_may_patch_a_review(app, client, board, crew, review):
    patch = {"version": 1, "lesson": "Чужой вывод"}
    assert client.patch(review.url, json=patch, headers=crew.rival.h).status_code == 404
    refused = client.patch(review.url, json=patch, headers=crew.sokolova.h)  # not her deal
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    assert client.patch(f"{API}/reviews/999999", json=patch, headers=crew.lead.h).status_code == 404
    client.post(f"{board.url}/close", headers=crew.lead.h)
    closed = client.patch(review.url, json=patch, headers=crew.lead.h)
    assert closed.status_code == 409 and error_of(closed)["code"] == "meeting_closed"
    assert stored(app, review.id)["lesson"] == "Исходный вывод"


# --- POST /meetings/{id}/close -------------------------------------------------------------------


def test_close_is_200_then_409(app, client, board, crew):
    assert client.post(f"{board.url}/close", headers=crew.kozlov.h).status_code == 403
    assert client.post(f"{board.url}/close", headers=crew.rival.h).status_code == 404
    closed = client.post(f"{board.url}/close", headers=crew.lead.h)
    assert closed.status_code == 200
    body = closed.get_json()
    assert body["status"] == "closed" and body["closed_at"]
    again = client.post(f"{board.url}/close", headers=crew.head.h)
    assert again.status_code == 409 and error_of(again)["code"] == "meeting_closed"
    with app.app_context():
        assert db.session.get(Meeting, board.id).closed_by_id == crew.lead.id


def test_close_is_refused_while_someone_else_edits_a_review(app, client, board, crew):
    laptop = app.test_client()
    laptop.post("/login", data={"email": crew.kozlov.email, "password": DEFAULT_PASSWORD})
    lease = laptop.post(f"/meetings/{board.id}/deals/{board.deal.id}/editing")
    assert lease.status_code == 204

    refused = client.post(f"{board.url}/close", headers=crew.lead.h)
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "review_being_edited"
    assert "Дмитрий Козлов" in error["message"]
    assert client.get(board.url, headers=crew.lead.h).get_json()["status"] == "open"

    saved = laptop.post(f"/meetings/{board.id}/deals/{board.deal.id}/lesson",
                        data={"lesson": "Решили сроки", "version": 0})  # fmt: skip
    assert saved.status_code == 303
    assert client.post(f"{board.url}/close", headers=crew.lead.h).status_code == 200


# --- agenda ----------------------------------------------------------------------------------


def test_agenda_add_and_remove(app, client, board, crew):
    added = client.post(f"{board.url}/agenda", json={"deal_id": board.lost.id}, headers=crew.lead.h)
    assert added.status_code == 201
    assert [(a["title"], a["status"], a["suggested"]) for a in added.get_json()["agenda"]] == [
        ("Компрессоры для склада в Подольске", "won", True),
        ("Осушители для хлебозавода", "won", True),
        ("Проигрыш: Хлебозавод №3", "lost", False),
    ]
    removed = client.delete(f"{board.url}/agenda/{board.other.id}", headers=crew.lead.h)
    assert removed.status_code == 200
    assert [(a["position"], a["deal_id"]) for a in removed.get_json()["agenda"]] == [
        (1, board.deal.id), (2, board.lost.id),
    ]  # fmt: skip
    gone = client.delete(f"{board.url}/agenda/{board.other.id}", headers=crew.lead.h)
    assert gone.status_code == 404

    client.post(f"{board.url}/reviews", json={"deal_id": board.deal.id}, headers=crew.lead.h)
    reviewed = client.delete(f"{board.url}/agenda/{board.deal.id}", headers=crew.lead.h)
    assert reviewed.status_code == 409 and error_of(reviewed)["code"] == "reviewed"


def test_agenda_refusals(app, client, board, crew):
    url = f"{board.url}/agenda"
    still_open = client.post(url, json={"deal_id": board.open.id}, headers=crew.lead.h)
    assert still_open.status_code == 422 and "deal_id" in error_of(still_open)["fields"]
    assert client.post(url, json={}, headers=crew.lead.h).status_code == 422
    assert (
        client.post(url, json={"deal_id": board.foreign.id}, headers=crew.lead.h).status_code == 404
    )
    foreign = client.post(url, json={"deal_id": board.foreign.id}, headers=crew.head.h)
    assert foreign.status_code == 422  # a head sees it, but it is another team's deal
    assert (
        client.post(url, json={"deal_id": board.lost.id}, headers=crew.kozlov.h).status_code == 403
    )
    assert client.delete(f"{url}/{board.deal.id}", headers=crew.kozlov.h).status_code == 403
    assert (
        client.post(url, json={"deal_id": board.lost.id}, headers=crew.rival.h).status_code == 404
    )
    assert client.post(f"{API}/meetings/999999/agenda", json={"deal_id": board.lost.id},
                       headers=crew.lead.h).status_code == 404  # fmt: skip
    client.post(f"{board.url}/close", headers=crew.lead.h)
    closed = client.post(url, json={"deal_id": board.lost.id}, headers=crew.lead.h)
    assert closed.status_code == 409 and error_of(closed)["code"] == "meeting_closed"
    assert client.delete(f"{url}/{board.other.id}", headers=crew.lead.h).status_code == 409
    with app.app_context():
        assert (
            db.session.scalar(
                select(db.func.count(MeetingItem.id)).where(MeetingItem.meeting_id == board.id)
            )
            == 2
        )


# --- action items ------------------------------------------------------------------------------


def test_action_items_are_added_ticked_and_carried_over(app, client, board, crew, review):
    url = f"{board.url}/action-items"
    created = client.post(url, json={"text": "Обновить КП для логистики", "review_id": review.id,
                                     "owner_email": crew.kozlov.email.upper(),
                                     "due_date": "2026-03-13"},
                          headers=crew.lead.h)  # fmt: skip
    assert created.status_code == 201
    item = created.get_json()
    assert {k: v for k, v in item.items() if k != "id"} == {
        "meeting_id": board.id, "review_id": review.id, "text": "Обновить КП для логистики",
        "owner_email": crew.kozlov.email, "due_date": "2026-03-13", "done": False, "done_at": None,
    }  # fmt: skip
    general = client.post(url, json={"text": "Собрать кейсы по логистике"}, headers=crew.lead.h)
    assert general.status_code == 201 and general.get_json()["review_id"] is None
    meeting = client.get(board.url, headers=crew.lead.h).get_json()
    assert [a["text"] for a in meeting["action_items"]] == [
        "Обновить КП для логистики", "Собрать кейсы по логистике",
    ]  # fmt: skip
    assert [a["text"] for a in meeting["reviews"][0]["action_items"]] == [
        "Обновить КП для логистики"
    ]

    next_week = client.post(f"{API}/meetings", json={"team": "Москва", "week": "2026-W11"},
                            headers=crew.lead.h).get_json()  # fmt: skip
    assert [a["text"] for a in next_week["carried_over"]] == [
        "Обновить КП для логистики", "Собрать кейсы по логистике",
    ]  # fmt: skip

    item_url = f"{API}/action-items/{item['id']}"
    assert client.patch(item_url, json={"done": True}, headers=crew.sokolova.h).status_code == 403
    assert client.patch(item_url, json={"done": True}, headers=crew.rival.h).status_code == 404
    bad = client.patch(item_url, json={"done": "да"}, headers=crew.kozlov.h)
    assert bad.status_code == 422 and "done" in error_of(bad)["fields"]
    ticked = client.patch(item_url, json={"done": True}, headers=crew.kozlov.h)  # its owner
    assert ticked.status_code == 200
    assert ticked.get_json()["done"] is True and ticked.get_json()["done_at"]
    assert client.patch(f"{API}/action-items/999999", json={"done": True},
                        headers=crew.lead.h).status_code == 404  # fmt: skip

    third = client.post(f"{API}/meetings", json={"team": "Москва", "week": "2026-W12"},
                        headers=crew.lead.h).get_json()  # fmt: skip
    assert [a["text"] for a in third["carried_over"]] == ["Собрать кейсы по логистике"]
    reopened = client.patch(item_url, json={"done": False}, headers=crew.lead.h)
    assert reopened.get_json() | {"id": 0} == {**item, "id": 0}
    third = client.get(f"{API}/meetings/{third['id']}", headers=crew.lead.h).get_json()
    assert len(third["carried_over"]) == 2


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"text": ""}, 422, "text"),
        ({"text": "   "}, 422, "text"),
        ({"text": 5}, 422, "text"),
        ({"text": "Позвонить", "due_date": "13.03.2026"}, 422, "due_date"),
        ({"text": "Позвонить", "owner_email": "nobody@tehpromsnab.ru"}, 422, "owner_email"),
        ({"text": "Позвонить", "owner_email": "POPOVA"}, 422, "owner_email"),
        ({"text": "Позвонить", "review_id": 999_999}, 404, None),
        ({"text": "Позвонить", "review_id": "x"}, 422, "review_id"),
    ],
)
def test_invalid_action_items(app, client, board, crew, payload, status, field):
    if payload.get("owner_email") == "POPOVA":
        payload = {**payload, "owner_email": crew.popova.email}  # another team's manager
    response = client.post(f"{board.url}/action-items", json=payload, headers=crew.lead.h)
    assert response.status_code == status
    if field:
        assert field in error_of(response)["fields"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ActionItem.id))) == 0


def test_who_may_add_action_items(app, client, board, crew, review):
    url = f"{board.url}/action-items"
    assert client.post(url, json={"text": "Моё"}, headers=crew.kozlov.h).status_code == 403
    own = client.post(url, json={"text": "Отправить КП v3", "review_id": review.id},
                      headers=crew.kozlov.h)  # fmt: skip
    assert own.status_code == 201  # on the review of his own deal
    theirs = client.post(
        url, json={"text": "Чужое", "review_id": review.id}, headers=crew.sokolova.h
    )
    assert theirs.status_code == 403
    assert client.post(url, json={"text": "Чужое"}, headers=crew.rival.h).status_code == 404
    extra = client.post(f"{API}/meetings", json={"team": "Москва", "week": WEEK, "adhoc": True},
                        headers=crew.lead.h).get_json()  # fmt: skip
    elsewhere = client.post(f"{API}/meetings/{extra['id']}/action-items",
                            json={"text": "Не та планёрка", "review_id": review.id},
                            headers=crew.lead.h)  # fmt: skip
    assert elsewhere.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(ActionItem.text)).all() == ["Отправить КП v3"]


# --- drafts -----------------------------------------------------------------------------------


def test_drafts_capture_objections_and_moves_linked_to_the_deal(app, client, board, crew):
    url = f"{board.url}/drafts"
    objection = client.post(url, json={"deal_id": board.deal.id, "kind": "objection",
                                       "title": "У нас уже есть поставщик",
                                       "body": "Ответ: сравнили сроки поставки"},
                            headers=crew.lead.h)  # fmt: skip
    assert objection.status_code == 201
    body = objection.get_json()
    assert (body["kind"], body["status"], body["version"], body["tags"]) == (
        "objection", "draft", 1, ["планёрка"],
    )  # fmt: skip
    assert body["title"] == "У нас уже есть поставщик"
    assert body["body"].startswith("Ответ: сравнили сроки поставки")
    assert "Компрессоры для склада в Подольске" in body["body"]
    move = client.post(url, json={"deal_id": board.deal.id, "kind": "move",
                                  "title": "Демо на складе клиента"},
                       headers=crew.kozlov.h)  # fmt: skip
    assert move.status_code == 201 and move.get_json()["kind"] == "technique"
    assert move.get_json()["owner"] == crew.kozlov.email
    with app.app_context():
        rows = db.session.execute(
            select(SalesTool.title, SalesTool.origin_meeting_id, SalesTool.origin_deal_id)
            .where(SalesTool.origin_meeting_id.is_not(None)).order_by(SalesTool.id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("У нас уже есть поставщик", board.id, board.deal.id),
        ("Демо на складе клиента", board.id, board.deal.id),
    ]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"kind": "objection", "title": "Дорого"}, 422, "deal_id"),
        ({"deal_id": "DEAL", "kind": "script", "title": "Дорого"}, 422, "kind"),
        ({"deal_id": "DEAL", "title": "Дорого"}, 422, "kind"),
        ({"deal_id": "DEAL", "kind": "objection"}, 422, "title"),
        ({"deal_id": "DEAL", "kind": "objection", "title": "Д" * 201}, 422, "title"),
        ({"deal_id": "DEAL", "kind": "objection", "title": "Дорого", "body": 5}, 422, "body"),
        ({"deal_id": "OTHER", "kind": "objection", "title": "Дорого", "as": "kozlov"}, 404, None),
        ({"deal_id": "DEAL", "kind": "objection", "title": "Дорого", "as": "rival"}, 404, None),
        ({"deal_id": "OPEN", "kind": "objection", "title": "Дорого"}, 422, "deal_id"),
    ],
)
def test_invalid_drafts(app, client, board, crew, payload, status, field):
    payload = dict(payload)
    headers = getattr(crew, payload.pop("as", "lead")).h
    ids = {"DEAL": board.deal.id, "OTHER": board.other.id, "OPEN": board.open.id}
    if payload.get("deal_id") in ids:
        payload["deal_id"] = ids[payload["deal_id"]]
    response = client.post(f"{board.url}/drafts", json=payload, headers=headers)
    assert response.status_code == status
    if field:
        assert field in error_of(response)["fields"]
    with app.app_context():
        assert (
            db.session.scalar(
                select(db.func.count(SalesTool.id)).where(SalesTool.origin_meeting_id.is_not(None))
            )
            == 0
        )


def test_closed_meeting_takes_no_drafts(client, board, crew):
    client.post(f"{board.url}/close", headers=crew.lead.h)
    response = client.post(f"{board.url}/drafts",
                           json={"deal_id": board.deal.id, "kind": "move", "title": "Поздно"},
                           headers=crew.lead.h)  # fmt: skip
    assert response.status_code == 409 and error_of(response)["code"] == "meeting_closed"


# --- the proven-tool count ---------------------------------------------------------------------


def test_uses_in_won_deals_counts_distinct_won_deals_where_the_tool_was_tagged(client, board, crew):
    spin = board.spin.id
    for deal in (board.deal, board.other, board.lost):
        response = client.post(f"{board.url}/reviews", json={"deal_id": deal.id, "tools": [spin]},
                               headers=crew.lead.h)  # fmt: skip
        assert response.status_code == 201
    extra = client.post(f"{API}/meetings", json={"team": "Москва", "week": WEEK, "adhoc": True},
                        headers=crew.lead.h).get_json()  # fmt: skip
    client.post(f"{API}/meetings/{extra['id']}/reviews",
                json={"deal_id": board.deal.id, "tools": [spin]}, headers=crew.lead.h)  # fmt: skip

    assert (
        client.get(f"{API}/tools/{spin}", headers=crew.kozlov.h).get_json()["uses_in_won_deals"]
        == 2
    )
    kp = client.get(f"{API}/tools/{board.kp.id}", headers=crew.kozlov.h).get_json()
    assert kp["uses_in_won_deals"] == 0


# --- every endpoint: authentication and malformed bodies -----------------------------------------


def endpoints(board, review_id: int, action_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"{API}/meetings"),
        ("POST", f"{API}/meetings"),
        ("GET", board.url),
        ("POST", f"{board.url}/reviews"),
        ("GET", f"{API}/reviews/{review_id}"),
        ("PATCH", f"{API}/reviews/{review_id}"),
        ("POST", f"{board.url}/close"),
        ("POST", f"{board.url}/agenda"),
        ("DELETE", f"{board.url}/agenda/{board.deal.id}"),
        ("POST", f"{board.url}/action-items"),
        ("PATCH", f"{API}/action-items/{action_id}"),
        ("POST", f"{board.url}/drafts"),
    ]


def test_every_endpoint_wants_a_token_and_json(app, client, board, crew, review):
    action = client.post(
        f"{board.url}/action-items", json={"text": "Позвонить"}, headers=crew.lead.h
    )
    for method, url in endpoints(board, review.id, action.get_json()["id"]):
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, (method, url)
        assert error_of(response)["code"] == "unauthorized"
        if method in ("POST", "PATCH") and not url.endswith("/close"):
            malformed = client.open(url, method=method, data=b"[1, 2]", headers={
                **crew.lead.h, "Content-Type": "application/json"})  # fmt: skip
            assert malformed.status_code == 400, (method, url)
    assert client.get(board.url, headers=crew.lead.h).get_json()["status"] == "open"
    assert stored(app, review.id)["lesson"] == "Исходный вывод"


def test_lesson_html_is_sanitised(client, board, crew):
    hostile = (
        '<script>alert("xss")</script>\n\n<img src="x" onerror="alert(1)">\n\n'
        "[ссылка](javascript:alert(2))\n\n**жирный вывод**"
    )
    body = client.post(f"{board.url}/reviews", json={"deal_id": board.deal.id, "lesson": hostile},
                       headers=crew.lead.h).get_json()  # fmt: skip
    assert body["lesson"] == hostile  # stored as written
    html = body["lesson_html"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "<strong>жирный вывод</strong>" in html


def test_a_team_given_in_other_digits_is_a_422_not_a_crash(client, crew):
    response = client.get(f"{API}/meetings?team=²", headers=crew.head.h)
    assert response.status_code == 422
