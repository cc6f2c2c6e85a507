"""Load shedding against a real threaded server: one slot, a request holding it."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db


@pytest.fixture
def busy_server(tmp_path):
    """A live server whose app admits one request; ``/test/hold`` keeps the slot until
    ``release`` is set. Yields (base URL, release event, held event, the middleware)."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shed.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "IMPORTS_DIR": str(tmp_path / "imports"),
            "LOAD_SHED_MAX_IN_FLIGHT": 1,
            "LOAD_SHED_WAIT_MS": 300,
            "LOAD_SHED_MAX_WAITING": 1,
            "LOAD_SHED_RETRY_AFTER": 3,
        }
    )
    with app.app_context():
        db.create_all()
    held, release = threading.Event(), threading.Event()

    def hold():
        held.set()
        release.wait(10)
        return "done"

    app.add_url_rule("/test/hold", "test_hold", hold)
    app.add_url_rule("/api/v1/test/hold", "test_api_hold", hold)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield base, release, held, app.extensions["load_shedding"]
    finally:
        release.set()
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@dataclass
class Reply:
    status_code: int
    headers: dict
    text: str
    seconds: float

    def json(self):
        return json.loads(self.text)


def get(url: str, headers: dict | None = None, timeout: float = 5) -> Reply:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=timeout) as r:  # fmt: skip
            status, head, body = r.status, r.headers, r.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, error.headers, error.read()
    return Reply(status, head, body.decode(), time.perf_counter() - started)


def occupy(base: str, held: threading.Event, path: str = "/test/hold") -> threading.Thread:
    """Start a request that takes the only slot; return once the app is inside it."""
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("r", get(base + path, timeout=15)), daemon=True
    )
    thread.result = result
    thread.start()
    assert held.wait(5), "the holding request never reached the app"
    return thread


def test_request_beyond_the_limit_gets_503_with_retry_after(busy_server):
    base, release, held, _ = busy_server
    holder = occupy(base, held)

    response = get(base + "/login", headers={"Accept-Language": "en"}, timeout=5)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert "text/html" in response.headers["Content-Type"]
    assert "The portal is busy right now" in response.text
    release.set()
    holder.join(5)
    assert holder.result["r"].status_code == 200


def test_busy_page_is_translated(busy_server):
    base, release, held, _ = busy_server
    occupy(base, held)

    response = get(base + "/login", headers={"Accept-Language": "ru"}, timeout=5)

    assert response.status_code == 503
    assert "Портал сейчас перегружен" in response.text


def test_api_gets_json_error_when_busy(busy_server):
    base, release, held, _ = busy_server
    occupy(base, held)

    response = get(base + "/api/v1/tools", timeout=5)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"] and error["fields"] == {}


def test_healthz_and_static_answer_while_saturated(busy_server):
    base, release, held, shedding = busy_server
    occupy(base, held)

    health = get(base + "/healthz", timeout=5)
    static = get(base + "/static/vendor/htmx-2.0.11.min.js", timeout=5)

    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert static.status_code == 200
    assert shedding.shed == 0


def test_waiting_request_is_served_when_a_slot_frees_in_time(busy_server):
    base, release, held, shedding = busy_server
    occupy(base, held)
    threading.Timer(0.1, release.set).start()  # well within LOAD_SHED_WAIT_MS (300 ms)

    response = get(base + "/login", timeout=5)

    assert response.status_code == 200
    assert shedding.shed == 0


def test_too_many_waiting_are_shed_at_once(busy_server):
    base, release, held, shedding = busy_server
    occupy(base, held)
    waiter = threading.Thread(
        target=lambda: get(base + "/login", timeout=5), daemon=True
    )  # takes the only waiting place (LOAD_SHED_MAX_WAITING = 1) and is shed after 300 ms
    waiter.start()
    while shedding.waiting < 1:
        threading.Event().wait(0.005)

    response = get(base + "/login", timeout=5)

    assert response.status_code == 503
    assert response.seconds < 0.25  # not held for the 300 ms wait
    waiter.join(5)
    assert shedding.shed == 2


def test_slot_is_freed_after_each_response(busy_server):
    base, release, held, shedding = busy_server
    release.set()

    statuses = [get(base + "/login", timeout=5).status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert shedding.shed == 0
    # The server releases the slot once the response is sent, just after the client has it.
    deadline = time.monotonic() + 2
    while not shedding.slots.acquire(blocking=False):
        assert time.monotonic() < deadline, "the slot was never given back"
        time.sleep(0.01)
    shedding.slots.release()
