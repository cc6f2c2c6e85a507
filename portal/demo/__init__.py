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


def seed_demo(force: bool = False) -> int:
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
