"""The search index deleted or corrupted under a running portal: pages work, search says
it is being rebuilt, and the rebuild brings the results back."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import requests

from .live_gunicorn import ADMIN, PASSWORD, LiveGunicorn

REBUILDING = "Поисковый индекс перестраивается"


@pytest.fixture
def live(tmp_path):
    # The rebuild pauses before its swap, so "rebuilding" can be seen for a moment.
    server = LiveGunicorn(tmp_path, workers=2, GUNICORN_THREADS=4,
                          PLANERKA_FAULT_PAUSE="index.before_swap:6",
                          PLANERKA_FAULT_MARKER=str(tmp_path / "paused"))  # fmt: skip
    server.prepare()
    (tmp_path / "paused").write_text("armed by the test\n")  # no pause until it is removed
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _browser(live: LiveGunicorn) -> requests.Session:
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    page = browser.get(f"{live.url}/login", timeout=30)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    signed_in = browser.post(f"{live.url}/login", timeout=30, allow_redirects=False,
                             data={"email": ADMIN, "password": PASSWORD, "csrf_token": csrf})  # fmt: skip
    assert signed_in.status_code in (302, 303), signed_in.text[:500]
    return browser


def _found(live: LiveGunicorn, text: str) -> list[int]:
    body = live.api("GET", "/search", params={"q": text}).json()
    return sorted(hit["id"] for hit in body["results"])


def _wait_until_found(live: LiveGunicorn, text: str, ids: list[int]) -> None:
    deadline = time.monotonic() + 30
    while _found(live, text) != ids:
        assert time.monotonic() < deadline, live.log_text()[-3000:]
        time.sleep(0.2)


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_pages_work_while_a_damaged_index_is_rebuilt(live, damage):
    tool = live.api("POST", "/tools", json={"kind": "script", "title": "Скрипт холодного звонка",
                                            "body": "Текст"}).json()  # fmt: skip
    meeting = live.api("POST", "/meetings", json={"team": "Москва"})
    assert meeting.status_code == 201, meeting.text
    _wait_until_found(live, "звонок", [tool["id"]])
    (live.tmp / "paused").unlink()
    expected = [tool["id"]]
    index_dir = Path(live.env["SEARCH_INDEX_DIR"])
    if damage == "deleted":
        shutil.rmtree(index_dir)
    else:
        for toc in index_dir.glob("*.toc"):
            toc.write_bytes(b"garbage")
        # Searchers already open keep answering from what they read; the next index write
        # opens the index, finds it corrupt and starts the rebuild.
        second = live.api("POST", "/tools", json={"kind": "script", "title": "Второй звонок",
                                                  "body": "Текст"})  # fmt: skip
        assert second.status_code == 201
        expected = sorted([expected[0], second.json()["id"]])
    api = live.api("GET", "/search", params={"q": "звонок"})
    assert api.status_code == 200 and api.json().get("rebuilding") is True
    browser = _browser(live)
    search = browser.get(f"{live.url}/search", params={"q": "звонок"}, timeout=30)
    assert search.status_code == 200 and REBUILDING in search.text
    for path in (f"/kb/{tool['id']}", "/deals", f"/meetings/{meeting.json()['id']}/present"):
        page = browser.get(f"{live.url}{path}", timeout=30)
        assert page.status_code == 200, (path, page.status_code)
    _wait_until_found(live, "звонок", expected)
    assert '"status": 5' not in live.log_text()  # no request failed
