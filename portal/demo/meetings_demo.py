"""Eight weeks of ТехПромСнаб's planning meetings: reviews of won deals, what worked, tasks.

Deterministic, like the deals. Each manager has favourite tools, so adoption differs
between people (the gaps the reports point at), and the Moscow team's meeting of the
current week is open with its agenda lined up, ready for presenter mode.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    ActionItem,
    Deal,
    DealReview,
    Meeting,
    MeetingItem,
    ProposalSend,
    ReviewTool,
    SalesTool,
    Team,
    User,
)
from ..models.base import utcnow

WEEKS = 8

# Title fragments of demo tools each manager reaches for (see kb_content.py).
FAVOURITES = {
    "d.kozlov": ["Калькулятор простоя", "СПИН-вопросы", "Возражение «Дорого»", "после отправки КП"],
    "e.smirnova": ["Вопросы-ловушки", "выбор без выбора", "Возражение «Я подумаю»"],
    "p.novikov": ["СПИН-вопросы", "Возражение «У нас уже есть поставщик»", "Китайский компрессор"],
    "o.kuznetsova": ["Пилот на одном объекте", "Возражение «Нам ничего не нужно", "кофеен"],
    "a.lebedev": ["Калькулятор простоя", "после отправки КП", "свои механики"],
    "m.popova": ["Пилот на одном объекте", "выбор без выбора", "Возражение «Дорого»"],
}

LESSONS_WON = [
    "Клиент тянул с решением, пока мы вместе с главным инженером не посчитали стоимость "
    "часа простоя линии. После расчёта возражение «дорого» ушло само.",
    "Сработал звонок через два дня после КП: менеджер не спрашивал «ну как?», а предложил "
    "выбрать дату выезда инженера — вторник или четверг.",
    "ЛПР оказался не закупщик, а главный механик. Вопросы-ловушки на первом звонке "
    "сэкономили две недели переписки.",
    "Новая версия КП с окупаемостью на первой странице: клиент ответил в тот же день и "
    "попросил только поменять условия оплаты.",
    "Пилот на одном объекте снял страх «а вдруг не подойдёт». Через месяц — договор на всю сеть.",
    "Клиент сравнивал с китайским компрессором. Показали ресурс до капремонта и стоимость "
    "владения за пять лет — выбрали нас, хотя мы на 30% дороже.",
    "Свои механики у клиента есть, но нет запчастей на складе. Предложили сервисный "
    "договор только на запчасти и диагностику — согласились.",
    "**Главное:** до КП съездили на объект и сфотографировали узел. В КП были их же "
    "фотографии — клиент переслал его директору без правок.",
]
LESSONS_LOST = [
    "Проиграли: отправили КП без звонка, клиент ушёл к поставщику, который приехал на "
    "объект. Вывод — выезд инженера до КП.",
    "Проиграли по цене: не выяснили бюджет на первом звонке и сделали КП на топовую "
    "комплектацию. Нужен вопрос про бюджет в скрипте.",
]
ACTIONS = [
    "Обновить КП для логистики: добавить расчёт окупаемости на первую страницу",
    "Потренировать скрипт звонка после КП на четверговой разминке",
    "Собрать кейс по этой сделке для сайта и раздела «Кейсы»",
    "Добавить в чек-лист аудита звонка вопрос «кто ещё участвует в решении?»",
    "Договориться с сервисом о выездах инженера до отправки КП",
]


def _tool_by_fragment(tools: list[SalesTool], fragment: str) -> SalesTool | None:
    fragment = fragment.lower()
    return next((t for t in tools if fragment in t.title.lower()), None)


def _tuesday(week_monday, tz) -> datetime:
    return datetime.combine(week_monday + timedelta(days=1), time(10, 0), tz)


def seed_meetings(weeks: int = WEEKS) -> int:
    """Closed weekly meetings for the last ``weeks`` weeks and an open one this week."""
    from zoneinfo import ZoneInfo

    from ..meetings import services

    if db.session.scalar(select(func.count(Meeting.id))):
        return 0
    rng = random.Random(48)
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    tools = list(db.session.scalars(select(SalesTool).where(SalesTool.status == "approved")))
    everyday = [t for t in tools if t.kind in ("script", "technique", "objection")]
    managers = {
        u.email.split("@")[0]: u
        for u in db.session.scalars(select(User).where(User.role == "manager"))
    }
    favourites = {
        user.id: [t for t in (_tool_by_fragment(tools, f) for f in FAVOURITES.get(login, [])) if t]
        for login, user in managers.items()
    }
    now = utcnow()
    this_monday = services.parse_week(services.week_of(now.astimezone(tz).date()))
    created = 0
    for team in db.session.scalars(select(Team).order_by(Team.id)):
        lead = db.session.scalar(select(User).where(User.team_id == team.id, User.role == "lead"))
        if lead is None:
            continue
        previous_at = None
        for back in range(weeks, 0, -1):
            monday = this_monday - timedelta(weeks=back)
            held_at = _tuesday(monday, tz)
            week = services.week_of(monday)
            since = previous_at or held_at - timedelta(days=14)
            meeting = Meeting(
                team_id=team.id, week=week, weekly_week=week, kind="weekly", title="",
                status="closed", minutes_per_deal=3, created_by_id=lead.id, created_at=held_at,
                closed_by_id=lead.id, closed_at=held_at + timedelta(minutes=55),
            )  # fmt: skip
            db.session.add(meeting)
            db.session.flush()
            deals = list(
                db.session.scalars(
                    select(Deal)
                    .where(
                        Deal.team_id == team.id,
                        Deal.status.in_(["won", "lost"]),
                        Deal.closed_at >= since,
                        Deal.closed_at < held_at,
                    )
                    .order_by(Deal.closed_at)
                )
            )
            position = 0
            for deal in deals:
                if deal.status == "lost" and rng.random() > 0.25:
                    continue  # only notable lost deals are discussed
                if deal.status == "won" and rng.random() > 0.85:
                    continue  # a deal the team did not get to
                position += 1
                db.session.add(
                    MeetingItem(
                        meeting_id=meeting.id,
                        deal_id=deal.id,
                        position=position,
                        suggested=deal.status == "won",
                        added_by_id=lead.id,
                        created_at=held_at,
                    )  # fmt: skip
                )
                _review(rng, meeting, deal, lead, held_at, favourites, everyday)
            if position == 0:  # nothing to review: the team skipped that week's meeting
                db.session.delete(meeting)
                db.session.flush()
                continue
            if rng.random() < 0.6 and deals:
                owner = rng.choice([d.manager for d in deals])
                done = back > 2 or rng.random() < 0.3
                db.session.add(
                    ActionItem(
                        team_id=team.id,
                        meeting_id=meeting.id,
                        text=rng.choice(ACTIONS),
                        owner_id=owner.id,
                        due_date=(held_at + timedelta(days=7)).date(),
                        done=done,
                        done_at=held_at + timedelta(days=6) if done else None,
                        created_by_id=lead.id,
                        created_at=held_at,
                    )  # fmt: skip
                )
            previous_at = held_at
            created += 1
        db.session.commit()
    _reindex_tagged_tools()
    _capture_demo_drafts(managers)
    moscow = db.session.scalar(select(Team).order_by(Team.id))
    lead = db.session.scalar(select(User).where(User.team_id == moscow.id, User.role == "lead"))
    if lead is not None:
        services.create_meeting(lead, moscow, services.week_of(this_monday))
        created += 1
    return created


def _review(rng, meeting, deal, lead, held_at, favourites, everyday) -> None:
    review = DealReview(
        meeting_id=meeting.id, deal_id=deal.id, version=2, created_by_id=lead.id,
        updated_by_id=lead.id, created_at=held_at, updated_at=held_at,
        lesson=rng.choice(LESSONS_LOST if deal.status == "lost" else LESSONS_WON)
        if rng.random() < 0.7 else "",
    )  # fmt: skip
    db.session.add(review)
    db.session.flush()
    chosen: dict[int, int | None] = {}
    sent = db.session.execute(
        select(ProposalSend.tool_id, ProposalSend.version).where(ProposalSend.deal_id == deal.id)
    ).all()
    for tool_id, version in sent:
        chosen[tool_id] = version
    own = favourites.get(deal.manager_id, [])
    for tool in rng.sample(own, k=min(len(own), rng.randint(1, 3))):
        chosen.setdefault(tool.id, None)
    if everyday and rng.random() < 0.35:
        chosen.setdefault(rng.choice(everyday).id, None)
    for tool_id, version in chosen.items():
        db.session.add(
            ReviewTool(
                review_id=review.id,
                deal_id=deal.id,
                tool_id=tool_id,
                version=version,
                created_by_id=lead.id,
                created_at=held_at,
            )  # fmt: skip
        )
    if chosen and deal.status == "won":
        non_proposal = [tid for tid, version in chosen.items() if version is None]
        review.key_tool_id = rng.choice(non_proposal or list(chosen))


def _reindex_tagged_tools() -> None:
    """Tagged tools now count as proven: the search index ranks them with their new count."""
    from ..search.service import record_tool_change

    for tool_id in db.session.scalars(select(ReviewTool.tool_id).distinct()):
        record_tool_change(tool_id)
    db.session.commit()


def _capture_demo_drafts(managers: dict[str, User]) -> None:
    """Two moves heard at past meetings, waiting as drafts for the lead to finish."""
    from ..kb.services import ToolInput, create_tool

    captured = [
        (
            "objection",
            "Возражение «Без отсрочки платежа на 90 дней не рассматриваем»",
            "Клиент: «Без отсрочки на 90 дней даже не смотрим». Ответили: предложили лизинг "
            "через партнёра, первый платёж через месяц после пуска.",
        ),  # fmt: skip
        (
            "technique",
            "Фото узла клиента в КП",
            "До отправки КП инженер фотографирует узел на объекте; фото идут в КП с "
            "подписями «было» и «станет». КП пересылают директору без правок.",
        ),  # fmt: skip
    ]
    meeting_deals = db.session.execute(
        select(DealReview.meeting_id, DealReview.deal_id, Deal.manager_id)
        .join(Deal, Deal.id == DealReview.deal_id)
        .where(Deal.status == "won")
        .order_by(DealReview.id.desc())
        .limit(len(captured))
    ).all()
    for (kind, title, body), (meeting_id, deal_id, manager_id) in zip(
        captured, meeting_deals, strict=False
    ):
        author = db.session.get(User, manager_id)
        create_tool(
            author,
            ToolInput(kind=kind, title=title, body=body, tags=["планёрка"], status="draft"),
            origin_meeting_id=meeting_id,
            origin_deal_id=deal_id,
        )
