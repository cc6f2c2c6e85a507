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
