"""The figures behind the reports: every number is a SQL aggregation, scoped by role.

Definitions follow API.md ("Reports"): a tool is *used* in a deal when a review of the
deal at a planning meeting tags it; usage counts review tags of **won** deals closed in the
period; a proposal send *responded* when its reaction is not ``none`` and is *accepted*
when it is ``accepted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, and_, case, cast, distinct, func, literal_column, select

from ..extensions import db
from ..models import (
    PROPOSAL_KINDS,
    ActionItem,
    Deal,
    DealReview,
    DealStatus,
    Meeting,
    ProposalSend,
    Reaction,
    ReviewTool,
    SalesTool,
    SearchQueryLog,
    Team,
    ToolVersion,
    User,
)
from ..policy import can
from . import stats
from .periods import (
    EPOCH_MONDAY,
    Period,
    bucket,
    in_period,
    index_of_week,
    local_time,
    week_index,
    week_of_index,
)

PROVEN_DEFAULT = 3
MIN_SAMPLE_DEFAULT = 10


class ReportError(ValueError):
    def __init__(self, fields: dict, status: int = 422):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields, self.status = fields, status


class ReportForbidden(Exception):
    """A lead asked for another team's figures, or a manager for any."""


@dataclass(frozen=True)
class Scope:
    """Which deals a report counts: the team (forced for leads) and optional filters."""

    team_id: int | None = None
    manager_id: int | None = None
    segment: str | None = None
    kind: str | None = None

    def deal_clauses(self) -> list:
        clauses = []
        if self.team_id is not None:
            clauses.append(Deal.team_id == self.team_id)
        if self.manager_id is not None:
            clauses.append(Deal.manager_id == self.manager_id)
        if self.segment:
            clauses.append(Deal.segment == self.segment)
        return clauses


def report_scope(user: User, team: Team | None, **filters) -> Scope:
    """Leads see their own team only; heads and admins any team or all."""
    if not can(user, "reports.view"):
        raise ReportForbidden()
    if team is not None and not can(user, "team.view", team):
        raise ReportForbidden()
    team_id = team.id if team is not None else None
    if team_id is None and not can(user, "deals.all_teams"):
        team_id = user.team_id if user.team_id is not None else -1
    return Scope(team_id=team_id, **filters)


def _won_in(period: Period, scope: Scope) -> list:
    return [Deal.status == DealStatus.WON.value, *in_period(Deal.closed_at, period),
            *scope.deal_clauses()]  # fmt: skip


# --- 1. tool usage ---------------------------------------------------------------------


@dataclass
class UsageRow:
    tool_id: int
    title: str
    kind: str
    period: str | None
    uses: int
    won_deals: int
    managers: int

    def as_api(self) -> dict:
        return {
            "tool_id": self.tool_id,
            "title": self.title,
            "kind": self.kind,
            "period": self.period,
            "uses": self.uses,
            "won_deals": self.won_deals,
            "managers": self.managers,
        }


def _only(column, ids):
    """``column IN ids`` as a filter on rows already found, not as an index probe.

    Without ``+ 0`` SQLite probes the (tool_id, deal_id) index once per deal *and* listed
    tool (200 tools × 18,000 won deals of a year: 700 ms) instead of reading each deal's
    three tags and keeping those listed (30 ms).
    """
    return (column + 0).in_(ids)


def tool_usage(period: Period, scope: Scope, group: str = "none") -> list[UsageRow]:
    """Per tool (and week or month): review tags, distinct won deals and their managers."""
    label = week_index(Deal.closed_at) if group == "week" else bucket(Deal.closed_at, group)
    name = week_of_index if group == "week" else (lambda value: value)
    columns = [
        ReviewTool.tool_id,
        func.count(ReviewTool.id).label("uses"),
        func.count(distinct(ReviewTool.deal_id)).label("won_deals"),
        func.count(distinct(Deal.manager_id)).label("managers"),
    ]
    if label is not None:
        columns.insert(1, label.label("period"))
    inner = (
        select(*columns)
        .join(Deal, Deal.id == ReviewTool.deal_id)
        .where(*_won_in(period, scope))
        .group_by(ReviewTool.tool_id, *([literal_column("period")] if label is not None else []))
    ).subquery()
    query = select(inner, SalesTool.title, SalesTool.kind).join(
        SalesTool, SalesTool.id == inner.c.tool_id
    )
    if scope.kind:
        query = query.where(SalesTool.kind == scope.kind)
    order = [inner.c.uses.desc(), inner.c.won_deals.desc(), SalesTool.title]
    if label is not None:
        order.insert(0, inner.c.period)
    return [
        UsageRow(
            tool_id=row.tool_id,
            title=row.title,
            kind=row.kind,
            period=name(row.period) if label is not None else None,
            uses=row.uses,
            won_deals=row.won_deals,
            managers=row.managers,
        )
        for row in db.session.execute(query.order_by(*order))
    ]


@dataclass
class UsageReport:
    rows: list[UsageRow]  # group=none, best first
    trends: dict[int, list[int]]  # tool_id → uses per week of the period
    weeks: list[str]
    proven_min: int
    won_deals_reviewed: int

    @property
    def proven(self) -> list[UsageRow]:
        return [r for r in self.rows if r.won_deals >= self.proven_min]


def usage_report(period, scope, proven_min: int = PROVEN_DEFAULT):
    """services.usage_report: the trend query counts uses of the 200 tools shown, by week."""
    rows = tool_usage(period, scope, "none")
    weeks = period.weeks()
    trends: dict[int, list[int]] = {}
    if weeks and len(weeks) <= 60 and rows:
        position = {index_of_week(w): i for i, w in enumerate(weeks)}
        shown = [r.tool_id for r in rows[:200]]
        week = week_index(Deal.closed_at).label("week")
        for tool_id, index, uses in db.session.execute(
            select(ReviewTool.tool_id, week, func.count(ReviewTool.id))
            .join(Deal, Deal.id == ReviewTool.deal_id)
            .where(*_won_in(period, scope), _only(ReviewTool.tool_id, shown))
            .group_by(ReviewTool.tool_id, literal_column("week"))
        ):
            if index in position:
                trends.setdefault(tool_id, [0] * len(weeks))[position[index]] = uses
    reviewed = db.session.scalar(
        select(func.count(distinct(DealReview.deal_id)))
        .join(Deal, Deal.id == DealReview.deal_id)
        .where(*_won_in(period, scope))
    )
    return UsageReport(rows, trends, weeks, proven_min, reviewed or 0)


@dataclass
class UsageByPeriod:
    periods: list[str]
    tools: list[tuple[int, str]]  # the most used tools, best first
    uses: dict[tuple[int, str], int]  # (tool_id, period) → review tags

    def series(self, limit: int = 6) -> list[tuple[str, list[int]]]:
        return [
            (title, [self.uses.get((tool_id, p), 0) for p in self.periods])
            for tool_id, title in self.tools[:limit]
        ]


def usage_by_period(period: Period, scope: Scope, group: str, limit: int = 20) -> UsageByPeriod:
    """The most used tools, week by week or month by month (one GROUP BY)."""
    rows = tool_usage(period, scope, group)
    totals: dict[int, int] = {}
    titles: dict[int, str] = {}
    for row in rows:
        totals[row.tool_id] = totals.get(row.tool_id, 0) + row.uses
        titles[row.tool_id] = row.title
    labels = period.weeks() if group == "week" else period.months()
    if not labels:
        labels = sorted({row.period for row in rows if row.period})
    best = sorted(totals, key=lambda t: (-totals[t], titles[t]))[:limit]
    return UsageByPeriod(
        periods=labels,
        tools=[(t, titles[t]) for t in best],
        uses={(row.tool_id, row.period): row.uses for row in rows},
    )


# --- 2. adoption -----------------------------------------------------------------------


@dataclass
class AdoptionRow:
    tool_id: int
    title: str
    kind: str
    managers_using: int
    share: float

    def as_api(self) -> dict:
        return {
            "tool_id": self.tool_id,
            "title": self.title,
            "kind": self.kind,
            "managers_using": self.managers_using,
            "share": self.share,
        }


@dataclass
class Adoption:
    period: Period
    managers: list[User]
    rows: list[AdoptionRow]
    # (manager_id, tool_id) → won deals of that manager tagged with the tool
    cells: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def managers_total(self) -> int:
        return len(self.managers)


def adoption_period(weeks: int, end: date) -> Period:
    """The last ``weeks`` weeks up to ``end`` (inclusive)."""
    return Period(end - timedelta(days=7 * weeks - 1), end)


def adoption(period: Period, scope: Scope, matrix_tools: int = 15) -> Adoption:
    """Of the managers with a reviewed won deal in the period, who used each tool."""
    won = _won_in(period, scope)
    manager_ids = (
        select(distinct(Deal.manager_id))
        .join(DealReview, DealReview.deal_id == Deal.id)
        .where(*won)
    )
    managers = list(
        db.session.scalars(select(User).where(User.id.in_(manager_ids)).order_by(User.name))
    )
    total = len(managers)
    per_tool = (
        select(
            ReviewTool.tool_id,
            func.count(distinct(Deal.manager_id)).label("managers_using"),
        )
        .join(Deal, Deal.id == ReviewTool.deal_id)
        .where(*won)
        .group_by(ReviewTool.tool_id)
    ).subquery()
    query = select(per_tool, SalesTool.title, SalesTool.kind).join(
        SalesTool, SalesTool.id == per_tool.c.tool_id
    )
    if scope.kind:
        query = query.where(SalesTool.kind == scope.kind)
    rows = [
        AdoptionRow(
            r.tool_id, r.title, r.kind, r.managers_using, r.managers_using / total if total else 0.0
        )  # fmt: skip
        for r in db.session.execute(
            query.order_by(per_tool.c.managers_using.desc(), SalesTool.title)
        )
    ]
    top = [r.tool_id for r in rows[:matrix_tools]]
    cells: dict[tuple[int, int], int] = {}
    if top:
        for manager_id, tool_id, deals in db.session.execute(
            select(Deal.manager_id, ReviewTool.tool_id, func.count(distinct(Deal.id)))
            .join(Deal, Deal.id == ReviewTool.deal_id)
            .where(*won, ReviewTool.tool_id.in_(top))
            .group_by(Deal.manager_id, ReviewTool.tool_id)
        ):
            cells[(manager_id, tool_id)] = deals
    return Adoption(period, managers, rows, cells)


def adoption_weeks(period: Period, scope: Scope, manager_id: int, tool_id: int) -> dict[str, int]:
    """Drill-down of one matrix cell: won deals tagged with the tool, week by week."""
    label = week_index(Deal.closed_at).label("week")
    return {
        week_of_index(index): deals
        for index, deals in db.session.execute(
            select(label, func.count(distinct(Deal.id)))
            .join(ReviewTool, ReviewTool.deal_id == Deal.id)
            .where(
                *_won_in(period, scope),
                Deal.manager_id == manager_id,
                ReviewTool.tool_id == tool_id,
            )  # fmt: skip
            .group_by(literal_column("week"))
        )
    }


# --- 3. proposal reactions -------------------------------------------------------------


@dataclass
class VersionReaction:
    version: int
    sends: int
    responded: int
    accepted: int
    median_hours: float | None
    change_note: str = ""
    created_at: object = None

    @property
    def response_rate(self) -> float | None:
        return stats.rate(self.responded, self.sends)

    @property
    def acceptance_rate(self) -> float | None:
        return stats.rate(self.accepted, self.sends)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        return stats.wilson_interval(self.responded, self.sends)

    def as_api(self) -> dict:
        low, high = self.ci
        return {
            "version": self.version,
            "sends": self.sends,
            "responded": self.responded,
            "response_rate": self.response_rate,
            "accepted": self.accepted,
            "acceptance_rate": self.acceptance_rate,
            "ci_low": low,
            "ci_high": high,
            "median_hours_to_reaction": self.median_hours,
            "change_note": self.change_note,
        }


def _hours_between(start, end):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def _sends_where(tool_id: int, period: Period, scope: Scope) -> list:
    clauses = [ProposalSend.tool_id == tool_id, *in_period(ProposalSend.sent_at, period)]
    deal_filters = scope.deal_clauses()
    if deal_filters:
        clauses.append(ProposalSend.deal_id.in_(select(Deal.id).where(*deal_filters)))
    return clauses


def proposal_reactions(tool_id: int, period: Period, scope: Scope) -> list[VersionReaction]:
    """Per version of a КП/ТКП: sends, responses, acceptances and median hours to react."""
    where = _sends_where(tool_id, period, scope)
    responded = ProposalSend.reaction != Reaction.NONE.value
    counts = db.session.execute(
        select(
            ProposalSend.version,
            func.count(ProposalSend.id),
            func.sum(case((responded, 1), else_=0)),
            func.sum(case((ProposalSend.reaction == Reaction.ACCEPTED.value, 1), else_=0)),
        )
        .where(*where)
        .group_by(ProposalSend.version)
        .order_by(ProposalSend.version)
    ).all()
    medians = _median_hours(where, responded)
    notes = {
        v.number: v
        for v in db.session.scalars(select(ToolVersion).where(ToolVersion.tool_id == tool_id))
    }
    return [
        VersionReaction(
            version=version,
            sends=sends,
            responded=int(resp or 0),
            accepted=int(acc or 0),
            median_hours=medians.get(version),
            change_note=notes[version].change_note if version in notes else "",
            created_at=notes[version].created_at if version in notes else None,
        )  # fmt: skip
        for version, sends, resp, acc in counts
    ]


def _median_hours(where: list, responded) -> dict[int, float]:
    """Median hours from send to reaction per version, with window functions in SQL."""
    hours = _hours_between(ProposalSend.sent_at, ProposalSend.reacted_at)
    ranked = (
        select(
            ProposalSend.version.label("version"),
            cast(hours, Float).label("hours"),
            func.row_number().over(partition_by=ProposalSend.version, order_by=hours).label("rn"),
            func.count().over(partition_by=ProposalSend.version).label("cnt"),
        )
        .where(*where, responded, ProposalSend.reacted_at.is_not(None))
        .subquery()
    )
    # Floor division: SQLAlchemy's ``/`` is true division, which would keep only the upper
    # middle row of an even count.
    middle = ranked.c.rn.in_([(ranked.c.cnt + 1) // 2, (ranked.c.cnt + 2) // 2])
    return {
        version: round(float(value), 2)
        for version, value in db.session.execute(
            select(ranked.c.version, func.avg(ranked.c.hours))
            .where(middle)
            .group_by(ranked.c.version)
        )
    }


def proposal_tools(scope: Scope, period: Period) -> list[tuple[SalesTool, int]]:
    """КП and ТКП with sends in the period (for the picker), most sent first."""
    clauses = [*in_period(ProposalSend.sent_at, period)]
    if scope.deal_clauses():
        clauses.append(ProposalSend.deal_id.in_(select(Deal.id).where(*scope.deal_clauses())))
    sent = (
        select(ProposalSend.tool_id, func.count(ProposalSend.id).label("sends"))
        .where(*clauses)
        .group_by(ProposalSend.tool_id)
        .subquery()
    )
    return [
        (tool, sends)
        for tool, sends in db.session.execute(
            select(SalesTool, sent.c.sends)
            .join(sent, sent.c.tool_id == SalesTool.id)
            .where(SalesTool.kind.in_([k.value for k in PROPOSAL_KINDS]))
            .order_by(sent.c.sends.desc(), SalesTool.title)
            .limit(200)
        )
    ]


# --- 4. было/стало ---------------------------------------------------------------------


@dataclass
class Side:
    period: Period
    n: int  # sends (proposals) or reviewed won deals (other tools)
    hits: int  # responded sends, or won deals that used the tool
    accepted: int | None = None  # accepted sends (proposals)
    reviewed_closed: int | None = None  # reviewed won + lost deals (other tools)
    wins_with_tool: int | None = None
    closed_with_tool: int | None = None

    @property
    def rate(self) -> float | None:
        return stats.rate(self.hits, self.n)

    @property
    def acceptance_rate(self) -> float | None:
        return stats.rate(self.accepted, self.n) if self.accepted is not None else None

    @property
    def win_rate(self) -> float | None:
        if self.closed_with_tool is None:
            return None
        return stats.rate(self.wins_with_tool or 0, self.closed_with_tool)


@dataclass
class BeforeAfter:
    tool: SalesTool
    proposal: bool
    before: Side
    after: Side
    p_value: float | None
    p_value_acceptance: float | None = None

    def as_api(self) -> dict:
        def side(s: Side) -> dict:
            low, high = stats.wilson_interval(s.hits, s.n)
            out = {
                "from": s.period.start.isoformat() if s.period.start else None,
                "to": s.period.end.isoformat() if s.period.end else None,
            }
            if self.proposal:
                out.update(
                    sends=s.n, responded=s.hits, response_rate=s.rate, accepted=s.accepted,
                    acceptance_rate=s.acceptance_rate, ci_low=low, ci_high=high,
                )  # fmt: skip
            else:
                out.update(
                    won_deals_reviewed=s.n, won_deals_with_tool=s.hits, usage_rate=s.rate,
                    ci_low=low, ci_high=high, closed_deals_with_tool=s.closed_with_tool,
                    win_rate_with_tool=s.win_rate,
                )  # fmt: skip
            return out

        delta = {}
        if self.proposal:
            delta["response_rate"] = _diff(self.after.rate, self.before.rate)
            delta["acceptance_rate"] = _diff(
                self.after.acceptance_rate, self.before.acceptance_rate
            )
            delta["sends"] = self.after.n - self.before.n
        else:
            delta["usage_rate"] = _diff(self.after.rate, self.before.rate)
            delta["won_deals_with_tool"] = self.after.hits - self.before.hits
            delta["win_rate_with_tool"] = _diff(self.after.win_rate, self.before.win_rate)
        return {
            "tool_id": self.tool.id,
            "kind": self.tool.kind,
            "measure": "proposal_sends" if self.proposal else "won_deals",
            "before": side(self.before),
            "after": side(self.after),
            "delta": delta,
            "p_value": self.p_value,
            "p_value_acceptance": self.p_value_acceptance,
        }


def _diff(a, b):
    return None if a is None or b is None else a - b


def split_periods(split: date, outer: Period) -> tuple[Period, Period]:
    return Period(outer.start, split - timedelta(days=1)), Period(split, outer.end)


def before_after(tool: SalesTool, before: Period, after: Period, scope: Scope) -> BeforeAfter:
    if tool.kind in PROPOSAL_KINDS:
        sides = [_send_side(tool.id, p, scope) for p in (before, after)]
        return BeforeAfter(
            tool, True, *sides,
            p_value=stats.two_proportion_test(sides[0].hits, sides[0].n, sides[1].hits, sides[1].n),
            p_value_acceptance=stats.two_proportion_test(
                sides[0].accepted, sides[0].n, sides[1].accepted, sides[1].n
            ),
        )  # fmt: skip
    sides = [_usage_side(tool.id, p, scope) for p in (before, after)]
    return BeforeAfter(
        tool, False, *sides,
        p_value=stats.two_proportion_test(sides[0].hits, sides[0].n, sides[1].hits, sides[1].n),
    )  # fmt: skip


def _send_side(tool_id: int, period: Period, scope: Scope) -> Side:
    sends, responded, accepted = db.session.execute(
        select(
            func.count(ProposalSend.id),
            func.coalesce(func.sum(case((ProposalSend.reaction != "none", 1), else_=0)), 0),
            func.coalesce(func.sum(case((ProposalSend.reaction == "accepted", 1), else_=0)), 0),
        ).where(*_sends_where(tool_id, period, scope))
    ).one()
    return Side(period, sends, int(responded), int(accepted))


def _usage_side(tool_id: int, period: Period, scope: Scope) -> Side:
    """Reviewed won deals, those that used the tool; and the win rate where lost ones count."""
    closed = [Deal.status.in_([DealStatus.WON.value, DealStatus.LOST.value]),
              *in_period(Deal.closed_at, period), *scope.deal_clauses()]  # fmt: skip
    has_tool = (
        select(ReviewTool.id)
        .where(ReviewTool.deal_id == Deal.id, ReviewTool.tool_id == tool_id)
        .exists()
    )
    won = Deal.status == DealStatus.WON.value
    reviewed = select(DealReview.id).where(DealReview.deal_id == Deal.id).exists()
    n, hits, with_tool, wins_with = db.session.execute(
        select(
            func.coalesce(func.sum(case((won, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(won, has_tool), 1), else_=0)), 0),
            func.coalesce(func.sum(case((has_tool, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(won, has_tool), 1), else_=0)), 0),
        ).where(*closed, reviewed)
    ).one()
    return Side(period, int(n), int(hits), reviewed_closed=None,
                wins_with_tool=int(wins_with), closed_with_tool=int(with_tool))  # fmt: skip


# --- 5. does a technique go with winning -----------------------------------------------------


@dataclass
class Association:
    tool_id: int
    title: str
    kind: str
    n_with: int
    wins_with: int
    n_without: int
    wins_without: int
    enough: bool
    reverses_in: list[str] = field(default_factory=list)  # "managers", "segments"

    @property
    def rate_with(self):
        return stats.rate(self.wins_with, self.n_with)

    @property
    def rate_without(self):
        return stats.rate(self.wins_without, self.n_without)

    @property
    def ci_with(self):
        return stats.wilson_interval(self.wins_with, self.n_with)

    @property
    def ci_without(self):
        return stats.wilson_interval(self.wins_without, self.n_without)

    @property
    def difference(self):
        return _diff(self.rate_with, self.rate_without)

    def as_api(self) -> dict:
        return {
            "tool_id": self.tool_id, "title": self.title, "kind": self.kind,
            "deals_with": self.n_with, "won_with": self.wins_with, "win_rate_with": self.rate_with,
            "ci_with": list(self.ci_with), "deals_without": self.n_without,
            "won_without": self.wins_without, "win_rate_without": self.rate_without,
            "ci_without": list(self.ci_without), "difference": self.difference,
            "enough_data": self.enough, "reverses_within": self.reverses_in,
        }  # fmt: skip


STRATA = {"managers": Deal.manager_id, "segments": func.coalesce(Deal.segment, "")}


def win_association(period, scope, min_sample: int = MIN_SAMPLE_DEFAULT, limit: int = 100):
    """services.win_association: the Simpson checks for the rows returned only.

    The original counts every tool per manager and per segment (three scans of the period's
    tags, 12,000 tools × 100 managers of rows for a year), loads 12,000 SalesTool objects
    with their bodies, and checks reversals for all tools before keeping the first 100.
    Here: the totals per (manager, segment) in one statement (summed in Python for all /
    managers / segments); the counts per tool ranked and cut to ``limit`` in SQL, with the
    title and kind; then the strata of those 100 tools, per (tool, manager, segment).
    """
    closed = [Deal.status.in_([DealStatus.WON.value, DealStatus.LOST.value]),
              *in_period(Deal.closed_at, period), *scope.deal_clauses()]  # fmt: skip
    reviewed = select(DealReview.id).where(DealReview.deal_id == Deal.id).exists()
    is_won = Deal.status == DealStatus.WON.value
    won = case((is_won, 1), else_=0)
    segment = func.coalesce(Deal.segment, "")
    totals: dict[str, dict] = {"all": {}, "managers": {}, "segments": {}}
    for manager_id, seg, n, wins in db.session.execute(
        select(Deal.manager_id, segment, func.count(Deal.id), func.coalesce(func.sum(won), 0))
        .where(*closed, reviewed)
        .group_by(Deal.manager_id, segment)
    ):
        for name, key in (("all", ()), ("managers", (manager_id,)), ("segments", (seg,))):
            old = totals[name].get(key, (0, 0))
            totals[name][key] = (old[0] + n, old[1] + wins)
    all_n, all_wins = totals["all"].get((), (0, 0))
    # Deals with each tool (distinct: a deal reviewed twice may carry a tag twice), ranked
    # in SQL as the original sorts them, so that only the rows shown come back: enough
    # data first, then the most deals, then the tool id (the original's stable order).
    ranked = (
        select(ReviewTool.tool_id, func.count(distinct(ReviewTool.deal_id)).label("n"),
               func.count(distinct(case((is_won, ReviewTool.deal_id)))).label("wins"))
        .join(Deal, Deal.id == ReviewTool.deal_id)
        .where(*closed)
        .group_by(ReviewTool.tool_id)
    ).subquery()  # fmt: skip
    query = select(
        ranked.c.tool_id, ranked.c.n, ranked.c.wins, SalesTool.title, SalesTool.kind
    ).join(SalesTool, SalesTool.id == ranked.c.tool_id)
    if scope.kind:
        query = query.where(SalesTool.kind == scope.kind)
    rows = []
    for tool_id, n, wins, title, kind in db.session.execute(
        query.order_by(
            and_(ranked.c.n >= min_sample, all_n - ranked.c.n >= min_sample).desc(),
            ranked.c.n.desc(),
            ranked.c.tool_id,
        ).limit(limit)
    ):
        rows.append(Association(
            tool_id, title, kind, n, int(wins), all_n - n, int(all_wins - wins),
            enough=stats.enough(n, min_sample) and stats.enough(all_n - n, min_sample),
        ))  # fmt: skip
    checked = [r.tool_id for r in rows if r.difference]
    if checked:
        by_tool: dict[int, dict[str, dict]] = {}
        for tool_id, manager_id, seg, n, wins in db.session.execute(
            select(ReviewTool.tool_id, Deal.manager_id, segment,
                   func.count(distinct(ReviewTool.deal_id)),
                   func.count(distinct(case((is_won, ReviewTool.deal_id)))))
            .join(Deal, Deal.id == ReviewTool.deal_id)
            .where(*closed, _only(ReviewTool.tool_id, checked))
            .group_by(ReviewTool.tool_id, Deal.manager_id, segment)
        ):  # fmt: skip
            strata = by_tool.setdefault(tool_id, {"managers": {}, "segments": {}})
            for name, key in (("managers", (manager_id,)), ("segments", (seg,))):
                old = strata[name].get(key, (0, 0))
                strata[name][key] = (old[0] + n, old[1] + wins)
        for row in rows:
            if row.tool_id not in by_tool:
                continue
            for name in STRATA:
                within = _within_difference(totals[name], by_tool[row.tool_id][name])
                if within is not None and within * row.difference < 0:
                    row.reverses_in.append(name)
    return rows, all_n


def _within_difference(totals: dict, with_tool: dict) -> float | None:
    """The Mantel–Haenszel-weighted difference of win rates inside the strata."""
    weighted, weights = 0.0, 0.0
    for key, (n, wins) in totals.items():
        n1, w1 = with_tool.get(key, (0, 0))
        n0, w0 = n - n1, wins - w1
        if n1 == 0 or n0 == 0:
            continue
        weight = n1 * n0 / n
        weighted += weight * (w1 / n1 - w0 / n0)
        weights += weight
    return weighted / weights if weights else None


# --- 6. the head's dashboard, week by week ---------------------------------------------------


@dataclass
class Trend:
    key: str
    label: str
    weeks: list[str]
    values: list[float]
    total: float
    previous: float | None
    percent: bool = False
    per_deal: bool = False

    @property
    def change(self) -> float | None:
        if self.previous in (None, 0):
            return None
        return (self.total - self.previous) / self.previous


def dashboard(period, scope):
    """services.dashboard, same figures from 10 statements instead of 17 + 2 × weeks.

    - reviews and their tags of a period in one statement, driven by the review's date
      (index deal_reviews (created_at, deal_id)); the deal's status and team are checked
      per review with ``deal_id + 0 IN (won deals of the scope)``, rather than a join or a
      plain IN, which SQLite starts from deals.status = 'won' (all 51,000 won deals,
      whatever the period);
    - weeks as integers (week_index);
    - open action items: the count at the start of the period plus, week by week, those
      created minus those done (two GROUP BY) instead of one COUNT per week; for the
      previous period only its last week's count, which is all the trend shows of it.
    """
    weeks = period.weeks()
    previous = period.previous()
    won = select(Deal.id).where(Deal.status == DealStatus.WON.value, *scope.deal_clauses())

    def reviews(p, by_week: bool):
        cols = [func.count(distinct(DealReview.deal_id)), func.count(ReviewTool.id)]
        if by_week:
            cols.insert(0, week_index(DealReview.created_at).label("week"))
        query = (
            select(*cols)
            .select_from(DealReview)
            .outerjoin(ReviewTool, ReviewTool.review_id == DealReview.id)
            .where(*in_period(DealReview.created_at, p), _only(DealReview.deal_id, won))
        )
        return query.group_by(literal_column("week")) if by_week else query

    def approved(p, by_week: bool):
        cols = [func.count(SalesTool.id)]
        if by_week:
            cols.insert(0, week_index(SalesTool.approved_at).label("week"))
        query = select(*cols).where(
            SalesTool.approved_at.is_not(None), *in_period(SalesTool.approved_at, p)
        )
        return query.group_by(literal_column("week")) if by_week else query

    def zero_searches(p, by_week: bool):
        cols = [func.count(SearchQueryLog.id)]
        if by_week:
            cols.insert(0, week_index(SearchQueryLog.created_at).label("week"))
        query = select(*cols).where(
            SearchQueryLog.results == 0, *in_period(SearchQueryLog.created_at, p)
        )
        if scope.team_id is not None:
            query = query.where(
                SearchQueryLog.user_id.in_(select(User.id).where(User.team_id == scope.team_id))
            )
        return query.group_by(literal_column("week")) if by_week else query

    def by_week(query_for) -> list[list[float]]:
        found = {row[0]: row[1:] for row in db.session.execute(query_for(period, True))}
        width = len(query_for(period, False).selected_columns)
        empty = (0,) * width
        return [
            [float(v or 0) for v in found.get(index_of_week(w), empty)] for w in weeks
        ]  # fmt: skip

    def totals(query_for, p=None) -> list[float] | None:
        p = p or previous
        if not p:
            return None
        return [float(v or 0) for v in db.session.execute(query_for(p, False)).one()]

    review_weeks = by_week(reviews)
    won_reviewed = [row[0] for row in review_weeks]
    tag_counts = [row[1] for row in review_weeks]
    # totals count each deal once over the period, like the previous period's figure
    deals_now, tags_now = totals(reviews, period)
    prev = totals(reviews)
    prev_deals, prev_tags = (prev[0], prev[1]) if prev else (None, None)
    trends = [
        Trend("won_reviewed", str(_l("Won deals reviewed")), weeks, won_reviewed,
                deals_now, prev_deals),
        Trend("tools_per_deal", str(_l("Tools used per deal")), weeks,
                [t / d if d else 0.0 for t, d in zip(tag_counts, won_reviewed, strict=True)],
                (tags_now / deals_now) if deals_now else 0.0,
                (prev_tags / prev_deals) if prev_deals else None, per_deal=True),
    ]  # fmt: skip
    new_tools = [row[0] for row in by_week(approved)]
    prev_approved = totals(approved)
    trends.append(Trend("tools_approved", str(_l("New tools approved")), weeks, new_tools,
                          sum(new_tools), prev_approved[0] if prev_approved else None))  # fmt: skip
    open_items = open_action_items(period, scope, weeks)
    prev_open = None
    if previous:
        last_monday = previous.end - timedelta(days=previous.end.weekday())
        prev_open = open_action_items_at(
            Period(None, last_monday + timedelta(days=6)).utc_end, scope
        )
    trends.append(Trend("open_action_items", str(_l("Open action items")), weeks, open_items,
                          open_items[-1] if open_items else 0, prev_open))  # fmt: skip
    zero = [row[0] for row in by_week(zero_searches)]
    prev_zero = totals(zero_searches)
    trends.append(Trend("zero_result_searches", str(_l("Searches that found nothing")),
                          weeks, zero, sum(zero), prev_zero[0] if prev_zero else None))  # fmt: skip
    return trends


def open_action_items_at(moment, scope) -> float:
    """Action items open at ``moment`` (the condition of services._open_action_items)."""
    query = select(func.count(ActionItem.id)).where(
        ActionItem.created_at < moment,
        (ActionItem.done.is_(False)) | (ActionItem.done_at >= moment),
    )
    if scope.team_id is not None:
        query = query.where(ActionItem.team_id == scope.team_id)
    return float(db.session.scalar(query) or 0)


def open_action_items(period, scope, weeks: list[str]) -> list[float]:
    """services._open_action_items from three statements for any number of weeks.

    Open at a week's end E: created before E, and not done or done at E or later. So the
    count at E is the count at the period's start plus the items created since minus those
    that stopped being open since, i.e. done (done_at set) at max(created_at, done_at).
    """
    if not weeks or period.start is None:
        return []
    monday = period.start - timedelta(days=period.start.weekday())
    start = Period(monday, None).utc_start
    end = Period(None, monday + timedelta(days=7 * len(weeks) - 1)).utc_end
    team = [ActionItem.team_id == scope.team_id] if scope.team_id is not None else []
    never_open = and_(ActionItem.done.is_(True), ActionItem.done_at.is_(None))
    week = week_index(ActionItem.created_at).label("week")
    created = dict(
        db.session.execute(
            select(week, func.count())
            .where(
                ActionItem.created_at >= start, ActionItem.created_at < end, ~never_open, *team
            )  # fmt: skip
            .group_by(literal_column("week"))
        ).all()
    )
    stopped = func.max(ActionItem.created_at, ActionItem.done_at)  # GREATEST on PostgreSQL
    done = dict(
        db.session.execute(
            select(week_index(stopped).label("week"), func.count())
            .where(
                ActionItem.done.is_(True),
                ActionItem.done_at.is_not(None),
                stopped >= start,
                stopped < end,
                *team,
            )  # fmt: skip
            .group_by(literal_column("week"))
        ).all()
    )
    first = (monday - EPOCH_MONDAY).days // 7
    running, values = open_action_items_at(start, scope), []
    for i in range(len(weeks)):
        running += created.get(first + i, 0) - done.get(first + i, 0)
        values.append(float(running))
    return values


# --- drill-down ------------------------------------------------------------------------------


def drill_deals(
    period: Period, scope: Scope, *, tool_id: int | None = None, status: str = "won",
    week: str | None = None, limit: int = 500,
) -> list[Deal]:  # fmt: skip
    """The deals behind a number: reviewed deals of the period (with the tool, if given)."""
    from sqlalchemy.orm import selectinload

    # A week (from the dashboard) means deals *reviewed* that week, whenever they closed.
    clauses = [*([] if week else in_period(Deal.closed_at, period)), *scope.deal_clauses()]
    if status in ("won", "lost"):
        clauses.append(Deal.status == status)
    else:
        clauses.append(Deal.status.in_(["won", "lost"]))
    clauses.append(select(DealReview.id).where(DealReview.deal_id == Deal.id).exists())
    if tool_id is not None:
        clauses.append(
            select(ReviewTool.id)
            .where(ReviewTool.deal_id == Deal.id, ReviewTool.tool_id == tool_id)
            .exists()
        )
    if week:
        clauses.append(
            select(DealReview.id)
            .where(
                DealReview.deal_id == Deal.id,
                week_index(DealReview.created_at) == (index_of_week(week) or -1),
            )
            .exists()
        )
    return list(
        db.session.scalars(
            select(Deal)
            .where(*clauses)
            .options(selectinload(Deal.manager))
            .order_by(Deal.closed_at.desc())
            .limit(limit)
        )
    )


def reviews_of(deal_ids: list[int]) -> dict[int, list[DealReview]]:
    from sqlalchemy.orm import selectinload

    out: dict[int, list[DealReview]] = {}
    if not deal_ids:
        return out
    for review in db.session.scalars(
        select(DealReview)
        .where(DealReview.deal_id.in_(deal_ids))
        .options(
            selectinload(DealReview.tools).selectinload(ReviewTool.tool),
            selectinload(DealReview.meeting),
        )  # fmt: skip
        .order_by(DealReview.created_at)
    ):
        out.setdefault(review.deal_id, []).append(review)
    return out


def comparable_tools(scope: Scope, keep: SalesTool | None = None, limit: int = 300):
    """Tools worth a было/стало: the most tagged in reviews and the most sent proposals."""
    deal_ids = select(Deal.id).where(*scope.deal_clauses()) if scope.deal_clauses() else None
    tagged = select(ReviewTool.tool_id, func.count(ReviewTool.id).label("n"))
    sent = select(ProposalSend.tool_id, func.count(ProposalSend.id).label("n"))
    if deal_ids is not None:
        tagged = tagged.where(ReviewTool.deal_id.in_(deal_ids))
        sent = sent.where(ProposalSend.deal_id.in_(deal_ids))
    ranked = {}
    for query in (tagged.group_by(ReviewTool.tool_id), sent.group_by(ProposalSend.tool_id)):
        for tool_id, n in db.session.execute(
            query.order_by(literal_column("n").desc()).limit(limit)
        ):
            ranked[tool_id] = ranked.get(tool_id, 0) + n
    ids = sorted(ranked, key=ranked.get, reverse=True)[:limit]
    if keep is not None and keep.id not in ids:
        ids.append(keep.id)
    return list(
        db.session.scalars(select(SalesTool).where(SalesTool.id.in_(ids)).order_by(SalesTool.title))
    )


def team_managers(scope: Scope) -> list[User]:
    query = select(User).where(User.role.in_(["manager", "lead"])).order_by(User.name)
    if scope.team_id is not None:
        query = query.where(User.team_id == scope.team_id)
    return list(db.session.scalars(query))


def segments(scope: Scope) -> list[str]:
    query = select(distinct(Deal.segment)).where(Deal.segment.is_not(None))
    if scope.team_id is not None:
        query = query.where(Deal.team_id == scope.team_id)
    return sorted(s for s in db.session.scalars(query) if s)


def next_meeting_for(team_id: int) -> Meeting | None:
    return db.session.scalar(
        select(Meeting)
        .where(Meeting.team_id == team_id, Meeting.status == "open")
        .order_by(Meeting.week.desc(), Meeting.created_at.desc())
        .limit(1)
    )


__all__ = ["local_time"]
