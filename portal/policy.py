"""Who may do what — the one place where role rules live.

Views, the JSON API and the CLI all ask ``can(user, action, obj)``; list queries go
through the ``*_scope`` functions so that nothing a user may not see is ever counted.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, select, true

from .models import Role, Team, User

ALL_ROLES = frozenset(Role)
STAFF_ROLES = frozenset({Role.LEAD, Role.HEAD, Role.ADMIN})
ORG_WIDE_ROLES = frozenset({Role.HEAD, Role.ADMIN})


def _role(user) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role(user.role)


def _same_team(user: User, team_id: int | None) -> bool:
    return team_id is not None and user.team_id == team_id


def _team_of(obj) -> int | None:
    if obj is None:
        return None
    if isinstance(obj, Team):
        return obj.id
    return getattr(obj, "team_id", None)


def _see_team(user: User, obj) -> bool:
    return Role(user.role) in ORG_WIDE_ROLES or _same_team(user, _team_of(obj))


def _lead_team(user: User, obj) -> bool:
    role = Role(user.role)
    return role in ORG_WIDE_ROLES or (role == Role.LEAD and _same_team(user, _team_of(obj)))


Rule = Callable[[User, object], bool]


def _roles(*roles: Role) -> Rule:
    allowed = frozenset(roles)
    return lambda user, obj: Role(user.role) in allowed


RULES: dict[str, Rule] = {
    "portal.use": _roles(*ALL_ROLES),
    "profile.edit": lambda user, obj: obj is None or obj.id == user.id,
    "users.manage": _roles(Role.ADMIN),
    "teams.manage": _roles(Role.ADMIN),
    "team.view": _see_team,
    "team.lead": _lead_team,
    "reports.view": _roles(Role.LEAD, Role.HEAD, Role.ADMIN),
}


def can(user, action: str, obj=None) -> bool:
    """True when ``user`` may perform ``action`` (on ``obj`` when it matters)."""
    if _role(user) is None:
        return False
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"unknown action {action!r}: add it to portal.policy.RULES")
    return bool(rule(user, obj))


def team_scope(user) -> Select:
    """Teams whose data ``user`` may see."""
    query = select(Team).order_by(Team.name)
    role = _role(user)
    if role in ORG_WIDE_ROLES:
        return query.where(true())
    if role is None or user.team_id is None:
        return query.where(Team.id.is_(None))
    return query.where(Team.id == user.team_id)
