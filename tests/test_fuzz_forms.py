"""Hostile input posted to the HTML forms (hypothesis): Cyrillic, control characters, NUL,
huge strings, RTL marks, HTML/script, formula prefixes, numbers as text, impossible dates.

Never a 500: either the form comes back (4xx) with a message, or what was stored is the
input as typed, normalised (trimmed, controls dropped) — and nothing stored is garbage.
Bounded: a few derandomised examples per form, no shrinking.
"""

from __future__ import annotations

import gc

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.extensions import db
from portal.models import Deal, SalesTool, Team, User
from portal.web.plain_text import clean_line

from .conftest import CsrfClient
from .factories import DEFAULT_PASSWORD
from .test_fuzz_api import _garbage

pytestmark = pytest.mark.usefixtures("fast_passwords")

NASTY = [
    "", " ", "\x00", "Компрессор\x00ВК-30", "\x01\x02\x1b[31m", "\t\r\n", "\u202eтекст RTL\u202c",
    "\u200f\u200b\ufeff", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
    "=HYPERLINK(\"http://evil\")", "+7 (495) 123-45-67", "-1", "@SUM(A1:A9)", "1e309", "NaN",
    "-0", "9" * 40, "1 250 000,50", "0x1F", "ж" * 5_000, "Ё" * 300, "2026-02-30", "0000-00-00",
    "9999-12-31T23:59", "-0001-01-01", "2026-11-27T25:61", "'; DROP TABLE deals; --",
    "{{ 7*7 }}", "%(name)s", "\ud7ff\ue000\U0010ffff", "> " * 200, "../../etc/passwd",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.sampled_from(NASTY)),
)
FUZZ = settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class ClosingClient(CsrfClient):
    """Reads and closes each response as a WSGI server would, so load shedding gets its
    slot back after every one of the many requests made here."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


def _client(app) -> ClosingClient:
    return ClosingClient(app, app.response_class, use_cookies=True)


def _is_form_error(response) -> bool:
    """A refused post: a 4xx page or fragment that tells the person why."""
    text = response.get_data(as_text=True)
    return 400 <= response.status_code < 500 and bool(text.strip())


@pytest.fixture
def world(app, make):
    team = make.team("Москва — промышленность")
    admin = make.user(role="admin", team=team)
    lead = make.user(role="lead", team=team)
    manager = make.user(role="manager", team=team)
    proposal = make.tool(lead, title="КП на компрессоры", kind="proposal")
    tool = make.tool(lead, title="Скрипт холодного звонка")
    deal = make.deal(manager)
    send = make.send(deal, proposal)
    with _client(app) as c:
        meeting = c.post(
            "/api/v1/meetings",
            json={"team": team.name},
            headers={"Authorization": f"Bearer {make.token(lead)}"},
        ).json
    clients = {}
    for role, user in (("admin", admin), ("lead", lead), ("manager", manager)):
        clients[role] = _client(app)
        response = clients[role].post(
            "/login", data={"email": user.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302
    yield {
        "clients": clients, "team": team, "lead": lead, "manager": manager, "admin": admin,
        "proposal": proposal, "tool": tool, "deal": deal, "send": send, "meeting": meeting,
    }  # fmt: skip
    from portal.search.service import get_engine

    with app.app_context():
        get_engine(app).close()
    gc.collect()


@pytest.fixture
def no_garbage(app):
    yield
    garbage = _garbage(app)
    assert not garbage, "\n".join(garbage)


def _ok(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert _is_form_error(response)
    return response


@pytest.mark.usefixtures("no_garbage")
def test_tool_forms_survive_hostile_input(app, world):
    lead = world["clients"]["lead"]
    manager = world["clients"]["manager"]

    @FUZZ
    @given(title=TEXT, summary=TEXT, body=TEXT, tags=TEXT, segments=TEXT, kind=TEXT,
           review_by=TEXT, as_manager=st.booleans())  # fmt: skip
    def post(title, summary, body, tags, segments, kind, review_by, as_manager):
        client = manager if as_manager else lead
        form = {"title": title, "summary": summary, "body": body, "tags": tags,
                "segments": segments, "review_by": review_by, "status": "draft",
                "kind": kind if kind else "script"}  # fmt: skip
        response = _ok(client.post("/kb/new", data=form))
        if response.status_code == 303:
            tool_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
            with app.app_context():
                tool = db.session.get(SalesTool, tool_id)
                assert tool.title == clean_line(title)
                assert tool.summary == clean_line(summary)
        edit = {**form, "title": title or "Скрипт", "change_note": summary or "правка",
                "base_version": "1"}  # fmt: skip
        _ok(client.post(f"/kb/{world['tool'].id}/edit", data=edit))
        _ok(client.post("/kb/preview", data={"body": body}))

    post()


@pytest.mark.usefixtures("no_garbage")
def test_deal_forms_survive_hostile_input(app, world):
    client = world["clients"]["manager"]
    manager = world["manager"]

    @FUZZ
    @given(title=TEXT, client_name=TEXT, segment=TEXT, amount=TEXT, stage=TEXT,
           status=st.sampled_from(["open", "won", "lost", "", "выиграна", "\x00"]),
           closed_at=TEXT, external_id=TEXT)  # fmt: skip
    def post(title, client_name, segment, amount, stage, status, closed_at, external_id):
        form = {"title": title, "client": client_name, "segment": segment, "amount": amount,
                "stage": stage, "status": status, "closed_at": closed_at,
                "external_id": external_id, "manager_id": str(manager.id)}  # fmt: skip
        response = _ok(client.post("/deals/new", data=form))
        if response.status_code == 303:
            deal_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
            with app.app_context():
                deal = db.session.get(Deal, deal_id)
                assert deal.title == clean_line(title)[:300]
                assert deal.client == clean_line(client_name)[:300]
        _ok(client.post(f"/deals/{world['deal'].id}/edit", data=form))

    post()


@pytest.mark.usefixtures("no_garbage")
def test_proposal_send_and_reaction_forms_survive_hostile_input(world):
    client = world["clients"]["lead"]
    deal, proposal, send = world["deal"], world["proposal"], world["send"]

    @FUZZ
    @given(version=TEXT, sent_at=TEXT, reaction=TEXT, reacted_at=TEXT, tool_id=TEXT,
           real_tool=st.booleans())  # fmt: skip
    def post(version, sent_at, reaction, reacted_at, tool_id, real_tool):
        _ok(client.post(f"/deals/{deal.id}/sends", data={
            "tool_id": str(proposal.id) if real_tool else tool_id, "version": version,
            "sent_at": sent_at, "reaction": reaction,
        }))  # fmt: skip
        _ok(client.post(f"/proposal-sends/{send.id}/reaction",
                        data={"reaction": reaction, "reacted_at": reacted_at}))  # fmt: skip

    post()


@pytest.mark.usefixtures("no_garbage")
def test_meeting_forms_survive_hostile_input(world):
    client = world["clients"]["lead"]
    meeting_id, deal_id = world["meeting"]["id"], world["deal"].id
    base = f"/meetings/{meeting_id}/deals/{deal_id}"
    headers = {"HX-Request": "true"}

    @FUZZ
    @given(lesson=TEXT, text=TEXT, owner_id=TEXT, due=TEXT, kind=TEXT, title=TEXT, body=TEXT,
           version=TEXT)  # fmt: skip
    def post(lesson, text, owner_id, due, kind, title, body, version):
        _ok(client.post(f"{base}/lesson", data={"lesson": lesson, "version": version},
                        headers=headers))  # fmt: skip
        _ok(client.post(f"{base}/actions", data={"text": text, "owner_id": owner_id,
                                                 "due_date": due}, headers=headers))  # fmt: skip
        _ok(client.post(f"{base}/capture", data={"kind": kind or "objection", "title": title,
                                                 "body": body}, headers=headers))  # fmt: skip
        _ok(client.post(f"/meetings/{meeting_id}/settings",
                        data={"title": title, "minutes_per_deal": version}))  # fmt: skip

    post()


def test_search_box_survives_hostile_input(world):
    client = world["clients"]["manager"]

    @FUZZ
    @given(q=TEXT, kind=TEXT)
    def search(q, kind):
        _ok(client.get("/search", query_string={"q": q, "kind": kind}))
        _ok(client.get("/kb", query_string={"q": q, "tag": kind, "sort": q}))

    search()


def test_login_survives_hostile_input(app):
    client = _client(app)

    @FUZZ
    @given(email=TEXT, password=TEXT, next_url=TEXT)
    def login(email, password, next_url):
        response = client.post(
            "/login", data={"email": email, "password": password, "next": next_url}
        )
        assert response.status_code in (401, 422, 429), response.status_code

    login()


@pytest.mark.usefixtures("no_garbage")
def test_profile_forms_survive_hostile_input(world):
    client = world["clients"]["manager"]

    @FUZZ
    @given(current=TEXT, new=TEXT, name=TEXT, lang=TEXT)
    def post(current, new, name, lang):
        _ok(client.post("/profile/password", data={
            "current_password": current, "new_password": new, "confirm_password": new,
        }))  # fmt: skip
        _ok(client.post("/profile/tokens", data={"name": name}))
        _ok(client.post("/language", data={"lang": lang, "next": name}))

    post()


@pytest.mark.usefixtures("no_garbage")
def test_admin_forms_survive_hostile_input(app, world):
    client = world["clients"]["admin"]
    team_id = world["team"].id

    @FUZZ
    @given(name=TEXT, email=TEXT, role=TEXT, password=TEXT, team_name=TEXT,
           valid_email=st.booleans())  # fmt: skip
    def post(name, email, role, password, team_name, valid_email):
        email = f"{abs(hash(email)) % 10**9}@tehpromsnab.ru" if valid_email else email
        form = {"name": name, "email": email, "role": role or "manager",
                "team_id": str(team_id), "locale": "ru", "password": password}  # fmt: skip
        response = _ok(client.post("/admin/users/new", data=form))
        if response.status_code in (302, 303):
            with app.app_context():
                user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
                assert user is not None and user.name == clean_line(name)
        _ok(client.post(f"/admin/users/{world['manager'].id}", data={**form,
                        "email": world["manager"].email}))  # fmt: skip
        response = _ok(client.post("/admin/teams", data={"name": team_name}))
        if response.status_code in (302, 303):
            with app.app_context():
                assert db.session.scalar(select(Team).where(Team.name == clean_line(team_name)))

    post()
