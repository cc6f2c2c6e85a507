"""The planning meeting: agenda, deal reviews, tagging, capture into the KB, summary.

Every function that changes something checks the policy, commits, and bumps the
meeting's ``revision`` so that laptops following the meeting see the change.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..faults import checkpoint
from ..models import (
    PROPOSAL_KINDS,
    ActionItem,
    Deal,
    DealReview,
    DealStatus,
    Meeting,
    MeetingItem,
    MeetingKind,
    MeetingStatus,
    ProposalSend,
    ReviewTool,
    SalesTool,
    Team,
    ToolKind,
    ToolVersion,
    User,
)
from ..models.base import utcnow
from ..policy import can, meeting_scope
from ..web.markdown import markdown_problem
from ..web.plain_text import clean_line

MAX_LESSON_CHARS = 20_000
MAX_AGENDA = 60
MAX_TOOLS_PER_REVIEW = 40
EDIT_LEASE = timedelta(seconds=60)
CAPTURE_KINDS = {"objection": ToolKind.OBJECTION.value, "move": ToolKind.TECHNIQUE.value}


class MeetingError(ValueError):
    """Invalid input (422), a duplicate (409) or a state that refuses the change (409)."""

    def __init__(self, fields: dict[str, object], status: int = 422, code: str | None = None):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields
        self.status = status
        self.code = code or ("conflict" if status == 409 else "invalid")

    @property
    def message(self) -> str:
        return str(next(iter(self.fields.values()), ""))


class PermissionDenied(Exception):
    pass


class NotFound(Exception):
    """An object outside the user's scope: reported as "not found"."""


class StaleReview(Exception):
    """The lesson was saved by someone else since this edit began; both texts are kept."""

    def __init__(self, review: DealReview, yours: str):
        super().__init__("stale review")
        self.review = review
        self.yours = yours


# --- weeks ---------------------------------------------------------------------------


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def week_of(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def current_week() -> str:
    return week_of(datetime.now(_tz()).date())


def parse_week(text: str) -> date:
    """The Monday of ISO week ``2026-W48``; ValueError for anything else."""
    text = (text or "").strip().upper()
    if len(text) != 8 or text[4:6] != "-W" or not (text[:4] + text[6:]).isdigit():
        raise ValueError(text)
    year, week = int(text[:4]), int(text[6:])
    if not 2000 <= year <= 2100:
        raise ValueError(text)
    return date.fromisocalendar(year, week, 1)  # ValueError for week 53 of a 52-week year


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of an ISO week in the portal's time zone, as UTC."""
    monday = parse_week(week)
    start = datetime.combine(monday, time.min, _tz())
    return start.astimezone(UTC), (start + timedelta(days=7)).astimezone(UTC)


def shift_week(week: str, weeks: int) -> str:
    return week_of(parse_week(week) + timedelta(weeks=weeks))


# --- meetings --------------------------------------------------------------------------


def get_meeting_for(user: User, meeting_id: int) -> Meeting | None:
    meeting = db.session.get(Meeting, meeting_id)
    return meeting if meeting is not None and can(user, "meeting.view", meeting) else None


def _bump(meeting: Meeting) -> None:
    """Followers poll the revision; any change to the meeting moves it on."""
    db.session.execute(
        update(Meeting).where(Meeting.id == meeting.id).values(revision=Meeting.revision + 1)
    )


def _require_open(meeting: Meeting) -> None:
    if not meeting.is_open:
        raise MeetingError(
            {"meeting": _l("The meeting is closed: it takes no more changes.")},
            409,
            "meeting_closed",
        )


def _require_run(user: User, meeting: Meeting) -> None:
    if not can(user, "meeting.run", meeting):
        raise PermissionDenied()


def create_meeting(
    actor: User,
    team: Team,
    week: str | None = None,
    title: str = "",
    *,
    adhoc: bool = False,
    minutes_per_deal: int = 3,
) -> Meeting:
    """Open the team's meeting for ``week`` and line up its agenda."""
    if not can(actor, "meeting.run", team):
        raise PermissionDenied()
    errors: dict[str, object] = {}
    week = (week or current_week()).strip().upper()
    try:
        parse_week(week)
    except ValueError:
        errors["week"] = _l("Give an ISO week such as 2026-W48.")
    title = " ".join(clean_line(title).split())
    if len(title) > 200:
        errors["title"] = _l("Keep the title under 200 characters.")
    if not 1 <= minutes_per_deal <= 60:
        errors["minutes_per_deal"] = _l("Between 1 and 60 minutes per deal.")
    if errors:
        raise MeetingError(errors)
    kind = MeetingKind.ADHOC if adhoc else MeetingKind.WEEKLY
    if kind == MeetingKind.WEEKLY:
        existing = db.session.scalar(
            select(Meeting.id).where(Meeting.team_id == team.id, Meeting.weekly_week == week)
        )
        if existing:
            raise MeetingError(
                {"week": _l("This team already has its meeting for %(week)s.", week=week)},
                409,
                "duplicate",
            )
    meeting = Meeting(
        team_id=team.id,
        week=week,
        weekly_week=week if kind == MeetingKind.WEEKLY else None,
        kind=kind.value,
        title=title,
        minutes_per_deal=minutes_per_deal,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(meeting)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request made the same weekly meeting
        db.session.rollback()
        raise MeetingError(
            {"week": _l("This team already has its meeting for %(week)s.", week=week)},
            409,
            "duplicate",
        ) from None
    _add_items(meeting, suggested_deal_ids(meeting), actor, suggested=True)
    db.session.commit()
    return meeting


def update_meeting_settings(actor: User, meeting: Meeting, title: str, minutes: int) -> Meeting:
    _require_run(actor, meeting)
    _require_open(meeting)
    title = " ".join(clean_line(title).split())
    errors: dict[str, object] = {}
    if len(title) > 200:
        errors["title"] = _l("Keep the title under 200 characters.")
    if not 1 <= minutes <= 60:
        errors["minutes_per_deal"] = _l("Between 1 and 60 minutes per deal.")
    if errors:
        raise MeetingError(errors)
    meeting.title, meeting.minutes_per_deal = title, minutes
    _bump(meeting)
    db.session.commit()
    return meeting


def previous_meeting(meeting: Meeting) -> Meeting | None:
    """The team's meeting before this one (by week, then by when it was opened). A weekly
    meeting looks back to the previous weekly one: an ad-hoc meeting in between reviews
    the deals it took, and leaves the rest of the week's won deals to the next планёрка."""
    weekly_only = (
        (Meeting.kind == MeetingKind.WEEKLY.value,)
        if meeting.kind == MeetingKind.WEEKLY.value
        else ()
    )
    return db.session.scalar(
        select(Meeting)
        .where(
            Meeting.team_id == meeting.team_id,
            Meeting.id != meeting.id,
            *weekly_only,
            or_(
                Meeting.week < meeting.week,
                and_(Meeting.week == meeting.week, Meeting.created_at < meeting.created_at),
            ),
        )
        .order_by(Meeting.week.desc(), Meeting.created_at.desc())
        .limit(1)
    )


def agenda_window(meeting: Meeting) -> tuple[datetime, datetime]:
    """Won deals closed in [since, until) are suggested for the meeting's agenda.

    ``since`` is when the previous meeting cut its agenda: when it was opened, but no
    later than the end of its week. The first meeting of a team looks back to the start
    of the week before its own. ``until`` is the end of the meeting's week.
    """
    start, until = week_bounds(meeting.week)
    previous = previous_meeting(meeting)
    if previous is None:
        since = start - timedelta(days=7)
    else:
        _prev_start, prev_end = week_bounds(previous.week)
        since = min(previous.created_at, prev_end)
    return since, until


def suggested_deal_ids(meeting: Meeting) -> list[int]:
    """The team's won deals in the agenda window, not reviewed, not on another open agenda."""
    since, until = agenda_window(meeting)
    reviewed = exists().where(DealReview.deal_id == Deal.id)
    elsewhere = exists().where(
        MeetingItem.deal_id == Deal.id,
        MeetingItem.meeting_id == Meeting.id,
        Meeting.status == MeetingStatus.OPEN.value,
        Meeting.id != meeting.id,
    )
    here = exists().where(MeetingItem.deal_id == Deal.id, MeetingItem.meeting_id == meeting.id)
    query = (
        select(Deal.id)
        .where(
            Deal.team_id == meeting.team_id,
            Deal.status == DealStatus.WON.value,
            Deal.closed_at >= since,
            Deal.closed_at < until,
            ~reviewed,
            ~elsewhere,
            ~here,
        )
        .order_by(Deal.closed_at, Deal.id)
        .limit(MAX_AGENDA)
    )
    return list(db.session.scalars(query))


def _add_items(meeting: Meeting, deal_ids: list[int], actor: User, suggested: bool) -> int:
    if not deal_ids:
        return 0
    last = db.session.scalar(
        select(func.coalesce(func.max(MeetingItem.position), 0)).where(
            MeetingItem.meeting_id == meeting.id
        )
    )
    for offset, deal_id in enumerate(deal_ids, start=1):
        db.session.add(
            MeetingItem(
                meeting_id=meeting.id,
                deal_id=deal_id,
                position=last + offset,
                suggested=suggested,
                added_by_id=actor.id,
            )
        )
    return len(deal_ids)


def refresh_agenda(actor: User, meeting: Meeting) -> int:
    """Add deals won since the agenda was lined up; returns how many were added."""
    _require_run(actor, meeting)
    _require_open(meeting)
    room = MAX_AGENDA - len(meeting.items)
    added = _add_items(meeting, suggested_deal_ids(meeting)[: max(0, room)], actor, True)
    if added:
        _bump(meeting)
    db.session.commit()
    db.session.expire(meeting, ["items"])
    return added


def _deal_to_review(actor: User, meeting: Meeting, deal_id) -> Deal:
    """The deal whose review ``actor`` is about to write: visible, open meeting, allowed."""
    if not can(actor, "meeting.view", meeting):
        raise NotFound()
    _require_open(meeting)
    deal = _deal_for_meeting(actor, meeting, deal_id)
    if not can(actor, "review.edit", _ReviewProbe(meeting, deal)):
        raise PermissionDenied()
    return deal


def _deal_for_meeting(actor: User, meeting: Meeting, deal_id) -> Deal:
    """A deal the actor may see, of the meeting's team, closed (won or lost)."""
    deal = db.session.get(Deal, deal_id) if isinstance(deal_id, int) else None
    if deal is None or not can(actor, "deal.view", deal):
        raise NotFound()
    if deal.team_id != meeting.team_id:
        raise MeetingError({"deal_id": _l("This deal belongs to another team.")})
    if deal.status == DealStatus.OPEN.value:
        raise MeetingError(
            {"deal_id": _l("Only closed deals are reviewed: this one is still open.")}
        )
    return deal


def add_to_agenda(actor: User, meeting: Meeting, deal_id: int) -> MeetingItem:
    _require_run(actor, meeting)
    _require_open(meeting)
    deal = _deal_for_meeting(actor, meeting, deal_id)
    item = agenda_item(meeting, deal.id)
    if item is not None:
        return item
    if len(meeting.items) >= MAX_AGENDA:
        raise MeetingError(
            {"deal_id": _l("The agenda is full (%(n)d deals).", n=MAX_AGENDA)}, 409, "agenda_full"
        )
    _add_items(meeting, [deal.id], actor, suggested=False)
    _bump(meeting)
    db.session.commit()
    db.session.expire(meeting, ["items"])
    return agenda_item(meeting, deal.id)


def agenda_item(meeting: Meeting, deal_id: int) -> MeetingItem | None:
    return db.session.scalar(
        select(MeetingItem).where(
            MeetingItem.meeting_id == meeting.id, MeetingItem.deal_id == deal_id
        )
    )


def may_edit_review(user: User, meeting: Meeting, deal_id: int) -> bool | None:
    """Whether ``user`` may write the review of agenda deal ``deal_id`` (None: not on the
    agenda). What ``slide().editable`` says, without loading the slide."""
    if agenda_item(meeting, deal_id) is None:
        return None
    probe = review_for(meeting, deal_id) or _ReviewProbe(meeting, db.session.get(Deal, deal_id))
    return meeting.is_open and can(user, "review.edit", probe)


def remove_from_agenda(actor: User, meeting: Meeting, item: MeetingItem) -> None:
    _require_run(actor, meeting)
    _require_open(meeting)
    review = review_for(meeting, item.deal_id)
    if review is not None and review.editing_by_id is not None and is_empty_review(review):
        db.session.delete(review)  # an editor opened it and nothing was written
    elif review is not None:
        raise MeetingError(
            {"deal_id": _l("This deal has been reviewed; its review stays on the agenda.")},
            409,
            "reviewed",
        )
    if meeting.current_deal_id == item.deal_id:
        meeting.current_deal_id, meeting.current_since = None, None
    db.session.delete(item)
    db.session.flush()
    _renumber(meeting)
    _bump(meeting)
    db.session.commit()
    db.session.expire(meeting, ["items"])


def _renumber(meeting: Meeting) -> None:
    ids = db.session.scalars(
        select(MeetingItem.id)
        .where(MeetingItem.meeting_id == meeting.id)
        .order_by(MeetingItem.position, MeetingItem.id)
    ).all()
    for position, item_id in enumerate(ids, start=1):
        db.session.execute(
            update(MeetingItem).where(MeetingItem.id == item_id).values(position=position)
        )


def move_item(actor: User, meeting: Meeting, item: MeetingItem, position: int) -> None:
    """Put an agenda item at ``position`` (1-based), shifting the others."""
    _require_run(actor, meeting)
    _require_open(meeting)
    ids = [i.id for i in meeting.items if i.id != item.id]
    position = max(1, min(position, len(ids) + 1))
    ids.insert(position - 1, item.id)
    for number, item_id in enumerate(ids, start=1):
        db.session.execute(
            update(MeetingItem).where(MeetingItem.id == item_id).values(position=number)
        )
    _bump(meeting)
    db.session.commit()
    db.session.expire(meeting, ["items"])


# --- the shared screen -----------------------------------------------------------------


@dataclass
class AgendaEntry:
    position: int
    item: MeetingItem
    deal: Deal
    review: DealReview | None

    @property
    def reviewed(self) -> bool:
        return self.review is not None and bool(
            self.review.tools or self.review.lesson or self.review.key_tool_id
        )


def agenda(meeting: Meeting) -> list[AgendaEntry]:
    """The agenda in order, with each deal and its review (one query each)."""
    items = db.session.scalars(
        select(MeetingItem)
        .where(MeetingItem.meeting_id == meeting.id)
        .options(selectinload(MeetingItem.deal).selectinload(Deal.manager))
        .order_by(MeetingItem.position, MeetingItem.id)
    ).all()
    reviews = {
        r.deal_id: r
        for r in db.session.scalars(
            select(DealReview)
            .where(DealReview.meeting_id == meeting.id)
            .options(selectinload(DealReview.tools))
        )
    }
    return [
        AgendaEntry(n, item, item.deal, reviews.get(item.deal_id))
        for n, item in enumerate(items, start=1)
    ]


def agenda_count(meeting: Meeting) -> int:
    return db.session.scalar(
        select(func.count(MeetingItem.id)).where(MeetingItem.meeting_id == meeting.id)
    )


def item_at(meeting: Meeting, position: int) -> MeetingItem | None:
    """The agenda item at 1-based ``position``, in agenda order."""
    if position < 1:
        return None
    return db.session.scalar(
        select(MeetingItem)
        .where(MeetingItem.meeting_id == meeting.id)
        .order_by(MeetingItem.position, MeetingItem.id)
        .offset(position - 1)
        .limit(1)
    )


def position_of(meeting: Meeting, deal_id: int | None) -> int | None:
    if deal_id is None:
        return None
    item = agenda_item(meeting, deal_id)
    if item is None:
        return None
    return 1 + db.session.scalar(
        select(func.count(MeetingItem.id)).where(
            MeetingItem.meeting_id == meeting.id,
            or_(
                MeetingItem.position < item.position,
                and_(MeetingItem.position == item.position, MeetingItem.id < item.id),
            ),
        )
    )


def item_on_screen(meeting: Meeting, position: int) -> MeetingItem | None:
    """The item at ``position``, clamped to the agenda as ``slide()`` clamps it."""
    total = agenda_count(meeting)
    return item_at(meeting, max(1, min(position, total))) if total else None


def show_deal(actor: User, meeting: Meeting, item: MeetingItem) -> None:
    """Put ``item`` on the shared screen: followers switch to it, its timer starts."""
    _require_run(actor, meeting)
    if meeting.current_deal_id == item.deal_id or not meeting.is_open:
        return
    meeting.current_deal_id, meeting.current_since = item.deal_id, utcnow()
    _bump(meeting)
    db.session.commit()


@dataclass
class DealSlide:
    """What the presenter and the followers see for one deal."""

    meeting: Meeting
    position: int
    total: int
    item: MeetingItem
    deal: Deal
    review: DealReview | None
    sends: list[ProposalSend]
    action_items: list[ActionItem]
    drafts: list[SalesTool]
    editable: bool = False
    runs: bool = False
    people: list[User] = field(default_factory=list)


def slide(user: User, meeting: Meeting, position: int) -> DealSlide | None:
    total = agenda_count(meeting)
    if total == 0:
        return None
    position = max(1, min(position, total))
    item = item_at(meeting, position)
    deal = db.session.scalar(
        select(Deal).where(Deal.id == item.deal_id).options(selectinload(Deal.manager))
    )
    review = db.session.scalar(
        select(DealReview)
        .where(DealReview.meeting_id == meeting.id, DealReview.deal_id == deal.id)
        .options(selectinload(DealReview.tools).selectinload(ReviewTool.tool))
    )
    sends = list(
        db.session.scalars(
            select(ProposalSend)
            .where(ProposalSend.deal_id == deal.id)
            .options(selectinload(ProposalSend.tool))
            .order_by(ProposalSend.sent_at)
        )
    )
    actions = (
        list(
            db.session.scalars(
                select(ActionItem)
                .where(ActionItem.review_id == review.id)
                .options(selectinload(ActionItem.owner))
                .order_by(ActionItem.id)
            )
        )
        if review
        else []
    )
    drafts = list(
        db.session.scalars(
            select(SalesTool)
            .where(SalesTool.origin_meeting_id == meeting.id, SalesTool.origin_deal_id == deal.id)
            .order_by(SalesTool.id)
        )
    )
    probe = review or _ReviewProbe(meeting, deal)
    editable = meeting.is_open and can(user, "review.edit", probe)
    return DealSlide(
        meeting=meeting,
        position=position,
        total=total,
        item=item,
        deal=deal,
        review=review,
        sends=sends,
        action_items=actions,
        drafts=drafts,
        editable=editable,
        runs=can(user, "meeting.run", meeting),
        people=team_people(meeting) if editable else [],
    )


@dataclass
class _ReviewProbe:
    """A review not written yet, for asking the policy who may write it."""

    meeting: Meeting
    deal: Deal


# --- reviews ---------------------------------------------------------------------------


def review_for(meeting: Meeting, deal_id: int) -> DealReview | None:
    return db.session.scalar(
        select(DealReview).where(DealReview.meeting_id == meeting.id, DealReview.deal_id == deal_id)
    )


def get_review_for(user: User, review_id: int) -> DealReview | None:
    review = db.session.get(DealReview, review_id)
    if review is None or not can(user, "meeting.view", review.meeting):
        return None
    return review


@dataclass
class ToolUse:
    tool_id: int
    version: int | None = None


def _check_tools(actor: User, deal: Deal, uses: list[ToolUse], errors: dict) -> list[ToolUse]:
    """Tools exist, the actor may see them, versions exist; proposals default to what was sent."""
    if len(uses) > MAX_TOOLS_PER_REVIEW:
        errors["tools"] = _l("At most %(n)d tools per review.", n=MAX_TOOLS_PER_REVIEW)
        return []
    ids = {u.tool_id for u in uses}
    tools = {t.id: t for t in db.session.scalars(select(SalesTool).where(SalesTool.id.in_(ids)))}
    cleaned: dict[int, ToolUse] = {}
    for index, use in enumerate(uses):
        tool = tools.get(use.tool_id)
        if tool is None or not can(actor, "tool.view", tool):
            errors[f"tools[{index}].tool_id"] = _l("No such sales tool.")
            continue
        version = use.version
        if version is not None and not 1 <= version <= tool.version:
            errors[f"tools[{index}].version"] = _l(
                "This tool has versions 1 to %(n)d.", n=tool.version
            )
            continue
        if version is None and tool.kind in PROPOSAL_KINDS:
            version = sent_version(deal.id, tool.id) or tool.version
        cleaned[tool.id] = ToolUse(tool.id, version)
    return list(cleaned.values())


def sent_version(deal_id: int, tool_id: int) -> int | None:
    """The latest version of a proposal sent in the deal, if one was sent."""
    return db.session.scalar(
        select(ProposalSend.version)
        .where(ProposalSend.deal_id == deal_id, ProposalSend.tool_id == tool_id)
        .order_by(ProposalSend.sent_at.desc(), ProposalSend.id.desc())
        .limit(1)
    )


def _clean_lesson(lesson: str | None, errors: dict) -> str:
    lesson = (lesson or "").replace("\r\n", "\n").strip()
    if len(lesson) > MAX_LESSON_CHARS:
        errors["lesson"] = _l("Keep the lesson under 20,000 characters.")
    elif (problem := markdown_problem(lesson)) is not None:
        errors["lesson"] = problem
    return lesson


def create_review(
    actor: User,
    meeting: Meeting,
    deal_id,
    tools: list[ToolUse] | None = None,
    key_tool_id: int | None = None,
    lesson: str | None = "",
) -> DealReview:
    """Review a deal at the meeting (once per meeting: a second one is a 409)."""
    deal = _deal_to_review(actor, meeting, deal_id)
    if review_for(meeting, deal.id) is not None:
        raise MeetingError(
            {"deal_id": _l("This deal is already reviewed at this meeting.")}, 409, "duplicate"
        )
    errors: dict[str, object] = {}
    uses = _check_tools(actor, deal, list(tools or []), errors)
    if key_tool_id is not None and key_tool_id not in {u.tool_id for u in uses}:
        extra = _check_tools(actor, deal, [ToolUse(key_tool_id)], {})
        if not extra:
            errors["key_tool_id"] = _l("No such sales tool.")
        uses += extra
    text = _clean_lesson(lesson, errors)
    if errors:
        raise MeetingError(errors)
    review = _new_review(actor, meeting, deal)
    review.lesson, review.key_tool_id = text, key_tool_id
    for use in uses:
        _add_tag(actor, review, use)
    if agenda_item(meeting, deal.id) is None:
        _add_items(meeting, [deal.id], actor, suggested=False)
    _bump(meeting)
    _commit_review(meeting, deal)
    return review


def _new_review(actor: User, meeting: Meeting, deal: Deal) -> DealReview:
    now = utcnow()
    review = DealReview(
        meeting_id=meeting.id,
        deal_id=deal.id,
        lesson="",
        version=1,
        created_by_id=actor.id,
        updated_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(review)
    return review


def _commit_review(meeting: Meeting, deal: Deal) -> None:
    try:
        db.session.flush()
        checkpoint("review.before_commit")
        db.session.commit()
    except IntegrityError:  # the same deal reviewed concurrently
        db.session.rollback()
        raise MeetingError(
            {"deal_id": _l("This deal is already reviewed at this meeting.")}, 409, "duplicate"
        ) from None


def _add_tag(actor: User, review: DealReview, use: ToolUse) -> None:
    review.tools.append(
        ReviewTool(
            deal_id=review.deal_id,
            tool_id=use.tool_id,
            version=use.version,
            created_by_id=actor.id,
        )
    )
    _note_proven_change(use.tool_id)


def _note_proven_change(tool_id: int) -> None:
    """Proven tools rank higher in search: re-index the tool with its new count.

    Deferred, so a tag answers at once on the projector; the meeting's close (or the next
    edit of any tool) brings the index up to date.
    """
    from ..search.service import record_tool_change_later

    record_tool_change_later(tool_id)


def review_editor(actor: User, meeting: Meeting, deal_id: int) -> DealReview:
    """The deal's review at this meeting, started empty when the first change comes."""
    deal = _deal_to_review(actor, meeting, deal_id)
    review = review_for(meeting, deal.id)
    if review is None:
        if agenda_item(meeting, deal.id) is None:
            # The presenter reviews the agenda; a deal joins it first (no stray reviews).
            raise NotFound()
        review = _new_review(actor, meeting, deal)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            review = review_for(meeting, deal.id)
    return review


def tag_tool(actor: User, meeting: Meeting, deal_id: int, tool_id, version=None) -> DealReview:
    """Tag a tool (and version) as used in the deal; tagging again changes the version."""
    review = review_editor(actor, meeting, deal_id)
    errors: dict[str, object] = {}
    uses = _check_tools(actor, review.deal, [ToolUse(tool_id, version)], errors)
    if errors:
        db.session.rollback()
        raise MeetingError({"tool_id": next(iter(errors.values()))})
    use = uses[0]
    existing = next((t for t in review.tools if t.tool_id == use.tool_id), None)
    if existing is not None:
        existing.version = use.version
    elif len(review.tools) >= MAX_TOOLS_PER_REVIEW:
        db.session.rollback()
        raise MeetingError(
            {"tool_id": _l("At most %(n)d tools per review.", n=MAX_TOOLS_PER_REVIEW)}
        )
    else:
        _add_tag(actor, review, use)
    _touch_review(actor, review)
    _commit_review(meeting, review.deal)
    return review


def untag_tool(actor: User, meeting: Meeting, review: DealReview, tool_id: int) -> DealReview:
    _check_review_edit(actor, meeting, review)
    tag = next((t for t in review.tools if t.tool_id == tool_id), None)
    if tag is not None:
        review.tools.remove(tag)
        if review.key_tool_id == tool_id:
            review.key_tool_id = None
        _note_proven_change(tool_id)
        _touch_review(actor, review)
        if is_empty_review(review) and editing_elsewhere(review, actor) is None:
            db.session.delete(review)  # back to "not reviewed", as before the first tag
        db.session.commit()
    return review


def is_empty_review(review: DealReview) -> bool:
    """Nothing written: no tool, key move, lesson, action item or captured draft."""
    if review.tools or review.key_tool_id or (review.lesson or "").strip():
        return False
    has_action = db.session.scalar(
        select(ActionItem.id).where(ActionItem.review_id == review.id).limit(1)
    )
    has_draft = db.session.scalar(
        select(SalesTool.id)
        .where(
            SalesTool.origin_meeting_id == review.meeting_id,
            SalesTool.origin_deal_id == review.deal_id,
        )
        .limit(1)
    )
    return has_action is None and has_draft is None


def set_key_tool(actor: User, meeting: Meeting, review: DealReview, tool_id: int | None):
    """Mark the key move of the deal (one per review); marking it again unmarks it."""
    _check_review_edit(actor, meeting, review)
    if tool_id is not None and tool_id not in {t.tool_id for t in review.tools}:
        raise MeetingError({"key_tool_id": _l("Tag the tool first, then mark it as key.")})
    review.key_tool_id = None if review.key_tool_id == tool_id else tool_id
    _touch_review(actor, review)
    db.session.commit()
    return review


def _check_review_edit(actor: User, meeting: Meeting, review: DealReview) -> None:
    if review.meeting_id != meeting.id or not can(actor, "meeting.view", meeting):
        raise NotFound()
    _require_open(meeting)
    if not can(actor, "review.edit", review):
        raise PermissionDenied()


def _touch_review(actor: User, review: DealReview) -> None:
    review.updated_by_id, review.updated_at = actor.id, utcnow()
    _bump(review.meeting)


def save_lesson(
    actor: User, meeting: Meeting, review: DealReview, lesson: str, base_version: int | None
) -> DealReview:
    """Save the lesson learned; a save based on an older version keeps both texts (409)."""
    _check_review_edit(actor, meeting, review)
    errors: dict[str, object] = {}
    text = _clean_lesson(lesson, errors)
    if errors:
        raise MeetingError(errors)
    if base_version is not None and base_version != review.version:
        if text == review.lesson:  # the same words reached both screens: nothing to merge
            db.session.commit()  # but keep what else came with the save (update_review's tools)
            return review
        raise StaleReview(review, text)
    # Compare-and-set, so two saves of the same version cannot both win.
    result = db.session.execute(
        update(DealReview)
        .where(DealReview.id == review.id, DealReview.version == review.version)
        .values(
            lesson=text,
            version=DealReview.version + 1,
            updated_by_id=actor.id,
            updated_at=utcnow(),
            editing_by_id=None,
            editing_until=None,
        )
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(review)
        raise StaleReview(review, text)
    _bump(meeting)
    db.session.commit()
    db.session.refresh(review)
    return review


def update_review(
    actor: User,
    meeting: Meeting,
    review: DealReview,
    *,
    base_version: int | None,
    tools: list[ToolUse] | None = None,
    key_tool_id: int | None | type[...] = ...,
    lesson: str | None = None,
) -> DealReview:
    """Change a review through the API: tools are replaced, the lesson is version-checked."""
    _check_review_edit(actor, meeting, review)
    errors: dict[str, object] = {}
    if tools is not None:
        uses = _check_tools(actor, review.deal, tools, errors)
        if errors:
            raise MeetingError(errors)
        keep = {u.tool_id: u for u in uses}
        for tag in list(review.tools):
            if tag.tool_id not in keep:
                review.tools.remove(tag)
                _note_proven_change(tag.tool_id)
            else:
                tag.version = keep.pop(tag.tool_id).version
        for use in keep.values():
            _add_tag(actor, review, use)
        db.session.flush()
        if review.key_tool_id not in {t.tool_id for t in review.tools}:
            review.key_tool_id = None
    if key_tool_id is not ...:
        if key_tool_id is not None and key_tool_id not in {t.tool_id for t in review.tools}:
            db.session.rollback()
            raise MeetingError({"key_tool_id": _l("Tag the tool first, then mark it as key.")})
        review.key_tool_id = key_tool_id
    _touch_review(actor, review)
    if lesson is not None:
        db.session.flush()
        try:
            return save_lesson(actor, meeting, review, lesson, base_version)
        except StaleReview:
            # Nothing half-saved, and the conflict shows the review as it is stored.
            db.session.rollback()
            raise
    db.session.commit()
    return review


def start_editing_deal(actor: User, meeting: Meeting, deal_id: int) -> DealReview | None:
    """The lesson editor of an agenda deal has focus. The runner closes the meeting, so
    their own lease is never needed: no review is opened for it. Anyone else (a manager on a
    laptop) gets the lease, on a review opened empty if there is none yet."""
    review = review_for(meeting, deal_id)
    if review is None and can(actor, "meeting.run", meeting):
        _deal_to_review(actor, meeting, deal_id)  # still checks the deal and the rights
        if agenda_item(meeting, deal_id) is None:
            raise NotFound()
        return None
    return start_editing(actor, meeting, review or review_editor(actor, meeting, deal_id))


def start_editing(actor: User, meeting: Meeting, review: DealReview) -> DealReview:
    """Someone opened the lesson editor: closing the meeting waits until they save."""
    _check_review_edit(actor, meeting, review)
    review.editing_by_id, review.editing_until = actor.id, utcnow() + EDIT_LEASE
    db.session.commit()
    return review


def stop_editing(actor: User, review: DealReview) -> None:
    if review.editing_by_id == actor.id:
        review.editing_by_id, review.editing_until = None, None
        db.session.commit()


def editing_elsewhere(review: DealReview, user: User) -> User | None:
    """Who else has this review's lesson open right now, if anyone."""
    if (
        review.editing_by_id
        and review.editing_by_id != user.id
        and review.editing_until
        and review.editing_until > utcnow()
    ):
        return review.editing_by
    return None


# --- action items ----------------------------------------------------------------------


def add_action_item(
    actor: User,
    meeting: Meeting,
    review: DealReview | None,
    text: str,
    owner_id: int | None,
    due: date | None,
) -> ActionItem:
    if review is not None:
        _check_review_edit(actor, meeting, review)
    else:
        _require_run(actor, meeting)
        _require_open(meeting)
    errors: dict[str, object] = {}
    text = " ".join(clean_line(text).split())
    if not text:
        errors["text"] = _l("Say what has to be done.")
    elif len(text) > 500:
        errors["text"] = _l("Keep it under 500 characters.")
    owner = db.session.get(User, owner_id) if owner_id else None
    if owner_id and (owner is None or owner.team_id != meeting.team_id or not owner.is_active):
        errors["owner_id"] = _l("Choose someone from the team.")
    if errors:
        raise MeetingError(errors)
    item = ActionItem(
        team_id=meeting.team_id,
        meeting_id=meeting.id,
        review_id=review.id if review else None,
        text=text,
        owner_id=owner.id if owner else None,
        due_date=due,
        created_by_id=actor.id,
    )
    db.session.add(item)
    _bump(meeting)
    db.session.commit()
    return item


def get_action_item_for(user: User, item_id: int) -> ActionItem | None:
    item = db.session.get(ActionItem, item_id)
    if item is None or not can(user, "meeting.view", item.meeting):
        return None
    return item


def set_action_done(actor: User, item: ActionItem, done: bool, meeting: Meeting | None = None):
    """Tick an action item off (or reopen it), at a meeting or from the action list."""
    allowed = can(actor, "meeting.run", item.meeting) or item.owner_id == actor.id
    if not allowed:
        raise PermissionDenied()
    if meeting is not None and meeting.team_id != item.team_id:
        raise NotFound()
    item.done = done
    item.done_at = utcnow() if done else None
    item.done_in_meeting_id = meeting.id if done and meeting is not None else None
    for touched in {item.meeting, meeting} - {None}:
        _bump(touched)
    db.session.commit()
    return item


def carried_over(meeting: Meeting) -> list[ActionItem]:
    """Action items from the team's earlier meetings, still open (or ticked off here)."""
    earlier = select(Meeting.id).where(
        Meeting.team_id == meeting.team_id,
        Meeting.id != meeting.id,
        Meeting.created_at <= meeting.created_at,
    )
    return list(
        db.session.scalars(
            select(ActionItem)
            .where(
                ActionItem.team_id == meeting.team_id,
                ActionItem.meeting_id.in_(earlier),
                or_(ActionItem.done.is_(False), ActionItem.done_in_meeting_id == meeting.id),
            )
            .options(selectinload(ActionItem.owner), selectinload(ActionItem.meeting))
            .order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
        )
    )


def open_action_items(user: User, limit: int = 50) -> list[ActionItem]:
    """Open action items the user owns, for the dashboard."""
    return list(
        db.session.scalars(
            select(ActionItem)
            .where(ActionItem.owner_id == user.id, ActionItem.done.is_(False))
            .order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
            .limit(limit)
        )
    )


def team_people(meeting: Meeting) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.team_id == meeting.team_id, User.is_active.is_(True))
            .order_by(User.name)
        )
    )


# --- capture into the knowledge base ---------------------------------------------------


def capture_draft(
    actor: User, meeting: Meeting, deal_id: int, what: str, title: str, body: str
) -> SalesTool:
    """A new objection heard, or a new move that worked, as a KB draft linked to the deal."""
    from ..kb.services import ToolError, ToolInput, create_tool

    deal = _deal_to_review(actor, meeting, deal_id)
    if what not in CAPTURE_KINDS:
        raise MeetingError({"kind": _l("Capture an objection or a move.")})
    title = " ".join((title or "").split())
    source = _l("From the planning meeting %(week)s, deal «%(deal)s» (%(client)s).",
                week=meeting.week, deal=deal.title, client=deal.client or "—")  # fmt: skip
    body = (body or "").strip()
    body = f"{body}\n\n---\n_{source}_" if body else f"_{source}_"
    segments = [deal.segment] if deal.segment else []
    try:
        tool = create_tool(
            actor,
            ToolInput(
                kind=CAPTURE_KINDS[what],
                title=title,
                body=body,
                segments=segments,
                status="draft",
                tags=["планёрка"],
            ),  # fmt: skip
            origin_meeting_id=meeting.id,
            origin_deal_id=deal.id,
        )
    except ToolError as error:
        raise MeetingError(error.fields) from None
    _bump(meeting)
    db.session.commit()
    return tool


# --- closing and the summary -------------------------------------------------------------


def close_meeting(actor: User, meeting: Meeting) -> Meeting:
    """Close the meeting; refused while someone else is editing one of its reviews."""
    if not can(actor, "meeting.view", meeting):
        raise NotFound()
    _require_run(actor, meeting)
    _require_open(meeting)
    busy = db.session.scalars(
        select(DealReview).where(
            DealReview.meeting_id == meeting.id,
            DealReview.editing_by_id.is_not(None),
            DealReview.editing_by_id != actor.id,
            DealReview.editing_until > utcnow(),
        )
    ).first()
    if busy is not None:
        raise MeetingError(
            {
                "meeting": _l(
                    "%(name)s is still editing the review of «%(deal)s». "
                    "Close the meeting once they have saved.",
                    name=busy.editing_by.name,
                    deal=busy.deal.title,
                )
            },
            409,
            "review_being_edited",
        )
    done = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.status == MeetingStatus.OPEN.value)
        .values(
            status=MeetingStatus.CLOSED.value,
            closed_at=utcnow(),
            closed_by_id=actor.id,
            revision=Meeting.revision + 1,
        )
    )
    if done.rowcount != 1:
        db.session.rollback()
        raise MeetingError(
            {"meeting": _l("The meeting is closed: it takes no more changes.")},
            409,
            "meeting_closed",
        )
    for opened in db.session.scalars(
        select(DealReview).where(
            DealReview.meeting_id == meeting.id, DealReview.editing_by_id.is_not(None)
        )
    ):
        if is_empty_review(opened):  # focused, never written: the deal was not reviewed
            db.session.delete(opened)
    db.session.flush()
    db.session.execute(
        update(DealReview)
        .where(DealReview.meeting_id == meeting.id)
        .values(editing_by_id=None, editing_until=None)
    )
    from ..search.service import apply_outbox_after_commit

    apply_outbox_after_commit()  # the tags' new proven counts reach the search ranking
    db.session.commit()
    db.session.refresh(meeting)
    return meeting


@dataclass
class ToolCount:
    tool: SalesTool
    uses: int
    versions: list[int] = field(default_factory=list)


@dataclass
class MeetingSummary:
    meeting: Meeting
    reviews: list[DealReview]
    tools: list[ToolCount]
    drafts: list[SalesTool]
    action_items: list[ActionItem]
    carried_over: list[ActionItem]
    agenda_total: int

    @property
    def key_moves(self) -> list[DealReview]:
        return [r for r in self.reviews if r.key_tool_id]

    @property
    def lessons(self) -> list[DealReview]:
        return [r for r in self.reviews if r.lesson]

    @property
    def won_total(self):
        return sum(r.deal.amount or 0 for r in self.reviews if r.deal.status == "won")


def summary(meeting: Meeting) -> MeetingSummary:
    reviews = list(
        db.session.scalars(
            select(DealReview)
            .where(DealReview.meeting_id == meeting.id)
            .options(
                selectinload(DealReview.deal).selectinload(Deal.manager),
                selectinload(DealReview.tools).selectinload(ReviewTool.tool),
                selectinload(DealReview.key_tool),
            )
            .join(
                MeetingItem,
                and_(
                    MeetingItem.meeting_id == meeting.id, MeetingItem.deal_id == DealReview.deal_id
                ),
                isouter=True,
            )  # fmt: skip
            .order_by(MeetingItem.position, DealReview.id)
        )
    )
    uses: Counter[int] = Counter()
    versions: dict[int, set[int]] = {}
    tools: dict[int, SalesTool] = {}
    for review in reviews:
        for tag in review.tools:
            uses[tag.tool_id] += 1
            tools[tag.tool_id] = tag.tool
            if tag.version is not None and tag.tool.is_proposal:
                versions.setdefault(tag.tool_id, set()).add(tag.version)
    counts = [
        ToolCount(tools[tid], n, sorted(versions.get(tid, ())))
        for tid, n in sorted(uses.items(), key=lambda kv: (-kv[1], tools[kv[0]].title))
    ]
    drafts = list(
        db.session.scalars(
            select(SalesTool)
            .where(SalesTool.origin_meeting_id == meeting.id)
            .order_by(SalesTool.id)
        )
    )
    actions = list(
        db.session.scalars(
            select(ActionItem)
            .where(ActionItem.meeting_id == meeting.id)
            .options(selectinload(ActionItem.owner), selectinload(ActionItem.review))
            .order_by(ActionItem.id)
        )
    )
    return MeetingSummary(
        meeting=meeting,
        reviews=reviews,
        tools=counts,
        drafts=drafts,
        action_items=actions,
        carried_over=carried_over(meeting),
        agenda_total=agenda_count(meeting),
    )


# --- lists, the overview and the proven-tool counts ------------------------------------------


def list_meetings(user: User, team_id: int | None = None, status: str = "", week: str = "",
                  page: int = 1, per_page: int = 30):  # fmt: skip
    query = meeting_scope(user)
    if team_id:
        query = query.where(Meeting.team_id == team_id)
    if status in (MeetingStatus.OPEN.value, MeetingStatus.CLOSED.value):
        query = query.where(Meeting.status == status)
    if week:
        query = query.where(Meeting.week == week)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    meetings = db.session.scalars(
        query.options(selectinload(Meeting.team))
        .order_by(Meeting.week.desc(), Meeting.created_at.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(meetings), total


@dataclass
class WeekCell:
    week: str
    meetings: list[Meeting]
    reviewed: int = 0


@dataclass
class TeamRow:
    team: Team
    cells: list[WeekCell]
    can_run: bool


def overview(user: User, teams: list[Team], weeks: int = 10, last_week: str | None = None):
    """Teams × the last ``weeks`` ISO weeks: which meetings were held and how many reviews."""
    last_week = last_week or current_week()
    week_list = [shift_week(last_week, -n) for n in range(weeks - 1, -1, -1)]
    team_ids = [t.id for t in teams]
    meetings = db.session.scalars(
        select(Meeting)
        .where(Meeting.team_id.in_(team_ids), Meeting.week.in_(week_list))
        .order_by(Meeting.created_at)
    ).all()
    reviewed = dict(
        db.session.execute(
            select(DealReview.meeting_id, func.count(DealReview.id))
            .where(DealReview.meeting_id.in_([m.id for m in meetings]))
            .group_by(DealReview.meeting_id)
        ).all()
    )
    rows = []
    for team in teams:
        cells = []
        for week in week_list:
            held = [m for m in meetings if m.team_id == team.id and m.week == week]
            cells.append(WeekCell(week, held, sum(reviewed.get(m.id, 0) for m in held)))
        rows.append(TeamRow(team, cells, can(user, "meeting.run", team)))
    return week_list, rows


def won_deal_counts(tool_ids: list[int], session=None) -> dict[int, int]:
    """How many distinct won deals each tool was tagged in at meetings.

    ``session`` lets the search index read with its own session outside the request's.
    """
    session = session or db.session
    ids = [int(i) for i in tool_ids]
    if not ids:
        return {}
    # The tools' tags first (index on tool, deal), then each deal's status by its id (index
    # on id, status). Left to itself, SQLite starts from the 55,000 won deals when many tools
    # are asked for and probes every tool for each: 6.6 s instead of 9 ms for 500 tools on
    # the benchmark database. SQLite keeps the order of a CROSS JOIN; others plan well.
    join = "CROSS JOIN" if session.get_bind().dialect.name == "sqlite" else "JOIN"
    statement = text(
        "SELECT rt.tool_id, count(DISTINCT rt.deal_id) FROM review_tools AS rt "
        f"{join} deals ON deals.id = rt.deal_id "
        "WHERE rt.tool_id IN :ids AND deals.status = :won GROUP BY rt.tool_id"
    ).bindparams(bindparam("ids", expanding=True))
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            statement, {"ids": ids[start : start + 500], "won": DealStatus.WON.value}
        )
        counts.update({tool_id: n for tool_id, n in rows})
    return counts


def deal_reviews(user: User, deal: Deal) -> list[DealReview]:
    """Reviews of ``deal`` at meetings the user may see, for the deal page."""
    visible = meeting_scope(user).with_only_columns(Meeting.id)
    return list(
        db.session.scalars(
            select(DealReview)
            .where(DealReview.deal_id == deal.id, DealReview.meeting_id.in_(visible))
            .options(
                selectinload(DealReview.tools).selectinload(ReviewTool.tool),
                selectinload(DealReview.meeting),
            )  # fmt: skip
            .order_by(DealReview.created_at.desc())
        )
    )


def agenda_candidates(user: User, meeting: Meeting, q: str = "", limit: int = 12) -> list[Deal]:
    """Closed deals of the team not on the agenda yet, for "add a deal" (lost ones too)."""
    from ..database import LIKE_ESCAPE, contains_pattern
    from ..policy import deal_scope

    on_agenda = select(MeetingItem.deal_id).where(MeetingItem.meeting_id == meeting.id)
    query = deal_scope(user).where(
        Deal.team_id == meeting.team_id,
        Deal.status.in_([DealStatus.WON.value, DealStatus.LOST.value]),
        Deal.id.not_in(on_agenda),
    )
    q = (q or "").strip()[:100]
    if q:
        pattern = contains_pattern(q.lower())
        query = query.where(
            or_(
                func.lower(Deal.title).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Deal.client).like(pattern, escape=LIKE_ESCAPE),
                Deal.external_id == q,
            )
        )
    return list(
        db.session.scalars(
            query.options(selectinload(Deal.manager))
            .order_by(Deal.closed_at.desc(), Deal.id.desc())
            .limit(limit)
        )
    )


# --- typeahead for tagging ------------------------------------------------------------------


@dataclass
class ToolSuggestion:
    tool_id: int
    title: str
    kind: str
    version: int | None
    sent_here: bool = False
    tagged: bool = False


def tool_suggestions(
    user: User, meeting: Meeting, deal_id: int, q: str, limit: int = 8
) -> list[ToolSuggestion]:
    """Tools (and proposal versions) to tag, found with Russian morphology as in search.

    Proposals sent in this deal come first, with the version that was sent.
    """
    from ..search.service import search_tools
    from ..search.types import SearchQuery

    q = (q or "").strip()[:200]
    sent = db.session.execute(
        select(ProposalSend.tool_id, ProposalSend.version, SalesTool.title, SalesTool.kind)
        .join(SalesTool, SalesTool.id == ProposalSend.tool_id)
        .where(ProposalSend.deal_id == deal_id)
        .order_by(ProposalSend.sent_at.desc())
    ).all()
    tagged = set(
        db.session.scalars(
            select(ReviewTool.tool_id)
            .join(DealReview, DealReview.id == ReviewTool.review_id)
            .where(DealReview.meeting_id == meeting.id, DealReview.deal_id == deal_id)
        )
    )
    suggestions: list[ToolSuggestion] = []
    seen: set[tuple[int, int | None]] = set()

    def add(tool_id, title, kind, version, sent_here=False):
        if (tool_id, version) not in seen and len(suggestions) < limit:
            seen.add((tool_id, version))
            suggestions.append(
                ToolSuggestion(tool_id, title, kind, version, sent_here, tool_id in tagged)
            )

    if not q:
        for tool_id, version, title, kind in sent:
            add(tool_id, title, kind, version, True)
        return suggestions
    result = search_tools(
        SearchQuery(
            text=q,
            viewer_id=user.id,
            viewer_sees_all_drafts=can(user, "tool.approve"),
            limit=limit,
            suggest=False,  # a half-typed word is completed from titles instead
        ),
        user_id=user.id,
        log=False,
    )
    hits = [(h.id, h.title, h.kind) for h in result.hits]
    if len(hits) < limit:
        # A word still being typed ("возраж", "спин"): complete it from the titles.
        extra = _title_matches(user, q, [h[0] for h in hits], limit - len(hits))
        hits += [(row.id, row.title, row.kind) for row in extra]
    hit_ids = [h[0] for h in hits]
    sent_by_tool: dict[int, list[int]] = {}
    for tool_id, version, _title, _kind in sent:
        sent_by_tool.setdefault(tool_id, []).append(version)
    current = dict(
        db.session.execute(
            select(SalesTool.id, SalesTool.version).where(SalesTool.id.in_(hit_ids))
        ).all()
    )
    for tool_id, title, kind in hits:
        if kind in PROPOSAL_KINDS:
            for version in sent_by_tool.get(tool_id, []):
                add(tool_id, title, kind, version, True)
            latest = current.get(tool_id, 1)
            for version in range(latest, max(0, latest - 2), -1):
                add(tool_id, title, kind, version)
        else:
            add(tool_id, title, kind, None)
    return suggestions


def _title_matches(user: User, q: str, exclude: list[int], limit: int):
    """Visible tools whose title contains every typed word as a fragment (ё = е)."""
    from ..database import LIKE_ESCAPE, contains_pattern
    from ..policy import tool_scope

    words = re.findall(r"\w+", q.lower())[:5]
    if not words or limit <= 0:
        return []
    query = (
        tool_scope(user)
        .with_only_columns(SalesTool.id)
        .where(SalesTool.status != "archived")
        .order_by(SalesTool.status == "draft", SalesTool.updated_at.desc())
        .limit(limit)
    )
    for word in words:
        # SQLite's own LIKE ignores case for ASCII only, and a Python lower() over every
        # title is slow: match the word as typed, Capitalised and in CAPITALS («КП»); inside
        # a word "_" stands for е/ё. The scan reads ix_sales_tools_title_scan only.
        variants = {word, word.capitalize(), word.upper()}
        patterns = [_yo_pattern(contains_pattern(v)) for v in variants]
        query = query.where(or_(*(SalesTool.title.like(p, escape=LIKE_ESCAPE) for p in patterns)))
    if exclude:
        query = query.where(SalesTool.id.not_in(exclude))
    ids = list(db.session.scalars(query))
    if not ids:
        return []
    rows = {
        row.id: row
        for row in db.session.execute(
            select(SalesTool.id, SalesTool.title, SalesTool.kind).where(SalesTool.id.in_(ids))
        )
    }
    return [rows[i] for i in ids if i in rows]


def _yo_pattern(pattern: str) -> str:
    """е and ё match each other (after the first letter, so «ёлка» is not «вилка»)."""
    head, tail = pattern[:2], pattern[2:]
    for letter in "еёЕЁ":
        tail = tail.replace(letter, "_")
    return head + tail


def version_exists(tool_id: int, number: int) -> bool:
    return bool(
        db.session.scalar(
            select(ToolVersion.id).where(
                ToolVersion.tool_id == tool_id, ToolVersion.number == number
            )
        )
    )
