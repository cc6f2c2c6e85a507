"""What the home page shows and whether the portal is healthy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from ..extensions import db
from ..models import Role, Team, User
from ..policy import team_scope


def database_answers() -> bool:
    """The database answers and has the portal's tables: a new, empty file (a wrong
    DATABASE_URL, migrations not run) answers SELECT 1 but would fail every page."""
    try:
        db.session.execute(text("SELECT 1 FROM users LIMIT 1"))
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


@dataclass(frozen=True)
class KnowledgeBaseSummary:
    approved: int
    drafts: int
    needs_review: int
    recent: list


def knowledge_base_summary(user) -> KnowledgeBaseSummary:
    """Counts of the tools the user may see, and the latest changes, for the home page."""
    from ..models import SalesTool
    from ..models.base import utcnow
    from ..policy import tool_scope

    visible = tool_scope(user).subquery()
    today = utcnow().date()
    row = db.session.execute(
        select(
            func.count().filter(visible.c.status == "approved"),
            func.count().filter(visible.c.status == "draft"),
            func.count().filter(visible.c.status != "archived", visible.c.review_by < today),
        ).select_from(visible)
    ).one()
    recent = list(
        db.session.scalars(
            tool_scope(user)
            .where(SalesTool.status != "archived")
            .order_by(SalesTool.updated_at.desc())
            .limit(6)
        )
    )
    return KnowledgeBaseSummary(row[0], row[1], row[2], recent)
