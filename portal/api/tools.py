"""Knowledge-base endpoints of API.md: /tools, /tools/{id}, versions, /search."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import lazy_gettext as _l

from ..kb import services as kb
from ..models import SalesTool
from ..policy import can
from ..search import service as search
from ..search.types import SearchQuery
from ..web.markdown import render_markdown
from . import bp
from .auth import api_user
from .common import (
    ApiError,
    isoformat,
    json_body,
    optional_date,
    paginated,
    pagination,
    string_list,
)


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError):
    return error.response()


def version_json(version) -> dict:
    return {
        "number": version.number,
        "created_at": isoformat(version.created_at),
        "author": version.author.name if version.author else None,
        "change_note": version.change_note,
    }


def tool_summary_json(tool: SalesTool) -> dict:
    return {
        "id": tool.id,
        "kind": tool.kind,
        "title": tool.title,
        "summary": tool.summary,
        "tags": [t.name for t in tool.tags],
        "segments": [s.name for s in tool.segments],
        "status": tool.status,
        "version": tool.version,
        "owner": tool.owner.email if tool.owner else None,
        "review_by": isoformat(tool.review_by),
        "updated_at": isoformat(tool.updated_at),
    }


def tool_json(tool: SalesTool) -> dict:
    uses = kb.uses_in_won_deals([tool.id]).get(tool.id, 0)
    return {
        **tool_summary_json(tool),
        "body": tool.body,
        "body_html": str(render_markdown(tool.body)),
        "versions": [version_json(v) for v in tool.versions],
        "uses_in_won_deals": uses,
        "needs_review": kb.needs_review(tool),
        "attachments": [
            {
                "id": a.id,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "url": url_for("kb.download_attachment", attachment_id=a.id),
            }
            for a in tool.attachments
        ],
        "created_at": isoformat(tool.created_at),
    }


def _tool_input(data: dict, *, partial_of: SalesTool | None = None) -> kb.ToolInput:
    """Validate the JSON of POST/PUT /tools; PUT may omit fields to keep them."""
    fields: dict = {}

    def text(name: str, required: bool, current: str = "") -> str:
        value = data.get(name)
        if value is None:
            if required and partial_of is None:
                fields[name] = _l("Required.")
            return current
        if not isinstance(value, str):
            fields[name] = _l("Must be a string.")
            return current
        return value

    tool = partial_of
    result = kb.ToolInput(
        kind=text("kind", True, tool.kind if tool else ""),
        title=text("title", True, tool.title if tool else ""),
        body=text("body", True, tool.body if tool else "").replace("\r\n", "\n"),
        summary=text("summary", False, tool.summary if tool else ""),
        change_note=text("change_note", False, ""),
    )
    status = data.get("status")
    if status is not None and not isinstance(status, str):
        fields["status"] = _l("Must be a string.")
        status = None
    result.status = status
    tags = string_list(data.get("tags"), "tags", fields, kb.MAX_TAGS) if "tags" in data else None
    segments = (
        string_list(data.get("segments"), "segments", fields, kb.MAX_TAGS)
        if "segments" in data
        else None
    )
    result.tags = (
        kb.clean_names(tags) if tags is not None else ([t.name for t in tool.tags] if tool else [])
    )
    result.segments = (
        kb.clean_names(segments, max_len=80)
        if segments is not None
        else ([s.name for s in tool.segments] if tool else [])
    )
    result.review_by = optional_date(data.get("review_by"), "review_by", fields)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    return result


def _visible_tool(tool_id: int) -> SalesTool:
    tool = kb.get_tool_for(api_user(), tool_id)
    if tool is None:
        raise ApiError(404, _l("No such tool."))
    return tool


@bp.route("/tools", methods=["POST"])
def create_tool():
    user = api_user()
    if not can(user, "tool.create"):
        raise ApiError(403)
    data = _tool_input(json_body())
    try:
        tool = kb.create_tool(user, data)
    except kb.ToolError as error:
        raise ApiError(422, _l("Some values are invalid."), fields=error.fields) from None
    except kb.PermissionDenied:
        raise ApiError(
            403, _l("Only leads, heads and admins may approve or archive tools.")
        ) from None
    response = jsonify(tool_json(tool))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_tool", tool_id=tool.id)
    return response


@bp.route("/tools/<int:tool_id>", methods=["GET"])
def get_tool(tool_id: int):
    return jsonify(tool_json(_visible_tool(tool_id)))


@bp.route("/tools/<int:tool_id>", methods=["PUT"])
def update_tool(tool_id: int):
    user = api_user()
    tool = _visible_tool(tool_id)
    if not can(user, "tool.edit", tool):
        raise ApiError(403, _l("You may not edit this tool; propose an edit on its page."))
    payload = json_body()
    base_version = payload.get("base_version")
    if base_version is not None and (
        isinstance(base_version, bool)
        or not isinstance(base_version, int)
        or not 1 <= base_version <= tool.version
    ):
        raise ApiError(422, _l("Some values are invalid."),
                       fields={"base_version": _l("Must be a version number.")})  # fmt: skip
    data = _tool_input(payload, partial_of=tool)
    try:
        tool = kb.update_tool(user, tool, data, base_version)[0]
    except kb.StaleVersion as error:
        raise ApiError(
            409,
            _l(
                "The tool was changed by someone else: it is at version %(n)d.",
                n=error.tool.version,
            ),  # fmt: skip
            code="stale_version",
            fields={"base_version": _l("Older than the current version.")},
        ) from None
    except kb.ToolError as error:
        raise ApiError(422, _l("Some values are invalid."), fields=error.fields) from None
    except kb.PermissionDenied:
        raise ApiError(
            403, _l("Only leads, heads and admins may approve or archive tools.")
        ) from None
    return jsonify(tool_json(tool))


@bp.route("/tools/<int:tool_id>/versions/<int:number>")
def get_tool_version(tool_id: int, number: int):
    tool = _visible_tool(tool_id)
    version = kb.get_version(tool, number)
    if version is None:
        raise ApiError(404, _l("No such version."))
    return jsonify(
        {
            "tool_id": tool.id,
            **version_json(version),
            "title": version.title,
            "body": version.body,
            "body_html": str(render_markdown(version.body)),
        }
    )


@bp.route("/tools")
def list_tools():
    user = api_user()
    page, per_page = pagination()
    args = request.args
    fields = {}
    kind, status = args.get("kind", ""), args.get("status", "")
    if kind and kind not in kb.KINDS:
        fields["kind"] = _l("Unknown kind.")
    if status and status not in kb.STATUSES:
        fields["status"] = _l("Unknown status.")
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    flt = kb.LibraryFilter(
        kind=kind,
        tag=args.get("tag", "").strip(),
        segment=args.get("segment", "").strip(),
        status=status,
        sort="updated",
        page=page,
        per_page=per_page,
    )
    result = kb.list_tools(user, flt)
    return jsonify(
        paginated([tool_summary_json(t) for t in result.items], result.total, page, per_page)
    )


@bp.route("/search")
def search_tools():
    user = api_user()
    args = request.args
    fields = {}
    try:
        limit = int(args.get("limit", 20))
        if not 1 <= limit <= 100:
            raise ValueError
    except ValueError:
        fields["limit"] = _l("A whole number from 1 to 100.")
        limit = 20
    for name, allowed in (("kind", kb.KINDS), ("status", kb.STATUSES)):
        for value in args.getlist(name):
            if value and value not in allowed:
                fields[name] = _l("Unknown value.")
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    text = args.get("q", "").strip()[:200]
    if not text:
        return jsonify({"total": 0, "results": []})
    query = SearchQuery(
        text=text,
        kinds=tuple(v for v in args.getlist("kind") if v),
        tags=tuple(v for v in args.getlist("tag") if v),
        segments=tuple(v for v in args.getlist("segment") if v),
        statuses=tuple(v for v in args.getlist("status") if v),
        viewer_id=user.id,
        viewer_sees_all_drafts=can(user, "tool.approve"),
        limit=limit,
    )
    result = search.search_tools(query, user_id=user.id)
    body = {
        "total": result.total,
        "results": [
            {
                "id": hit.id,
                "kind": hit.kind,
                "title": hit.title,
                "snippet_html": hit.snippet_html,
                "score": round(hit.score, 4),
                "status": hit.status,
            }
            for hit in result.hits
        ],
    }
    if result.suggestion:
        body["suggestion"] = result.suggestion
    if result.rebuilding:
        body["rebuilding"] = True
    return jsonify(body)
