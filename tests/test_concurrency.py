"""Four gunicorn workers writing at once: no "database is locked", no lost write."""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .live_gunicorn import ADMIN, PASSWORD, LiveGunicorn


@pytest.fixture
def server(tmp_path):
    live = LiveGunicorn(tmp_path, workers=4, GUNICORN_THREADS=4)
    live.prepare()
    live.start()
    try:
        yield live
    finally:
        live.stop()


def test_concurrent_writes_through_four_workers_lose_nothing(server):
    today = dt.date.today().isoformat()
    tools = [
        server.api(
            "POST", "/tools", json={"kind": "script", "title": f"Скрипт {n}", "body": "Текст"}
        )
        for n in range(4)
    ]
    assert all(r.status_code == 201 for r in tools), [r.text for r in tools]
    tool_ids = [r.json()["id"] for r in tools]
    lock = threading.Lock()
    acknowledged: dict[str, list] = {"deals": [], "tools": [], "edits": [], "sends": []}
    failures: list[str] = []

    def check(response: requests.Response, what: str) -> bool:
        if response.status_code >= 500 or "database is locked" in response.text:
            with lock:
                failures.append(f"{what}: {response.status_code} {response.text[:200]}")
            return False
        return True

    def worker(n: int) -> None:
        for i in range(3):
            r = server.api("POST", "/deals", json={
                "title": f"Сделка {n}-{i}", "client": f"ООО {n}", "manager_email": ADMIN,
                "status": "won", "closed_at": today, "external_id": f"C-{n}-{i}"})  # fmt: skip
            if check(r, "deal") and r.status_code == 201:
                deal_id = r.json()["id"]
                with lock:
                    acknowledged["deals"].append(f"C-{n}-{i}")
                s = server.api("POST", f"/deals/{deal_id}/proposal-sends",
                               json={"tool_id": tool_ids[n % 4], "sent_at": today})  # fmt: skip
                if check(s, "send") and s.status_code == 201:
                    with lock:
                        acknowledged["sends"].append(s.json()["id"])
            t = server.api("POST", "/tools", json={
                "kind": "technique", "title": f"Приём {n}-{i}", "body": "Описание"})  # fmt: skip
            if check(t, "tool") and t.status_code == 201:
                with lock:
                    acknowledged["tools"].append(t.json()["id"])
            e = server.api("PUT", f"/tools/{tool_ids[n % 4]}",
                           json={"title": f"Скрипт {n % 4} правка {n}-{i}", "body": f"Текст {n}-{i}",
                                 "change_note": "правка"})  # fmt: skip
            if check(e, "edit") and e.status_code == 200:
                with lock:
                    acknowledged["edits"].append((tool_ids[n % 4], e.json()["version"]))
            # A page POST and a GET that writes (the session's last-seen, a tool's views).
            browser = requests.Session()
            page = browser.get(f"{server.url}/login", timeout=60)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
            login = browser.post(f"{server.url}/login", timeout=60, allow_redirects=False,
                                 data={"email": ADMIN, "password": PASSWORD,
                                       "csrf_token": csrf.group(1) if csrf else ""})  # fmt: skip
            check(login, "login")
            check(browser.get(f"{server.url}/kb/{tool_ids[i % 4]}", timeout=60), "tool page")

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(worker, range(12)))

    assert failures == []
    log = server.log_text()
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
    deals = {row[0] for row in server.sql("SELECT external_id FROM deals")}
    assert set(acknowledged["deals"]) <= deals and len(acknowledged["deals"]) == 36
    sends = {row[0] for row in server.sql("SELECT id FROM proposal_sends")}
    assert set(acknowledged["sends"]) <= sends
    found = {row[0] for row in server.sql("SELECT id FROM sales_tools")}
    assert set(acknowledged["tools"]) <= found and len(acknowledged["tools"]) == 36
    for tool_id, version in acknowledged["edits"]:
        assert server.sql(
            "SELECT 1 FROM tool_versions WHERE tool_id = ? AND number = ?", tool_id, version
        )
