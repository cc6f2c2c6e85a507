"""A deterministic corpus of Russian B2B sales tools for the search benchmarks.

``generate_tools(n)`` always yields the same ``n`` tools for the same seed: scripts,
objection handling, КП and ТКП, letter templates, cases and checklists, 0.5–5 KB of
markdown each, written in the word forms a sales team really uses (звонок, звонка,
звонки; сделка, сделок; «дорого», «я подумаю»; ЛПР, ЛПРа; codes like ТКП-2024-17).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEGMENTS = ["Производство", "Ритейл", "Логистика", "HoReCa", "Строительство", "Агро"]
SEGMENT_IN = {
    "Производство": "на производстве",
    "Ритейл": "в ритейле",
    "Логистика": "в логистике",
    "HoReCa": "в HoReCa",
    "Строительство": "в строительстве",
    "Агро": "в агробизнесе",
}
TAGS = [
    "холодные звонки",
    "возражения",
    "переговоры",
    "КП",
    "ТКП",
    "дожим",
    "ЛПР",
    "повторные продажи",
    "тендеры",
    "скидки",
    "презентация",
    "письма",
    "квалификация",
    "выставки",
    "партнёры",
    "email",
    "CRM",
]
KINDS = [
    ("script", 20),
    ("objection", 18),
    ("proposal", 12),
    ("tech_proposal", 8),
    ("template", 12),
    ("case", 12),
    ("checklist", 8),
    ("technique", 8),
    ("other", 2),
]
# (именительный, родительный) — what is sold.
PRODUCTS = [
    ("упаковочная линия", "упаковочной линии"),
    ("станок ЧПУ", "станка ЧПУ"),
    ("холодильная витрина", "холодильной витрины"),
    ("складской стеллаж", "складского стеллажа"),
    ("электропогрузчик", "электропогрузчика"),
    ("кассовый терминал", "кассового терминала"),
    ("система видеонаблюдения", "системы видеонаблюдения"),
    ("промышленный компрессор", "промышленного компрессора"),
    ("пароконвектомат", "пароконвектомата"),
    ("сушильная камера", "сушильной камеры"),
    ("дизельный генератор", "дизельного генератора"),
    ("конвейерная лента", "конвейерной ленты"),
    ("весовой терминал", "весового терминала"),
    ("зерносушилка", "зерносушилки"),
    ("бетоносмеситель", "бетоносмесителя"),
    ("WMS-система", "WMS-системы"),
    ("CRM-система", "CRM-системы"),
    ("рефрижератор", "рефрижератора"),
]
CLIENTS = [
    "ООО «Вектор»",
    "АО «Северсталь-Сервис»",
    "ООО «ТехноПарк»",
    "сеть «Пятёрочка у дома»",
    "ГК «Деловые Линии»",
    "ресторан «Белуга»",
    "агрохолдинг «Заря»",
    "ООО «СтройИнвест»",
    "завод «Уралмаш-Комплект»",
    "ИП Сидоров",
    "ООО «ЛогистПро»",
    "кафе «Самовар»",
    "ООО «МегаТорг»",
    "АО «Агрокомплекс»",
]
CITIES = ["Москве", "Казани", "Екатеринбурге", "Новосибирске", "Самаре", "Краснодаре", "Перми"]
NAMES = ["Ирина", "Павел", "Ольга", "Сергей", "Анна", "Дмитрий", "Марина", "Алексей"]
OBJECTIONS = [
    "дорого",
    "я подумаю",
    "у нас уже есть поставщик",
    "нет бюджета",
    "пришлите КП на почту",
    "сейчас не время",
    "нам это не нужно",
    "у конкурентов дешевле",
    "надо посоветоваться с руководством",
]

TITLES = {
    "script": [
        "Скрипт холодного звонка: {product} {segment_in}",
        "Скрипт первого звонка ЛПРу — {product}",
        "Скрипт повторного звонка после отправки КП",
        "Сценарий звонка секретарю: как выйти на ЛПРа",
        "Скрипт звонка по входящей заявке {segment_in}",
        "Скрипт разговора на выставке: {product}",
    ],
    "objection": [
        "Отработка возражения «{objection}»",
        "Возражение «{objection}» {segment_in}",
        "Как отвечать на «{objection}» при продаже {product_gen}",
        "Отработка возражений: «{objection}» и «дорого»",
    ],
    "proposal": [
        "КП на поставку {product_gen} для {client}",
        "Коммерческое предложение: {product} {segment_in}",
        "Шаблон КП {segment_in} — {product}",
        "КП-{year}-{n}: {product}",
    ],
    "tech_proposal": [
        "ТКП-{year}-{n}: {product} для {client}",
        "Технико-коммерческое предложение на {product}",
        "ТКП-{year}-{n} — модернизация {product_gen}",
    ],
    "template": [
        "Письмо после звонка: {product}",
        "Шаблон письма ЛПРу {segment_in}",
        "Письмо-напоминание о КП",
        "Follow-up после встречи: {product}",
        "Шаблон письма после выставки",
    ],
    "case": [
        "Кейс: {client} окупил {product} за {months} месяцев",
        "Кейс {segment_in}: сделка на {amount} млн ₽",
        "Как мы закрыли сделку с {client}",
        "Кейс: отгрузка {product_gen} в {city}",
    ],
    "checklist": [
        "Чек-лист подготовки к встрече с ЛПР",
        "Чек-лист перед отправкой КП",
        "Чек-лист квалификации лида {segment_in}",
        "Чек-лист отгрузки: {product}",
    ],
    "technique": [
        "Техника SPIN для продажи {product_gen}",
        "Техника «вилка цен» {segment_in}",
        "Приём «маленьких да» в переговорах",
        "Техника дожима сделок в конце квартала",
    ],
    "other": ["Памятка менеджера {segment_in}", "Глоссарий продаж: {product}"],
}

SUMMARIES = [
    "Для менеджеров {segment_in}: как продать {product} без лишних скидок.",
    "Помогает довести сделку до оплаты, когда клиент говорит «{objection}».",
    "Проверено на {deals} сделках с {client}; средний чек {amount} млн ₽.",
    "Короткий сценарий для первого звонка и встречи с ЛПР.",
    "Что отправить клиенту после звонка, чтобы КП не потерялось.",
    "Окупаемость {product_gen} — главный аргумент для ЛПРа {segment_in}.",
    "Шаблон для отдела продаж в {city}; согласован с руководителем.",
]

SENTENCES = [
    "Первый звонок — это разведка: узнайте, кто принимает решение и какой у клиента бюджет.",
    "Не предлагайте скидку на первом звонке: скидок больше {n}% без согласования не даём.",
    "Если клиент говорит «{objection}», не спорьте, а уточните, с чем он сравнивает.",
    "На возражение «дорого» покажите окупаемость: {product} окупается за {months} месяцев.",
    "Когда слышите «я подумаю», спросите, что именно нужно обдумать и кто ещё участвует в решении.",
    "Выйти на ЛПРа важнее, чем долго говорить с закупщиком.",
    "Спросите у секретаря, кто отвечает за закупку {product_gen}, и попросите соединить с ЛПР.",
    "После звонка в течение часа отправьте коммерческое предложение и письмо с итогами.",
    "В КП укажите сроки отгрузки, условия оплаты и гарантию на {product}.",
    "ТКП-{year}-{n} содержит спецификацию, схему монтажа и расчёт окупаемости.",
    "Технико-коммерческое предложение согласуйте с инженером до отправки клиенту.",
    "Три звонка без ответа — повод сменить канал: напишите в мессенджер или на почту.",
    "Из {deals} сделок прошлого квартала {won} закрыты после второй встречи.",
    "Сделка с {client} на {amount} млн ₽ прошла за {weeks} недель от первого звонка до отгрузки.",
    "Отгрузка со склада в {city} занимает {days} дня, доставка — ещё {days2} дня.",
    "Клиенты {segment_in} чаще всего спрашивают про сервис и запасные части.",
    "Зафиксируйте договорённости в CRM сразу после разговора.",
    "Кейс {client}: после внедрения {product_gen} простои сократились на {n}%.",
    "Если ЛПР просит скидку, обменяйте её на предоплату или объём.",
    "Сравните стоимость владения: дешёвое оборудование дороже в обслуживании.",
    "На встрече с ЛПРом покажите расчёт окупаемости и отзывы клиентов {segment_in}.",
    "Возражения о цене лучше отрабатывать после презентации ценности, а не до неё.",
    "Цель звонка — договориться о встрече, а не продать {product} по телефону.",
    "Менеджер {name} закрыл {won} сделок, используя этот скрипт.",
    "Напомните о КП через {days} дня: «Удалось ли посмотреть наше предложение?»",
    "Если у клиента уже есть поставщик, предложите пилотную поставку {product_gen}.",
    "Для тендера подготовьте ТКП и пакет документов за {days} рабочих дня.",
    "Используйте открытые вопросы: что для вас важно при выборе {product_gen}?",
    "Скидка без встречной уступки обесценивает предложение.",
    "Звонки во вторник и среду с 10 до 12 дают больше всего встреч.",
    "При отгрузке проверьте комплектность по чек-листу и подпишите акт.",
    "Заказчик {segment_in} сравнивает нас с конкурентами по сроку поставки.",
    "Пришлите клиенту кейс похожей компании из его сегмента.",
    "Не отправляйте КП без звонка: коммерческое предложение без контекста не читают.",
    "Спросите про сроки: когда {product} должен заработать?",
    "Дожим сделки начинается с понятного следующего шага и даты.",
    "Окупаемость считайте в месяцах, а не в процентах: так понятнее ЛПР.",
    "После выставки в {city} обзвоните всех, кто оставил контакты, в течение {days} дней.",
    "Holding a follow-up call within 48 hours doubles the reply rate.",
    "Use the email template and attach the proposal as PDF.",
]
BULLETS = [
    "Представиться и назвать компанию",
    "Уточнить, кто принимает решение",
    "Назвать выгоду для клиента {segment_in}",
    "Задать вопрос про текущего поставщика",
    "Договориться о встрече или звонке",
    "Отправить КП в течение часа",
    "Записать возражения в CRM",
    "Проверить условия отгрузки",
    "Согласовать скидку с руководителем",
    "Напомнить о предложении через {days} дня",
]
ATTACHMENT_SENTENCES = [
    "Спецификация оборудования: {product}, гарантия {months} месяцев.",
    "Расчёт окупаемости: экономия {amount} млн ₽ в год, срок окупаемости {months} месяцев.",
    "Условия поставки: отгрузка со склада в {city}, оплата 50% предоплата.",
    "Прайс-лист {year}: цены указаны с НДС.",
]


@dataclass(frozen=True)
class GeneratedTool:
    kind: str
    title: str
    summary: str
    body: str
    tags: tuple[str, ...]
    segments: tuple[str, ...]
    status: str
    owner_index: int  # which of the bench's users owns it
    attachment_text: str
    proven_uses: int
    updated_at: datetime


def _slots(rnd: random.Random) -> dict:
    product, product_gen = rnd.choice(PRODUCTS)
    segment = rnd.choice(SEGMENTS)
    deals = rnd.randint(5, 60)
    return {
        "product": product,
        "product_gen": product_gen,
        "segment": segment,
        "segment_in": SEGMENT_IN[segment],
        "client": rnd.choice(CLIENTS),
        "city": rnd.choice(CITIES),
        "objection": rnd.choice(OBJECTIONS),
        "name": rnd.choice(NAMES),
        "n": rnd.randint(2, 40),
        "year": rnd.choice([2023, 2024, 2025]),
        "months": rnd.randint(4, 30),
        "amount": rnd.randint(1, 90),
        "deals": deals,
        "won": rnd.randint(1, deals),
        "weeks": rnd.randint(2, 16),
        "days": rnd.randint(2, 5),
        "days2": rnd.randint(1, 4),
    }


def _fill(template: str, rnd: random.Random, base: dict) -> str:
    slots = dict(base)
    # Fresh numbers in every sentence; the tool keeps its product, segment and client.
    slots.update({k: v for k, v in _slots(rnd).items() if k not in ("product", "segment")})
    slots["product"], slots["product_gen"] = base["product"], base["product_gen"]
    return template.format(**slots)


def _body(rnd: random.Random, base: dict, kind: str, target_bytes: int) -> str:
    parts = [f"## {rnd.choice(['Цель', 'Когда использовать', 'Суть', 'Контекст'])}\n"]
    size = 0
    while size < target_bytes:
        roll = rnd.random()
        if roll < 0.12:
            block = f"\n### {rnd.choice(['Шаги', 'Аргументы', 'Пример', 'Ошибки', 'Итог'])}\n"
        elif roll < 0.3:
            count = rnd.randint(2, 5)
            block = "".join(f"- {_fill(rnd.choice(BULLETS), rnd, base)}\n" for _ in range(count))
        elif roll < 0.38 and kind in ("script", "objection"):
            block = (
                f"> **Клиент:** «{rnd.choice(OBJECTIONS).capitalize()}».\n"
                f"> **Менеджер:** {_fill(rnd.choice(SENTENCES), rnd, base)}\n"
            )
        else:
            count = rnd.randint(2, 4)
            block = " ".join(_fill(rnd.choice(SENTENCES), rnd, base) for _ in range(count)) + "\n"
        parts.append(block)
        size += len(block.encode())
    return "\n".join(parts)


def generate_tools(n: int, seed: int = 20241127) -> Iterator[GeneratedTool]:
    """``n`` tools, the same ones for the same seed."""
    rnd = random.Random(seed)
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(n):
        kind = rnd.choices(kinds, weights)[0]
        base = _slots(rnd)
        title = _fill(rnd.choice(TITLES[kind]), rnd, base)
        summary = _fill(rnd.choice(SUMMARIES), rnd, base)
        # Sizes spread between 0.5 and 5 KB, more short tools than long ones.
        target = int(500 * (10 ** rnd.random()))
        body = _body(rnd, base, kind, max(400, target - len((title + summary).encode())))
        tags = tuple(sorted(set(rnd.sample(TAGS, rnd.randint(1, 3)))))
        segments = (base["segment"],) + ((rnd.choice(SEGMENTS),) if rnd.random() < 0.2 else ())
        status = rnd.choices(["approved", "draft", "archived"], [70, 20, 10])[0]
        attachment = ""
        if rnd.random() < 0.1:
            attachment = " ".join(
                _fill(rnd.choice(ATTACHMENT_SENTENCES), rnd, base)
                for _ in range(rnd.randint(3, 12))
            )
        proven = rnd.choice([0] * 8 + [1, 2, 3, 5, 8, 13]) if status != "draft" else 0
        yield GeneratedTool(
            kind=kind,
            title=title[:200],
            summary=summary[:500],
            body=body,
            tags=tags,
            segments=tuple(dict.fromkeys(segments)),
            status=status,
            owner_index=rnd.randrange(8),
            attachment_text=attachment,
            proven_uses=proven,
            updated_at=start + timedelta(minutes=37 * i),
        )


QUERY_WORDS = [
    "звонок",
    "звонки",
    "звонка",
    "холодный звонок",
    "скрипт звонка",
    "скрипты",
    "сделка",
    "сделок",
    "закрытие сделки",
    "кп",
    "коммерческое предложение",
    "ткп",
    "технико-коммерческое предложение",
    "возражение дорого",
    "я подумаю",
    "возражения",
    "лпр",
    "лпра",
    "выход на лпр",
    "отгрузка",
    "отгрузки склад",
    "окупаемость",
    "окупаемость оборудования",
    "скидка",
    "скидок",
    "дожим",
    "письмо после звонка",
    "чек-лист встречи",
    "кейс",
    "тендер",
    "выставка",
    "секретарь",
    "поставщик",
    "crm",
    "follow-up",
    "proposal",
    "email template",
    "гарантия",
    "предоплата",
    "конкуренты дешевле",
    "нет бюджета",
    "spin",
    "вилка цен",
    "пилотная поставка",
    "возрожение",
    "окупаемасть",
    "отгрузко",
]


def sample_queries(count: int = 240, seed: int = 7) -> list[str]:
    """``count`` 1–3 word queries people type: sales words, products, segments, codes."""
    rnd = random.Random(seed)
    queries = []
    for _ in range(count):
        roll = rnd.random()
        if roll < 0.55:
            q = rnd.choice(QUERY_WORDS)
        elif roll < 0.7:
            q = rnd.choice(PRODUCTS)[rnd.randrange(2)]
        elif roll < 0.8:
            q = f"{rnd.choice(['скрипт', 'кп', 'кейс', 'возражение'])} {rnd.choice(SEGMENTS).lower()}"
        elif roll < 0.88:
            q = f"ТКП-{rnd.choice([2023, 2024, 2025])}-{rnd.randint(2, 40)}"
        elif roll < 0.94:
            q = rnd.choice(CLIENTS).split("«")[-1].rstrip("»")
        else:
            q = f"{rnd.choice(QUERY_WORDS)} {rnd.choice(CITIES)}"
        queries.append(" ".join(q.split()[:3]))
    return queries
