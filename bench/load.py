"""Load benchmark: a mixed workload against gunicorn on the big database, over HTTP.

    .venv/bin/python bench/load.py                  # 250 requests/s, then 750/s (~2.5 min)
    .venv/bin/python bench/load.py --rate 300 --seconds 60
    .venv/bin/python bench/load.py --quick          # 10,000 deals, 10 s phases
    .venv/bin/python bench/load.py --skip-reference # the portal only

The database is the planning-meeting benchmark's (``bench/meeting.py`` builds it once and
keeps it in ``bench/data/``), copied to a temporary directory with its search index, so the
saves of a run spoil nothing. The portal runs under gunicorn with the project's
``gunicorn.conf.py`` (production profile) on 127.0.0.1.

The client is one Python process: asyncio over raw keep-alive HTTP/1.1 connections,
**open loop** — requests are sent at Poisson-distributed moments at the offered rate
whether or not earlier ones have finished, and latency counts from the moment a request
was due (so a slow server cannot slow the client down and hide its own queueing). It
needs ~0.1–0.2 ms of CPU per request, reported at the end; `wrk` would need less, but
it is closed-loop (a fixed number of connections, each waiting for its answer), which
cannot offer "3× the load" to a server that sheds it.

Phases (each after a warm-up): the mixed workload at ``--rate`` for ``--seconds``; the
same at 3× that rate, with ``/healthz`` probed every 100 ms on its own connection; and, for
scale, two throwaway apps under the same gunicorn settings, driven closed-loop by
``--ref-connections`` connections: a bare Flask page rendering a 5 KB template, and a page
running one warm Whoosh query over 10,000 documents (built once, kept in ``bench/data``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import meeting  # noqa: E402
from bench.corpus import generate_tools, sample_queries  # noqa: E402
from bench.meeting import BENCH_WEEK, PASSWORD, TYPEAHEAD, close_app, ensure_data  # noqa: E402
from bench.search import machine  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    Deal,
    MeetingItem,
    ProposalSend,
    ReviewTool,
    SalesTool,
    User,
)

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
TARGET_RPS, TARGET_P90_MS = 250, 100.0
TIMEOUT_S = 10.0
KEEPALIVE_S = 4.0  # idle connections older than this are not reused (gunicorn keeps 5 s)
HX = {"HX-Request": "true"}

# The mix, per 100 requests: what a 100-person sales department does on a busy morning
# while one team holds its planning meeting (the lead presenting, the team following).
MIX = {
    "search page": 14,
    "search dropdown": 10,
    "tool page": 20,
    "follower poll": 20,
    "next deal": 6,
    "typeahead": 10,
    "add tag": 5,
    "report page": 5,
    "home page": 4,
    "lesson save": 3,
    "tool edit (API)": 2,
    "meeting page": 1,
}


# --- a lean HTTP/1.1 client ----------------------------------------------------------------


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.used = False  # answered a request before: the server may close it when idle
        self.idle_since = 0.0

    async def request(self, raw: bytes) -> tuple[int, dict, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), value.strip())
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        elif status in (204, 304):
            body = b""
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        return status, headers, body

    def close(self):
        self.writer.close()


class Pool:
    """Keep-alive connections to one server, opened as needed up to ``size``."""

    def __init__(self, port: int, size: int):
        self.port, self.size = port, size
        self.idle: list[Connection] = []
        self.open = 0
        self.freed = asyncio.Condition()

    async def get(self) -> Connection:
        async with self.freed:
            while not self.idle and self.open >= self.size:
                await self.freed.wait()
            now = time.monotonic()
            while self.idle:
                conn = self.idle.pop()
                if now - conn.idle_since < KEEPALIVE_S:
                    return conn
                conn.close()  # gunicorn may close it any moment now: do not race it
                self.open -= 1
            self.open += 1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=2**22)
        except BaseException:
            async with self.freed:
                self.open -= 1
                self.freed.notify()
            raise
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(reader, writer)

    async def put(self, conn: Connection, reuse: bool) -> None:
        async with self.freed:
            if reuse:
                conn.idle_since = time.monotonic()
                self.idle.append(conn)
            else:
                conn.close()
                self.open -= 1
            self.freed.notify()

    async def fetch(self, method: str, path: str, headers: dict, body: bytes = b""):
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            conn = await self.get()
            ok = False
            try:
                status, head, data = await conn.request(raw)
                ok = head.get("connection", "").lower() != "close"
                return status, head, data
            except asyncio.IncompleteReadError as error:
                # The server closed an idle keep-alive connection as the request went out
                # (nothing of an answer read): send it again on a new one, as browsers do.
                if attempt == 1 and conn.used and not error.partial:
                    continue
                raise HttpError(type(error).__name__) from error
            except (ConnectionError, OSError, ValueError) as error:
                if attempt == 1 and conn.used and isinstance(error, ConnectionResetError):
                    continue
                raise HttpError(type(error).__name__) from error
            finally:
                conn.used = True
                await self.put(conn, ok)

    def close(self):
        for conn in self.idle:
            conn.close()
        self.idle.clear()


# --- results -------------------------------------------------------------------------------


@dataclass
class Result:
    kind: str
    status: int | str  # a number, or "timeout" / the connection error's name
    ms: float
    retry_after: bool = False


@dataclass
class Phase:
    name: str
    offered: float | None
    seconds: float
    results: list[Result] = field(default_factory=list)
    probes: list[Result] = field(default_factory=list)
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    load_before: tuple = ()
    load_after: tuple = ()

    def shed(self, r: Result) -> bool:
        return r.status in (429, 503) and r.retry_after

    def errors(self) -> list[Result]:
        return [r for r in self.results if isinstance(r.status, str) or
                (r.status >= 500 and not self.shed(r)) or r.status in (400, 401, 403, 404)]  # fmt: skip


def pick(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(phase: Phase) -> dict:
    served = [r for r in phase.results if isinstance(r.status, int) and not phase.shed(r)]
    ms = sorted(r.ms for r in served)
    shed = [r for r in phase.results if phase.shed(r)]
    out = {
        "sent": len(phase.results),
        "rps": len(phase.results) / phase.seconds,
        "served_rps": len(served) / phase.seconds,
        "p50": pick(ms, 50),
        "p90": pick(ms, 90),
        "p99": pick(ms, 99),
        "shed": len(shed),
        "shed_p90": pick(sorted(r.ms for r in shed), 90),
        "errors": len(phase.errors()),
        "statuses": Counter(str(r.status) for r in phase.results),
    }
    if phase.probes:
        ms = sorted(r.ms for r in phase.probes)
        out["healthz"] = {"p50": pick(ms, 50), "p90": pick(ms, 90), "p99": pick(ms, 99),
                          "max": ms[-1], "statuses": Counter(str(r.status) for r in phase.probes)}  # fmt: skip
    return out


def print_phase(phase: Phase, by_kind: bool) -> dict:
    s = summary(phase)
    offered = f"offered {phase.offered:.0f}/s, " if phase.offered else ""
    print(f"\n== {phase.name}: {offered}{phase.seconds:.0f} s")
    print(
        f"   {s['rps']:.0f} requests/s answered, {s['served_rps']:.0f}/s served (not shed); "
        f"served: p50 {s['p50']:.1f} ms, p90 {s['p90']:.1f} ms, p99 {s['p99']:.1f} ms"
    )
    print(
        f"   shed {s['shed']} (p90 {s['shed_p90']:.1f} ms), errors {s['errors']}; statuses: "
        + ", ".join(f"{k} × {v}" for k, v in sorted(s["statuses"].items()))
    )
    print(
        f"   CPU: server {phase.server_cpu_s / phase.seconds * 100:.0f} %, this client "
        f"{phase.client_cpu_s / phase.seconds * 100:.0f} % of one core "
        f"({phase.client_cpu_s / max(1, s['sent']) * 1e6:.0f} µs a request); load average "
        f"{phase.load_before[0]:.2f} before, {phase.load_after[0]:.2f} after"
    )
    if phase.probes:
        h = s["healthz"]
        print(
            f"   /healthz every 100 ms: {len(phase.probes)} probes, p50 {h['p50']:.1f} ms, "
            f"p90 {h['p90']:.1f} ms, p99 {h['p99']:.1f} ms, max {h['max']:.1f} ms; "
            + ", ".join(f"{k} × {v}" for k, v in sorted(h["statuses"].items()))
        )
    if by_kind:
        groups = defaultdict(list)
        for r in phase.results:
            groups[r.kind].append(r)
        print(f"   {'request':<18} {'n':>6} {'p50':>8} {'p90':>8} {'p99':>8}  statuses")
        for kind, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            ms = sorted(r.ms for r in rs if isinstance(r.status, int) and not phase.shed(r))
            statuses = Counter(str(r.status) for r in rs)
            print(
                f"   {kind:<18} {len(rs):>6} {pick(ms, 50):>6.1f}ms {pick(ms, 90):>6.1f}ms "
                f"{pick(ms, 99):>6.1f}ms  " + ", ".join(f"{k}×{v}" for k, v in statuses.items())
            )
    bad = [r for r in phase.errors()][:5]
    for r in bad:
        print(f"   error: {r.kind} → {r.status} after {r.ms:.0f} ms")
    return s


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with the project's gunicorn.conf.py, serving ``app`` from ``cwd``."""

    def __init__(self, app: str, cwd: Path, env: dict, log: Path):
        self.port = free_port()
        self.log = log
        full_env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port),
                    "PYTHONPATH": f"{cwd}:{ROOT}"}  # fmt: skip
        self.process = subprocess.Popen(
            [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(cwd), app],
            env=full_env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log}:\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if b" 200 " in sock.recv(64).split(b"\r\n", 1)[0]:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"gunicorn did not answer; see {log}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        total = 0.0
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        except OSError:
            pass
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # only the gunicorn this script started
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- the portal's workload -----------------------------------------------------------------


@dataclass
class Session:
    cookie: str
    csrf: str

    def headers(self, extra: dict | None = None, post: bool = False) -> dict:
        h = {"Cookie": self.cookie, "Accept-Language": "ru", **(extra or {})}
        if post:
            h["X-CSRFToken"] = self.csrf
            h["Content-Type"] = "application/x-www-form-urlencoded"
        return h


def sign_in(port: int, email: str) -> Session:
    import http.client

    def call(method, path, headers, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read().decode()
        conn.close()
        return response, data

    def session_cookie(response, old: str = "") -> str:
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("planerka_session="):
                return header.split(";", 1)[0]
        return old

    response, page = call("GET", "/login", {})
    cookie = session_cookie(response)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    response, _ = call("POST", "/login", {"Cookie": cookie,
                       "Content-Type": "application/x-www-form-urlencoded"}, body)  # fmt: skip
    assert response.status == 302, (email, response.status)
    cookie = session_cookie(response, cookie)
    response, page = call("GET", "/", {"Cookie": cookie})
    assert response.status == 200, (email, response.status)
    cookie = session_cookie(response, cookie)  # the session now holds a CSRF token
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    return Session(cookie, csrf)


def prepare(app) -> dict:
    """Open the meeting, pick tools and deals, make an API token (in-process, before gunicorn)."""
    from bench.reports import periods
    from portal.auth import services as accounts

    client = app.test_client()
    response = client.post("/login", data={"email": "lead1@bench.ru", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    client._csrf = None
    response = client.post(
        "/meetings", data={"team_id": 1, "week": BENCH_WEEK, "title": "Планёрка"}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    meeting_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context():
        agenda = list(db.session.scalars(select(MeetingItem.deal_id)
                      .where(MeetingItem.meeting_id == meeting_id)
                      .order_by(MeetingItem.position)))  # fmt: skip
        popular = list(db.session.scalars(select(ReviewTool.tool_id).group_by(ReviewTool.tool_id)
                       .order_by(func.count().desc()).limit(300)))  # fmt: skip
        approved = list(db.session.scalars(select(SalesTool.id)
                        .where(SalesTool.status == "approved").order_by(SalesTool.id)))  # fmt: skip
        proposal = db.session.execute(
            select(ProposalSend.tool_id).group_by(ProposalSend.tool_id)
            .order_by(func.count().desc()).limit(1)).scalar()  # fmt: skip
        head = db.session.scalar(select(User).where(User.email == "head@bench.ru"))
        _, token = accounts.create_api_token(head, "load benchmark")
        db.session.commit()
        ps = periods()
    rnd = random.Random(7)
    edit_tools = rnd.sample(approved, 40)
    return {"meeting": meeting_id, "agenda": agenda, "popular": popular, "approved": approved,
            "proposal": proposal, "token": token, "periods": ps, "edit_tools": edit_tools}  # fmt: skip


class Workload:
    """Builds the next request of the mix; keeps what the saves need (versions, tags)."""

    def __init__(self, port: int, data: dict, sessions: dict[str, list[Session]]):
        self.port, self.data, self.sessions = port, data, sessions
        self.rnd = random.Random(250)
        self.kinds = list(MIX)
        self.weights = list(MIX.values())
        self.queries = sample_queries(400, seed=31)
        self.busy_deals: set[int] = set()
        self.tags: dict[int, list[int]] = defaultdict(list)
        self.lesson_version: dict[int, int] = defaultdict(int)
        self.tool_version: dict[int, int] = {}
        self.tool_body: dict[int, str] = {}
        self.busy_tools: set[int] = set()
        self.rev = 0
        self.show_n = 1
        self.edits = 0

    def load_tools(self) -> None:
        import http.client

        for tool_id in self.data["edit_tools"]:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", f"/api/v1/tools/{tool_id}",
                         headers={"Authorization": f"Bearer {self.data['token']}"})  # fmt: skip
            tool = json.loads(conn.getresponse().read())
            conn.close()
            self.tool_version[tool_id] = tool["version"]
            self.tool_body[tool_id] = tool["body"]

    def free_deal(self) -> int | None:
        free = [d for d in self.data["agenda"] if d not in self.busy_deals]
        return self.rnd.choice(free) if free else None

    async def run_one(self, pool: Pool, kind: str, record) -> None:
        """Send one request of ``kind`` (a few need two); ``record(kind, status, headers)``."""
        rnd, d, m = self.rnd, self.data, self.data["meeting"]
        manager = rnd.choice(self.sessions["manager"])
        lead = self.sessions["lead"][0]
        if kind in ("add tag", "lesson save", "typeahead"):
            deal = self.free_deal()
            if deal is None:
                kind = "tool page"  # every agenda deal has a save in flight: read instead
        if kind == "search page":
            q = rnd.choice(self.queries)
            await record(kind, pool.fetch("GET", "/search?" + urlencode({"q": q}),
                                          manager.headers()))  # fmt: skip
        elif kind == "search dropdown":
            q = rnd.choice(self.queries)
            await record(kind, pool.fetch("GET", "/search?" + urlencode({"q": q}), manager.headers(
                {**HX, "HX-Target": "search-dropdown", "HX-Trigger": "q"})))  # fmt: skip
        elif kind == "tool page":
            pool_ = d["popular"] if rnd.random() < 0.6 else d["approved"]
            tool = pool_[min(int(rnd.paretovariate(1.1)) - 1, len(pool_) - 1)] if pool_ is d[
                "popular"] else rnd.choice(pool_)  # fmt: skip
            await record(kind, pool.fetch("GET", f"/kb/{tool}", manager.headers()))
        elif kind == "home page":
            await record(kind, pool.fetch("GET", "/", manager.headers()))
        elif kind == "meeting page":
            await record(kind, pool.fetch("GET", f"/meetings/{m}", lead.headers()))
        elif kind == "follower poll":
            follower = rnd.choice(self.sessions["follower"])
            rev = self.rev if rnd.random() < 0.9 else max(0, self.rev - 1)
            status, _, body = await record(kind, pool.fetch(
                "GET", f"/meetings/{m}/follow?rev={rev}",
                follower.headers({**HX, "HX-Target": "follow-stage"})))  # fmt: skip
            found = re.search(rb'data-revision="(\d+)"', body or b"")
            if found:
                self.rev = max(self.rev, int(found.group(1)))
        elif kind == "next deal":
            self.show_n = self.show_n % len(d["agenda"]) + 1
            body = urlencode({"n": self.show_n}).encode()
            await record(kind, pool.fetch("POST", f"/meetings/{m}/show", lead.headers(
                {**HX, "HX-Target": "stage"}, post=True), body))  # fmt: skip
        elif kind == "typeahead":
            q = rnd.choice(TYPEAHEAD)
            await record(kind, pool.fetch(
                "GET", f"/meetings/{m}/deals/{deal}/tool-suggestions?" + urlencode({"q": q}),
                lead.headers({**HX, "HX-Target": "tag-suggestions"})))  # fmt: skip
        elif kind == "add tag":
            self.busy_deals.add(deal)
            try:
                tags = self.tags[deal]
                hx = lead.headers({**HX, "HX-Target": "review-tags"}, post=True)
                if len(tags) >= 5:
                    old = tags.pop(0)
                    await record("remove tag", pool.fetch(
                        "POST", f"/meetings/{m}/deals/{deal}/tags/{old}/remove", hx))  # fmt: skip
                tool = rnd.choice([t for t in d["popular"][:200] if t not in tags])
                status, _, _ = await record(kind, pool.fetch(
                    "POST", f"/meetings/{m}/deals/{deal}/tags", hx,
                    urlencode({"tool_id": tool}).encode()))  # fmt: skip
                if status == 200:
                    tags.append(tool)
            finally:
                self.busy_deals.discard(deal)
        elif kind == "lesson save":
            self.busy_deals.add(deal)
            try:
                text = (
                    f"Клиент сравнивал с конкурентом — показали окупаемость, правка {self.edits}."
                )
                self.edits += 1
                body = urlencode({"lesson": text, "version": self.lesson_version[deal]}).encode()
                status, _, page = await record(kind, pool.fetch(
                    "POST", f"/meetings/{m}/deals/{deal}/lesson",
                    lead.headers({**HX, "HX-Target": "lesson-box"}, post=True), body))  # fmt: skip
                found = re.search(rb'name="version" value="(\d+)"', page or b"")
                if found:
                    self.lesson_version[deal] = int(found.group(1))
            finally:
                self.busy_deals.discard(deal)
        elif kind == "report page":
            period = d["periods"]["4w" if rnd.random() < 0.7 else "quarter"]
            page, extra = rnd.choice([("/reports", {}), ("/reports/usage", {}),
                                      ("/reports/proposals", {"tool_id": d["proposal"]})])  # fmt: skip
            await record(kind, pool.fetch("GET", f"{page}?{urlencode({**period, **extra})}",
                                          lead.headers()))  # fmt: skip
        elif kind == "tool edit (API)":
            free = [t for t in d["edit_tools"] if t not in self.busy_tools]
            if not free:  # 40 edits in flight already: read a tool page instead
                return await self.run_one(pool, "tool page", record)
            tool = rnd.choice(free)
            self.busy_tools.add(tool)
            try:
                self.edits += 1
                payload = {"body": self.tool_body[tool] + f"\n\nПравка {self.edits}.",
                           "change_note": "Нагрузочный тест", "base_version": self.tool_version[tool]}  # fmt: skip
                status, _, answer = await record(kind, pool.fetch(
                    "PUT", f"/api/v1/tools/{tool}",
                    {"Authorization": f"Bearer {d['token']}", "Content-Type": "application/json"},
                    json.dumps(payload, ensure_ascii=False).encode()))  # fmt: skip
                if status == 200:
                    self.tool_version[tool] = json.loads(answer)["version"]
            finally:
                self.busy_tools.discard(tool)

    def next_kind(self) -> str:
        return self.rnd.choices(self.kinds, self.weights)[0]


# --- driving -------------------------------------------------------------------------------


async def open_loop(port: int, rate: float, seconds: float, workload: Workload, phase: Phase,
                    probe_healthz: bool = False, connections: int = 256) -> None:  # fmt: skip
    pool = Pool(port, connections)
    probe_pool = Pool(port, 1)
    rnd = random.Random(int(rate))
    tasks = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop = start + seconds

    async def one(kind: str, due: float):
        first = [True]

        async def record(kind_, fetch):
            # The first request of the task counts from when it was due (queueing in the
            # client included); a second one (a tag removed before one is added) from its start.
            t = due if first[0] else loop.time()
            first[0] = False
            try:
                status, head, body = await asyncio.wait_for(fetch, TIMEOUT_S)
                result = Result(kind_, status, (loop.time() - t) * 1000, "retry-after" in head)
            except TimeoutError:
                status, head, body = 0, {}, b""
                result = Result(kind_, "timeout", (loop.time() - t) * 1000)
            except HttpError as error:
                status, head, body = 0, {}, b""
                result = Result(kind_, str(error), (loop.time() - t) * 1000)
            phase.results.append(result)
            return status, head, body

        try:
            await workload.run_one(pool, kind, record)
        except Exception as error:  # noqa: BLE001 — a client bug must show, not stop the run
            phase.results.append(Result(kind, f"client {type(error).__name__}: {error}"[:80],
                                        (loop.time() - due) * 1000))  # fmt: skip

    async def probe():
        while loop.time() < stop:
            t = loop.time()
            try:
                status, head, _ = await asyncio.wait_for(
                    probe_pool.fetch("GET", "/healthz", {}), TIMEOUT_S)  # fmt: skip
                phase.probes.append(Result("healthz", status, (loop.time() - t) * 1000))
            except (TimeoutError, HttpError) as error:
                phase.probes.append(
                    Result("healthz", type(error).__name__, (loop.time() - t) * 1000)
                )
            await asyncio.sleep(max(0.0, 0.1 - (loop.time() - t)))

    prober = asyncio.create_task(probe()) if probe_healthz else None
    due = start
    while True:
        due += rnd.expovariate(rate)
        if due >= stop:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(workload.next_kind(), due)))
    await asyncio.gather(*tasks)
    if prober:
        await prober
    pool.close()
    probe_pool.close()


async def closed_loop(port: int, path: str, connections: int, seconds: float, phase: Phase):
    pool = Pool(port, connections)
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds

    async def worker(i: int):
        n = 0
        while loop.time() < stop:
            t = loop.time()
            try:
                status, head, _ = await asyncio.wait_for(
                    pool.fetch("GET", f"{path}?n={i}-{n}", {}), TIMEOUT_S)  # fmt: skip
                phase.results.append(Result("page", status, (loop.time() - t) * 1000,
                                            "retry-after" in head))  # fmt: skip
            except (TimeoutError, HttpError) as error:
                phase.results.append(Result("page", type(error).__name__, (loop.time() - t) * 1000))
            n += 1

    await asyncio.gather(*(worker(i) for i in range(connections)))
    pool.close()


def measured(phase: Phase, server: Server, coro_factory) -> Phase:
    phase.load_before = os.getloadavg()
    cpu0, server0 = time.process_time(), server.cpu_seconds()
    t0 = time.perf_counter()
    asyncio.run(coro_factory())
    phase.seconds = time.perf_counter() - t0
    phase.client_cpu_s = time.process_time() - cpu0
    phase.server_cpu_s = server.cpu_seconds() - server0
    phase.load_after = os.getloadavg()
    return phase


# --- the reference apps --------------------------------------------------------------------

BARE_APP = '''
from flask import Flask, render_template_string

app = Flask(__name__)
TEMPLATE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><ul>{% for row in rows %}<li><a href="/kb/{{ row.id }}">{{ row.title }}</a>
<span>{{ row.kind }}</span> <em>{{ row.uses }}</em></li>{% endfor %}</ul></body></html>"""
ROWS = [{"id": i, "title": f"Скрипт холодного звонка №{i}", "kind": "скрипт", "uses": i * 7}
        for i in range(45)]  # ≈ 5 KB of HTML


@app.route("/healthz")
def healthz():
    return {"status": "ok"}


@app.route("/page")
def page():
    return render_template_string(TEMPLATE, title="Библиотека", rows=ROWS)
'''

WHOOSH_APP = '''
import os
import random
import threading

from flask import Flask, render_template_string, request
from whoosh.index import open_dir
from whoosh.qparser import OrGroup, QueryParser

app = Flask(__name__)
INDEX = open_dir(os.environ["BENCH_WHOOSH_DIR"])
QUERIES = open(os.environ["BENCH_WHOOSH_QUERIES"], encoding="utf-8").read().split("\\n")
local = threading.local()
TEMPLATE = """<ol>{% for hit in hits %}<li>{{ hit.title }}</li>{% endfor %}</ol>"""


def searcher():
    if getattr(local, "searcher", None) is None:  # one warm searcher per thread
        local.searcher = INDEX.searcher()
    return local.searcher


@app.route("/healthz")
def healthz():
    return {"status": "ok"}


@app.route("/page")
def page():
    q = QUERIES[hash(request.args.get("n", "")) % len(QUERIES)]
    query = QueryParser("body", INDEX.schema, group=OrGroup).parse(q)
    hits = searcher().search(query, limit=10)
    return render_template_string(TEMPLATE, hits=[dict(h) for h in hits])
'''


def whoosh_index(docs: int) -> Path:
    """10,000 of the benchmark corpus's tools in a plain Whoosh index (Russian stemming)."""
    from whoosh.analysis import LanguageAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.index import create_in

    target = meeting.DATA_DIR / f"load-whoosh-{docs}"
    if (target / "done").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    print(f"building a plain Whoosh index of {docs:,} documents in {target.relative_to(ROOT)} …",
          flush=True)  # fmt: skip
    schema = Schema(id=ID(stored=True), title=TEXT(stored=True, analyzer=LanguageAnalyzer("ru")),
                    body=TEXT(analyzer=LanguageAnalyzer("ru")))  # fmt: skip
    index = create_in(target, schema)
    writer = index.writer(limitmb=256)
    for i, tool in enumerate(generate_tools(docs)):
        writer.add_document(id=str(i), title=tool.title, body=tool.body)
    writer.commit()
    (target / "done").write_text("ok")
    return target


def reference(workdir: Path, args, phases: list[Phase]) -> None:
    apps = workdir / "apps"
    apps.mkdir()
    (apps / "bare_app.py").write_text(textwrap.dedent(BARE_APP))
    (apps / "whoosh_app.py").write_text(textwrap.dedent(WHOOSH_APP))
    index = whoosh_index(10_000)
    queries = apps / "queries.txt"
    queries.write_text("\n".join(sample_queries(200, seed=5)), encoding="utf-8")
    env = {"BENCH_WHOOSH_DIR": str(index), "BENCH_WHOOSH_QUERIES": str(queries)}
    for name, module in (("bare Flask, 5 KB template", "bare_app:app"),
                         ("one warm Whoosh query, 10,000 documents", "whoosh_app:app")):  # fmt: skip
        server = Server(module, apps, env, workdir / f"{module.split(':')[0]}.log")
        try:
            n = args.ref_connections
            asyncio.run(closed_loop(server.port, "/page", n, 2, Phase("warm-up", None, 2)))
            phase = Phase(f"{name} (closed loop, {n} connections)", None, args.ref_seconds)
            phases.append(measured(phase, server, lambda s=server, n=n, ph=phase: closed_loop(
                s.port, "/page", n, args.ref_seconds, ph)))  # fmt: skip
            print_phase(phase, by_kind=False)
        finally:
            server.stop()


def data_size(quick: bool) -> argparse.Namespace:
    """The sizes of the kept database: the planning meeting benchmark's, or a tenth of them."""
    if quick:
        return argparse.Namespace(deals=10_000, tools=2_000, tags=30_000, reviews=10_000,
                                  rebuild=False)  # fmt: skip
    return argparse.Namespace(deals=100_000, tools=20_000, tags=300_000, reviews=100_000,
                              rebuild=False)  # fmt: skip


def kept_data(size) -> tuple[Path, dict]:
    """The kept database of ``bench/meeting.py`` for these sizes, built if there is none.

    When the models gained tables since the last build, the newest build of the same sizes
    and format is used (the run creates the new, empty tables on its copy) instead of a
    rebuild: the load depends on the deals, tools and tags, not on every table.
    """
    exact = meeting.data_dir_for(size)
    if not (exact / "build.json").exists():
        prefix = exact.name.rsplit("-", 1)[0] + "-"
        kept = [p for p in meeting.DATA_DIR.glob(prefix + "*") if (p / "build.json").exists()]
        if kept:
            newest = max(kept, key=lambda p: (p / "build.json").stat().st_mtime)
            print(f"using {newest.relative_to(ROOT)} (built for an earlier schema)")
            return newest, json.loads((newest / "build.json").read_text())
    return ensure_data(size)


def open_copy(data: Path, workdir: Path):
    """The kept database and index copied to ``workdir``, tables and indexes as the models'."""
    started = time.perf_counter()
    shutil.copy2(data / "bench.db", workdir / "bench.db")
    shutil.copytree(data / "search_index", workdir / "search_index")
    app = meeting.make_app(workdir / "bench.db", workdir / "search_index")
    app.test_client_class = meeting.CsrfClient
    with app.app_context():
        db.create_all()  # tables added since the kept build (see kept_data); none else
        changed = meeting.sync_indexes()
        deals = db.session.scalar(select(func.count()).select_from(Deal))
        tools = db.session.scalar(select(func.count()).select_from(SalesTool))
        tags = db.session.scalar(select(func.count()).select_from(ReviewTool))
    print(
        f"data: {deals:,} deals, {tools:,} tools, {tags:,} review tags; database "
        f"{(data / 'bench.db').stat().st_size / 1e6:.0f} MB, copied in "
        f"{time.perf_counter() - started:.1f} s"
        + (f"; indexes synced with the models: {' '.join(changed)}" if changed else "")
    )
    return app


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=TARGET_RPS, help="offered requests/s")
    parser.add_argument(
        "--overload", type=float, default=3.0, help="the second phase's × rate (0: no second phase)"
    )
    parser.add_argument("--seconds", type=float, default=30, help="per phase")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before each phase")
    parser.add_argument("--ref-seconds", type=float, default=10)
    parser.add_argument("--ref-connections", type=int, default=8)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10,000 deals, 10 s phases")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    size = data_size(args.quick)
    if args.quick:
        args.seconds, args.ref_seconds = 10, 5
    print(f"machine: {machine()}")
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    data, info = kept_data(size)
    workdir = Path(tempfile.mkdtemp(prefix="planerka-bench-load-"))
    phases: list[Phase] = []
    server = None
    try:
        app = open_copy(data, workdir)
        prepared = prepare(app)
        close_app(app)
        env = {
            "PLANERKA_ENV": "production",
            "SECRET_KEY": os.urandom(32).hex(),
            "SESSION_COOKIE_SECURE": "0",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "SEARCH_INDEX_DIR": str(workdir / "search_index"),
            "ATTACHMENTS_DIR": str(workdir / "attachments"),
            "IMPORTS_DIR": str(workdir / "imports"),
        }
        log = workdir / "gunicorn.log"
        server = Server("wsgi:app", ROOT, env, log)
        settings = subprocess.run(
            [sys.executable, "-c", "import runpy; c = runpy.run_path('gunicorn.conf.py'); "
             "print(c['workers'], c['threads'], c['worker_class'])"],
            cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True).stdout.split()  # fmt: skip
        print(f"gunicorn: {settings[0]} {settings[2]} workers × {settings[1]} threads, port "
              f"{server.port}; {len(prepared['agenda'])} deals on the meeting's agenda")  # fmt: skip
        sessions = {
            "lead": [sign_in(server.port, "lead1@bench.ru")],
            "follower": [sign_in(server.port, f"manager1-{i}@bench.ru") for i in range(10)],
            "manager": [
                sign_in(server.port, f"manager{t}-{i}@bench.ru")
                for t in range(2, 11)
                for i in range(3)
            ],  # fmt: skip
        }
        workload = Workload(server.port, prepared, sessions)
        workload.load_tools()
        runs = [("mixed workload", args.rate, False)]
        if args.overload:
            runs.append((f"{args.overload:g}× the load", args.rate * args.overload, True))
        for name, rate, probe in runs:
            warm = Phase("warm-up", rate, args.warmup)
            asyncio.run(open_loop(server.port, rate, args.warmup, workload, warm))
            time.sleep(1)
            phase = Phase(name, rate, args.seconds)
            phases.append(measured(phase, server, lambda r=rate, p=probe, ph=phase: open_loop(
                server.port, r, args.seconds, workload, ph, probe_healthz=p)))  # fmt: skip
            print_phase(phase, by_kind=True)
            time.sleep(2)
        server.stop()
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if "planerka.request:" in line]  # fmt: skip
        statuses = Counter(json.loads(line.split("planerka.request: ", 1)[1])["status"]
                           for line in lines)  # fmt: skip
        print(f"\nrequest log: {len(lines):,} lines; statuses {dict(sorted(statuses.items()))}")
        if lines:
            print(f"   e.g. {lines[-1][:300]}")
        tracebacks = log.read_text(errors="replace").count("Traceback")
        print(f"   tracebacks in the server log: {tracebacks}")
        if not args.skip_reference:
            reference(workdir, args, phases)
        verdict(phases, args)
    finally:
        if server:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def verdict(phases: list[Phase], args) -> None:
    print("\nsummary")
    print(f"   {'phase':<48} {'offered':>8} {'answered':>9} {'served':>7} {'p50':>7} {'p90':>7} "
          f"{'p99':>7} {'shed':>6} {'errors':>6}")  # fmt: skip
    for phase in phases:
        s = summary(phase)
        offered = f"{phase.offered:.0f}/s" if phase.offered else "closed"
        print(f"   {phase.name[:48]:<48} {offered:>8} {s['rps']:>7.0f}/s {s['served_rps']:>5.0f}/s "
              f"{s['p50']:>5.1f}ms {s['p90']:>5.1f}ms {s['p99']:>5.1f}ms {s['shed']:>6} "
              f"{s['errors']:>6}")  # fmt: skip
    mixed = summary(phases[0])
    ok = mixed["served_rps"] >= args.rate * 0.97 and mixed["p90"] < TARGET_P90_MS
    ok = ok and mixed["errors"] == 0 and mixed["shed"] == 0
    print(f"   mixed: {'MEETS' if ok else 'MISSES'} ≥ {args.rate:.0f}/s with p90 < "
          f"{TARGET_P90_MS:.0f} ms, nothing shed, no errors")  # fmt: skip
    if not args.overload:
        return
    over = summary(phases[1])
    health = over.get("healthz", {})
    ok = over["errors"] == 0 and set(health.get("statuses", {})) <= {"200"}
    print(f"   overload: {'SHEDS CLEANLY' if ok else 'FAILS'} — {over['shed']} shed with "
          f"Retry-After, {over['errors']} errors; /healthz max {health.get('max', float('nan')):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
