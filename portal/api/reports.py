"""Reports endpoints of API.md: JSON, or CSV / XLSX with ``format=``."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import SalesTool, Team
from ..policy import can
from ..reports import services as reports
from ..reports.periods import Period, PeriodError, parse_date, period_from_args, today
from . import bp
from .auth import api_user
from .common import MAX_ID, ApiError

FORMATS = ("json", "csv", "xlsx")


def _team(fields: dict) -> Team | None:
    raw = (request.args.get("team") or "").strip()
    if not raw:
        return None
    team = (
        (db.session.get(Team, int(raw)) if _is_id(raw) else None)
        if raw.isdigit()
        else db.session.scalar(select(Team).where(Team.name == " ".join(raw.split())))
    )
    if team is None:
        fields["team"] = _l("No such team.")
    return team


def _is_id(raw: str) -> bool:
    """ASCII digits that fit a database integer (a bigger number would be a 500, not a 404)."""
    return raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID


def _context():
    """(user, period, scope, format) of a report request, or an API error."""
    user = api_user()
    if not can(user, "reports.view"):
        raise ApiError(403, _l("Reports are for team leads, heads of sales and admins."))
    fields: dict = {}
    team = _team(fields)
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        fields["format"] = _l("Format is json, csv or xlsx.")
    try:
        period = period_from_args(request.args, default=None)
    except PeriodError as error:
        fields.update(error.fields)
        period = None
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    try:
        scope = reports.report_scope(user, team)
    except reports.ReportForbidden:
        raise ApiError(403, _l("Leads see their own team's reports only.")) from None
    return user, period, scope, fmt


def _respond(payload: dict, fmt: str, name: str, columns: list, rows: list[dict]):
    if fmt == "json":
        return jsonify(payload)
    from ..reports.exports import to_csv, to_xlsx

    if fmt == "csv":
        return Response(
            to_csv(columns, rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        to_xlsx(columns, rows, name),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


def _period_json(period) -> dict:
    return {
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
    }


USAGE_COLUMNS = [
    ("tool_id", "tool_id"), ("title", "title"), ("kind", "kind"), ("period", "period"),
    ("uses", "uses"), ("won_deals", "won_deals"), ("managers", "managers"),
]  # fmt: skip


@bp.route("/reports/tool-usage")
def report_tool_usage():
    _user, period, scope, fmt = _context()
    group = request.args.get("group", "none")
    if group not in ("week", "month", "none"):
        raise ApiError(422, _l("Some values are invalid."),
                       fields={"group": _l("Group by week, month or none.")})  # fmt: skip
    proven_min = _positive("proven_min", reports.PROVEN_DEFAULT)
    rows = [r.as_api() for r in reports.tool_usage(period, scope, group)]
    payload = {**_period_json(period), "group": group, "rows": rows}
    if group == "none":
        payload["proven_min"] = proven_min
        payload["proven"] = sum(1 for r in rows if r["won_deals"] >= proven_min)
    return _respond(payload, fmt, "tool-usage", USAGE_COLUMNS, rows)


def _positive(name: str, default: int, high: int = 10_000) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
        raise ApiError(422, _l("Some values are invalid."),
                       fields={name: _l("A whole number from 1 to %(n)d.", n=high)})  # fmt: skip
    return int(raw)


ADOPTION_COLUMNS = [
    ("tool_id", "tool_id"), ("title", "title"), ("kind", "kind"),
    ("managers_using", "managers_using"), ("share", "share"),
]  # fmt: skip


@bp.route("/reports/adoption")
def report_adoption():
    _user, period, scope, fmt = _context()
    weeks = _positive("weeks", 8, 520)
    window = reports.adoption_period(weeks, period.end or today())
    result = reports.adoption(window, scope)
    rows = [r.as_api() for r in result.rows]
    payload = {
        "weeks": weeks,
        **_period_json(window),
        "managers_total": result.managers_total,
        "rows": rows,
    }
    return _respond(payload, fmt, "adoption", ADOPTION_COLUMNS, rows)


def _tool(fields: dict, *, proposal: bool | None = None) -> SalesTool | None:
    raw = request.args.get("tool_id", "")
    if not raw.isdigit():
        fields["tool_id"] = _l("Required: the id of a sales tool.")
        return None
    tool = db.session.get(SalesTool, int(raw)) if _is_id(raw) else None
    if tool is None or not can(api_user(), "tool.view", tool):
        raise ApiError(404, _l("No such tool."))
    if proposal and not tool.is_proposal:
        fields["tool_id"] = _l("Only a КП or ТКП has proposal sends.")
    return tool


REACTION_COLUMNS = [
    ("version", "version"), ("sends", "sends"), ("responded", "responded"),
    ("response_rate", "response_rate"), ("accepted", "accepted"),
    ("acceptance_rate", "acceptance_rate"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
    ("median_hours_to_reaction", "median_hours_to_reaction"), ("change_note", "change_note"),
]  # fmt: skip


@bp.route("/reports/proposal-reactions")
def report_proposal_reactions():
    _user, period, scope, fmt = _context()
    fields: dict = {}
    tool = _tool(fields, proposal=True)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    versions = [v.as_api() for v in reports.proposal_reactions(tool.id, period, scope)]
    payload = {"tool_id": tool.id, "title": tool.title, **_period_json(period),
               "versions": versions}  # fmt: skip
    return _respond(payload, fmt, "proposal-reactions", REACTION_COLUMNS, versions)


@bp.route("/reports/before-after")
def report_before_after():
    _user, period, scope, fmt = _context()
    fields: dict = {}
    tool = _tool(fields)
    args = request.args
    two = [args.get(k) for k in ("a_from", "a_to", "b_from", "b_to")]
    if any(two):
        a_from = parse_date(args.get("a_from"), "a_from", fields)
        a_to = parse_date(args.get("a_to"), "a_to", fields)
        b_from = parse_date(args.get("b_from"), "b_from", fields)
        b_to = parse_date(args.get("b_to"), "b_to", fields)
        if not all(two) and not fields:
            fields["a_from"] = _l("Give a_from, a_to, b_from and b_to together.")
        if not fields and (a_from > a_to or b_from > b_to):
            fields["a_to"] = _l("Each period must end after it starts.")
        if fields:
            raise ApiError(422, _l("Some values are invalid."), fields=fields)
        from ..reports.periods import Period

        before, after = Period(a_from, a_to), Period(b_from, b_to)
    else:
        split = parse_date(args.get("split"), "split", fields)
        if split is None and not fields and tool is not None and args.get("version"):
            split = _version_date(tool, args.get("version"), fields)
        if split is None and not fields:
            fields["split"] = _l("Give split=DATE, version=N, or a_from, a_to, b_from, b_to.")
        if fields:
            raise ApiError(422, _l("Some values are invalid."), fields=fields)
        before, after = reports.split_periods(split, period)
    result = reports.before_after(tool, before, after, scope).as_api()
    rows = [{"side": name, **result[name]} for name in ("before", "after")]
    columns = [("side", "side")] + [(k, k) for k in result["before"]]
    return _respond(result, fmt, "before-after", columns, rows)


def _version_date(tool: SalesTool, raw: str, fields: dict):
    from ..models import ToolVersion

    version = (
        db.session.scalar(
            select(ToolVersion).where(
                ToolVersion.tool_id == tool.id, ToolVersion.number == int(raw)
            )  # fmt: skip
        )
        if _is_id(raw)
        else None
    )
    if version is None:
        fields["version"] = _l("This tool has no such version.")
        return None
    from ..reports.periods import tz

    return version.created_at.astimezone(tz()).date()


ASSOCIATION_COLUMNS = [
    ("tool_id", "tool_id"), ("title", "title"), ("kind", "kind"), ("deals_with", "deals_with"),
    ("won_with", "won_with"), ("win_rate_with", "win_rate_with"),
    ("deals_without", "deals_without"), ("won_without", "won_without"),
    ("win_rate_without", "win_rate_without"), ("difference", "difference"),
    ("enough_data", "enough_data"),
]  # fmt: skip


@bp.route("/reports/win-association")
def report_win_association():
    _user, period, scope, fmt = _context()
    min_sample = _positive("min_sample", reports.MIN_SAMPLE_DEFAULT)
    rows, total = reports.win_association(period, scope, min_sample)
    items = [r.as_api() for r in rows]
    payload = {
        **_period_json(period),
        "reviewed_closed_deals": total,
        "min_sample": min_sample,
        "note": str(_l("Association, not proof: other things differ between these deals.")),
        "rows": items,
    }
    flat = [{k: v for k, v in r.items() if not isinstance(v, list)} for r in items]
    return _respond(payload, fmt, "win-association", ASSOCIATION_COLUMNS, flat)


@bp.route("/reports/dashboard")
def report_dashboard():
    from ..reports.periods import preset_period

    _user, period, scope, fmt = _context()
    # The dashboard needs both ends: what is missing comes from the default 4 weeks.
    if period.start is None and period.end is None:
        period = preset_period("last_4_weeks")
    elif period.end is None:
        period = Period(period.start, max(period.start, today()), "custom")
    elif period.start is None:
        period = Period(period.end - timedelta(days=27), period.end, "custom")
    trends = reports.dashboard(period, scope)
    items = [
        {
            "key": t.key,
            "label": t.label,
            "weeks": t.weeks,
            "values": t.values,
            "total": t.total,
            "previous": t.previous,
            "change": t.change,
        }  # fmt: skip
        for t in trends
    ]
    payload = {**_period_json(period), "metrics": items}
    rows = [
        {"week": week, **{t.key: t.values[i] for t in trends}}
        for i, week in enumerate(trends[0].weeks if trends else [])
    ]
    columns = [("week", "week")] + [(t.key, t.key) for t in trends]
    return _respond(payload, fmt, "dashboard", columns, rows)
