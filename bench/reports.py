"""Reports benchmark: every report and the dashboard on a big database, server-side.

    .venv/bin/python bench/reports.py                 # 100,000 deals, 20,000 tools, 300,000 tags
    .venv/bin/python bench/reports.py --quick         # 10,000 / 2,000 / 30,000, 20 requests a case
    .venv/bin/python bench/reports.py --only usage    # the cases whose name has "usage"
    .venv/bin/python bench/reports.py --patch FILE    # run FILE first (a query rewrite to try)

The database is the planning meeting benchmark's (``bench/meeting.py`` builds it once per
size and keeps it in ``bench/data/``); every run works on a copy whose indexes are those
of the models. The day of the run is fixed at 2026-11-28 (the data ends the day before),
so the presets "last 4 weeks", "this quarter" and "last 12 months" are the same periods
whenever the script runs; they are passed as ``from``/``to``/``preset``.

Each case is one URL: the API's report endpoints with a bearer token, and the report pages
through a signed-in test client, as the head of sales (all teams) and as team 1's lead
(their team only). After a warm-up, ``--iterations`` requests per case are timed through
the Flask test client in-process (server-side time), with the SQL statements of each
request counted and timed in SQLite. Target: p95 ≤ 300 ms per case. At the end, the
slowest statements get their EXPLAIN QUERY PLAN, with full scans of big tables marked.

``--patch FILE`` executes a Python file before the measurements, with ``app`` in its
globals: a way to try a rewritten query (monkeypatch ``portal.reports.services``) and
compare its figures with a run without it.
"""

from __future__ import annotations

import argparse
import json
import re
import runpy
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench import meeting  # noqa: E402
from bench.meeting import PASSWORD, SqlMeter, close_app, ensure_data, open_copy, pick  # noqa: E402
from bench.search import machine  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    PROPOSAL_KINDS,
    ProposalSend,
    ReviewTool,
    SalesTool,
    ToolVersion,
    User,
)
from portal.reports.periods import Period  # noqa: E402

TARGET_MS = 300.0
BENCH_DAY = date(2026, 11, 28)  # "today" for the presets; the data ends the day before
PRESETS = {"4w": "last_4_weeks", "quarter": "quarter", "year": "year"}
BIG_TABLE = 1000  # rows: a full scan of a table this big is reported


# --- SQLite time, rows fetched included -------------------------------------------------


class SqliteClock:
    """Seconds spent inside sqlite3 (execute and fetch) since the last reset."""

    seconds = 0.0


class TimedCursor(sqlite3.Cursor):
    def execute(self, *args):
        started = time.perf_counter()
        try:
            return super().execute(*args)
        finally:
            SqliteClock.seconds += time.perf_counter() - started

    def executemany(self, *args):
        started = time.perf_counter()
        try:
            return super().executemany(*args)
        finally:
            SqliteClock.seconds += time.perf_counter() - started

    def fetchone(self):
        started = time.perf_counter()
        try:
            return super().fetchone()
        finally:
            SqliteClock.seconds += time.perf_counter() - started

    def fetchmany(self, *args):
        started = time.perf_counter()
        try:
            return super().fetchmany(*args)
        finally:
            SqliteClock.seconds += time.perf_counter() - started

    def fetchall(self):
        started = time.perf_counter()
        try:
            return super().fetchall()
        finally:
            SqliteClock.seconds += time.perf_counter() - started


class TimedConnection(sqlite3.Connection):
    """What the engine connects with: its cursors time SQLite's work, fetching included."""

    def cursor(self, factory=TimedCursor):
        return super().cursor(factory)


ENGINE_OPTIONS = {"pool_pre_ping": True, "connect_args": {"factory": TimedConnection}}


# --- the cases ---------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    who: str  # head-api, lead-api, head-web, lead-web
    url: str
    params: dict
    timings: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)  # execute only (SqlMeter)
    sqlite_ms: list[float] = field(default_factory=list)  # execute and fetch
    statements: list = field(default_factory=list)  # of one request: (sql, parameters)
    statement_seconds: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def p95(self) -> float:
        return pick(sorted(self.timings), 95)


def periods() -> dict[str, dict]:
    """The presets on BENCH_DAY as URL arguments (needs an app context: the time zone)."""
    from portal.reports.periods import preset_period

    out = {}
    for short, preset in PRESETS.items():
        period = preset_period(preset, BENCH_DAY)
        out[short] = {"from": period.start.isoformat(), "to": period.end.isoformat(),
                      "preset": preset}  # fmt: skip
    return out


def pick_tools(app) -> dict:
    """The tools the cases ask about: the most sent КП, the most tagged technique."""
    with app.app_context():
        since = Period(date.fromisoformat(periods()["year"]["from"]), None).utc_start
        proposal = db.session.execute(
            select(ProposalSend.tool_id, func.count())
            .join(SalesTool, SalesTool.id == ProposalSend.tool_id)
            .where(ProposalSend.sent_at >= since, SalesTool.version >= 2)
            .group_by(ProposalSend.tool_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        technique = db.session.execute(
            select(ReviewTool.tool_id, func.count())
            .join(SalesTool, SalesTool.id == ReviewTool.tool_id)
            .where(SalesTool.kind.not_in([k.value for k in PROPOSAL_KINDS]))
            .group_by(ReviewTool.tool_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        # Split the proposal at its newest version; the technique in the middle of the year.
        newest = db.session.scalar(
            select(ToolVersion.created_at)
            .where(ToolVersion.tool_id == proposal[0])
            .order_by(ToolVersion.number.desc())
            .limit(1)
        )
        return {
            "proposal": proposal[0],
            "proposal_sends": proposal[1],
            "proposal_split": newest.date().isoformat(),
            "technique": technique[0],
            "technique_tags": technique[1],
            "technique_split": (BENCH_DAY - timedelta(days=182)).isoformat(),
        }


def make_cases(app, tools: dict, only: list[str]) -> list[Case]:
    with app.app_context():
        ps = periods()
    cases: list[Case] = []
    prop, tech = tools["proposal"], tools["technique"]
    for role in ("head", "lead"):
        api, web = f"{role}-api", f"{role}-web"
        team = {"team": 1} if role == "head" else {}
        add = cases.append
        # The API.
        for p in ("4w", "quarter", "year"):
            add(Case(f"{api} tool-usage {p}", api, "/api/v1/reports/tool-usage", ps[p]))
        for group in ("week", "month"):
            add(Case(f"{api} tool-usage year group={group}", api, "/api/v1/reports/tool-usage",
                     {**ps["year"], "group": group}))  # fmt: skip
        if team:
            add(Case(f"{api} tool-usage year team=1", api, "/api/v1/reports/tool-usage",
                     {**ps["year"], **team}))  # fmt: skip
        for weeks in (8, 52):
            add(Case(f"{api} adoption weeks={weeks}", api, "/api/v1/reports/adoption",
                     {"weeks": weeks, "to": BENCH_DAY.isoformat()}))  # fmt: skip
        for p in ("4w", "quarter", "year"):
            add(Case(f"{api} proposal-reactions {p}", api, "/api/v1/reports/proposal-reactions",
                     {**ps[p], "tool_id": prop}))  # fmt: skip
        add(Case(f"{api} before-after КП, all time", api, "/api/v1/reports/before-after",
                 {"tool_id": prop, "split": tools["proposal_split"]}))  # fmt: skip
        add(Case(f"{api} before-after technique, all time", api, "/api/v1/reports/before-after",
                 {"tool_id": tech, "split": tools["technique_split"]}))  # fmt: skip
        for p in ("4w", "quarter", "year"):
            add(Case(f"{api} win-association {p}", api, "/api/v1/reports/win-association",
                     ps[p]))  # fmt: skip
        for p in ("4w", "quarter", "year"):
            add(Case(f"{api} dashboard {p}", api, "/api/v1/reports/dashboard", ps[p]))
        # The pages.
        for p in ("4w", "quarter", "year"):
            add(Case(f"{web} /reports {p}", web, "/reports", ps[p]))
        for p in ("4w", "quarter", "year"):
            add(Case(f"{web} /reports/usage {p}", web, "/reports/usage", ps[p]))
        add(Case(f"{web} /reports/usage year group=week", web, "/reports/usage",
                 {**ps["year"], "group": "week"}))  # fmt: skip
        add(Case(f"{web} /reports/adoption weeks=8", web, "/reports/adoption",
                 {"weeks": 8, "to": BENCH_DAY.isoformat()}))  # fmt: skip
        for p in ("4w", "quarter", "year"):
            add(Case(f"{web} /reports/proposals {p}", web, "/reports/proposals",
                     {**ps[p], "tool_id": prop}))  # fmt: skip
        add(Case(f"{web} /reports/before-after КП, year", web, "/reports/before-after",
                 {**ps["year"], "tool_id": prop, "split": tools["proposal_split"]}))  # fmt: skip
        add(Case(f"{web} /reports/before-after technique, year", web, "/reports/before-after",
                 {**ps["year"], "tool_id": tech, "split": tools["technique_split"]}))  # fmt: skip
        for p in ("4w", "quarter", "year"):
            add(Case(f"{web} /reports/association {p}", web, "/reports/association", ps[p]))
        for p in ("4w", "quarter", "year"):
            add(Case(f"{web} /reports/deals {p}", web, "/reports/deals",
                     {**ps[p], "tool_id": tech}))  # fmt: skip
    if only:
        cases = [c for c in cases if any(word in c.name for word in only)]
    return cases


# --- running them --------------------------------------------------------------------------


def clients(app) -> dict:
    """A bearer token and a signed-in test client for the head and team 1's lead."""
    from portal.auth.services import create_api_token

    out = {}
    with app.app_context():
        for role, email in (("head", "head@bench.ru"), ("lead", "lead1@bench.ru")):
            user = db.session.scalar(select(User).where(User.email == email))
            _token, secret = create_api_token(user, "bench")
            out[f"{role}-api"] = (app.test_client(), {"Authorization": f"Bearer {secret}"})
    for role, email in (("head", "head@bench.ru"), ("lead", "lead1@bench.ru")):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, (email, response.status_code)
        client._csrf = None
        out[f"{role}-web"] = (client, {})
    return out


def describe(case: Case, response) -> str:
    """What the answer held: rows of a JSON report, the size of a page."""
    if case.who.endswith("api"):
        payload = json.loads(response.get_data())
        for key in ("rows", "versions", "metrics"):
            if key in payload:
                return f"{len(payload[key]):,} {key}"
        if "before" in payload:
            before, after = payload["before"], payload["after"]
            n = "sends" if "sends" in before else "won_deals_reviewed"
            return f"{n} {before[n]:,} → {after[n]:,}"
        return ""
    return f"{len(response.get_data()) / 1024:,.0f} KB of HTML"


def measure(
    app, cases: list[Case], iterations: int, warmup: int, profile_over: float | None = None,
    echo: bool = True,
) -> None:  # fmt: skip
    meter = SqlMeter(meeting._engine(app))
    who = clients(app)
    for case in cases:
        client, headers = who[case.who]
        for i in range(warmup + iterations):
            record = i >= warmup
            meter.reset()
            if record and not case.statements:
                meter.capture = []
            meter.per_statement = case.statement_seconds if record else None
            SqliteClock.seconds = 0.0
            started = time.perf_counter()
            response = client.get(case.url, query_string=case.params, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            meter.per_statement = None
            if meter.capture is not None:
                case.statements, meter.capture = meter.capture, None
            if response.status_code != 200:
                body = response.get_data(as_text=True)[:1500]
                raise SystemExit(f"{case.name}: {response.status_code} {body}")
            if i == 0:
                case.note = describe(case, response)
            if record:
                case.timings.append(elapsed)
                case.queries.append(meter.queries)
                case.sql_ms.append(meter.seconds * 1000)
                case.sqlite_ms.append(SqliteClock.seconds * 1000)
        if echo:
            print(line(case), flush=True)
        if profile_over is not None and case.p95 > profile_over:
            print(f"{'':<8}profile of one request: {profile(client, headers, case)}", flush=True)


def line(case: Case) -> str:
    ordered = sorted(case.timings)
    mark = "ok" if case.p95 <= TARGET_MS else "MISSES"
    return (
        f"{case.name:<52} {pick(ordered, 50):7.1f} {case.p95:7.1f} {ordered[-1]:7.1f}   "
        f"{statistics.fmean(case.queries):4.0f} {statistics.fmean(case.sqlite_ms):7.1f}   "
        f"{mark:<6} {case.note}"
    )


HEADER = (
    f"{'case (ms, server-side)':<52} {'p50':>7} {'p95':>7} {'max':>7}   "
    f"{'SQL':>4} {'SQLite':>7}   target"
)


PROFILE_GROUPS = [
    ("SQLite", ("sqlite3.", "bench/reports.py")),  # TimedCursor is in this file
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("templates", ("/jinja2/", "/markupsafe/", ".html")),
    ("charts.py", ("portal/reports/charts.py",)),
    ("reports services", ("portal/reports/",)),
    ("JSON", ("/json/", "flask/json")),
    ("Flask", ("/flask", "/werkzeug/", "/babel/", "/itsdangerous/")),
    ("other portal code", ("portal/",)),
]


def profile(client, headers, case: Case) -> str:
    """Where one request spends its time (cProfile, so Python looks slower than it is)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    client.get(case.url, query_string=case.params, headers=headers)
    profiler.disable()
    entries = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def group(key, depth=0) -> str:
        filename, _line, name = key
        where = name if filename == "~" else filename
        for label, needles in PROFILE_GROUPS:
            if any(needle in where for needle in needles):
                return label
        if filename == "~" and depth < 3:  # a builtin: the group of its main caller
            callers = entries[key][4]
            if callers:
                caller = max(callers, key=lambda c: callers[c][3])
                return group(caller, depth + 1)
        return "other"

    seconds: dict[str, float] = {}
    for key, (_cc, _nc, tottime, _ct, _callers) in entries.items():
        label = group(key)
        seconds[label] = seconds.get(label, 0.0) + tottime
    total = sum(seconds.values()) or 1.0
    shares = sorted(seconds.items(), key=lambda kv: -kv[1])
    return ", ".join(
        f"{label} {value / total:.0%}" for label, value in shares if value / total >= 0.02
    )


def explain(app, cases: list[Case], top: int) -> None:
    """EXPLAIN QUERY PLAN of the statements that took the most time per request."""
    heavy: dict[str, tuple[float, str, tuple]] = {}
    for case in cases:
        params = {sql: p for sql, p in case.statements}
        for sql, seconds in case.statement_seconds.items():
            per_request = seconds * 1000 / max(1, len(case.timings))
            if sql in params and per_request > heavy.get(sql, (0.0,))[0]:
                heavy[sql] = (per_request, case.name, tuple(params[sql] or ()))
    slowest = sorted(heavy.items(), key=lambda kv: -kv[1][0])[:top]
    if not slowest:
        return
    with app.app_context():
        connection = db.session.connection()
        sizes = {}
        for (name,) in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ):
            sizes[name] = connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
        print()
        print(f"slowest statements (mean ms per request in the case where they took longest), "
              f"EXPLAIN QUERY PLAN; '!!' marks a full scan of a table of {BIG_TABLE:,}+ rows:")  # fmt: skip
        raw = connection.connection.driver_connection
        for sql, (ms, case_name, parameters) in slowest:
            alone = []
            for _ in range(3):
                started = time.perf_counter()
                rows = raw.execute(sql, parameters).fetchall()
                alone.append((time.perf_counter() - started) * 1000)
            print()
            print(f"{ms:7.1f} ms  {case_name}   (alone, all {len(rows):,} rows fetched: "
                  f"{min(alone):.1f} ms)")  # fmt: skip
            print(f"      {meeting.shorten(sql, 400)}")
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all():
                detail = row[-1]
                match = re.match(r"SCAN (\w+)(?: AS \w+)?( USING .*)?$", detail)
                full = match and not match.group(2) and sizes.get(match.group(1), 0) >= BIG_TABLE
                flag = "!!" if full else "  "
                print(f"        {flag} {detail}")
        db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--tools", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=300_000, help="review tags (ReviewTool rows)")
    parser.add_argument("--reviews", type=int, default=None, help="deal reviews (tags / 3)")
    parser.add_argument("--iterations", type=int, help="timed requests per case (50; quick 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 deals, 20 requests a case")
    parser.add_argument("--only", action="append", default=[], help="cases whose name has this")
    parser.add_argument("--patch", type=Path, help="a Python file to run first, with `app`")
    parser.add_argument("--explain", type=int, default=12, help="plans of the N slowest statements")
    parser.add_argument(
        "--profile", action="store_true", help="where the time goes, for cases over the target"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the kept database again")
    parser.add_argument("--keep", action="store_true", help="keep this run's copy")
    args = parser.parse_args()
    if args.quick:
        args.deals, args.tools, args.tags = 10_000, 2_000, 30_000
        args.iterations = args.iterations or 20
    args.iterations = args.iterations or 50
    if args.reviews is None:
        args.reviews = args.tags // 3
    print(f"machine: {machine()}")
    data, info = ensure_data(args)
    workdir = Path(tempfile.mkdtemp(prefix="planerka-bench-reports-"))
    try:
        app = open_copy(data, info, workdir, SQLALCHEMY_ENGINE_OPTIONS=ENGINE_OPTIONS)
        tools = pick_tools(app)
        with app.app_context():
            shown = ", ".join(f"{k} {v['from']}…{v['to']}" for k, v in periods().items())
        print(f"today: {BENCH_DAY}; periods: {shown}")
        print(
            f"tools: КП {tools['proposal']} ({tools['proposal_sends']} sends in the year, split "
            f"at its newest version {tools['proposal_split']}), technique {tools['technique']} "
            f"({tools['technique_tags']} tags, split {tools['technique_split']})"
        )
        if args.patch:
            runpy.run_path(str(args.patch), init_globals={"app": app})
            print(f"patched with {args.patch}")
        cases = make_cases(app, tools, args.only)
        print(f"{len(cases)} cases, {args.warmup} + {args.iterations} requests each")
        print()
        print(HEADER)
        measure(app, cases, args.iterations, args.warmup,
                TARGET_MS if args.profile else None)  # fmt: skip
        missed = [c for c in cases if c.p95 > TARGET_MS]
        print()
        print(
            f"{len(cases) - len(missed)} of {len(cases)} cases within p95 ≤ {TARGET_MS:.0f} ms"
            + (f"; missed: {', '.join(c.name for c in missed)}" if missed else "")
        )
        explain(app, cases, args.explain)
        close_app(app)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
