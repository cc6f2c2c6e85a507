"""Planning meeting benchmark: presenter actions on a big database, server-side.

    .venv/bin/python bench/meeting.py             # 100,000 deals, 20,000 tools, 300,000 tags
    .venv/bin/python bench/meeting.py --quick     # 10,000 / 2,000 / 30,000, 100 iterations
    .venv/bin/python bench/meeting.py --rebuild   # build the database again even if kept
    .venv/bin/python bench/meeting.py --defer-index   # tag saves leave the search index alone

The database is built once per size (in a child process, bulk inserts through SQLAlchemy
Core, then ``rebuild_index()`` for the Whoosh index) and kept in ``bench/data/`` (ignored
by git); every run works on a fresh copy of it in a temporary directory, so runs start
from the same state. 10 teams of a lead and 10 managers each; deals of the last three
years, nearly all reviewed at the team's weekly meetings (plus monthly ad-hoc ones), with
3 tools tagged per review on average; ~35 % of deals with КП/ТКП sends.

The run opens the weekly meeting of team 1 for 2026-W48 (its agenda: ~10 won deals
closed since the previous meeting) and times requests through the Flask test client with
a signed-in lead (a manager of the team follows the meeting): "next deal"
(``POST /meetings/<id>/show``), "add a tag" (``POST .../deals/<deal>/tags``; each call
inserts: a deal's review keeps at most 5 tags, the oldest is removed first, timed apart),
the tool typeahead (``GET .../tool-suggestions?q=``) and the follower's poll
(``GET /meetings/<id>/follow?rev=N``). Target: p95 ≤ 50 ms for the presenter's actions.
After the timings, every distinct SQL statement the actions ran is checked with
EXPLAIN QUERY PLAN and full scans of big tables are listed.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402
from sqlalchemy import event, func, insert, select, text  # noqa: E402

from bench.corpus import (  # noqa: E402
    CITIES,
    CLIENTS,
    PRODUCTS,
    SEGMENTS,
    generate_tools,
    sample_queries,
)
from bench.search import machine  # noqa: E402
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    ActionItem,
    Attachment,
    Deal,
    DealReview,
    Meeting,
    MeetingItem,
    ProposalSend,
    ReviewTool,
    SalesTool,
    SearchQueryLog,
    Segment,
    Tag,
    Team,
    ToolVersion,
    User,
)
from portal.models.tools import tool_segments, tool_tags  # noqa: E402

PASSWORD = "bench-password-123"
BUILD_FORMAT = 2  # bump when the generator below changes what it writes
DATA_DIR = ROOT / "bench" / "data"
BENCH_WEEK = "2026-W48"  # the meeting the run opens (Monday 23 November 2026)
TZ = ZoneInfo("Europe/Moscow")  # the portal's default BABEL_DEFAULT_TIMEZONE
FIRST_MONDAY = date(2024, 1, 1)  # ISO 2024-W01; the first weekly meetings are of W02
LAST_MONDAY = date(2026, 11, 16)  # 2026-W47: the last meeting held before the run
TAIL_PER_TEAM = 12  # deals closed since the W47 meeting (10 won): the run's agenda
# Tools: 30 % imported in the portal's first month, the rest written week after week.
LAUNCH = datetime(2023, 12, 1, 7, tzinfo=UTC)
LAUNCH_SHARE = 0.3
TOOLS_UNTIL = datetime(2026, 11, 24, 12, tzinfo=UTC)  # the newest tool
DATA_NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)  # nothing in the data happens later
TARGET_MS = 50.0

TEAMS = [
    "Москва",
    "Санкт-Петербург",
    "Казань",
    "Екатеринбург",
    "Новосибирск",
    "Самара",
    "Краснодар",
    "Пермь",
    "Нижний Новгород",
    "Ростов-на-Дону",
]
FIRST_NAMES = ["Дмитрий", "Анна", "Сергей", "Ольга", "Алексей", "Екатерина", "Михаил",
               "Наталья", "Игорь", "Татьяна", "Павел", "Марина", "Андрей", "Ирина"]  # fmt: skip
SURNAMES = ["Козлов", "Смирнов", "Иванов", "Соколов", "Морозов", "Волков", "Лебедев",
            "Новиков", "Павлов", "Фёдоров", "Орлов", "Зайцев", "Белов", "Егоров"]  # fmt: skip
COMPANY_FORMS = ["ООО", "АО", "ПАО", "ИП", "ООО", "ООО"]
COMPANY_WORDS = ["Стройинвест", "ТехноСервис", "Северсталь-Дистрибуция", "ПромИнвест",
                 "Логистик Плюс", "ТеплоЭнерго", "Ритейл Групп", "АгроХолдинг", "МедТех",
                 "Уралмаш-Сервис", "ИнфоСистемы", "Балтика-Трейд", "Вектор", "ЛогистПро",
                 "МегаТорг", "ТехноПарк", "Заря", "Деловые Линии", "СибАгро", "Волга-Холод"]  # fmt: skip
DEAL_TITLES = [
    "Поставка {gen} для {client}",
    "{product} — {client}, {city}",
    "Модернизация {gen}: {client}",
    "Сервисный контракт на {product}",
    "{product}: тендер {client}",
    "Пилотная поставка {gen} в {city}",
]
OPEN_STAGES = ["Первичный контакт", "Переговоры", "Принимают решение", "Согласование договора"]
LESSONS = [
    "Клиент сравнивал с конкурентом по цене — показали **окупаемость** за {m} месяцев.",
    "Вышли на ЛПРа через главного инженера; решение приняли за две недели.",
    "«Дорого» сняли пилотной поставкой и расчётом стоимости владения.",
    "Отправили ТКП в день звонка — клиент оценил скорость.",
    "Проиграли по срокам отгрузки: склад в {city} не успевал.",
    "Скидку обменяли на предоплату 50 %.",
    "Помог кейс похожей компании из того же сегмента.",
]
ACTIONS = ["Обновить КП под новый прайс", "Записать кейс в базу знаний",
           "Созвониться с ЛПРом через месяц", "Проверить сроки отгрузки со склада",
           "Подготовить шаблон письма после выставки", "Разобрать возражение на тренинге"]  # fmt: skip
REACTIONS = ["none", "replied", "meeting", "changes_requested", "accepted", "rejected"]
# Searches that find nothing: words the knowledge base lacks, and typos.
ZERO_QUERIES = ["лизинг", "рассрочка", "маркетплейс", "госзакупки 44-фз", "тендер 223-фз",
                "импортозамещение", "санкции поставка", "отсрочка платежа 90 дней",
                "кп на английском", "скрипт входящего звонка", "вебинар", "франшиза",
                "кп лизинг", "коммерчесоке", "возрожения", "окупаемсть", "сделко",
                "ткп-2019", "демонтаж", "субподряд"]  # fmt: skip
PROPOSALS = ("proposal", "tech_proposal")
# What a lead types in the tag box: whole words, word starts, two-word mixes, codes.
TYPEAHEAD = [
    "возраж", "возражение дорого", "КП логист", "спин", "скрипт холодного звонка",
    "скрипт", "ткп", "ТКП-2024", "кейс ритейл", "чек-лист", "дожим", "окупаем",
    "письмо после", "я подумаю", "лпр", "вилка цен", "станок", "компрессор",
    "пароконвект", "выставк", "секретар", "кп", "отгрузка", "кейс", "шаблон письма",
    "вз", "воз", "возр", "возра", "сп", "spin", "КП-2025", "техника", "звонок ЛПР",
]  # fmt: skip


# --- helpers -----------------------------------------------------------------------------


def pick(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    return (
        f"p50 {pick(ordered, 50):6.1f} ms   p95 {pick(ordered, 95):6.1f} ms   "
        f"p99 {pick(ordered, 99):6.1f} ms   max {ordered[-1]:6.1f} ms   "
        f"mean {statistics.fmean(ordered):5.1f} ms   (n={len(ordered)})"
    )


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour`` in the portal's time zone, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def make_app(db_path: Path, index_dir: Path, **config):
    app = create_app(
        {
            **config,
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "SEARCH_INDEX_DIR": str(index_dir),
            "ATTACHMENTS_DIR": str(index_dir.parent / "attachments"),
            "IMPORTS_DIR": str(index_dir.parent / "imports"),
            "SEARCH_REBUILD_IN_BACKGROUND": False,
        }
    )
    from portal.search import service as search

    search.init_search(app)
    return app


def schema_key() -> str:
    """Tables and columns of the models: a kept database is rebuilt when they change.

    Indexes are left out: the run brings a copy's indexes in line with the models.
    """
    parts = []
    for table in sorted(db.metadata.tables.values(), key=lambda t: t.name):
        columns = ",".join(f"{c.name}:{c.type}" for c in table.columns)
        parts.append(f"{table.name}({columns})")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:10]


class CsrfClient(FlaskClient):
    """Sends the CSRF header on state-changing requests, as htmx does (tests/conftest.py)."""

    def open(self, *args, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        token = getattr(self, "_csrf", None)
        if token is None:
            with self.session_transaction() as session:
                raw = session.get("csrf_token")
                if raw is None:
                    raw = session["csrf_token"] = secrets.token_hex(20)
            serializer = URLSafeTimedSerializer(
                self.application.config["SECRET_KEY"], salt="wtf-csrf-token"
            )
            token = self._csrf = serializer.dumps(raw)
        return token


# --- building the database ---------------------------------------------------------------


def zipf_weights(count: int, exponent: float = 0.8) -> list[float]:
    return list(accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


def search_log(rx: random.Random, count: int, people: list[int]) -> list[dict]:
    """``count`` searches of managers and leads over the three years, in working hours.

    One in seven finds nothing at first, one in seventeen by now (the knowledge base grows).
    """
    from portal.search.analysis import normalize_query

    queries = sample_queries(3000, seed=11)
    start = LAUNCH + timedelta(days=5)
    days = (DATA_NOW - start).days
    rows = []
    for _ in range(count):
        day = (start + timedelta(days=rx.randrange(days))).astimezone(TZ).date()
        while day.weekday() >= 5:
            day -= timedelta(days=2)
        at = local(day, 9) + timedelta(seconds=rx.randrange(9 * 3600))
        if at > DATA_NOW:
            at = DATA_NOW - timedelta(seconds=rx.randrange(86_400))
        share_zero = 0.14 - 0.08 * (at - start) / (DATA_NOW - start)
        if rx.random() < share_zero:
            text, found = rx.choice(ZERO_QUERIES), 0
        else:
            text, found = rx.choice(queries), min(2000, int(rx.paretovariate(0.7)))
        rows.append({"query": text, "normalized": normalize_query(text)[:200],
                     "user_id": rx.choice(people), "results": found, "created_at": at})  # fmt: skip
    rows.sort(key=lambda row: row["created_at"])
    return rows


def build(data: Path, deals_n: int, tools_n: int, tags_n: int, reviews_n: int) -> dict:
    """Write the database and the index to ``data`` (which must not exist yet)."""
    rnd = random.Random(20261127)
    app = make_app(data / "bench.db", data / "search_index")
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        # Per connection and outside any transaction: the engine begins every
        # transaction itself (BEGIN IMMEDIATE for writes), where this pragma is refused.
        event.listen(
            db.engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF")
        )
        db.engine.dispose()
        session = db.session

        def put(model, rows: list[dict], chunk: int = 10_000) -> None:
            table = model.__table__ if hasattr(model, "__table__") else model
            for start in range(0, len(rows), chunk):
                session.execute(insert(table), rows[start : start + chunk])
            counts[table.name] = counts.get(table.name, 0) + len(rows)

        # Teams and people: a lead and 10 managers per team, a head, an admin.
        from portal.auth.services import hash_password

        password_hash = hash_password(PASSWORD)
        t0 = datetime(2023, 12, 1, tzinfo=UTC)
        put(Team, [{"id": i + 1, "name": n, "is_active": True, "created_at": t0}
                   for i, n in enumerate(TEAMS)])  # fmt: skip
        users, leads, managers_of = [], {}, defaultdict(list)

        def person(uid: int, email: str, role: str, team_id: int | None) -> None:
            first = FIRST_NAMES[uid % len(FIRST_NAMES)]
            name = f"{first} {SURNAMES[(uid * 5) % len(SURNAMES)]}"
            if first[-1] in "ая":
                name += "а"  # Анна Смирнова
            users.append({"id": uid, "email": email, "name": name, "role": role,
                          "team_id": team_id, "password_hash": password_hash, "locale": "ru",
                          "is_active": True, "created_at": t0})  # fmt: skip

        uid = 0
        for team_id in range(1, len(TEAMS) + 1):
            uid += 1
            person(uid, f"lead{team_id}@bench.ru", "lead", team_id)
            leads[team_id] = uid
            for m in range(10):
                uid += 1
                person(uid, f"manager{team_id}-{m}@bench.ru", "manager", team_id)
                managers_of[team_id].append(uid)
        person(uid + 1, "head@bench.ru", "head", None)
        person(uid + 2, "admin@bench.ru", "admin", None)
        put(User, users)
        all_managers = [m for team in managers_of.values() for m in team]

        # Sales tools (bench/corpus.py), their versions; proposals often have 2–3. Written
        # over three years (30 % imported at the launch); later versions months apart;
        # approved tools (and most archived ones) approved hours after their first version.
        rx = random.Random(20261128)  # the draws format 2 added, apart from the first stream
        team_of = {m: team for team, ms in managers_of.items() for m in ms}
        launch_n = max(1, int(tools_n * LAUNCH_SHARE))
        version_dates: dict[int, list[datetime]] = {}
        approved_at: dict[int, datetime] = {}
        tools, versions, links_tags, links_segments, attachments = [], [], [], [], []
        tag_ids: dict[str, int] = {}
        segment_ids: dict[str, int] = {}
        for number, spec in enumerate(generate_tools(tools_n), start=1):
            if spec.kind in PROPOSALS:
                version = rnd.choices([1, 2, 3], [45, 35, 20])[0]
            else:
                version = rnd.choices([1, 2], [85, 15])[0]
            owner = all_managers[(number * 7919) % len(all_managers)]
            if number <= launch_n:
                first = LAUNCH + timedelta(days=28) * ((number - 1) / launch_n)
            else:
                share = (number - launch_n - 1) / max(1, tools_n - launch_n)
                first = LAUNCH + timedelta(days=35) + (TOOLS_UNTIL - LAUNCH - timedelta(35)) * share
            gaps = [timedelta(days=rx.uniform(40, 240)) for _ in range(version - 1)]
            room = TOOLS_UNTIL - first
            if sum(gaps, timedelta()) > room:  # a young tool: its versions squeezed in
                gaps = [gap * (room / sum(gaps, timedelta())) * 0.95 for gap in gaps]
            dates = list(accumulate([first, *gaps]))
            version_dates[number] = dates
            approver = leads[team_of[owner]]
            if spec.status == "approved" or (spec.status == "archived" and rx.random() < 0.8):
                approved_at[number] = min(first + timedelta(hours=rx.uniform(1, 72)), DATA_NOW)
            tools.append({"id": number, "kind": spec.kind, "title": spec.title,
                          "summary": spec.summary, "body": spec.body, "status": spec.status,
                          "version": version, "owner_id": owner, "created_at": first,
                          "updated_at": dates[-1], "view_count": rnd.randrange(200),
                          "approved_at": approved_at.get(number),
                          "approved_by_id": approver if number in approved_at else None})  # fmt: skip
            for v in range(1, version + 1):
                title = spec.title if v == version else f"{spec.title} (ред. {v})"[:200]
                body = spec.body if v == version else spec.body[: len(spec.body) * 3 // 4]
                versions.append({"tool_id": number, "number": v, "title": title, "body": body,
                                 "change_note": "Первая версия" if v == 1 else "Новые цены",
                                 "author_id": owner, "created_at": dates[v - 1]})  # fmt: skip
            for name in spec.tags:
                tag_ids.setdefault(name, len(tag_ids) + 1)
                links_tags.append({"tool_id": number, "tag_id": tag_ids[name]})
            for name in spec.segments:
                segment_ids.setdefault(name, len(segment_ids) + 1)
                links_segments.append({"tool_id": number, "segment_id": segment_ids[name]})
            if spec.attachment_text:
                digest = hashlib.sha256(spec.attachment_text.encode()).hexdigest()
                attachments.append({"tool_id": number, "original_name": "Спецификация.pdf",
                                    "stored_name": f"{number:08d}-{digest[:16]}.pdf",
                                    "content_type": "application/pdf",
                                    "size": len(spec.attachment_text), "sha256": digest,
                                    "extracted_text": spec.attachment_text,
                                    "created_at": first})  # fmt: skip
        put(Tag, [{"id": i, "name": n} for n, i in tag_ids.items()])
        put(Segment, [{"id": i, "name": n} for n, i in segment_ids.items()])
        put(SalesTool, tools, 2000)
        put(ToolVersion, versions, 2000)
        put(tool_tags, links_tags)
        put(tool_segments, links_segments)
        put(Attachment, attachments)
        del versions, links_tags, links_segments, attachments
        is_proposal = frozenset(t["id"] for t in tools if t["kind"] in PROPOSALS)
        usable = [t["id"] for t in tools if t["status"] == "approved"]
        rnd.shuffle(usable)  # popularity does not follow the id
        usable_cum = zipf_weights(len(usable))
        proposals = [i for i in usable if tools[i - 1]["kind"] in PROPOSALS]
        proposals_cum = zipf_weights(len(proposals))
        launched = [i for i in usable if approved_at[i] < LAUNCH + timedelta(days=31)]
        del tools

        def available(pool: list[int], cum: list[float], at: datetime) -> int:
            """A Zipf-popular tool of ``pool`` already approved at ``at``."""
            for _ in range(60):
                tool = pool[bisect(cum, rx.random() * cum[-1])]
                if approved_at[tool] <= at:
                    return tool
            fallback = [t for t in launched if t in is_proposal] if pool is proposals else launched
            return rx.choice(fallback)

        def version_at(tool: int, at: datetime) -> int:
            """The newest version of the tool written before ``at``."""
            return max(1, bisect(version_dates[tool], at))

        # Deals: spread over the teams and their managers; ~8 % still open.
        period_start = local(FIRST_MONDAY, 10)
        period_end = local(LAST_MONDAY, 10)
        span = (period_end - period_start).total_seconds()
        deals = []
        tail_n = TAIL_PER_TEAM * len(TEAMS) if deals_n >= 1000 else 0
        for number in range(1, deals_n + 1):
            team_id = 1 + (number - 1) % len(TEAMS)
            manager = managers_of[team_id][rnd.randrange(10)]
            product, gen = rnd.choice(PRODUCTS)
            client = (rnd.choice(CLIENTS) if rnd.random() < 0.3 else
                      f"{rnd.choice(COMPANY_FORMS)} «{rnd.choice(COMPANY_WORDS)}»")  # fmt: skip
            title = rnd.choice(DEAL_TITLES).format(
                gen=gen, product=product[:1].upper() + product[1:], client=client,
                city=rnd.choice(CITIES),
            )  # fmt: skip
            if number > deals_n - tail_n:  # closed after the last meeting: the next agenda
                status = "lost" if (number - (deals_n - tail_n) - 1) // len(TEAMS) >= 10 else "won"
                closed = local(LAST_MONDAY, 11) + timedelta(
                    seconds=rnd.randrange(int(timedelta(days=10, hours=6).total_seconds()))
                )
            else:
                status = rnd.choices(["won", "lost", "open"], [55, 37, 8])[0]
                closed = period_start + timedelta(seconds=rnd.random() * span)
            created = closed - timedelta(hours=rnd.randrange(24, 24 * 120))
            deals.append({"id": number, "external_id": str(30_000_000 + number),
                          "title": title[:300], "client": client, "segment": rnd.choice(SEGMENTS),
                          "manager_id": manager, "team_id": team_id,
                          "amount": Decimal(rnd.randrange(50, 30_000) * 1000), "currency": "RUB",
                          "stage": {"won": "Успешно реализовано",
                                    "lost": "Закрыто и не реализовано"}.get(status) or
                                   rnd.choice(OPEN_STAGES),
                          "pipeline": "Основная воронка", "status": status,
                          "created_at": created, "closed_at": None if status == "open" else closed,
                          "source": "import", "updated_at": closed})  # fmt: skip
        put(Deal, deals)

        # КП and ТКП sent in ~35 % of deals (all of the next agenda's), 1–3 sends each: a
        # proposal approved before the first send, in its version of the day (now and then
        # the one before); a resend after "changes requested" carries the newest version.
        # Newer versions draw somewhat more acceptances; reactions come hours to days later.
        sends, sent_in = [], defaultdict(dict)
        for deal in deals:
            if not proposals or (rnd.random() >= 0.35 and deal["id"] <= deals_n - tail_n):
                continue
            end = deal["closed_at"] or local(LAST_MONDAY, 10)
            when, times = deal["created_at"], []
            for _ in range(rnd.choices([1, 2, 3], [55, 30, 15])[0]):
                when = when + (end - when) * rnd.uniform(0.1, 0.6)
                times.append(when)
            tool = available(proposals, proposals_cum, times[0])
            version = version_at(tool, times[0])
            if version > 1 and rx.random() < 0.15:
                version -= 1
            reaction = "none"
            for when in times:
                if reaction == "changes_requested":
                    version = version_at(tool, when)
                better = 3 * (version - 1)
                reaction = rx.choices(REACTIONS, [34 - better, 20, 12, 14, 10 + 2 * better,
                                                  10 - better // 3])[0]  # fmt: skip
                reacted = when + timedelta(hours=min(400.0, rx.lognormvariate(3.0, 1.0)))
                if reaction != "none" and reacted > DATA_NOW:
                    reaction = "none"
                sends.append({"deal_id": deal["id"], "tool_id": tool, "version": version,
                              "sent_at": when, "reaction": reaction,
                              "reacted_at": None if reaction == "none" else reacted,
                              "created_by_id": deal["manager_id"], "created_at": when,
                              "updated_at": reacted if reaction != "none" else when})  # fmt: skip
                sent_in[deal["id"]][tool] = version
        put(ProposalSend, sends)
        del sends

        # Past meetings: every team's weekly one (Monday 10:00), and a monthly ad-hoc one.
        meetings, weekly = [], {}
        day = FIRST_MONDAY + timedelta(days=7)
        while day <= LAST_MONDAY:
            for team_id in range(1, len(TEAMS) + 1):
                start = local(day, 10)
                meetings.append({"id": len(meetings) + 1, "team_id": team_id,
                                 "week": week_of(day), "weekly_week": week_of(day),
                                 "kind": "weekly", "title": "", "status": "closed",
                                 "minutes_per_deal": 3, "revision": 1, "created_by_id": leads[team_id],
                                 "created_at": start, "closed_by_id": leads[team_id],
                                 "closed_at": start + timedelta(hours=1, minutes=30)})  # fmt: skip
                weekly[(team_id, day)] = meetings[-1]
            day += timedelta(days=7)
        adhoc_of: dict[tuple[int, int, int], dict] = {}
        month = date(FIRST_MONDAY.year, FIRST_MONDAY.month, 1)
        while month < date(LAST_MONDAY.year, LAST_MONDAY.month, 1):
            nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            friday = nxt - timedelta(days=1)
            while friday.weekday() != 4:
                friday -= timedelta(days=1)
            for team_id in range(1, len(TEAMS) + 1):
                start = local(friday, 15)
                meetings.append({"id": len(meetings) + 1, "team_id": team_id,
                                 "week": week_of(friday), "weekly_week": None, "kind": "adhoc",
                                 "title": f"Разбор крупных сделок, {friday:%m.%Y}",
                                 "status": "closed", "minutes_per_deal": 5, "revision": 1,
                                 "created_by_id": leads[team_id], "created_at": start,
                                 "closed_by_id": leads[team_id],
                                 "closed_at": start + timedelta(hours=1)})  # fmt: skip
                adhoc_of[(team_id, month.year, month.month)] = meetings[-1]
            month = nxt

        # Reviews: closed deals at the first weekly meeting after they closed; beyond
        # that, second reviews at the ad-hoc meeting closing the month.
        closed = [d for d in deals if d["closed_at"] and d["id"] <= deals_n - tail_n]
        rnd.shuffle(closed)
        first = closed[: min(reviews_n, len(closed))]
        reviews = []
        for deal in first:
            closed_day = deal["closed_at"].astimezone(TZ)
            day = closed_day.date() - timedelta(days=closed_day.weekday())  # its week's Monday
            if deal["closed_at"] >= local(day, 10):
                day += timedelta(days=7)
            reviews.append((weekly[(deal["team_id"], max(day, FIRST_MONDAY + timedelta(7)))], deal))
        for deal in rnd.sample(closed, max(0, reviews_n - len(first))):
            closed_day = deal["closed_at"].astimezone(TZ).date()
            meeting = adhoc_of.get((deal["team_id"], closed_day.year, closed_day.month))
            if meeting is None or meeting["created_at"] <= deal["closed_at"]:
                nxt = closed_day.replace(day=28) + timedelta(days=4)
                meeting = adhoc_of.get((deal["team_id"], nxt.year, nxt.month))
            if meeting is not None:
                reviews.append((meeting, deal))
        reviews.sort(key=lambda pair: (pair[0]["id"], pair[1]["closed_at"]))

        # Tags per review 1–5 (3 on average, ``tags_n`` in all); popular tools are Zipfian.
        per_review = [rnd.choices([1, 2, 3, 4, 5], [15, 25, 25, 20, 15])[0] for _ in reviews]
        total = sum(per_review)
        while total != tags_n and reviews:
            i = rnd.randrange(len(per_review))
            if total < tags_n and per_review[i] < 8:
                per_review[i] += 1
                total += 1
            elif total > tags_n and per_review[i] > 1:
                per_review[i] -= 1
                total -= 1
        review_rows, item_rows, tag_rows, action_rows = [], [], [], []
        positions: dict[int, int] = defaultdict(int)
        for number, ((meeting, deal), wanted) in enumerate(
            zip(reviews, per_review, strict=True), start=1
        ):
            at = meeting["created_at"] + timedelta(minutes=3 * positions[meeting["id"]])
            positions[meeting["id"]] += 1
            meeting["revision"] += 1 + wanted
            chosen: dict[int, int | None] = {}
            for tool, version in sent_in.get(deal["id"], {}).items():
                if rnd.random() < 0.6 and len(chosen) < wanted:
                    chosen[tool] = version
            while len(chosen) < wanted:
                tool = available(usable, usable_cum, at)
                if tool not in chosen:
                    chosen[tool] = version_at(tool, at) if tool in is_proposal else None
            lesson = ""
            if rnd.random() < 0.5:
                lesson = rnd.choice(LESSONS).format(m=rnd.randint(4, 30), city=rnd.choice(CITIES))
            review_rows.append({"id": number, "meeting_id": meeting["id"], "deal_id": deal["id"],
                                "key_tool_id": rnd.choice(list(chosen)) if rnd.random() < 0.4 else None,
                                "lesson": lesson, "version": 1 + bool(lesson),
                                "created_by_id": meeting["created_by_id"], "created_at": at,
                                "updated_by_id": meeting["created_by_id"], "updated_at": at})  # fmt: skip
            item_rows.append({"meeting_id": meeting["id"], "deal_id": deal["id"],
                              "position": positions[meeting["id"]], "suggested": True,
                              "added_by_id": meeting["created_by_id"],
                              "created_at": meeting["created_at"]})  # fmt: skip
            for tool, version in chosen.items():
                tag_rows.append({"review_id": number, "deal_id": deal["id"], "tool_id": tool,
                                 "version": version, "created_by_id": meeting["created_by_id"],
                                 "created_at": at})  # fmt: skip
            if rnd.random() < 0.2:
                recent = meeting["created_at"] > local(LAST_MONDAY, 10) - timedelta(days=21)
                done = rnd.random() < (0.5 if recent else 0.97)
                action_rows.append({"team_id": meeting["team_id"], "meeting_id": meeting["id"],
                                    "review_id": number, "text": rnd.choice(ACTIONS),
                                    "owner_id": deal["manager_id"],
                                    "due_date": meeting["created_at"].date() + timedelta(days=7),
                                    "done": done,
                                    "done_at": meeting["created_at"] + timedelta(days=6) if done else None,
                                    "created_by_id": meeting["created_by_id"],
                                    "created_at": meeting["created_at"]})  # fmt: skip
        put(Meeting, meetings)
        put(DealReview, review_rows)
        put(MeetingItem, item_rows)
        put(ReviewTool, tag_rows)
        put(ActionItem, action_rows)
        put(SearchQueryLog, search_log(rx, deals_n, all_managers + list(leads.values())))
        # Drafts captured at meetings: 1 % of the tools come from a reviewed deal.
        captured = rnd.sample(review_rows, min(len(review_rows), tools_n // 100))
        for tool_id, review in zip(range(tools_n, 0, -97), captured, strict=False):
            session.execute(
                SalesTool.__table__.update()
                .where(SalesTool.id == tool_id)
                .values(origin_meeting_id=review["meeting_id"], origin_deal_id=review["deal_id"])
            )
        session.commit()
        rows_s = time.perf_counter() - started
        del deals, review_rows, item_rows, tag_rows, action_rows, reviews, meetings
        gc.collect()

        from portal.search import service as search

        indexed_at = time.perf_counter()
        indexed = search.rebuild_index()
        index_s = time.perf_counter() - indexed_at
        db.session.remove()
        raw = db.engine.raw_connection()
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        db.engine.dispose()
    return {"rows": counts, "rows_seconds": round(rows_s, 1), "indexed": indexed,
            "index_seconds": round(index_s, 1)}  # fmt: skip


def data_dir_for(args) -> Path:
    name = f"meeting-{args.deals}d-{args.tools}t-{args.tags}r-f{BUILD_FORMAT}-{schema_key()}"
    return DATA_DIR / name


def ensure_data(args) -> tuple[Path, dict]:
    data = data_dir_for(args)
    marker = data / "build.json"
    if args.rebuild and data.exists():
        shutil.rmtree(data)
    if not marker.exists():
        if data.exists():
            shutil.rmtree(data)  # an interrupted build
        print(f"building {data.relative_to(ROOT)} (kept for later runs) …", flush=True)
        command = [sys.executable, __file__, "--build-only", "--deals", str(args.deals),
                   "--tools", str(args.tools), "--tags", str(args.tags),
                   "--reviews", str(args.reviews)]  # fmt: skip
        subprocess.run(command, check=True)
    info = json.loads(marker.read_text())
    return data, info


def build_only(args) -> None:
    data = data_dir_for(args)
    staging = data.with_name(data.name + ".building")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    started = time.perf_counter()
    info = build(staging, args.deals, args.tools, args.tags, args.reviews)
    info["seconds"] = round(time.perf_counter() - started, 1)
    info["built"] = datetime.now(UTC).isoformat(timespec="seconds")
    (staging / "build.json").write_text(json.dumps(info, indent=1, ensure_ascii=False))
    staging.rename(data)
    print(
        f"built in {info['seconds']:.0f} s: rows {info['rows_seconds']:.0f} s, "
        f"index of {info['indexed']} tools {info['index_seconds']:.0f} s"
    )


# --- measuring ---------------------------------------------------------------------------


def sync_indexes() -> list[str]:
    """Make the copy's indexes those of the models (a kept database may predate a change)."""
    changed = []
    connection = db.session.connection()
    present = {
        name
        for (name,) in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
    }
    wanted = {}
    for table in db.metadata.tables.values():
        for index in table.indexes:
            wanted[index.name] = index
    for name in sorted(present - set(wanted)):
        connection.execute(text(f'DROP INDEX "{name}"'))
        changed.append(f"-{name}")
    for name in sorted(set(wanted) - present):
        wanted[name].create(connection)
        changed.append(f"+{name}")
    db.session.commit()
    return changed


class SqlMeter:
    """Counts statements and their time; keeps the statements of one request per action."""

    def __init__(self, engine):
        self.queries = 0
        self.seconds = 0.0
        self.capture: list | None = None
        self.per_statement: dict[str, float] | None = None  # statement -> seconds
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started = time.perf_counter()
        if self.capture is not None and not executemany:
            self.capture.append((statement, parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - self._started
        self.queries += 1
        self.seconds += elapsed
        if self.per_statement is not None:
            self.per_statement[statement] = self.per_statement.get(statement, 0.0) + elapsed

    def reset(self):
        self.queries, self.seconds = 0, 0.0


class Action:
    def __init__(self, name: str):
        self.name = name
        self.timings: list[float] = []
        self.queries: list[int] = []
        self.sql_ms: list[float] = []
        self.index_ms: list[float] = []
        self.statements: list = []
        self.statement_seconds: dict[str, float] = {}


SIZES = [
    ("deals", Deal),
    ("sales tools", SalesTool),
    ("tool versions", ToolVersion),
    ("review tags", ReviewTool),
    ("deal reviews", DealReview),
    ("meetings", Meeting),
    ("agenda items", MeetingItem),
    ("proposal sends", ProposalSend),
    ("action items", ActionItem),
    ("search queries", SearchQueryLog),
    ("users", User),
]


def open_copy(data: Path, info: dict, workdir: Path, **config):
    """Copy the kept database and index into ``workdir``; the app on the copy, described.

    The copy's indexes are brought in line with the models first (see ``sync_indexes``).
    """
    started = time.perf_counter()
    shutil.copy2(data / "bench.db", workdir / "bench.db")
    shutil.copytree(data / "search_index", workdir / "search_index")
    copy_s = time.perf_counter() - started
    db_mb = (data / "bench.db").stat().st_size / 1e6
    index_mb = sum(f.stat().st_size for f in (data / "search_index").rglob("*") if f.is_file())
    app = make_app(workdir / "bench.db", workdir / "search_index", **config)
    app.test_client_class = CsrfClient
    with app.app_context():
        changed = sync_indexes()
        sizes = {
            name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in SIZES
        }
        closed_deals = db.session.scalar(
            select(func.count(Deal.id)).where(Deal.closed_at.is_not(None))
        )
    print(
        "data: "
        + ", ".join(f"{n:,} {name}" for name, n in sizes.items())
        + f" ({closed_deals:,} deals closed)"
    )
    print(
        f"      database {db_mb:.0f} MB, search index {index_mb / 1e6:.0f} MB "
        f"({info['indexed']:,} tools); built in {info['seconds']:.0f} s on {info['built'][:10]}, "
        f"copied for this run in {copy_s:.1f} s"
        + (f"; indexes synced with the models: {' '.join(changed)}" if changed else "")
    )
    return app


def close_app(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run(args, data: Path, info: dict) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="planerka-bench-meeting-"))
    try:
        # --defer-index: saves leave their outbox rows instead of updating the index
        # before the response (what "add a tag" costs without that update).
        extra = {"SEARCH_APPLY_ON_COMMIT": False} if args.defer_index else {}
        app = open_copy(data, info, workdir, **extra)
        measure(app, args)
        close_app(app)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(app, args) -> None:
    from portal.search import service as search

    HX = {"HX-Request": "true"}
    lead_email, follower_email = "lead1@bench.ru", "manager1-0@bench.ru"
    presenter, follower = app.test_client(), app.test_client()
    for client, email in ((presenter, lead_email), (follower, follower_email)):
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, (email, response.status_code)
        client._csrf = None  # signing in starts a new session, with a new CSRF token

    started = time.perf_counter()
    response = presenter.post("/meetings", data={"team_id": 1, "week": BENCH_WEEK,
                                                 "title": "Планёрка"})  # fmt: skip
    open_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    meeting_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context():
        agenda = list(
            db.session.scalars(
                select(MeetingItem.deal_id)
                .where(MeetingItem.meeting_id == meeting_id)
                .order_by(MeetingItem.position)
            )
        )
        sent = defaultdict(dict)
        for deal_id, tool_id, version in db.session.execute(
            select(ProposalSend.deal_id, ProposalSend.tool_id, ProposalSend.version)
            .where(ProposalSend.deal_id.in_(agenda))
            .order_by(ProposalSend.sent_at)
        ):
            sent[deal_id][tool_id] = version
        # Tools a lead tags: the most used ones (by tags so far), and proposals.
        popular = list(
            db.session.scalars(
                select(ReviewTool.tool_id)
                .group_by(ReviewTool.tool_id)
                .order_by(func.count().desc())
                .limit(300)
            )
        )
        proposals = list(
            db.session.scalars(
                select(SalesTool.id)
                .where(SalesTool.kind.in_(PROPOSALS), SalesTool.status == "approved")
                .order_by(SalesTool.version.desc(), SalesTool.id)
                .limit(300)
            )
        )
        versions = dict(
            db.session.execute(
                select(SalesTool.id, SalesTool.version).where(SalesTool.id.in_(popular + proposals))
            ).all()
        )
    print(
        f"opened the meeting of team 1 for {BENCH_WEEK}: {len(agenda)} deals on the agenda "
        f"({open_ms:.0f} ms, POST /meetings with the agenda suggestions)"
    )
    assert agenda, "the agenda is empty: nothing to present"
    presenter.get(f"/meetings/{meeting_id}/present?n=1")  # the presenter page, once

    meter = SqlMeter(_engine(app))
    index_timer = {"seconds": 0.0}
    original_apply = search.apply_pending_outbox

    def timed_apply(*a, **kw):
        t = time.perf_counter()
        try:
            return original_apply(*a, **kw)
        finally:
            index_timer["seconds"] += time.perf_counter() - t

    search.apply_pending_outbox = timed_apply
    rnd = random.Random(48)
    actions: dict[str, Action] = {}

    def timed(name: str, call, check, record: bool = True):
        action = actions.setdefault(name, Action(name))
        meter.reset()
        index_timer["seconds"] = 0.0
        if record and not action.statements:
            meter.capture = []
        meter.per_statement = action.statement_seconds if record else None
        t = time.perf_counter()
        response = call()
        elapsed = (time.perf_counter() - t) * 1000
        meter.per_statement = None
        if meter.capture is not None:
            action.statements, meter.capture = meter.capture, None
        check(response)
        if record:
            action.timings.append(elapsed)
            action.queries.append(meter.queries)
            action.sql_ms.append(meter.seconds * 1000)
            action.index_ms.append(index_timer["seconds"] * 1000)
        return response

    def expect(status: int, needle: str | None = None):
        def check(response):
            body = response.get_data(as_text=True)
            assert response.status_code == status, (response.status_code, body[:800])
            assert needle is None or needle in body, (needle, body[:800])

        return check

    n_iter, warm = args.iterations, args.warmup

    # 1. Next deal: walk the agenda forward and back, each call a different deal.
    walk = list(range(1, len(agenda) + 1)) + list(range(len(agenda) - 1, 1, -1)) or [1]
    for i in range(warm + n_iter):
        position = walk[(i + 1) % len(walk)]
        timed(
            "next deal",
            lambda p=position: presenter.post(
                f"/meetings/{meeting_id}/show", data={"n": p}, headers={**HX, "HX-Target": "stage"}
            ),
            expect(200, 'id="stage"'),
            record=i >= warm,
        )

    # 2. Add a tag: on the agenda deals in turn; a review keeps at most 5 tags.
    tagged: dict[int, list[int]] = defaultdict(list)
    for i in range(warm + n_iter):
        deal_id = agenda[i % len(agenda)]
        if len(tagged[deal_id]) >= 5:
            old = tagged[deal_id].pop(0)
            timed(
                "remove a tag",
                lambda d=deal_id, t=old: presenter.post(
                    f"/meetings/{meeting_id}/deals/{d}/tags/{t}/remove",
                    headers={**HX, "HX-Target": "review-tags"},
                ),
                expect(200, 'id="review-tags"'),
                record=i >= warm,
            )
        form: dict[str, object] = {}
        while not form or form["tool_id"] in tagged[deal_id]:
            roll = rnd.random()
            sent_here = [t for t in sent[deal_id] if t not in tagged[deal_id]]
            if roll < 0.2 and sent_here:
                form = {"tool_id": sent_here[0]}  # the version sent in the deal, by default
            elif roll < 0.4:
                tool = rnd.choice(proposals)
                form = {"tool_id": tool, "version": rnd.randint(1, versions[tool])}
            else:
                form = {"tool_id": popular[min(int(rnd.paretovariate(1.2)) - 1, len(popular) - 1)]}
        tagged[deal_id].append(form["tool_id"])
        timed(
            "add a tag",
            lambda d=deal_id, f=form: presenter.post(
                f"/meetings/{meeting_id}/deals/{d}/tags",
                data=f,
                headers={**HX, "HX-Target": "review-tags"},
            ),
            expect(200, f'data-tool-id="{form["tool_id"]}"'),
            record=i >= warm,
        )

    # 3. Typeahead: the lead's words and word starts, on the agenda deals in turn.
    found, by_query = {}, defaultdict(list)
    for i in range(warm + n_iter):
        q = TYPEAHEAD[i % len(TYPEAHEAD)]
        deal_id = agenda[(i // len(TYPEAHEAD) + i) % len(agenda)]
        response = timed(
            "typeahead",
            lambda d=deal_id, q=q: presenter.get(
                f"/meetings/{meeting_id}/deals/{d}/tool-suggestions",
                query_string={"q": q},
                headers={**HX, "HX-Target": "tag-suggestions"},
            ),
            expect(200, 'id="tag-suggestions"'),
            record=i >= warm,
        )
        found[q] = response.get_data(as_text=True).count("data-tag-option")
        if i >= warm:
            by_query[q].append(actions["typeahead"].timings[-1])

    # 4. The follower's poll every 3 s: nothing new (204), and a change to show.
    with app.app_context():
        revision = db.session.scalar(select(Meeting.revision).where(Meeting.id == meeting_id))
    for name, rev, status in (("follower poll, unchanged", revision, 204),
                              ("follower poll, changed", revision - 1, 200)):  # fmt: skip
        for i in range(warm + n_iter):
            timed(
                name,
                lambda r=rev: follower.get(
                    f"/meetings/{meeting_id}/follow",
                    query_string={"rev": r},
                    headers={**HX, "HX-Target": "follow-stage"},
                ),
                expect(status),
                record=i >= warm,
            )
    search.apply_pending_outbox = original_apply

    print()
    print(f"{'action':<26} timings (server-side, in-process test client)")
    for action in actions.values():
        mark = ""
        if action.name in ("next deal", "add a tag", "typeahead", "remove a tag"):
            p95 = pick(sorted(action.timings), 95)
            mark = f"   {'OK' if p95 <= TARGET_MS else 'MISSES'} (p95 ≤ {TARGET_MS:.0f} ms)"
        print(f"{action.name:<26} {percentiles(action.timings)}{mark}")
        extra = ""
        if any(action.index_ms):
            ordered = sorted(action.index_ms)
            extra = (
                f"; search index update before the response: mean {statistics.fmean(ordered):.1f}"
                f" ms, p95 {pick(ordered, 95):.1f} ms"
            )
        print(
            f"{'':<26} {statistics.fmean(action.queries):.0f} SQL statements, "
            f"{statistics.fmean(action.sql_ms):.1f} ms in SQLite (mean){extra}"
        )
        heavy = sorted(action.statement_seconds.items(), key=lambda kv: -kv[1])[:3]
        for statement, seconds in heavy:
            per_request = seconds * 1000 / len(action.timings)
            if per_request >= 1.0:
                print(f"{'':<28}{per_request:5.1f} ms  {shorten(statement, 110)}")
    empty = sorted(q for q, n in found.items() if n == 0)
    print(
        f"typeahead suggestions per query: median {statistics.median(found.values()):.0f}; "
        f"none for {len(empty)} of {len(found)}" + (f": {', '.join(empty)}" if empty else "")
    )
    slowest = sorted(by_query.items(), key=lambda kv: -statistics.fmean(kv[1]))[:4]
    print(
        "typeahead, slowest queries (mean): "
        + ", ".join(f"«{q}» {statistics.fmean(t):.0f} ms" for q, t in slowest)
    )
    explain(app, actions)


def _engine(app):
    with app.app_context():
        return db.engine


def explain(app, actions: dict[str, Action]) -> None:
    """EXPLAIN QUERY PLAN for the statements of one request of each action."""
    big = {}
    with app.app_context():
        connection = db.session.connection()
        for (name,) in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ):
            big[name] = connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
        findings: dict[str, tuple[set[str], str]] = {}
        for action in actions.values():
            for statement, parameters in action.statements:
                if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                    continue
                rows = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, tuple(parameters or ())
                ).all()
                for row in rows:
                    detail = row[-1]
                    match = re.match(r"SCAN (\w+)(?: AS \w+)?$", detail)
                    if match and big.get(match.group(1), 0) >= 1000:
                        key = f"{match.group(1)} ({big[match.group(1)]:,} rows)"
                        names, _ = findings.setdefault(key, (set(), " ".join(statement.split())))
                        names.add(action.name)
        db.session.rollback()
    print()
    if not findings:
        print("query plans: no full scan of a table of 1,000 rows or more")
        return
    print("query plans: full scans of big tables")
    for key, (names, statement) in findings.items():
        print(f"  {key} — in {', '.join(sorted(names))}:")
        print(f"      {shorten(statement, 200)}")


def shorten(statement: str, width: int) -> str:
    """One line; a long column list becomes "…" (the FROM and WHERE say which query)."""
    statement = " ".join(statement.split())
    if len(statement) > width and statement.startswith("SELECT") and " FROM " in statement:
        statement = "SELECT … " + statement[statement.index(" FROM ") + 1 :]
    return statement if len(statement) <= width else statement[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--tools", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=300_000, help="review tags (ReviewTool rows)")
    parser.add_argument("--reviews", type=int, default=None, help="deal reviews (tags / 3)")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10,000 deals, 100 iterations")
    parser.add_argument("--rebuild", action="store_true", help="build the kept database again")
    parser.add_argument("--keep", action="store_true", help="keep this run's copy")
    parser.add_argument(
        "--defer-index",
        action="store_true",
        help="diagnosis: SEARCH_APPLY_ON_COMMIT off (tag saves do not update the index)",
    )
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.deals, args.tools, args.tags = 10_000, 2_000, 30_000
        args.iterations, args.warmup = 100, 20
    if args.reviews is None:
        args.reviews = args.tags // 3
    if args.build_only:
        build_only(args)
        return
    print(f"machine: {machine()}")
    data, info = ensure_data(args)
    run(args, data, info)


if __name__ == "__main__":
    main()
