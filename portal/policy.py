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


def _is_staff(user: User) -> bool:
    return Role(user.role) in STAFF_ROLES


def _see_tool(user: User, tool) -> bool:
    """Approved and archived tools are for everyone; drafts for their owner and staff."""
    if tool is None:
        return True
    return tool.status != "draft" or _is_staff(user) or tool.owner_id == user.id


def _edit_tool(user: User, tool) -> bool:
    """Staff edit any tool; a manager edits only their own drafts (and proposes the rest)."""
    if tool is None:
        return True
    return _is_staff(user) or (tool.status == "draft" and tool.owner_id == user.id)


def _deal_access(user: User, deal) -> bool:
    """Managers their own deals, leads their team's, heads and admins all."""
    if deal is None:
        return True
    role = Role(user.role)
    if role in ORG_WIDE_ROLES:
        return True
    if role == Role.LEAD:
        return deal.team_id is not None and deal.team_id == user.team_id
    return deal.manager_id == user.id


def _edit_review(user: User, review) -> bool:
    """The meeting's runner, or the manager whose deal it is (from a laptop, same team).

    ``review`` is anything with ``meeting`` and ``deal``: a DealReview or an agenda item.
    """
    if review is None:
        return True
    meeting, deal = review.meeting, review.deal
    return _lead_team(user, meeting) or (
        deal.manager_id == user.id and _same_team(user, meeting.team_id)
    )


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
    "tool.create": _roles(*ALL_ROLES),
    "tool.view": _see_tool,
    "tool.edit": _edit_tool,
    "tool.propose_edit": lambda user, tool: _see_tool(user, tool) and tool.status != "archived",
    "tool.approve": _roles(Role.LEAD, Role.HEAD, Role.ADMIN),
    "tool.archive": _roles(Role.LEAD, Role.HEAD, Role.ADMIN),
    "tool.attach": lambda user, tool: (
        _edit_tool(user, tool) or (_see_tool(user, tool) and tool.owner_id == user.id)
    ),
    "deal.view": _deal_access,
    "deal.edit": _deal_access,
    "deal.create": _roles(*ALL_ROLES),
    "deals.import": _roles(Role.LEAD, Role.HEAD, Role.ADMIN),
    # Import rows and see import reports of any team, not only one's own.
    "deals.all_teams": _roles(Role.HEAD, Role.ADMIN),
    # A kept CRM upload (``obj`` is the uploader's id): its uploader, heads and admins.
    "deals.open_upload": lambda user, owner_id: (
        Role(user.role) in ORG_WIDE_ROLES or (owner_id is not None and owner_id == user.id)
    ),
    "stages.manage": _roles(Role.ADMIN, Role.HEAD),
    # Planning meetings: the team follows its own, leads run their team's, heads and admins any.
    "meeting.view": _see_team,
    "meeting.run": _lead_team,
    "review.edit": _edit_review,
    "search.analytics": _roles(Role.HEAD, Role.ADMIN, Role.LEAD),
    "synonyms.manage": _roles(Role.ADMIN, Role.HEAD),
}


def can(user, action: str, obj=None) -> bool:
    """True when ``user`` may perform ``action`` (on ``obj`` when it matters)."""
    if _role(user) is None:
        return False
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"unknown action {action!r}: add it to portal.policy.RULES")
    return bool(rule(user, obj))


def tool_scope(user) -> Select:
    """Sales tools ``user`` may see (as a SELECT to filter and count further)."""
    from .models import SalesTool

    query = select(SalesTool)
    role = _role(user)
    if role is None:
        return query.where(SalesTool.id.is_(None))
    if role in STAFF_ROLES:
        return query
    return query.where((SalesTool.status != "draft") | (SalesTool.owner_id == user.id))


def deal_scope(user) -> Select:
    """Deals ``user`` may see."""
    from .models import Deal

    query = select(Deal)
    role = _role(user)
    if role is None:
        return query.where(Deal.id.is_(None))
    if role in ORG_WIDE_ROLES:
        return query
    if role == Role.LEAD:
        if user.team_id is None:
            return query.where(Deal.id.is_(None))
        return query.where(Deal.team_id == user.team_id)
    return query.where(Deal.manager_id == user.id)


def deal_owner_scope(user) -> Select:
    """Active people whose deals ``user`` may write: self, the team's people, or everyone."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.name)
    role = _role(user)
    if role is None:
        return query.where(User.id.is_(None))
    if role in ORG_WIDE_ROLES:
        return query
    if role == Role.LEAD:
        return query.where(User.team_id == user.team_id)
    return query.where(User.id == user.id)


def meeting_scope(user) -> Select:
    """Planning meetings ``user`` may see: their team's, or all for heads and admins."""
    from .models import Meeting

    query = select(Meeting)
    role = _role(user)
    if role in ORG_WIDE_ROLES:
        return query
    if role is None or user.team_id is None:
        return query.where(Meeting.id.is_(None))
    return query.where(Meeting.team_id == user.team_id)


def run_team_scope(user) -> Select:
    """Teams whose meetings ``user`` may run."""
    query = select(Team).where(Team.is_active.is_(True)).order_by(Team.name)
    role = _role(user)
    if role in ORG_WIDE_ROLES:
        return query
    if role == Role.LEAD and user.team_id is not None:
        return query.where(Team.id == user.team_id)
    return query.where(Team.id.is_(None))


def team_scope(user) -> Select:
    """Teams whose data ``user`` may see."""
    query = select(Team).order_by(Team.name)
    role = _role(user)
    if role in ORG_WIDE_ROLES:
        return query.where(true())
    if role is None or user.team_id is None:
        return query.where(Team.id.is_(None))
    return query.where(Team.id == user.team_id)
