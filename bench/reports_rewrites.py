"""Query rewrites still proposed for portal/reports/services.py, measured with bench/reports.py.

    .venv/bin/python bench/reports.py --patch bench/reports_rewrites.py
    REWRITES=adoption .venv/bin/python bench/reports.py --patch bench/reports_rewrites.py --only adoption

Not used by the portal. Each function is a drop-in replacement of the services function of
the same name, monkeypatched for a run, returning the same values (checked on the bench
database for the three presets and four scopes: head, lead, lead with a kind, a manager
and a segment). The week buckets, dashboard, usage trends and win-association rewrites
that this file first held are in services.py since 8fd6be8. Delete the file once the rest
are adopted or declined.

REWRITES (comma-separated, default all): adoption, before_after, drill.
"""

from __future__ import annotations

import os

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import load_only, selectinload

from portal.extensions import db
from portal.models import Deal, DealReview, DealStatus, ReviewTool, SalesTool, User
from portal.reports import periods as P
from portal.reports import services as S

WANT = set((os.environ.get("REWRITES") or "adoption,before_after,drill").split(","))


# --- adoption -------------------------------------------------------------------------------


def adoption(period, scope, matrix_tools: int = 15):
    """services.adoption: the matrix's tools as a filter (``_only``), not 15 probes a deal."""
    won = S._won_in(period, scope)
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
        select(ReviewTool.tool_id, func.count(distinct(Deal.manager_id)).label("managers_using"))
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
        S.AdoptionRow(
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
            .where(*won, S._only(ReviewTool.tool_id, top))
            .group_by(Deal.manager_id, ReviewTool.tool_id)
        ):
            cells[(manager_id, tool_id)] = deals
    return S.Adoption(period, managers, rows, cells)


# --- было/стало of a technique ----------------------------------------------------------------


def _usage_side(tool_id: int, period, scope):
    """services._usage_side: the deals with the tool from the tool's tags, not 3 EXISTS a deal.

    The original runs, for every closed deal of the side, one EXISTS for "reviewed" and
    three for "has the tool" (46,000 deals before the split: 300 ms). The deals with the
    tool come from its tags (index (tool_id, deal_id)); only the count of reviewed won deals
    walks the period's deals.
    """
    closed = [Deal.status.in_([DealStatus.WON.value, DealStatus.LOST.value]),
              *P.in_period(Deal.closed_at, period), *scope.deal_clauses()]  # fmt: skip
    is_won = Deal.status == DealStatus.WON.value
    reviewed = select(DealReview.id).where(DealReview.deal_id == Deal.id).exists()
    n = db.session.scalar(
        select(func.count(Deal.id)).where(*S._won_in(period, scope), reviewed)
    )  # fmt: skip
    with_tool, wins_with = db.session.execute(
        select(func.count(distinct(Deal.id)), func.count(distinct(case((is_won, Deal.id)))))
        .select_from(ReviewTool)
        .join(Deal, Deal.id == ReviewTool.deal_id)
        .where(ReviewTool.tool_id == tool_id, *closed)
    ).one()
    return S.Side(period, int(n or 0), int(wins_with), reviewed_closed=None,
                  wins_with_tool=int(wins_with), closed_with_tool=int(with_tool))  # fmt: skip


# --- the deals behind a figure -------------------------------------------------------------


def reviews_of(deal_ids):
    """services.reviews_of: tags' tools with id and title only, not 1,500 bodies."""
    out: dict[int, list] = {}
    if not deal_ids:
        return out
    for review in db.session.scalars(
        select(DealReview)
        .where(DealReview.deal_id.in_(deal_ids))
        .options(
            selectinload(DealReview.tools)
            .selectinload(ReviewTool.tool)
            .options(load_only(SalesTool.id, SalesTool.title)),
            selectinload(DealReview.meeting),
        )  # fmt: skip
        .order_by(DealReview.created_at)
    ):
        out.setdefault(review.deal_id, []).append(review)
    return out


if "adoption" in WANT:
    S.adoption = adoption
if "before_after" in WANT:
    S._usage_side = _usage_side
if "drill" in WANT:
    S.reviews_of = reviews_of
print("rewrites: " + ", ".join(sorted(WANT)))
