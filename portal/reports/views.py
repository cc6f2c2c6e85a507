"""Report pages: filters in the URL, a chart and a table, drill-down, CSV and XLSX."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import PROPOSAL_KINDS, SalesTool, Team, User
from ..policy import can, team_scope
from ..web.access import require
from . import bp, services
from .periods import (
    PRESETS,
    Period,
    PeriodError,
    parse_date,
    period_from_args,
    preset_period,
    today,
    tz,
)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


class Filters:
    """The report's filters, parsed from the URL (and written back into links)."""

    def __init__(self, with_kind: bool = True):
        self.errors: dict = {}
        try:
            self.period = period_from_args(request.args)
        except PeriodError as error:
            self.errors = error.fields
            self.period = preset_period("last_4_weeks")
        team_id = _int_arg("team")
        self.team = db.session.get(Team, team_id) if team_id else None
        if self.team is not None and not can(current_user, "team.view", self.team):
            abort(403)  # as in the API: another team's figures are refused, not hidden
        self.manager_id = _int_arg("manager")
        self.segment = request.args.get("segment", "").strip()[:80] or None
        kind = request.args.get("kind", "")
        self.kind = kind if with_kind and kind in _kinds() else None
        try:
            self.scope = services.report_scope(
                current_user, self.team, manager_id=self.manager_id, segment=self.segment,
                kind=self.kind,
            )  # fmt: skip
        except services.ReportForbidden:
            abort(403)

    def args(self, **extra) -> dict:
        """The report's URL arguments (period, filters, report options) with ``extra``;
        reports call it once a row, so the request's own part is worked out once."""
        base = getattr(self, "_base_args", None)
        if base is None:
            base = self._base_args = self._request_args()
        out = {**base, **{k: v for k, v in extra.items() if v is not None}}
        return {k: v for k, v in out.items() if v not in (None, "")}

    def _request_args(self) -> dict:
        out = dict(self.period.args())
        for name, value in (("team", self.team.id if self.team else None),
                            ("manager", self.manager_id), ("segment", self.segment),
                            ("kind", self.kind)):  # fmt: skip
            if value:
                out[name] = value
        for key in ("tool_id", "weeks", "proven_min", "min_sample", "split", "version",
                    "a_from", "a_to", "b_from", "b_to", "group"):  # fmt: skip
            if request.args.get(key):
                out[key] = request.args[key]
        return out

    def context(self) -> dict:
        return {
            "f": self,
            "presets": PRESETS,
            "teams": list(db.session.scalars(team_scope(current_user))),
            "managers": services.team_managers(self.scope),
            "segments": services.segments(self.scope),
            "kinds": _kinds(),
        }


def _kinds() -> dict:
    from ..kb.services import KIND_LABELS

    return {k: str(v) for k, v in KIND_LABELS.items()}


def _export(name: str, columns, rows):
    """CSV (UTF-8 with BOM) or XLSX of the report's table when ``format=`` asks for it."""
    from .exports import to_csv, to_xlsx

    fmt = request.args.get("format")
    if fmt == "csv":
        return Response(to_csv(columns, rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
    if fmt == "xlsx":
        return Response(
            to_xlsx(columns, rows, name),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return None


# --- 6. the head's dashboard -------------------------------------------------------------


@bp.route("/reports")
@require("reports.view")
def dashboard():
    f = Filters(with_kind=False)
    shown = f.period
    if shown.end and shown.start and shown.end > today() >= shown.start:
        shown = Period(shown.start, today(), shown.preset)  # no weeks from the future
    trends = services.dashboard(shown, f.scope) if shown.days else []
    rows = [{"week": w, **{t.key: t.values[i] for t in trends}}
            for i, w in enumerate(trends[0].weeks if trends else [])]  # fmt: skip
    exported = _export("dashboard", [("week", _("Week"))] + [(t.key, t.label) for t in trends],
                       rows)  # fmt: skip
    if exported is not None:
        return exported
    usage = services.usage_report(f.period, f.scope)
    return render_template("reports/dashboard.html", trends=trends, usage=usage, rows=rows,
                           **f.context())  # fmt: skip


# --- 1. tool usage ----------------------------------------------------------------------


@bp.route("/reports/usage")
@require("reports.view")
def usage():
    f = Filters()
    proven_min = _int_arg("proven_min") or services.PROVEN_DEFAULT
    group = request.args.get("group", "none")
    group = group if group in ("week", "month", "none") else "none"
    if request.args.get("format"):
        rows = [r.as_api() for r in services.tool_usage(f.period, f.scope, group)]
        from ..api.reports import USAGE_COLUMNS

        return _export("tool-usage", USAGE_COLUMNS, rows) or abort(400)
    report = services.usage_report(f.period, f.scope, proven_min)
    grouped = services.usage_by_period(f.period, f.scope, group) if group != "none" else None
    return render_template("reports/usage.html", report=report, proven_min=proven_min,
                           group=group, grouped=grouped, **f.context())  # fmt: skip


# --- 2. adoption ---------------------------------------------------------------------------


@bp.route("/reports/adoption")
@require("reports.view")
def adoption():
    f = Filters()
    weeks = min(_int_arg("weeks") or 8, 520)
    window = services.adoption_period(weeks, f.period.end or preset_period("this_week").end)
    result = services.adoption(window, f.scope)
    if request.args.get("format"):
        from ..api.reports import ADOPTION_COLUMNS

        return _export("adoption", ADOPTION_COLUMNS, [r.as_api() for r in result.rows]) or abort(
            400
        )
    drill = None
    manager_id, tool_id = _int_arg("cell_manager"), _int_arg("cell_tool")
    if manager_id and tool_id:
        by_week = services.adoption_weeks(window, f.scope, manager_id, tool_id)
        drill = {
            "manager": db.session.get(User, manager_id),
            "tool": db.session.get(SalesTool, tool_id),
            "weeks": [(w, by_week.get(w, 0)) for w in window.weeks()],
        }
    return render_template("reports/adoption.html", result=result, weeks=weeks, window=window,
                           drill=drill, **f.context())  # fmt: skip


@bp.route("/reports/adoption/gap", methods=["POST"])
@require("reports.view")
def adoption_gap():
    """Put a gap (a manager who has not used a proven tool) on the team's next meeting."""
    from ..meetings import services as meetings

    manager_id, tool_id = (request.form.get(k, "").strip() for k in ("manager_id", "tool_id"))
    ids = [int(v) if v.isascii() and v.isdigit() and len(v) < 12 else 0
           for v in (manager_id, tool_id)]  # fmt: skip
    manager = db.session.get(User, ids[0]) if ids[0] else None
    tool = db.session.get(SalesTool, ids[1]) if ids[1] else None
    if manager is None or tool is None or manager.team_id is None:
        abort(404)
    team = db.session.get(Team, manager.team_id)
    # Another team's manager, or a tool one may not see: 404, not revealing that it exists.
    if not can(current_user, "meeting.run", team) or not can(current_user, "tool.view", tool):
        abort(404)
    back = request.form.get("back") or url_for("reports.adoption")
    back = back if back.startswith("/") and not back.startswith("//") else "/"
    try:
        meeting = services.next_meeting_for(team.id)
        if meeting is None:
            week = meetings.current_week()
            try:
                meeting = meetings.create_meeting(current_user, team, week)
            except meetings.MeetingError:  # this week's is held: the next one's
                db.session.rollback()
                meeting = meetings.create_meeting(current_user, team, meetings.shift_week(week, 1))
        meetings.add_action_item(
            current_user, meeting, None,
            _("Discuss «%(tool)s» with %(name)s: not used in won deals yet", tool=tool.title,
              name=manager.name),
            manager.id, None,
        )  # fmt: skip
    except meetings.MeetingError as error:  # e.g. both weeks' meetings closed, manager gone
        db.session.rollback()
        flash(
            _("Not put on an agenda: %(why)s", why=" ".join(str(m) for m in error.fields.values())),
            "error",
        )
        return redirect(back, 303)
    flash(_("Put on the agenda of the meeting %(week)s.", week=meeting.week), "success")
    return redirect(back, 303)


# --- 3. proposal reactions -------------------------------------------------------------------


@bp.route("/reports/proposals")
@require("reports.view")
def proposals():
    f = Filters(with_kind=False)
    choices = services.proposal_tools(f.scope, f.period)
    tool_id = _int_arg("tool_id") or (choices[0][0].id if choices else None)
    tool = db.session.get(SalesTool, tool_id) if tool_id else None
    if tool is not None and (tool.kind not in PROPOSAL_KINDS or not can(current_user,
                                                                        "tool.view", tool)):  # fmt: skip
        abort(404)
    versions = services.proposal_reactions(tool.id, f.period, f.scope) if tool else []
    if request.args.get("format"):
        from ..api.reports import REACTION_COLUMNS

        return _export("proposal-reactions", REACTION_COLUMNS,
                       [v.as_api() for v in versions]) or abort(400)  # fmt: skip
    return render_template("reports/proposals.html", tool=tool, choices=choices,
                           versions=versions, **f.context())  # fmt: skip


# --- 4. было/стало -----------------------------------------------------------------------------


@bp.route("/reports/before-after")
@require("reports.view")
def before_after():
    f = Filters(with_kind=False)
    tool = db.session.get(SalesTool, _int_arg("tool_id") or 0)
    if tool is not None and not can(current_user, "tool.view", tool):
        abort(404)
    errors: dict = {}
    result = None
    mode = request.args.get("mode", "split")
    if tool is not None:
        if mode == "periods":
            dates = [parse_date(request.args.get(k), k, errors)
                     for k in ("a_from", "a_to", "b_from", "b_to")]  # fmt: skip
            if not errors and all(dates):
                before, after = Period(dates[0], dates[1]), Period(dates[2], dates[3])
                result = services.before_after(tool, before, after, f.scope)
            elif not errors:
                errors["a_from"] = _("Give both periods.")
        else:
            split = parse_date(request.args.get("split"), "split", errors)
            if split is None and not errors and _int_arg("version"):
                version = next((v for v in tool.versions
                                if v.number == _int_arg("version")), None)  # fmt: skip
                if version is not None:
                    from .periods import tz

                    split = version.created_at.astimezone(tz()).date()
            if split is not None:
                # A split date compares everything before with everything after, unless
                # the dates were narrowed explicitly.
                explicit = request.args.get("from") or request.args.get("to")
                outer = f.period if explicit else Period(None, None)
                before, after = services.split_periods(split, outer)
                result = services.before_after(tool, before, after, f.scope)
    if result is not None and request.args.get("format"):
        data = result.as_api()
        rows = [{"side": name, **data[name]} for name in ("before", "after")]
        return _export("before-after", [("side", "side")] + [(k, k) for k in data["before"]],
                       rows) or abort(400)  # fmt: skip
    tools = services.comparable_tools(f.scope, keep=tool)
    return render_template("reports/before_after.html", tool=tool, tools=tools, result=result,
                           errors=errors, mode=mode, **f.context())  # fmt: skip


# --- 5. association with winning ---------------------------------------------------------------


@bp.route("/reports/association")
@require("reports.view")
def association():
    f = Filters()
    min_sample = _int_arg("min_sample") or services.MIN_SAMPLE_DEFAULT
    rows, total = services.win_association(f.period, f.scope, min_sample)
    if request.args.get("format"):
        from ..api.reports import ASSOCIATION_COLUMNS

        flat = [{k: v for k, v in r.as_api().items() if not isinstance(v, list)} for r in rows]
        return _export("win-association", ASSOCIATION_COLUMNS, flat) or abort(400)
    return render_template("reports/association.html", rows=rows, total=total,
                           min_sample=min_sample, **f.context())  # fmt: skip


# --- drill-down -----------------------------------------------------------------------------------


@bp.route("/reports/deals")
@require("reports.view")
def deals():
    f = Filters(with_kind=False)
    status = request.args.get("status", "won")
    tool = db.session.get(SalesTool, _int_arg("tool_id") or 0)
    found = services.drill_deals(
        f.period, f.scope, tool_id=tool.id if tool else None, status=status,
        week=request.args.get("week") or None,
    )  # fmt: skip
    if request.args.get("format"):
        rows = [{"id": d.id, "title": d.title, "client": d.client, "manager": d.manager.name,
                 "segment": d.segment, "amount": d.amount, "status": d.status,
                 "closed_at": d.closed_at.astimezone(tz()) if d.closed_at else None}
                for d in found]  # fmt: skip
        return _export("deals", [(k, k) for k in rows[0]] if rows else [("id", "id")], rows) or (
            abort(400)
        )
    return render_template("reports/deals.html", deals=found, tool=tool, status=status,
                           reviews=services.reviews_of([d.id for d in found]), **f.context())  # fmt: skip


@bp.app_context_processor
def report_helpers():
    from . import charts

    def percent(value, digits=0):
        if value is None:
            return "—"
        return f"{value * 100:.{digits}f}\u00a0%"

    return {"charts": charts, "percent": percent}
