"""Tool views and the search query log, written in the request or behind it
(portal/activity.py): counted once each, nothing lost when a write fails, written at exit."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from sqlalchemy import func, select

from portal.activity import MAX_PENDING_QUERIES, activity_log
from portal.extensions import db
from portal.models import SalesTool, SearchQueryLog
from tests.conftest import make_test_app, page_text
from tests.factories import DEFAULT_PASSWORD, Factory
from tests.live_gunicorn import LiveGunicorn


@pytest.fixture
def behind_app(tmp_path):
    """Written behind, with a flush interval long enough that only the test flushes."""
    app = make_test_app(tmp_path, ACTIVITY_FLUSH_SECONDS=3600, SQLITE_BUSY_TIMEOUT_MS=100)
    yield app
    activity_log_of(app).close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def activity_log_of(app):
    with app.app_context():
        return activity_log()


def _signed_in(app):
    make = Factory(app)
    user = make.user(role="manager")
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client, make, user


def _stored_views(app, tool_id: int) -> tuple[int, object]:
    with app.app_context():
        tool = db.session.get(SalesTool, tool_id)
        return tool.view_count, tool.last_viewed_at


def _logged_queries(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(SearchQueryLog.query, SearchQueryLog.normalized, SearchQueryLog.results)
            .order_by(SearchQueryLog.id)
        ).all()  # fmt: skip
        return [tuple(row) for row in rows]


def test_in_the_request_by_default(app, client, make, sign_in):
    user = sign_in("manager")
    tool = make.tool(user, title="Скрипт холодного звонка")
    client.get(f"/kb/{tool.id}")
    assert _stored_views(app, tool.id)[0] == 1
    client.get("/search?q=холодные+звонки")
    assert [q[0] for q in _logged_queries(app)] == ["холодные звонки"]
    assert activity_log_of(app).writes_behind is False


def test_behind_the_request_counts_every_view_once_flushed(behind_app):
    client, make, user = _signed_in(behind_app)
    tool = make.tool(user, title="Скрипт холодного звонка")
    other = make.tool(user, title="КП для дистрибьютора")
    for expected in (1, 2, 3):
        page = page_text(client.get(f"/kb/{tool.id}"))
        # The page counts this process's views not yet written.
        assert re.search(rf"<dt>Просмотры</dt><dd>{expected}</dd>", page), expected
    client.get(f"/kb/{other.id}")
    assert _stored_views(behind_app, tool.id) == (0, None)

    log = activity_log_of(behind_app)
    assert log.flush() == 4
    count, last_viewed = _stored_views(behind_app, tool.id)
    assert count == 3 and last_viewed is not None
    assert _stored_views(behind_app, other.id)[0] == 1
    assert log.flush() == 0  # nothing written twice
    assert _stored_views(behind_app, tool.id)[0] == 3


def test_behind_the_request_logs_queries_in_order_once_flushed(behind_app):
    client, _make, _user = _signed_in(behind_app)
    for text in ("возражение дорого", "  скидка за объём ", "ТКП на поставку"):
        assert client.get("/search", query_string={"q": text}).status_code == 200
    assert _logged_queries(behind_app) == []
    activity_log_of(behind_app).flush()
    logged = _logged_queries(behind_app)
    assert [q[0] for q in logged] == ["возражение дорого", "скидка за объём", "ТКП на поставку"]
    assert all(q[1] for q in logged)  # normalized for the analytics


def test_a_failed_write_keeps_the_activity_for_the_next(behind_app, tmp_path):
    client, make, user = _signed_in(behind_app)
    tool = make.tool(user, title="Чек-лист встречи")
    client.get(f"/kb/{tool.id}")
    client.get("/search?q=чек-лист")

    # Another connection holds the write lock longer than the busy timeout.
    blocker = sqlite3.connect(tmp_path / "planerka-test.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        log = activity_log_of(behind_app)
        assert log.flush() == 0
        client.get(f"/kb/{tool.id}")  # more activity meanwhile
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert log.flush() == 3
    assert _stored_views(behind_app, tool.id)[0] == 2
    assert [q[0] for q in _logged_queries(behind_app)] == ["чек-лист"]


def test_pending_queries_are_bounded(behind_app):
    log = activity_log_of(behind_app)
    for n in range(MAX_PENDING_QUERIES + 5):
        log._queries.append({"query": str(n)})  # cheap stand-ins; never written
    log.record_query("последний", "последн", None, 0)
    assert len(log._queries) == MAX_PENDING_QUERIES
    assert log._queries[-1]["query"] == "последний" and log._queries[0]["query"] == "6"
    log._queries.clear()


def test_the_thread_writes_within_its_interval(tmp_path):
    app = make_test_app(tmp_path, ACTIVITY_FLUSH_SECONDS=0.2)
    try:
        client, make, user = _signed_in(app)
        tool = make.tool(user, title="Скрипт")
        client.get(f"/kb/{tool.id}")
        deadline = time.monotonic() + 10
        while _stored_views(app, tool.id)[0] != 1:
            assert time.monotonic() < deadline, "the view was not written"
            time.sleep(0.05)
    finally:
        activity_log_of(app).close()
        with app.app_context():
            db.engine.dispose()


def test_gunicorn_workers_write_what_they_hold_when_stopped(tmp_path):
    """Production profile: a long interval, so only the workers' exit writes the views."""
    server = LiveGunicorn(tmp_path, workers=2, ACTIVITY_FLUSH_SECONDS=3600)
    server.prepare()
    server.start()
    try:
        created = server.api("POST", "/tools", json={
            "title": "Скрипт звонка после выставки", "kind": "script", "body": "Текст",
        })  # fmt: skip
        assert created.status_code == 201, created.text
        tool_id = created.json()["id"]
        session = _gunicorn_session(server)
        for _ in range(6):
            assert session.get(f"{server.url}/kb/{tool_id}", timeout=30).status_code == 200
        assert session.get(f"{server.url}/search?q=выставка", timeout=30).status_code == 200
        assert server.sql("SELECT view_count FROM sales_tools WHERE id = ?", tool_id) == [(0,)]
    finally:
        server.stop()
    assert server.sql("SELECT view_count FROM sales_tools WHERE id = ?", tool_id) == [(6,)]
    assert server.sql("SELECT query FROM search_queries") == [("выставка",)]


def _gunicorn_session(server: LiveGunicorn):
    import requests

    from tests.live_gunicorn import ADMIN, PASSWORD

    session = requests.Session()
    login_page = session.get(f"{server.url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    response = session.post(
        f"{server.url}/login",
        data={"email": ADMIN, "password": PASSWORD, "csrf_token": token},
        timeout=30,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return session


def test_many_views_of_one_tool_in_an_interval_add_up(behind_app):
    client, make, user = _signed_in(behind_app)
    tool = make.tool(user, title="Скрипт")
    for _ in range(25):
        activity_log_of(behind_app).record_view(tool.id)
    activity_log_of(behind_app).flush()
    with behind_app.app_context():
        assert db.session.scalar(select(func.sum(SalesTool.view_count))) == 25


def test_rows_the_database_refuses_are_dropped_not_retried_forever(behind_app):
    client, make, user = _signed_in(behind_app)
    tool = make.tool(user, title="Скрипт")
    log = activity_log_of(behind_app)
    log.record_query("запрос от удалённого", "запрос удалён", 987654, 0)  # no such user
    assert log.flush() == 0
    client.get(f"/kb/{tool.id}")
    assert log.flush() == 1  # the refused row did not come back to block the next write
    assert _stored_views(behind_app, tool.id)[0] == 1
    assert _logged_queries(behind_app) == []
