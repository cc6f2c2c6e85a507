"""Queries behind the admin pages."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from ..database import LIKE_ESCAPE, contains_pattern
from ..extensions import db
from ..models import Team, User


def list_users(query: str = "", role: str = "", team_id: int | None = None, show_inactive=False):
    stmt = select(User).outerjoin(Team).order_by(User.is_active.desc(), User.name)
    if query:
        like = contains_pattern(query.strip().lower())
        stmt = stmt.where(
            or_(
                func.lower(User.name).like(like, escape=LIKE_ESCAPE),
                User.email.like(like, escape=LIKE_ESCAPE),
            )
        )
    if role:
        stmt = stmt.where(User.role == role)
    if team_id:
        stmt = stmt.where(User.team_id == team_id)
    if not show_inactive:
        stmt = stmt.where(User.is_active.is_(True))
    return list(db.session.scalars(stmt))


def list_teams(include_inactive: bool = True) -> list[tuple[Team, int]]:
    stmt = (
        select(Team, func.count(User.id))
        .outerjoin(User, (User.team_id == Team.id) & User.is_active.is_(True))
        .group_by(Team.id)
        .order_by(Team.is_active.desc(), Team.name)
    )
    if not include_inactive:
        stmt = stmt.where(Team.is_active.is_(True))
    return [(team, count) for team, count in db.session.execute(stmt).all()]


def team_choices() -> list[tuple[int, str]]:
    teams = db.session.scalars(select(Team).where(Team.is_active.is_(True)).order_by(Team.name))
    return [(0, "—")] + [(t.id, t.name) for t in teams]


def get_team(team_id: int) -> Team | None:
    return db.session.get(Team, team_id) if team_id else None


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)
