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
        kept = app.extensions["related_tools_cache"]._ranked
        assert len(kept) == sum(1 for t in tools if t.tags or t.segments) + (
            0 if who == "lead" else sum(1 for t in tools if t.tags or t.segments)
        )


def test_readers_who_see_the_same_tools_share_a_ranking_and_others_get_their_own(app, make, cached):
    lead = make.user(role="lead", team="Москва")
    plain = make.user(role="manager", team="Москва")  # no drafts of their own
    author = make.user(role="manager", team="Москва")
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
        for i in range(3):  # drafts sharing everything: they lead the ranking of those who see them
            tool(f"Черновик руководителя {i}", "draft", lead.id, i, [segment])
        tool("Черновик менеджера", "draft", author.id, 1, [segment])
        for i in range(6):
            tool(f"Утверждённый {i}", "approved", lead.id, 100 + i, [])
        db.session.commit()
        readers = {who: db.session.get(User, u.id) for who, u in
                   (("lead", lead), ("plain", plain), ("author", author))}  # fmt: skip
        for _ in range(2):  # once to rank, once from what was kept
            for who, user in readers.items():
                got = [t.id for t in kb.related_tools(user, page)]
                assert got == brute_force(user, page), who
        kept = app.extensions["related_tools_cache"]._ranked
        assert {key[2] for key in kept} == {"staff", "published"}  # managers share one
        titles = [t.title for t in kb.related_tools(readers["author"], page)]
        assert titles[0] == "Черновик менеджера" and "Черновик руководителя 0" not in titles


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
