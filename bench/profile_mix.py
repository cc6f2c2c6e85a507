"""Where the load benchmark's requests spend their CPU: each kind of ``bench/load.py``'s mix,
in-process through the Flask test client, on a copy of the big database.

    .venv/bin/python bench/profile_mix.py                     # CPU and wall per kind, weighted
    .venv/bin/python bench/profile_mix.py --profile "tool page"  # cProfile of one kind
    .venv/bin/python bench/profile_mix.py --only search -n 60

It prints, per kind: the median and p90 CPU time (``time.process_time``: Python, Jinja,
SQLite and Whoosh in this process) and wall time, the SQL statements per request, and the
mix-weighted CPU per request — the figure that bounds what two cores can serve
(2,000 ms of CPU a second ÷ CPU per request).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.corpus import sample_queries  # noqa: E402
from bench.load import MIX, data_size, kept_data, open_copy, prepare  # noqa: E402
from bench.meeting import PASSWORD, TYPEAHEAD, close_app  # noqa: E402
from portal.extensions import db  # noqa: E402

HX = {"HX-Request": "true"}


def signed_in(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, (email, response.status_code)
    client._csrf = None
    return client


class Mix:
    """One request of each kind, built the way ``bench/load.py``'s workload builds it."""

    def __init__(self, app, data: dict):
        self.app, self.d = app, data
        self.rnd = random.Random(250)
        self.lead = signed_in(app, "lead1@bench.ru")
        self.follower = signed_in(app, "manager1-0@bench.ru")
        self.managers = [signed_in(app, f"manager{t}-0@bench.ru") for t in range(2, 11)]
        self.queries = sample_queries(400, seed=31)
        self.tags: dict[int, list[int]] = {}
        self.lesson_version: dict[int, int] = {}
        self.show_n = 1
        self.rev = 0
        self.edits = 0
        self.tool_version: dict[int, int] = {}
        self.tool_body: dict[int, str] = {}
        token = {"Authorization": f"Bearer {data['token']}"}
        for tool_id in data["edit_tools"]:
            tool = self.lead.get(f"/api/v1/tools/{tool_id}", headers=token).get_json()
            self.tool_version[tool_id], self.tool_body[tool_id] = tool["version"], tool["body"]

    def run(self, kind: str) -> int:
        rnd, d, m = self.rnd, self.d, self.d["meeting"]
        manager = rnd.choice(self.managers)
        deal = rnd.choice(d["agenda"])
        if kind == "search page":
            r = manager.get("/search?" + urlencode({"q": rnd.choice(self.queries)}))
        elif kind == "search dropdown":
            r = manager.get("/search?" + urlencode({"q": rnd.choice(self.queries)}),
                            headers={**HX, "HX-Target": "search-dropdown", "HX-Trigger": "q"})  # fmt: skip
        elif kind == "tool page":
            if rnd.random() < 0.6:
                tools = d["popular"]
                tool = tools[min(int(rnd.paretovariate(1.1)) - 1, len(tools) - 1)]
            else:
                tool = rnd.choice(d["approved"])
            r = manager.get(f"/kb/{tool}")
        elif kind == "home page":
            r = manager.get("/")
        elif kind == "meeting page":
            r = self.lead.get(f"/meetings/{m}")
        elif kind == "follower poll":
            rev = self.rev if rnd.random() < 0.9 else max(0, self.rev - 1)  # mostly unchanged
            r = self.follower.get(f"/meetings/{m}/follow?rev={rev}",
                                  headers={**HX, "HX-Target": "follow-stage"})  # fmt: skip
            found = r.get_data(as_text=True).split('data-revision="', 1)
            if len(found) == 2:
                self.rev = max(self.rev, int(found[1].split('"', 1)[0]))
        elif kind == "next deal":
            self.show_n = self.show_n % len(d["agenda"]) + 1
            r = self.lead.post(f"/meetings/{m}/show", data={"n": self.show_n},
                               headers={**HX, "HX-Target": "stage"})  # fmt: skip
        elif kind == "typeahead":
            r = self.lead.get(f"/meetings/{m}/deals/{deal}/tool-suggestions?"
                              + urlencode({"q": rnd.choice(TYPEAHEAD)}),
                              headers={**HX, "HX-Target": "tag-suggestions"})  # fmt: skip
        elif kind == "add tag":
            tags = self.tags.setdefault(deal, [])
            hx = {**HX, "HX-Target": "review-tags"}
            if len(tags) >= 5:
                self.lead.post(f"/meetings/{m}/deals/{deal}/tags/{tags.pop(0)}/remove", headers=hx)
            tool = rnd.choice([t for t in d["popular"][:200] if t not in tags])
            r = self.lead.post(f"/meetings/{m}/deals/{deal}/tags", data={"tool_id": tool},
                               headers=hx)  # fmt: skip
            if r.status_code == 200:
                tags.append(tool)
        elif kind == "lesson save":
            self.edits += 1
            r = self.lead.post(
                f"/meetings/{m}/deals/{deal}/lesson",
                data={"lesson": f"Показали окупаемость, правка {self.edits}.",
                      "version": self.lesson_version.get(deal, 0)},
                headers={**HX, "HX-Target": "lesson-box"})  # fmt: skip
            found = r.get_data(as_text=True).split('name="version" value="', 1)
            if r.status_code == 200 and len(found) == 2:
                self.lesson_version[deal] = int(found[1].split('"', 1)[0])
        elif kind == "report page":
            period = d["periods"]["4w" if rnd.random() < 0.7 else "quarter"]
            page, extra = rnd.choice([("/reports", {}), ("/reports/usage", {}),
                                      ("/reports/proposals", {"tool_id": d["proposal"]})])  # fmt: skip
            r = self.lead.get(f"{page}?{urlencode({**period, **extra})}")
        elif kind == "tool edit (API)":
            tool = rnd.choice(d["edit_tools"])
            self.edits += 1
            r = self.lead.put(
                f"/api/v1/tools/{tool}",
                json={"body": self.tool_body[tool] + f"\n\nПравка {self.edits}.",
                      "change_note": "Нагрузочный тест", "base_version": self.tool_version[tool]},
                headers={"Authorization": f"Bearer {d['token']}"})  # fmt: skip
            if r.status_code == 200:
                self.tool_version[tool] = r.get_json()["version"]
        else:
            raise ValueError(kind)
        assert r.status_code in (200, 204), (kind, r.status_code, r.get_data(as_text=True)[:300])
        return r.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40, help="timed requests per kind")
    parser.add_argument("--only", default="", help="kinds whose name has this")
    parser.add_argument("--profile", default="", help="cProfile this kind (exact name)")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: tottime…")
    parser.add_argument("--quick", action="store_true", help="10,000 deals")
    parser.add_argument(
        "--interleaved",
        type=int,
        default=0,
        metavar="N",
        help="N requests drawn from the mix's weights in random order (edits "
        "then change the index between searches, as under load)",
    )
    parser.add_argument(
        "--no-caches", action="store_true", help="rank related tools on every tool page view"
    )
    parser.add_argument("--show-sql", default="", help="print the SQL of two requests of this kind")
    args = parser.parse_args()
    data, _ = kept_data(data_size(args.quick))
    workdir = Path(tempfile.mkdtemp(prefix="planerka-bench-profile-"))
    try:
        app = open_copy(data, workdir)
        # As each production worker does (the testing profile ranks on every view).
        app.config["RELATED_TOOLS_CACHE_SECONDS"] = 0 if args.no_caches else 60
        prepared = prepare(app)
        mix = Mix(app, prepared)
        statements = [0]
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute",
                         lambda *a, **k: statements.__setitem__(0, statements[0] + 1))  # fmt: skip
        if args.show_sql:
            for _ in range(5):
                mix.run(args.show_sql)
            shown: list[str] = []
            with app.app_context():
                event.listen(db.engine, "before_cursor_execute",
                             lambda _c, _cur, sql, *a: shown.append(" ".join(sql.split())))  # fmt: skip
            for n in (1, 2):
                shown.clear()
                mix.run(args.show_sql)
                print(f"-- request {n}: {len(shown)} statements")
                for sql in shown:
                    print("  ", sql[:300])
            return
        if args.profile:
            for _ in range(5):
                mix.run(args.profile)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.n):
                mix.run(args.profile)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
            return
        if args.interleaved:
            interleaved(mix, args.interleaved)
            return
        kinds = [k for k in MIX if args.only in k]
        print(f"{'kind':<18} {'CPU p50':>8} {'p90':>7} {'wall p50':>9} {'p90':>7} {'SQL':>5}")
        weighted = 0.0
        for kind in kinds:
            for _ in range(5):
                mix.run(kind)
            cpu, wall, sql = [], [], []
            for _ in range(args.n):
                statements[0] = 0
                c0, w0 = time.process_time(), time.perf_counter()
                mix.run(kind)
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
                sql.append(statements[0])
            cpu.sort()
            wall.sort()
            weighted += MIX[kind] * statistics.mean(cpu)
            print(f"{kind:<18} {statistics.median(cpu):>6.1f}ms {cpu[int(len(cpu) * 0.9)]:>5.1f}ms"
                  f" {statistics.median(wall):>7.1f}ms {wall[int(len(wall) * 0.9)]:>5.1f}ms"
                  f" {statistics.median(sql):>5.0f}")  # fmt: skip
        if len(kinds) == len(MIX):
            per = weighted / sum(MIX.values())
            print(f"\nmix-weighted CPU per request: {per:.1f} ms (mean) → two cores serve "
                  f"≈ {2000 / per:.0f} requests/s at most")  # fmt: skip
        close_app(app)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def interleaved(mix: Mix, n: int) -> None:
    rnd = random.Random(7)
    kinds = rnd.choices(list(MIX), weights=list(MIX.values()), k=n)
    for kind in kinds[:50]:  # warm-up
        mix.run(kind)
    cpu: dict[str, list[float]] = {kind: [] for kind in MIX}
    started = time.process_time()
    for kind in kinds:
        c0 = time.process_time()
        mix.run(kind)
        cpu[kind].append((time.process_time() - c0) * 1000)
    total = (time.process_time() - started) * 1000
    print(f"{'kind':<18} {'n':>5} {'CPU mean':>9} {'p50':>7} {'p90':>7}")
    for kind, times in cpu.items():
        if times:
            times.sort()
            print(f"{kind:<18} {len(times):>5} {statistics.mean(times):>7.1f}ms"
                  f" {statistics.median(times):>5.1f}ms {times[int(len(times) * 0.9)]:>5.1f}ms")  # fmt: skip
    print(f"\n{n} requests in the mix's proportions, in random order: {total / n:.1f} ms of CPU "
          f"each (mean) → two cores serve ≈ {2000 * n / total:.0f} requests/s at most")  # fmt: skip


if __name__ == "__main__":
    main()
