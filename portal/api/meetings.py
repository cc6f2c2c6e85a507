"""Meetings endpoints of API.md: planning meetings, deal reviews, action items, drafts."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..meetings import services as meetings
from ..models import ActionItem, DealReview, Meeting, Team
from ..policy import can
from ..web.markdown import render_markdown
from . import bp
from .auth import api_user
from .common import ApiError, is_id, isoformat, json_body, optional_date, paginated, pagination


def review_json(review: DealReview) -> dict:
    return {
        "id": review.id,
        "meeting_id": review.meeting_id,
        "deal_id": review.deal_id,
        "deal_title": review.deal.title,
        "deal_status": review.deal.status,
        "tools": [
            {"tool_id": t.tool_id, "title": t.tool.title, "kind": t.tool.kind, "version": t.version}
            for t in review.tools
        ],
        "key_tool_id": review.key_tool_id,
        "lesson": review.lesson,
        "lesson_html": str(render_markdown(review.lesson)),
        "version": review.version,
        "action_items": [action_json(a) for a in review.action_items],
        "created_at": isoformat(review.created_at),
        "updated_at": isoformat(review.updated_at),
    }


def action_json(item: ActionItem) -> dict:
    return {
        "id": item.id,
        "meeting_id": item.meeting_id,
        "review_id": item.review_id,
        "text": item.text,
        "owner_email": item.owner.email if item.owner else None,
        "due_date": isoformat(item.due_date),
        "done": item.done,
        "done_at": isoformat(item.done_at),
    }


def meeting_brief(meeting: Meeting) -> dict:
    return {
        "id": meeting.id,
        "team": meeting.team.name,
        "team_id": meeting.team_id,
        "week": meeting.week,
        "kind": meeting.kind,
        "title": meeting.title,
        "status": meeting.status,
        "minutes_per_deal": meeting.minutes_per_deal,
        "created_at": isoformat(meeting.created_at),
        "closed_at": isoformat(meeting.closed_at),
        "url": url_for("meetings.meeting", meeting_id=meeting.id, _external=True),
        "summary_url": url_for("meetings.summary", meeting_id=meeting.id, _external=True),
    }


def meeting_json(meeting: Meeting) -> dict:
    entries = meetings.agenda(meeting)
    reviews = db.session.scalars(
        select(DealReview).where(DealReview.meeting_id == meeting.id).order_by(DealReview.id)
    ).all()
    return {
        **meeting_brief(meeting),
        "agenda": [
            {
                "position": e.position,
                "deal_id": e.deal.id,
                "title": e.deal.title,
                "client": e.deal.client,
                "status": e.deal.status,
                "manager_email": e.deal.manager.email,
                "suggested": e.item.suggested,
                "reviewed": e.review is not None,
            }
            for e in entries
        ],
        "reviews": [review_json(r) for r in reviews],
        "action_items": [action_json(a) for a in meeting_actions(meeting)],
        "carried_over": [action_json(a) for a in meetings.carried_over(meeting)],
    }


def meeting_actions(meeting: Meeting) -> list[ActionItem]:
    return list(
        db.session.scalars(
            select(ActionItem).where(ActionItem.meeting_id == meeting.id).order_by(ActionItem.id)
        )
    )


def _meeting(meeting_id: int) -> Meeting:
    meeting = meetings.get_meeting_for(api_user(), meeting_id)
    if meeting is None:
        raise ApiError(404, _l("No such meeting."))
    return meeting


def _raise_from(error: meetings.MeetingError):
    if error.status == 409:
        raise ApiError(409, error.message, code=error.code, fields=error.fields)
    raise ApiError(422, _l("Some values are invalid."), fields=error.fields)


def _run(fn, *args, **kwargs):
    """Call a meetings service and turn its exceptions into API errors."""
    try:
        return fn(*args, **kwargs)
    except meetings.MeetingError as error:
        _raise_from(error)
    except meetings.PermissionDenied:
        raise ApiError(403, _l("Only the team's lead, heads and admins run meetings.")) from None
    except meetings.NotFound:
        raise ApiError(404, _l("No such deal.")) from None
    except meetings.StaleReview as error:
        raise ApiError(
            409,
            _l("Someone else saved this review meanwhile; nothing was overwritten."),
            code="stale_version",
            fields={"version": _l("Older than the current version.")},
            extra={"current": review_json(error.review), "yours": {"lesson": error.yours}},
        ) from None


def _team(value, fields: dict) -> Team | None:
    if is_id(value):
        team = db.session.get(Team, value)
    elif isinstance(value, str) and value.strip():
        team = db.session.scalar(select(Team).where(Team.name == " ".join(value.split())))
    else:
        fields["team"] = _l("Required: the team's name.")
        return None
    if team is None:
        fields["team"] = _l("No such team.")
    return team


def _optional_text(data: dict, name: str, fields: dict) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        fields[name] = _l("Must be a string.")
        return ""
    return value


def _optional_id(data: dict, name: str, fields: dict) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if not is_id(value):
        fields[name] = _l("Must be an id.")
        return None
    return value


def _tool_uses(value, fields: dict) -> list[meetings.ToolUse]:
    if value is None:
        return []
    if not isinstance(value, list):
        fields["tools"] = _l('A list of {"tool_id", "version"?}.')
        return []
    uses = []
    for index, entry in enumerate(value):
        if is_id(entry):  # a bare id is accepted too
            entry = {"tool_id": entry}
        if not isinstance(entry, dict) or not is_id(entry.get("tool_id")):
            fields[f"tools[{index}].tool_id"] = _l("Must be an id.")
            continue
        version = entry.get("version")
        if version is not None and not is_id(version):
            fields[f"tools[{index}].version"] = _l("Must be a version number.")
            continue
        uses.append(meetings.ToolUse(entry["tool_id"], version))
    return uses


@bp.route("/meetings", methods=["GET"])
def list_meetings():
    page, per_page = pagination()
    fields: dict = {}
    team_id = None
    if request.args.get("team"):
        raw = request.args["team"]
        team = _team(int(raw) if raw.isascii() and raw.isdigit() else raw, fields)
        team_id = team.id if team else None
    week = request.args.get("week", "").strip().upper()
    if week:
        try:
            meetings.parse_week(week)
        except ValueError:
            fields["week"] = _l("Give an ISO week such as 2026-W48.")
    status = request.args.get("status", "")
    if status and status not in ("open", "closed"):
        fields["status"] = _l("Status must be open or closed.")
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    items, total = meetings.list_meetings(
        api_user(), team_id=team_id, status=status, week=week, page=page, per_page=per_page
    )
    return jsonify(paginated([meeting_brief(m) for m in items], total, page, per_page))


@bp.route("/meetings", methods=["POST"])
def create_meeting():
    user = api_user()
    data = json_body()
    fields: dict = {}
    team = _team(data.get("team"), fields)
    week = data.get("week")
    if week is not None and not isinstance(week, str):
        fields["week"] = _l("Give an ISO week such as 2026-W48.")
        week = None
    title = _optional_text(data, "title", fields)
    adhoc = data.get("adhoc", False)
    if not isinstance(adhoc, bool):
        fields["adhoc"] = _l("Must be true or false.")
    minutes = data.get("minutes_per_deal", 3)
    if not is_id(minutes):
        fields["minutes_per_deal"] = _l("Between 1 and 60 minutes per deal.")
        minutes = 3
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    if not can(user, "meeting.run", team):
        raise ApiError(403, _l("Only the team's lead, heads and admins open its meetings."))
    meeting = _run(
        meetings.create_meeting, user, team, week, title, adhoc=adhoc is True,
        minutes_per_deal=minutes,
    )  # fmt: skip
    response = jsonify(meeting_json(meeting))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_meeting", meeting_id=meeting.id)
    return response


@bp.route("/meetings/<int:meeting_id>", methods=["GET"])
def get_meeting(meeting_id: int):
    return jsonify(meeting_json(_meeting(meeting_id)))


@bp.route("/meetings/<int:meeting_id>/reviews", methods=["POST"])
def create_review(meeting_id: int):
    user = api_user()
    meeting = _meeting(meeting_id)
    data = json_body()
    fields: dict = {}
    deal_id = data.get("deal_id")
    if not is_id(deal_id):
        fields["deal_id"] = _l("Required: the id of a deal.")
    uses = _tool_uses(data.get("tools"), fields)
    key_tool_id = _optional_id(data, "key_tool_id", fields)
    lesson = _optional_text(data, "lesson", fields)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    if not meeting.is_open:
        raise ApiError(409, _l("The meeting is closed: it takes no more reviews."),
                       code="meeting_closed")  # fmt: skip
    review = _run(meetings.create_review, user, meeting, deal_id, uses, key_tool_id, lesson)
    response = jsonify(review_json(review))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_review", review_id=review.id)
    return response


def _review(review_id: int) -> DealReview:
    review = meetings.get_review_for(api_user(), review_id)
    if review is None:
        raise ApiError(404, _l("No such review."))
    return review


@bp.route("/reviews/<int:review_id>", methods=["GET"])
def get_review(review_id: int):
    return jsonify(review_json(_review(review_id)))


@bp.route("/reviews/<int:review_id>", methods=["PATCH"])
def update_review(review_id: int):
    """Change tools, key tool or lesson; ``version`` (the one read) guards the lesson."""
    user = api_user()
    review = _review(review_id)
    data = json_body()
    fields: dict = {}
    base = data.get("version")
    if base is not None and not is_id(base):
        fields["version"] = _l("Must be a version number.")
    # ``"tools": []`` clears the tags; a missing or null ``tools`` leaves them as they are.
    tools = _tool_uses(data["tools"], fields) if data.get("tools") is not None else None
    key = _optional_id(data, "key_tool_id", fields) if "key_tool_id" in data else ...
    lesson = _optional_text(data, "lesson", fields) if "lesson" in data else None
    if lesson is not None and base is None:
        fields["version"] = _l("Send the version you read, so that no edit is overwritten.")
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    review = _run(
        meetings.update_review, user, review.meeting, review, base_version=base, tools=tools,
        key_tool_id=key, lesson=lesson,
    )  # fmt: skip
    return jsonify(review_json(review))


@bp.route("/meetings/<int:meeting_id>/close", methods=["POST"])
def close_meeting(meeting_id: int):
    meeting = _meeting(meeting_id)
    if not meeting.is_open:
        raise ApiError(409, _l("The meeting is already closed."), code="meeting_closed")
    meeting = _run(meetings.close_meeting, api_user(), meeting)
    return jsonify(meeting_json(meeting))


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
def add_agenda_item(meeting_id: int):
    meeting = _meeting(meeting_id)
    data = json_body()
    if not is_id(data.get("deal_id")):
        raise ApiError(422, _l("Some values are invalid."),
                       fields={"deal_id": _l("Required: the id of a deal.")})  # fmt: skip
    _run(meetings.add_to_agenda, api_user(), meeting, data["deal_id"])
    response = jsonify(meeting_json(meeting))
    response.status_code = 201
    return response


@bp.route("/meetings/<int:meeting_id>/agenda/<int:deal_id>", methods=["DELETE"])
def remove_agenda_item(meeting_id: int, deal_id: int):
    meeting = _meeting(meeting_id)
    item = meetings.agenda_item(meeting, deal_id)
    if item is None:
        raise ApiError(404, _l("This deal is not on the agenda."))
    _run(meetings.remove_from_agenda, api_user(), meeting, item)
    return jsonify(meeting_json(meeting))


@bp.route("/meetings/<int:meeting_id>/action-items", methods=["POST"])
def add_action_item(meeting_id: int):
    user = api_user()
    meeting = _meeting(meeting_id)
    data = json_body()
    fields: dict = {}
    text = _optional_text(data, "text", fields)
    review_id = _optional_id(data, "review_id", fields)
    due = optional_date(data.get("due_date"), "due_date", fields)
    owner_id = None
    email = data.get("owner_email")
    if email is not None:
        from ..models import User

        owner = (
            db.session.scalar(select(User).where(User.email == email.strip().lower()))
            if isinstance(email, str)
            else None
        )
        if owner is None or owner.team_id != meeting.team_id or not owner.is_active:
            fields["owner_email"] = _l("Choose someone from the team.")
        else:
            owner_id = owner.id
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    review = None
    if review_id is not None:
        review = meetings.get_review_for(user, review_id)
        if review is None or review.meeting_id != meeting.id:
            raise ApiError(404, _l("No such review."))
    item = _run(meetings.add_action_item, user, meeting, review, text, owner_id, due)
    response = jsonify(action_json(item))
    response.status_code = 201
    return response


@bp.route("/action-items/<int:item_id>", methods=["PATCH"])
def update_action_item(item_id: int):
    user = api_user()
    item = meetings.get_action_item_for(user, item_id)
    if item is None:
        raise ApiError(404, _l("No such action item."))
    data = json_body()
    if not isinstance(data.get("done"), bool):
        raise ApiError(422, _l("Some values are invalid."),
                       fields={"done": _l("Must be true or false.")})  # fmt: skip
    item = _run(meetings.set_action_done, user, item, data["done"])
    return jsonify(action_json(item))


@bp.route("/meetings/<int:meeting_id>/drafts", methods=["POST"])
def capture_draft(meeting_id: int):
    """A new objection heard or a new move that worked, as a KB draft linked to the deal."""
    from .tools import tool_json

    user = api_user()
    meeting = _meeting(meeting_id)
    data = json_body()
    fields: dict = {}
    if not is_id(data.get("deal_id")):
        fields["deal_id"] = _l("Required: the id of a deal.")
    what = data.get("kind")
    if what not in meetings.CAPTURE_KINDS:
        fields["kind"] = _l("Capture an objection or a move.")
    title = _optional_text(data, "title", fields)
    body = _optional_text(data, "body", fields)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    tool = _run(meetings.capture_draft, user, meeting, data["deal_id"], what, title, body)
    response = jsonify(tool_json(tool))
    response.status_code = 201
    return response
