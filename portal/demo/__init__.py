"""The demo company: «ТехПромСнаб», which sells industrial equipment and its software.

Seeded once by ``make run``; later features add their demo material here.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..auth.services import hash_password
from ..extensions import db
from ..models import Team, User

DEMO_PASSWORD = "planerka-demo"
DOMAIN = "tehpromsnab.ru"

TEAMS = ["Москва — промышленность", "Екатеринбург — ритейл и логистика"]

# (login, name, role, team index or None)
PEOPLE = [
    ("admin", "Сергей Белов", "admin", None),
    ("i.sokolova", "Ирина Соколова", "head", None),
    ("a.morozov", "Алексей Морозов", "lead", 0),
    ("n.volkova", "Наталья Волкова", "lead", 1),
    ("d.kozlov", "Дмитрий Козлов", "manager", 0),
    ("e.smirnova", "Екатерина Смирнова", "manager", 0),
    ("p.novikov", "Павел Новиков", "manager", 0),
    ("o.kuznetsova", "Ольга Кузнецова", "manager", 1),
    ("a.lebedev", "Артём Лебедев", "manager", 1),
    ("m.popova", "Мария Попова", "manager", 1),
]


def demo_logins() -> list[tuple[str, str, str, str | None]]:
    return [
        (f"{login}@{DOMAIN}", name, role, TEAMS[team] if team is not None else None)
        for login, name, role, team in PEOPLE
    ]


def seed_demo(force: bool = False) -> dict[str, int]:
    """Load each part of the demo company that the database does not have yet."""
    created = {"users": seed_people(force)}
    created["tools"] = seed_tools()
    from .deals_demo import seed_deals

    created["deals"] = seed_deals()
    from .meetings_demo import seed_meetings

    created["meetings"] = seed_meetings()
    return created


def seed_people(force: bool = False) -> int:
    """Create the demo teams and people unless the database already has users."""
    if not force and db.session.scalar(select(func.count(User.id))):
        return 0
    teams = []
    for name in TEAMS:
        team = db.session.scalar(select(Team).where(Team.name == name)) or Team(name=name)
        db.session.add(team)
        teams.append(team)
    # One hash for everyone: scrypt is slow on purpose, and these are demo accounts.
    password_hash = hash_password(DEMO_PASSWORD)
    created = 0
    for email, name, role, _team in demo_logins():
        if db.session.scalar(select(User.id).where(User.email == email)):
            continue
        team_index = next(p[3] for p in PEOPLE if f"{p[0]}@{DOMAIN}" == email)
        db.session.add(
            User(
                email=email,
                name=name,
                role=role,
                team=teams[team_index] if team_index is not None else None,
                password_hash=password_hash,
                locale="ru",
            )
        )
        created += 1
    db.session.commit()
    return created


def seed_tools() -> int:
    """The knowledge base of ТехПромСнаб, with version histories, unless tools exist."""
    from datetime import timedelta

    from ..models import SalesTool, Segment, Tag, ToolVersion
    from ..models.base import utcnow
    from ..search.service import record_tool_change
    from .kb_content import DEMO_TOOLS

    if db.session.scalar(select(func.count(SalesTool.id))):
        return 0
    people = {
        email.split("@")[0]: db.session.scalar(select(User).where(User.email == email))
        for email, *_ in demo_logins()
    }
    tags: dict[str, Tag] = {}
    segments: dict[str, Segment] = {}
    now = utcnow()
    for spec in DEMO_TOOLS:
        versions = spec["versions"]
        owner = people.get(spec["owner"])
        first_at = now - timedelta(days=versions[0]["days_ago"])
        last = versions[-1]
        tool = SalesTool(
            kind=spec["kind"],
            title=last["title"],
            summary=spec["summary"],
            body=last["body"],
            status=spec["status"],
            version=len(versions),
            owner=owner,
            review_by=(now + timedelta(days=spec["review_by_days"])).date(),
            created_at=first_at,
            updated_at=now - timedelta(days=last["days_ago"]),
        )
        if spec["status"] != "draft":
            tool.approved_by = people.get("a.morozov") or owner
            tool.approved_at = now - timedelta(days=last["days_ago"])
        tool.tags = [tags.setdefault(n, Tag(name=n)) for n in spec["tags"]]
        tool.segments = [segments.setdefault(n, Segment(name=n)) for n in spec["segments"]]
        for number, version in enumerate(versions, start=1):
            tool.versions.append(
                ToolVersion(
                    number=number,
                    title=version["title"],
                    body=version["body"],
                    change_note=version["change_note"],
                    author=people.get(version["author"]) or owner,
                    created_at=now - timedelta(days=version["days_ago"]),
                )
            )
        db.session.add(tool)
        db.session.flush()
        record_tool_change(tool.id)
    db.session.commit()
    return len(DEMO_TOOLS)
