"""What the home page shows and whether the portal is healthy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from ..extensions import db
from ..models import Role, Team, User
from ..policy import team_scope


def database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 — any failure means "not healthy"
        db.session.rollback()
        return False


@dataclass(frozen=True)
class TeamSummary:
    team: Team
    managers: int
    leads: list[User]


def dashboard_teams(user) -> list[TeamSummary]:
    """The teams the user may see, with how many active managers each has."""
    teams = list(db.session.scalars(team_scope(user).where(Team.is_active.is_(True))))
    if not teams:
        return []
    counts = dict(
        db.session.execute(
            select(User.team_id, func.count(User.id))
            .where(
                User.team_id.in_([t.id for t in teams]),
                User.role == Role.MANAGER.value,
                User.is_active.is_(True),
            )
            .group_by(User.team_id)
        ).all()
    )
    return [TeamSummary(t, counts.get(t.id, 0), t.leads) for t in teams]
