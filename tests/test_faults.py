"""kill -9 of a gunicorn worker in the middle of a write: nothing half-done, nothing lost."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time

import pytest
import requests

from .live_gunicorn import ADMIN, LiveGunicorn


@pytest.fixture
def crashable(tmp_path, request):
    point = request.param
    live = LiveGunicorn(tmp_path, workers=2, PLANERKA_FAULT_PAUSE=f"{point}:30",
                        PLANERKA_FAULT_MARKER=str(tmp_path / "paused"))  # fmt: skip
    live.prepare()
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _kill_when_paused(live: LiveGunicorn, send) -> requests.Response | Exception:
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(_try(send)), daemon=True)
    thread.start()
    marker = live.tmp / "paused"
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the worker never reached the checkpoint\n" + live.log_text()[-2000:]
    time.sleep(0.1)
    os.kill(int(marker.read_text().split()[0]), signal.SIGKILL)
    thread.join(30)
    return outcome[0]


def _try(send):
    try:
        return send()
    except requests.RequestException as error:
        return error


def _consistent(live: LiveGunicorn) -> None:
    assert live.sql("PRAGMA integrity_check") == [("ok",)]


@pytest.mark.parametrize("crashable", ["tool.before_commit"], indirect=True)
def test_worker_killed_before_a_tool_save_commits_leaves_no_trace(crashable):
    live = crashable
    result = _kill_when_paused(
        live,
        lambda: live.api(
            "POST", "/tools", json={"kind": "script", "title": "Убитый скрипт", "body": "Текст"}
        ),  # fmt: skip
    )
    assert not isinstance(result, requests.Response) or result.status_code >= 500
    _consistent(live)
    assert live.sql("SELECT count(*) FROM sales_tools") == [(0,)]
    assert live.sql("SELECT count(*) FROM search_outbox") == [(0,)]
    # The portal goes on: the next save is acknowledged and found.
    saved = live.api(
        "POST", "/tools", json={"kind": "script", "title": "Живой скрипт", "body": "Т"}
    )
    assert saved.status_code == 201
    found = live.api("GET", "/search", params={"q": "живой"}).json()
    assert [hit["id"] for hit in found["results"]] == [saved.json()["id"]]


@pytest.mark.parametrize("crashable", ["index.before_commit"], indirect=True)
def test_worker_killed_in_an_index_commit_loses_no_acknowledged_save(crashable):
    live = crashable
    result = _kill_when_paused(
        live,
        lambda: live.api(
            "POST",
            "/tools",
            json={"kind": "script", "title": "Компрессорный скрипт", "body": "Текст"},
        ),  # fmt: skip
    )
    _consistent(live)
    # The database committed before the index write: the tool is there, its outbox row waits.
    assert live.sql("SELECT title FROM sales_tools") == [("Компрессорный скрипт",)]
    assert live.sql("SELECT count(*) FROM search_outbox") == [(1,)]
    del result
    # The next save applies the pending row too: both are found.
    other = live.api(
        "POST", "/tools", json={"kind": "script", "title": "Второй скрипт", "body": "Т"}
    )
    assert other.status_code == 201
    # The next save applies the pending row too (or, when the killed writer's leftovers made
    # that write fail, the row waits for the next one; `flask reindex` is that next one).
    deadline = time.monotonic() + 5
    while live.sql("SELECT count(*) FROM search_outbox") != [(0,)]:
        if time.monotonic() > deadline:
            live.flask("reindex")
            break
        time.sleep(0.2)
    assert live.sql("SELECT count(*) FROM search_outbox") == [(0,)]
    found = live.api("GET", "/search", params={"q": "скрипт"}).json()
    assert len(found["results"]) == 2
    check = live.flask("check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("crashable", ["import.between_chunks"], indirect=True)
def test_worker_killed_between_import_chunks_imports_nothing(crashable, tmp_path):
    live = crashable
    rows = ["external_id,title,client,manager_email,status,closed_at"]
    rows += [f"IMP-{n},Сделка {n},ООО {n},{ADMIN},won,2026-11-20" for n in range(1200)]
    data = ("\n".join(rows) + "\n").encode()

    def send():
        return live.api("POST", "/deals/import", files={"file": ("deals.csv", data)},
                        data={"format": "generic"})  # fmt: skip

    result = _kill_when_paused(live, send)
    assert not isinstance(result, requests.Response) or result.status_code >= 500
    _consistent(live)
    # All or nothing: the first chunk was written in the killed transaction, and is gone.
    assert live.sql("SELECT count(*) FROM deals WHERE external_id LIKE 'IMP-%'") == [(0,)]
    again = send()
    assert again.status_code == 200, again.text
    assert live.sql("SELECT count(*) FROM deals WHERE external_id LIKE 'IMP-%'") == [(1200,)]


@pytest.mark.parametrize("crashable", ["review.before_commit"], indirect=True)
def test_worker_killed_in_a_review_save_leaves_the_meeting_as_it_was(crashable):
    live = crashable
    tool = live.api("POST", "/tools", json={"kind": "script", "title": "Скрипт", "body": "Т"})
    deal = live.api("POST", "/deals", json={"title": "Сделка", "client": "ООО",
                                            "manager_email": ADMIN, "status": "won",
                                            "closed_at": dt.date.today().isoformat()})  # fmt: skip
    meeting = live.api("POST", "/meetings", json={"team": "Москва"})
    assert (tool.status_code, deal.status_code, meeting.status_code) == (201, 201, 201)
    url = f"/meetings/{meeting.json()['id']}/reviews"
    payload = {"deal_id": deal.json()["id"], "tools": [{"tool_id": tool.json()["id"]}],
               "lesson": "Сроки важнее цены"}  # fmt: skip
    result = _kill_when_paused(live, lambda: live.api("POST", url, json=payload))
    assert not isinstance(result, requests.Response) or result.status_code >= 500
    _consistent(live)
    assert live.sql("SELECT count(*) FROM deal_reviews") == [(0,)]
    saved = live.api("POST", url, json=payload)
    assert saved.status_code == 201, saved.text
    review = live.api("GET", f"/reviews/{saved.json()['id']}").json()
    assert review["lesson"] == "Сроки важнее цены"
