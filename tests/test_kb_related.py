"""Related tools on a tool page: the shortcuts give the same answer as counting every overlap."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.kb import services as kb
from portal.models import SalesTool, Segment, Tag, User
from portal.models.base import utcnow
from portal.policy import can

TAGS = ["холодный звонок", "возражения", "КП", "SPIN", "логистика", "повторная продажа"]
SEGMENTS = ["Производство", "Ритейл", "HoReCa", "Логистика"]


def brute_force(user, tool, limit=5):
    """Every visible, unarchived other tool scored by shared tags + segments, in Python."""
    mine = {("t", t.id) for t in tool.tags} | {("s", s.id) for s in tool.segments}
    ranked = []
    for other in db.session.scalars(db.select(SalesTool)):
        if other.id == tool.id or other.status == "archived" or not can(user, "tool.view", other):
            continue
        theirs = {("t", t.id) for t in other.tags} | {("s", s.id) for s in other.segments}
        shared = len(mine & theirs)
        if shared:
            ranked.append((-shared, other.status, -other.updated_at.timestamp(), other.id))
    ranked.sort()
    return [row[3] for row in ranked[:limit]]


@pytest.fixture
def library(app, make):
    """120 tools with random tags and segments, distinct update times, some drafts and archived."""
    lead = make.user(role="lead", team="Москва")
    manager = make.user(role="manager", team="Москва")
    rnd = random.Random(5)
    with app.app_context():
        tags = [Tag(name=n) for n in TAGS]
        segments = [Segment(name=n) for n in SEGMENTS]
        db.session.add_all(tags + segments)
        now = utcnow()
        owners = [db.session.get(User, lead.id), db.session.get(User, manager.id)]
        for i in range(120):
            tool = SalesTool(
                kind="script", title=f"Инструмент {i}", body="", owner=rnd.choice(owners),
                status=rnd.choices(["approved", "draft", "archived"], [6, 3, 1])[0],
                updated_at=now - timedelta(minutes=i * 7 % 120),
            )  # fmt: skip
            tool.tags = rnd.sample(tags, rnd.choice([0, 1, 2, 2, 3]))
            tool.segments = rnd.sample(segments, rnd.choice([0, 1, 1, 2]))
            db.session.add(tool)
        db.session.commit()
    return {"lead": lead, "manager": manager}


@pytest.mark.parametrize("who", ["lead", "manager"])
def test_related_tools_match_the_full_overlap_ranking(app, library, who):
    with app.app_context():
        user = db.session.get(User, library[who].id)
        tools = list(db.session.scalars(db.select(SalesTool).order_by(SalesTool.id)))
        shortcut_hits = 0
        for tool in tools:
            expected = brute_force(user, tool)
            assert [t.id for t in kb.related_tools(user, tool)] == expected, tool.title
            parts = len(tool.tags) + len(tool.segments)
            if expected and parts > 1:
                shortcut_hits += 1
        assert shortcut_hits > 40  # the data exercises the multi-part paths, not only the easy one


def test_a_tool_without_tags_or_segments_has_no_related_tools(app, library):
    with app.app_context():
        user = db.session.get(User, library["lead"].id)
        lonely = SalesTool(kind="script", title="Одинокий", body="", status="approved")
        db.session.add(lonely)
        db.session.commit()
        assert kb.related_tools(user, lonely) == []


@pytest.fixture
def cached(app):
    """The production profile's per-worker ranking cache, on for one test."""
    app.config["RELATED_TOOLS_CACHE_SECONDS"] = 60
    app.extensions.pop("related_tools_cache", None)
    yield app.config
    app.config["RELATED_TOOLS_CACHE_SECONDS"] = 0


@pytest.mark.parametrize("who", ["lead", "manager"])
def test_kept_rankings_give_each_user_the_same_answer_as_counting(app, library, cached, who):
    with app.app_context():
        lead = db.session.get(User, library["lead"].id)
        user = db.session.get(User, library[who].id)
        tools = list(db.session.scalars(db.select(SalesTool).order_by(SalesTool.id)))
        for tool in tools:  # the other role first fills the cache with staff's ranking
            kb.related_tools(lead, tool)
        for tool in tools:
            assert [t.id for t in kb.related_tools(user, tool)] == brute_force(user, tool)
        assert len(app.extensions["related_tools_cache"]._ranked) == len(tools)


def test_when_the_kept_ranking_is_mostly_hidden_the_user_gets_their_own(app, make, cached):
    lead = make.user(role="lead", team="Москва")
    manager = make.user(role="manager", team="Москва")
    with app.app_context():
        tag, segment = Tag(name="возражения"), Segment(name="Производство")
        now = utcnow()

        def tool(title, status, owner_id, minutes, segments):
            made = SalesTool(kind="objection", title=title, body="", status=status,
                             owner_id=owner_id, updated_at=now - timedelta(minutes=minutes))  # fmt: skip
            made.tags, made.segments = [tag], segments
            db.session.add(made)
            return made

        page = tool("Возражение «Дорого»", "approved", lead.id, 0, [segment])
        for i in range(18):  # the lead's drafts share everything: they lead staff's ranking
            tool(f"Черновик {i}", "draft", lead.id, i, [segment])
        approved = [tool(f"Утверждённый {i}", "approved", lead.id, 100 + i, []) for i in range(6)]
        db.session.commit()
        seen_by_lead = [t.id for t in kb.related_tools(db.session.get(User, lead.id), page)]
        assert all(t.startswith("Черновик") for t in
                   db.session.scalars(db.select(SalesTool.title).where(SalesTool.id.in_(seen_by_lead))))  # fmt: skip
        user = db.session.get(User, manager.id)
        got = [t.id for t in kb.related_tools(user, page)]
        assert got == [t.id for t in approved[:5]] == brute_force(user, page)


def test_a_kept_ranking_lags_new_tags_for_its_time_but_never_shows_an_archived_tool(
    app, make, cached
):
    lead = make.user(role="lead", team="Москва")
    with app.app_context():
        user = db.session.get(User, lead.id)
        tag = Tag(name="повторная продажа")
        tools = []
        for i in range(4):
            tools.append(SalesTool(kind="script", title=f"Скрипт {i}", body="", status="approved"))
            tools[-1].tags = [tag]
        db.session.add_all(tools)
        db.session.commit()
        page, first = tools[0], [t.id for t in tools[1:]]
        assert {t.id for t in kb.related_tools(user, page)} == set(first)

        newcomer = SalesTool(kind="script", title="Новый скрипт", body="", status="approved")
        newcomer.tags = [tag]
        db.session.add(newcomer)
        tools[1].status = "archived"
        db.session.commit()
        kept = {t.id for t in kb.related_tools(user, page)}
        assert kept == set(first) - {tools[1].id}  # archived at once; the newcomer waits

        cached["RELATED_TOOLS_CACHE_SECONDS"] = 1e-9  # the kept ranking has expired
        assert {t.id for t in kb.related_tools(user, page)} == set(first[1:]) | {newcomer.id}
