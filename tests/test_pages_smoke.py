"""Every page, as every role, on the demo company: nothing answers 500."""

from __future__ import annotations

import pytest

from portal.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.models import Deal, SalesTool, Team, User

ROLES = {
    "admin": "admin@tehpromsnab.ru",
    "head": "i.sokolova@tehpromsnab.ru",
    "lead": "a.morozov@tehpromsnab.ru",
    "manager": "d.kozlov@tehpromsnab.ru",
}


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        tool = db.session.scalar(db.select(SalesTool).where(SalesTool.version > 1))
        deal = db.session.scalar(
            db.select(Deal).where(Deal.manager.has(User.email == ROLES["manager"]))
        )
        return {
            "tool": tool.id,
            "tool_version": tool.version,
            "deal": deal.id,
            "team": db.session.scalar(db.select(Team.id)),
            "user": db.session.scalar(db.select(User.id)),
        }


def pages(ids) -> list[str]:
    return [
        "/", "/profile", "/kb", "/kb?kind=proposal&sort=views", "/kb?needs_review=1", "/kb/new",
        f"/kb/{ids['tool']}", f"/kb/{ids['tool']}/edit", f"/kb/{ids['tool']}/versions/1",
        f"/kb/{ids['tool']}/diff?a=1&b={ids['tool_version']}", "/search?q=возражение дорого",
        "/search?q=возрожение", "/kb/search-analytics", "/admin/synonyms", "/admin/users",
        "/admin/users/new", f"/admin/users/{ids['user']}", "/admin/teams", f"/admin/teams/{ids['team']}",
        "/admin/stages", "/deals", "/deals?status=won&sort=amount", "/deals/new",
        f"/deals/{ids['deal']}", f"/deals/{ids['deal']}/edit", "/deals/import", "/healthz",
    ]  # fmt: skip


@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_fails_for_any_role(client, demo, role):
    response = client.post("/login", data={"email": ROLES[role], "password": DEMO_PASSWORD})
    assert response.status_code == 302
    failures = []
    for path in pages(demo):
        status = client.get(path).status_code
        if status >= 500 or status not in (200, 403, 404):
            failures.append((path, status))
    assert failures == []


def test_anonymous_pages_redirect_to_login(client, demo):
    for path in pages(demo):
        response = client.get(path)
        if path == "/healthz":
            assert response.status_code == 200
        else:
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login")
