"""Twelve weeks of deals of ТехПромСнаб's managers, with the КП and ТКП sent in them.

Deterministic (a fixed random seed) so every demo install shows the same story: newer
proposal versions get answered more often — the было/стало the reports will show.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    PROPOSAL_KINDS,
    Deal,
    DealStageChange,
    ProposalSend,
    SalesTool,
    ToolVersion,
    User,
)
from ..models.base import utcnow

CLIENTS = {
    "Производство": [
        "ООО «Хлебозавод №3»", "АО «Уралмашпром»", "ООО «Кондитерская фабрика „Любава“»",
        "ООО «ПластТехнология»", "АО «Волжский трубный комбинат»", "ООО «Мебельная фабрика „Кедр“»",
        "ООО «СтанкоПром»", "АО «Молочный комбинат „Заречье“»",
    ],
    "Ритейл": [
        "ООО «Сеть гипермаркетов „Северный“»", "АО «ТД „Домашний“»", "ООО «Фермерская лавка»",
        "ООО «СтройДвор»", "ООО «Продукты у дома»",
    ],
    "Логистика": [
        "АО «СеверЛогистик»", "ООО «Транзит-Урал»", "ООО «Складской комплекс „Восток“»",
        "ООО «РЦ „Кольцово“»", "АО «ТрансКарго»",
    ],
    "HoReCa": [
        "ООО «Сеть кофеен „Зерно“»", "ООО «Ресторанный двор»", "АО «Гостиница „Исеть“»",
        "ООО «Фабрика-кухня „Обед“»",
    ],
}  # fmt: skip
SUBJECTS = {
    "Производство": ["Винтовой компрессор 22 кВт", "Система осушки воздуха", "Замена поршневых компрессоров",
                     "Сервисный контракт на компрессорную", "Модернизация пневмосети цеха"],
    "Ритейл": ["Холодильное оборудование для РЦ", "Мониторинг холодильных камер", "Сервис климатических систем"],
    "Логистика": ["Осушители для склада", "Компрессоры для сортировочного центра", "ТехПром.Мониторинг на 3 склада"],
    "HoReCa": ["Компрессор для пивоварни", "Сервис холодильного оборудования", "Мониторинг кухонного оборудования"],
}  # fmt: skip
OPEN_STAGES = [
    "Первичный контакт",
    "Квалификация",
    "КП отправлено",
    "Переговоры",
    "Согласование договора",
]
MANAGER_SEGMENTS = {
    "d.kozlov": ["Производство", "Производство", "HoReCa"],
    "e.smirnova": ["Производство", "Ритейл"],
    "p.novikov": ["Производство", "Логистика"],
    "o.kuznetsova": ["Ритейл", "Ритейл", "HoReCa"],
    "a.lebedev": ["Логистика", "Логистика", "Производство"],
    "m.popova": ["HoReCa", "Ритейл", "Логистика"],
}
# Chance the client reacts at all, by how new the proposal version is (1 = first).
RESPONSE_BY_VERSION = {1: 0.35, 2: 0.55, 3: 0.7}


def seed_deals(weeks: int = 12) -> int:
    """Deals for every demo manager over ``weeks`` weeks, unless deals exist already."""
    if db.session.scalar(select(func.count(Deal.id))):
        return 0
    rng = random.Random(20261127)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    managers = {
        u.email.split("@")[0]: u
        for u in db.session.scalars(select(User).where(User.role == "manager"))
    }
    proposals = list(
        db.session.scalars(
            select(SalesTool).where(
                SalesTool.kind.in_([k.value for k in PROPOSAL_KINDS]),
                SalesTool.status == "approved",
            )
        )
    )
    versions = {
        tool.id: sorted(
            db.session.scalars(select(ToolVersion).where(ToolVersion.tool_id == tool.id)),
            key=lambda v: v.number,
        )
        for tool in proposals
    }
    count = 0
    external = 31870000
    for login, segments in MANAGER_SEGMENTS.items():
        manager = managers.get(login)
        if manager is None:
            continue
        for _ in range(rng.randint(22, 30)):
            external += rng.randint(3, 40)
            segment = rng.choice(segments)
            created = now - timedelta(days=rng.randint(3, weeks * 7), hours=rng.randint(0, 9))
            roll = rng.random()
            status = "won" if roll < 0.42 else ("lost" if roll < 0.62 else "open")
            closed = None
            if status != "open":
                closed = min(now - timedelta(hours=2), created + timedelta(days=rng.randint(4, 30)))
            amount = (
                Decimal(rng.choice([45, 90, 180, 350, 620, 950, 1250, 1800, 2400, 4100])) * 1000
            )
            amount += Decimal(rng.randint(0, 99)) * 1000
            stage = {"won": "Успешно реализовано", "lost": "Закрыто и не реализовано"}.get(
                status, rng.choice(OPEN_STAGES)
            )
            deal = Deal(
                external_id=str(external),
                title=rng.choice(SUBJECTS[segment]),
                client=rng.choice(CLIENTS[segment]),
                segment=segment,
                manager=manager,
                team_id=manager.team_id,
                amount=amount,
                currency="RUB",
                stage=stage,
                pipeline="Продажи B2B",
                status=status,
                created_at=created,
                closed_at=closed,
                source="amocrm",
                updated_at=closed or created,
            )
            deal.stage_changes.append(
                DealStageChange(
                    stage="Первичный контакт",
                    status="open",
                    amount=amount,
                    changed_at=created,
                    source="amocrm",
                )  # fmt: skip
            )
            if closed:
                deal.stage_changes.append(
                    DealStageChange(
                        stage=stage,
                        status=status,
                        amount=amount,
                        changed_at=closed,
                        source="amocrm",
                    )  # fmt: skip
                )
            _add_sends(rng, deal, proposals, versions, segment, created, closed or now)
            db.session.add(deal)
            count += 1
    db.session.commit()
    return count


def _add_sends(rng, deal, proposals, versions, segment, start, end) -> None:
    fitting = [t for t in proposals if segment in {s.name for s in t.segments}] or proposals
    if not fitting or rng.random() > 0.75:
        return
    tool = rng.choice(fitting)
    sent_at = start + (end - start) * rng.uniform(0.1, 0.6)
    available = [v for v in versions[tool.id] if v.created_at <= sent_at] or versions[tool.id][:1]
    version = available[-1]
    chance = RESPONSE_BY_VERSION.get(version.number, 0.7)
    if deal.status == "won":
        chance += 0.25
    reaction, reacted_at = "none", None
    if rng.random() < chance:
        if deal.status == "won":
            reaction = rng.choice(["accepted", "accepted", "meeting", "changes_requested"])
        elif deal.status == "lost":
            reaction = rng.choice(["rejected", "replied", "rejected"])
        else:
            reaction = rng.choice(["replied", "meeting", "changes_requested"])
        reacted_at = sent_at + timedelta(hours=rng.randint(2, 120))
    deal.proposal_sends.append(
        ProposalSend(
            tool_id=tool.id,
            version=version.number,
            sent_at=sent_at,
            reaction=reaction,
            reacted_at=reacted_at,
            created_by=deal.manager,
        )  # fmt: skip
    )
