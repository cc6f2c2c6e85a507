"""Pages of the planning meeting: overview, agenda, presenter mode, followers, summary.

Every htmx action also works as a plain form post: without htmx it redirects back to
the page it came from.
"""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Meeting, Team
from ..policy import can, run_team_scope, team_scope
from ..web.errors import render_error
from ..web.htmx import is_htmx, render_page_or_fragment, wants_fragment
from ..web.markdown import render_markdown
from . import bp, services
from .summary import summary_markdown


def _meeting_or_404(meeting_id: int) -> Meeting:
    meeting = services.get_meeting_for(current_user, meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def _int(value, default=None, low=1, high=2**31):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


def _date(value) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _minutes() -> int:
    """Minutes per deal from the form: 3 when left empty, 0 (refused) when not a number."""
    raw = (request.form.get("minutes_per_deal") or "").strip()
    return 3 if not raw else _int(raw, 0, 0, 10_000)


def _failed(error: Exception):
    """The user's message for a refused change: a notice for htmx, the page otherwise."""
    if isinstance(error, services.PermissionDenied):
        return render_error(403)
    if isinstance(error, services.NotFound):
        return render_error(404)
    return render_error(error.status, error.message)


# --- overview ------------------------------------------------------------------------


@bp.route("/meetings")
@login_required
def index():
    teams = list(db.session.scalars(team_scope(current_user)))
    weeks, rows = services.overview(current_user, teams)
    run_teams = list(db.session.scalars(run_team_scope(current_user)))
    items, total = services.list_meetings(current_user, page=_int(request.args.get("page"), 1))
    return render_template(
        "meetings/index.html",
        weeks=weeks,
        rows=rows,
        run_teams=run_teams,
        meetings=items,
        total=total,
        this_week=services.current_week(),
        errors={},
        form=request.form,
    )


@bp.route("/meetings", methods=["POST"])
@login_required
def create():
    team = db.session.get(Team, _int(request.form.get("team_id"), 0) or 0)
    if team is None or not can(current_user, "team.view", team):
        return render_error(422, _("Choose a team."))
    try:
        meeting = services.create_meeting(
            current_user,
            team,
            request.form.get("week") or None,
            request.form.get("title", ""),
            adhoc=bool(request.form.get("adhoc")),
            minutes_per_deal=_minutes(),
        )
    except services.MeetingError as error:
        if error.code == "duplicate":
            week = (request.form.get("week") or services.current_week()).strip().upper()
            existing = db.session.scalar(
                select(Meeting).where(Meeting.team_id == team.id, Meeting.weekly_week == week)
            )
            if existing is not None:
                flash(_("This team already has its meeting for that week; here it is."), "info")
                return redirect(url_for("meetings.meeting", meeting_id=existing.id), code=303)
        return _failed(error)
    except services.PermissionDenied as error:
        return _failed(error)
    flash(
        ngettext_agenda(len(meeting.items)),
        "success",
    )
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id), code=303)


def ngettext_agenda(count: int) -> str:
    from flask_babel import ngettext

    return ngettext(
        "Meeting opened: %(num)d won deal is on the agenda.",
        "Meeting opened: %(num)d won deals are on the agenda.",
        count,
    )


# --- the agenda page -----------------------------------------------------------------


def _agenda_context(meeting: Meeting, **extra) -> dict:
    return {
        "meeting": meeting,
        "entries": services.agenda(meeting),
        "carried": services.carried_over(meeting),
        "runs": can(current_user, "meeting.run", meeting) and meeting.is_open,
        "candidates": extra.pop("candidates", None),
        "q": extra.pop("q", ""),
        "window": services.agenda_window(meeting),
        **extra,
    }


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    return render_page_or_fragment(
        "meetings/meeting.html", "meetings/_agenda.html", "agenda", **_agenda_context(meeting)
    )


def _back_to_agenda(meeting: Meeting):
    if is_htmx():
        return render_template("meetings/_agenda.html", **_agenda_context(meeting))
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id), code=303)


@bp.route("/meetings/<int:meeting_id>/agenda/refresh", methods=["POST"])
@login_required
def refresh_agenda(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        added = services.refresh_agenda(current_user, meeting)
    except (services.MeetingError, services.PermissionDenied) as error:
        return _failed(error)
    if not is_htmx():
        flash(_("Added to the agenda: %(n)d.", n=added), "success")
    return _back_to_agenda(meeting)


@bp.route("/meetings/<int:meeting_id>/agenda/candidates")
@login_required
def agenda_candidates(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    if not can(current_user, "meeting.run", meeting):
        abort(403)
    q = request.args.get("q", "")
    candidates = services.agenda_candidates(current_user, meeting, q)
    if wants_fragment("agenda-candidates"):
        return render_template(
            "meetings/_candidates.html", meeting=meeting, candidates=candidates, q=q
        )
    return render_template(
        "meetings/meeting.html", **_agenda_context(meeting, candidates=candidates, q=q)
    )


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
@login_required
def add_to_agenda(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        services.add_to_agenda(current_user, meeting, _int(request.form.get("deal_id"), 0))
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        return _failed(error)
    return _back_to_agenda(meeting)


def _item_or_404(meeting: Meeting, item_id: int):
    item = next((i for i in meeting.items if i.id == item_id), None)
    if item is None:
        abort(404)
    return item


@bp.route("/meetings/<int:meeting_id>/agenda/<int:item_id>/remove", methods=["POST"])
@login_required
def remove_from_agenda(meeting_id: int, item_id: int):
    meeting = _meeting_or_404(meeting_id)
    item = _item_or_404(meeting, item_id)
    try:
        services.remove_from_agenda(current_user, meeting, item)
    except (services.MeetingError, services.PermissionDenied) as error:
        return _failed(error)
    return _back_to_agenda(meeting)


@bp.route("/meetings/<int:meeting_id>/agenda/<int:item_id>/move", methods=["POST"])
@login_required
def move_item(meeting_id: int, item_id: int):
    meeting = _meeting_or_404(meeting_id)
    item = _item_or_404(meeting, item_id)
    current = next(n for n, i in enumerate(meeting.items, start=1) if i.id == item_id)
    direction = request.form.get("direction")
    target = {"up": current - 1, "down": current + 1}.get(direction) or _int(
        request.form.get("position"), current
    )
    try:
        services.move_item(current_user, meeting, item, target)
    except (services.MeetingError, services.PermissionDenied) as error:
        return _failed(error)
    return _back_to_agenda(meeting)


@bp.route("/meetings/<int:meeting_id>/settings", methods=["POST"])
@login_required
def settings(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        services.update_meeting_settings(
            current_user,
            meeting,
            request.form.get("title", ""),
            _minutes(),
        )
    except (services.MeetingError, services.PermissionDenied) as error:
        return _failed(error)
    flash(_("Saved."), "success")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id), code=303)


# --- presenter mode ------------------------------------------------------------------


def _position_arg(meeting: Meeting) -> int:
    position = _int(request.values.get("n"))
    if position is None:
        position = services.position_of(meeting, meeting.current_deal_id) or 1
    return position


@bp.route("/meetings/<int:meeting_id>/present")
@login_required
def present(meeting_id: int):
    """The shared screen for whoever runs the meeting.

    A manager may open the screen of a deal whose review they can edit (their own deal) to
    write alongside the lead; it does not move the shared screen. Anyone else follows.
    """
    meeting = _meeting_or_404(meeting_id)
    s = services.slide(current_user, meeting, _position_arg(meeting))
    if not can(current_user, "meeting.run", meeting) and (s is None or not s.editable):
        return redirect(url_for("meetings.follow", meeting_id=meeting.id))
    if wants_fragment("stage"):
        return render_template("meetings/_stage.html", meeting=meeting, s=s)
    return render_template(
        "meetings/present.html", meeting=meeting, s=s, carried=services.carried_over(meeting)
    )


@bp.route("/meetings/<int:meeting_id>/show", methods=["POST"])
@login_required
def show(meeting_id: int):
    """Put the deal at position ``n`` on the shared screen (followers switch to it)."""
    meeting = _meeting_or_404(meeting_id)
    position = _int(request.form.get("n"), 1)
    item = services.item_on_screen(meeting, position)
    if item is not None:
        try:
            services.show_deal(current_user, meeting, item)
        except services.PermissionDenied as error:
            return _failed(error)
    # Read what the screen shows after the commit, which expires every object loaded before.
    s = services.slide(current_user, meeting, position)
    if wants_fragment("stage"):
        response = Response(render_template("meetings/_stage.html", meeting=meeting, s=s))
        if s is not None:
            response.headers["HX-Push-Url"] = url_for(
                "meetings.present", meeting_id=meeting.id, n=s.position
            )
        return response
    if is_htmx():
        return "", 204
    return redirect(
        url_for("meetings.present", meeting_id=meeting.id, n=s.position if s else 1), code=303
    )


def _slide_for_deal(meeting: Meeting, deal_id: int):
    position = services.position_of(meeting, deal_id)
    if position is None:
        abort(404)
    return services.slide(current_user, meeting, position)


SECTIONS = {
    "review-tags": "meetings/_review_tags.html",
    "lesson-box": "meetings/_lesson.html",
    "review-actions": "meetings/_actions.html",
    "review-drafts": "meetings/_drafts.html",
    "review-panel": "meetings/_review_panel.html",
}


def _after_review_change(meeting: Meeting, deal_id: int, section: str, status: int = 200, **extra):
    """Re-render the changed part of the review panel, or go back to the presenter page."""
    if not is_htmx():
        s = _slide_for_deal(meeting, deal_id)
        endpoint = (
            "meetings.present" if can(current_user, "meeting.run", meeting) else "meetings.follow"
        )
        return redirect(url_for(endpoint, meeting_id=meeting.id, n=s.position), code=303)
    s = _slide_for_deal(meeting, deal_id)
    target = request.headers.get("HX-Target")
    template = SECTIONS.get(target, SECTIONS[section])
    return render_template(template, meeting=meeting, s=s, **extra), status


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/tags", methods=["POST"])
@login_required
def tag_tool(meeting_id: int, deal_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        services.tag_tool(
            current_user,
            meeting,
            deal_id,
            _int(request.form.get("tool_id"), 0),
            _int(request.form.get("version")),
        )
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        return _failed(error)
    return _after_review_change(meeting, deal_id, "review-tags", focus="tag-q")


def _review_or_404(meeting: Meeting, deal_id: int):
    review = services.review_for(meeting, deal_id)
    if review is None:
        abort(404)
    return review


@bp.route(
    "/meetings/<int:meeting_id>/deals/<int:deal_id>/tags/<int:tool_id>/remove", methods=["POST"]
)
@login_required
def untag_tool(meeting_id: int, deal_id: int, tool_id: int):
    meeting = _meeting_or_404(meeting_id)
    review = _review_or_404(meeting, deal_id)
    try:
        services.untag_tool(current_user, meeting, review, tool_id)
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        return _failed(error)
    return _after_review_change(meeting, deal_id, "review-tags", focus="tag-q")


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/key", methods=["POST"])
@login_required
def key_tool(meeting_id: int, deal_id: int):
    meeting = _meeting_or_404(meeting_id)
    review = _review_or_404(meeting, deal_id)
    try:
        services.set_key_tool(current_user, meeting, review, _int(request.form.get("tool_id")))
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        return _failed(error)
    return _after_review_change(meeting, deal_id, "review-tags", focus="key")


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/lesson", methods=["POST"])
@login_required
def save_lesson(meeting_id: int, deal_id: int):
    meeting = _meeting_or_404(meeting_id)
    lesson = request.form.get("lesson", "")
    base = _int(request.form.get("version"), None, 0)
    try:
        if base is None:  # without it a stale save would overwrite a newer lesson unseen
            raise services.MeetingError(
                {"version": _("Reload the page: the form did not say which version it edits.")}
            )
        review = services.review_editor(current_user, meeting, deal_id)
        if base == 0:  # the editor opened before any review existed
            base = 1 if review.version == 1 and not review.lesson else 0
        services.save_lesson(current_user, meeting, review, lesson, base)
    except services.StaleReview as error:
        db.session.rollback()
        s = _slide_for_deal(meeting, deal_id)
        conflict = {"theirs": error.review, "yours": error.yours}
        if not is_htmx():
            return render_template("meetings/conflict.html", meeting=meeting, s=s, **conflict), 409
        return render_template("meetings/_lesson.html", meeting=meeting, s=s, **conflict), 409
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        db.session.rollback()
        return _failed(error)
    return _after_review_change(meeting, deal_id, "lesson-box", saved=True, focus="lesson")


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/editing", methods=["POST"])
@login_required
def editing(meeting_id: int, deal_id: int):
    """The lesson editor has focus: hold the lease that makes closing wait."""
    meeting = _meeting_or_404(meeting_id)
    try:
        services.start_editing_deal(current_user, meeting, deal_id)
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        db.session.rollback()
        return _failed(error)
    return "", 204


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/actions", methods=["POST"])
@login_required
def add_action(meeting_id: int, deal_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        due = _date(request.form.get("due_date"))
        if due is None and (request.form.get("due_date") or "").strip():
            raise services.MeetingError({"due_date": _("Must be a date like 2026-11-27.")})
        review = services.review_editor(current_user, meeting, deal_id)
        services.add_action_item(
            current_user,
            meeting,
            review,
            request.form.get("text", ""),
            _int(request.form.get("owner_id")),
            due,
        )
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        db.session.rollback()
        return _failed(error)
    return _after_review_change(meeting, deal_id, "review-actions")


@bp.route("/meetings/<int:meeting_id>/actions/<int:item_id>/done", methods=["POST"])
@login_required
def action_done(meeting_id: int, item_id: int):
    meeting = _meeting_or_404(meeting_id)
    item = services.get_action_item_for(current_user, item_id)
    if item is None or item.team_id != meeting.team_id:
        abort(404)
    try:
        services.set_action_done(
            current_user,
            item,
            request.form.get("done") == "1",
            meeting if meeting.is_open else None,
        )
    except (services.PermissionDenied, services.NotFound) as error:
        return _failed(error)
    if is_htmx():
        return render_template("meetings/_action_item.html", meeting=meeting, action=item)
    back = request.form.get("back")
    if back == "present" and item.review is not None:
        return _after_review_change(meeting, item.review.deal_id, "review-actions")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id), code=303)


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/capture", methods=["POST"])
@login_required
def capture(meeting_id: int, deal_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        tool = services.capture_draft(
            current_user,
            meeting,
            deal_id,
            request.form.get("kind", ""),
            request.form.get("title", ""),
            request.form.get("body", ""),
        )
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        db.session.rollback()
        return _failed(error)
    return _after_review_change(meeting, deal_id, "review-drafts", captured=tool)


@bp.route("/meetings/<int:meeting_id>/deals/<int:deal_id>/tool-suggestions")
@login_required
def tool_suggestions(meeting_id: int, deal_id: int):
    meeting = _meeting_or_404(meeting_id)
    editable = services.may_edit_review(current_user, meeting, deal_id)
    if editable is None:
        abort(404)
    if not editable:
        abort(403)
    q = request.args.get("q", "")
    suggestions = services.tool_suggestions(current_user, meeting, deal_id, q)
    context = {"meeting": meeting, "deal_id": deal_id, "q": q, "suggestions": suggestions}
    if wants_fragment("tag-suggestions"):  # typed into on the presenter screen: keep it light
        return render_template("meetings/_suggestions.html", **context)
    return render_template("meetings/tag_page.html", s=_slide_for_deal(meeting, deal_id), **context)


# --- followers -----------------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/follow")
@login_required
def follow(meeting_id: int):
    """What is on the shared screen, read-only; htmx polls it and gets 204 if nothing moved."""
    meeting = _meeting_or_404(meeting_id)
    since = _int(request.args.get("rev"), None, 0)
    if since is not None and since == meeting.revision and is_htmx():
        return "", 204
    position = services.position_of(meeting, meeting.current_deal_id) or 1
    s = services.slide(current_user, meeting, position)
    return render_page_or_fragment(
        "meetings/follow.html", "meetings/_follow_stage.html", "follow-stage", meeting=meeting, s=s
    )


# --- closing and the summary -----------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/close", methods=["POST"])
@login_required
def close(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    try:
        services.close_meeting(current_user, meeting)
    except (services.MeetingError, services.PermissionDenied, services.NotFound) as error:
        return _failed(error)
    flash(_("The meeting is closed. Here is its summary."), "success")
    target = url_for("meetings.summary", meeting_id=meeting.id)
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


@bp.route("/meetings/<int:meeting_id>/summary")
@login_required
def summary(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    return render_template(
        "meetings/summary.html", meeting=meeting, summary=services.summary(meeting)
    )


@bp.route("/meetings/<int:meeting_id>/summary.md")
@login_required
def summary_download(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    text = summary_markdown(services.summary(meeting))
    filename = f"planerka-{meeting.team_id}-{meeting.week}-{meeting.id}.md"
    return Response(
        text,
        mimetype="text/markdown",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.app_context_processor
def meeting_helpers():
    return {"lesson_html": render_markdown}
