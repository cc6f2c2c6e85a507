"""Search benchmark: rebuild speed, warm search latency (in-process and over HTTP), saves.

    .venv/bin/python bench/search.py                 # 20,000 tools, 240 queries, 100 saves
    .venv/bin/python bench/search.py --docs 2000     # a quick run

Everything happens in a temporary directory (SQLite database, index): the tools of
``bench/corpus.py`` are inserted as SalesTool rows, the index is rebuilt from them the way
``flask --app wsgi reindex --full`` does, then queries are timed warm (each query ran once
before). Targets: search p95 ≤ 30 ms, rebuild ≥ 300 documents/s, save p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from bench.corpus import generate_tools, sample_queries  # noqa: E402
from portal import create_app  # noqa: E402
from portal.auth import services as accounts  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    Attachment,
    SalesTool,
    SearchOutbox,
    Segment,
    Tag,
    User,
)
from portal.models.base import utcnow  # noqa: E402
from portal.models.tools import tool_segments, tool_tags  # noqa: E402
from portal.search import service as search  # noqa: E402
from portal.search.types import SearchQuery  # noqa: E402

PASSWORD = "bench-password-123"


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return (
        f"p50 {pick(50):6.1f} ms   p95 {pick(95):6.1f} ms   p99 {pick(99):6.1f} ms   "
        f"max {ordered[-1]:6.1f} ms   mean {statistics.fmean(ordered):5.1f} ms   (n={len(ordered)})"
    )


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) // 1024 // 1024} GB RAM"
    except OSError:
        pass
    import whoosh

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; Whoosh-Reloaded {whoosh.versionstring()}"
    )


def make_app(workdir: Path):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
            "SEARCH_INDEX_DIR": str(workdir / "search_index"),
            "ATTACHMENTS_DIR": str(workdir / "attachments"),
            "SEARCH_REBUILD_IN_BACKGROUND": False,
        }
    )
    search.init_search(app)  # idempotent: the factory may already have done it
    return app


def insert_tools(count: int) -> tuple[list[User], str]:
    """Users, a lead's API token, and ``count`` tools inserted in bulk (no outbox rows)."""
    users = [
        accounts.create_user(f"manager{i}@bench.ru", f"Менеджер {i}", "manager", PASSWORD)
        for i in range(8)
    ]
    lead = accounts.create_user("lead@bench.ru", "Руководитель Группы", "lead", PASSWORD)
    _, token = accounts.create_api_token(lead, "bench")
    tag_ids: dict[str, int] = {}
    segment_ids: dict[str, int] = {}
    tools, links_tags, links_segments, attachments = [], [], [], []
    for number, spec in enumerate(generate_tools(count), start=1):
        tools.append(
            {
                "id": number,
                "kind": spec.kind,
                "title": spec.title,
                "summary": spec.summary,
                "body": spec.body,
                "status": spec.status,
                "version": 1,
                "owner_id": users[spec.owner_index].id,
                "created_at": spec.updated_at,
                "updated_at": spec.updated_at,
                "view_count": 0,
            }
        )
        for name in spec.tags:
            tag_ids.setdefault(name, len(tag_ids) + 1)
            links_tags.append({"tool_id": number, "tag_id": tag_ids[name]})
        for name in spec.segments:
            segment_ids.setdefault(name, len(segment_ids) + 1)
            links_segments.append({"tool_id": number, "segment_id": segment_ids[name]})
        if spec.attachment_text:
            digest = hashlib.sha256(spec.attachment_text.encode()).hexdigest()
            attachments.append(
                {
                    "tool_id": number,
                    "original_name": "Спецификация.pdf",
                    "stored_name": f"{number:08d}-{digest[:16]}.pdf",
                    "content_type": "application/pdf",
                    "size": len(spec.attachment_text),
                    "sha256": digest,
                    "extracted_text": spec.attachment_text,
                    "created_at": spec.updated_at,
                }
            )
    session = db.session
    session.execute(insert(Tag), [{"id": i, "name": n} for n, i in tag_ids.items()])
    session.execute(insert(Segment), [{"id": i, "name": n} for n, i in segment_ids.items()])
    for start in range(0, len(tools), 2000):
        session.execute(insert(SalesTool), tools[start : start + 2000])
    session.execute(insert(tool_tags), links_tags)
    session.execute(insert(tool_segments), links_segments)
    if attachments:
        session.execute(insert(Attachment), attachments)
    session.commit()
    return users, token


def bench_rebuild(count: int) -> None:
    started = time.perf_counter()
    indexed = search.rebuild_index()
    elapsed = time.perf_counter() - started
    print(
        f"rebuild from the database: {indexed} tools in {elapsed:.1f} s = "
        f"{indexed / elapsed:.0f} documents/s   (target ≥ 300)"
    )
    assert indexed == count


def bench_in_process(queries: list[str], viewer: User) -> None:
    engine = search.get_engine()

    def query(text: str) -> SearchQuery:
        return SearchQuery(text, viewer_id=viewer.id, limit=20)

    for text in queries:  # warm: pymorphy3 forms, postings, filters
        search.search_tools(query(text), log=False)
    timings = []
    totals = []
    for text in queries:
        started = time.perf_counter()
        result = engine.search(query(text))
        timings.append((time.perf_counter() - started) * 1000)
        totals.append(result.total)
    print(f"search, engine.search():       {percentiles(timings)}   (target p95 ≤ 30 ms)")
    print(
        f"    results per query: median {statistics.median(totals):.0f}, "
        f"max {max(totals)}, zero for {sum(1 for t in totals if t == 0)} of {len(totals)}"
    )
    timings = []
    for text in queries:
        started = time.perf_counter()
        search.search_tools(query(text), user_id=viewer.id, log=True)
        timings.append((time.perf_counter() - started) * 1000)
    print(f"search, search_tools() + log:  {percentiles(timings)}")


def bench_http(app, queries: list[str], token: str) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_port
    headers = {"Authorization": f"Bearer {token}"}

    def get(text: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(
                "GET", "/api/v1/search?" + urllib.parse.urlencode({"q": text}), headers=headers
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    try:
        status, body = get(queries[0])
        if status == 404:
            print("search over HTTP: skipped — GET /api/v1/search answers 404 (no endpoint yet)")
            return
        if status != 200:
            print(
                f"search over HTTP: skipped — GET /api/v1/search answered {status}: {body[:200]!r}"
            )
            return
        for text in queries:
            get(text)
        timings = []
        for text in queries:
            started = time.perf_counter()
            status, body = get(text)
            timings.append((time.perf_counter() - started) * 1000)
            assert status == 200, (status, body[:200])
        json.loads(body)
        print(f"search, GET /api/v1/search:    {percentiles(timings)}")
    finally:
        server.shutdown()
        thread.join()


def bench_saves(saves: int, owner: User) -> None:
    """Half edits of existing tools, half new ones; commit applies the outbox."""
    specs = list(generate_tools(saves, seed=99))
    tool_count = db.session.scalar(select(func.count(SalesTool.id)))
    timings = []
    after_save = []  # the first search after a save reopens the searcher
    probe = SearchQuery("скрипт звонка", viewer_id=owner.id)
    for number, spec in enumerate(specs):
        started = time.perf_counter()
        if number % 2:
            tool = db.session.get(SalesTool, 1 + (number * 7919) % tool_count)
            tool.title = f"{spec.title} (ред. {number})"
            tool.body = spec.body
            tool.version += 1
            tool.updated_at = utcnow()
        else:
            tool = SalesTool(
                kind=spec.kind,
                title=spec.title,
                summary=spec.summary,
                body=spec.body,
                status=spec.status,
                owner_id=owner.id,
            )
            db.session.add(tool)
            db.session.flush()
        search.record_tool_change(tool.id)
        db.session.commit()  # after_commit writes the outbox row to the index
        timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        search.get_engine().search(probe)
        after_save.append((time.perf_counter() - started) * 1000)
    pending = db.session.scalar(select(func.count(SearchOutbox.id)))
    print(
        f"save a tool, index included:   {percentiles(timings)}   (target p95 ≤ 150 ms; "
        f"outbox left: {pending})"
    )
    print(f"first search after a save:     {percentiles(after_save)}")
    last = search.search_tools(
        SearchQuery(f"ред {saves - 1}", viewer_sees_all_drafts=True), log=False
    )
    assert last.total >= 1, "the last edit is not findable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--saves", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    workdir = Path(tempfile.mkdtemp(prefix="planerka-bench-search-"))
    try:
        app = make_app(workdir)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            users, token = insert_tools(args.docs)
            body_kb = db.session.scalar(select(func.avg(func.length(SalesTool.body)))) or 0
            print(
                f"corpus: {args.docs} tools inserted in {time.perf_counter() - started:.1f} s "
                f"(average body {body_kb:.0f} characters)"
            )
            bench_rebuild(args.docs)
            queries = sample_queries(args.queries)
            print(f"queries: {len(queries)} ({len(set(queries))} distinct), 1–3 words each")
            bench_in_process(queries, users[0])
        bench_http(app, queries, token)
        with app.app_context():
            bench_saves(args.saves, db.session.get(User, users[0].id))
            db.session.remove()
            db.engine.dispose()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
