from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..models.base import utcnow
from ..policy import can
from ..search import service as search
from ..search.types import SearchQuery
from ..web.access import require
from ..web.htmx import is_htmx, render_page_or_fragment, wants_fragment
from ..web.markdown import render_markdown
from . import attachment_service as files
from . import bp, services
from .forms import SynonymsForm, ToolForm, UploadForm


def _int_arg(name: str, default=None, lo: int = 1, hi: int = 10_000):
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return default
    return min(max(value, lo), hi)


def _library_filter() -> services.LibraryFilter:
    args = request.args
    return services.LibraryFilter(
        kind=args.get("kind", "") if args.get("kind") in services.KINDS else "",
        tag=args.get("tag", "").strip()[:60],
        segment=args.get("segment", "").strip()[:80],
        status=args.get("status", "") if args.get("status") in services.STATUSES else "",
        owner_id=_int_arg("owner", None, 1, 10**9),
        needs_review=args.get("needs_review") == "1",
        not_viewed_days=_int_arg("not_viewed", None, 1, 3650),
        sort=args.get("sort", "updated") if args.get("sort") in services.SORTS else "updated",
        page=_int_arg("page", 1, 1, 100_000),
    )


@bp.route("/kb")
@login_required
def library():
    flt = _library_filter()
    page = services.list_tools(current_user, flt)
    return render_page_or_fragment(
        "kb/library.html",
        "kb/_tool_list.html",
        "tool-list",
        page=page,
        flt=flt,
        tags=services.all_tags(),
        segments=services.all_segments(),
        owners=services.tool_owners(),
        counts=services.tool_counts_by_kind(current_user),
        today=utcnow().date(),
    )


def _input_from_form(form: ToolForm) -> services.ToolInput:
    return services.ToolInput(
        kind=form.kind.data or "",
        title=form.title.data or "",
        body=(form.body.data or "").replace("\r\n", "\n"),
        summary=form.summary.data or "",
        tags=services.clean_names(form.tags.data or ""),
        segments=services.clean_names(form.segments.data or "", max_len=80),
        status=form.status.data if form.status is not None else None,
        review_by=form.review_by.data,
        change_note=form.change_note.data or "",
    )


def _tool_form(mode: str, **kwargs) -> ToolForm:
    """The tool form; the status field only for those who may set it (approvers, not proposing)."""
    form = ToolForm(**kwargs)
    if mode == "propose" or not can(current_user, "tool.approve"):
        del form.status  # not on their page: a missing value must not fail the form
    return form


def _attach_errors(form: ToolForm, error: services.ToolError) -> None:
    for name, message in error.fields.items():
        getattr(form, name, form.body).errors = [*getattr(form, name, form.body).errors, message]


@bp.route("/kb/new", methods=["GET", "POST"])
@require("tool.create")
def new_tool():
    form = _tool_form("create")
    if request.method == "GET":
        form.kind.data = (
            request.args.get("kind") if request.args.get("kind") in services.KINDS else "script"
        )
        if form.status is not None:
            form.status.data = "draft"
    if form.validate_on_submit():
        try:
            tool = services.create_tool(current_user, _input_from_form(form))
        except services.ToolError as error:
            _attach_errors(form, error)
        except services.PermissionDenied:
            abort(403)
        else:
            flash(_("Tool “%(title)s” created.", title=tool.title), "success")
            return redirect(url_for("kb.tool", tool_id=tool.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("kb/edit.html", form=form, tool=None, mode="create"), status


def _visible_tool(tool_id: int):
    return services.get_tool_for(current_user, tool_id) or abort(404)


@bp.route("/kb/<int:tool_id>")
@login_required
def tool(tool_id: int):
    tool = _visible_tool(tool_id)
    page = render_template(
        "kb/tool.html",
        tool=tool,
        body_html=render_markdown(tool.body),
        related=services.related_tools(current_user, tool),
        uses=services.uses_in_won_deals([tool.id]).get(tool.id, 0),
        proposals=services.open_proposals(tool) if can(current_user, "tool.approve", tool) else [],
        upload_form=UploadForm(),
        needs_review=services.needs_review(tool),
        views=services.view_count(tool) + 1,  # this view included; it is counted below
    )
    # Counted after rendering: the commit expires every loaded object, which the page would
    # otherwise load again one by one.
    services.record_view(tool)
    return page


@bp.route("/kb/<int:tool_id>/edit", methods=["GET", "POST"])
@login_required
def edit_tool(tool_id: int):
    tool = _visible_tool(tool_id)
    may_edit = can(current_user, "tool.edit", tool)
    if not may_edit and not can(current_user, "tool.propose_edit", tool):
        abort(403)
    mode = "edit" if may_edit else "propose"
    form = _tool_form(mode, obj=tool)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in tool.tags)
        form.segments.data = ", ".join(s.name for s in tool.segments)
        form.base_version.data = str(tool.version)
        form.change_note.data = ""
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("kb/edit.html", form=form, tool=tool, mode=mode), status
    try:
        base_version = int(form.base_version.data or tool.version)
    except ValueError:
        base_version = tool.version
    data = _input_from_form(form)
    try:
        if mode == "propose":
            services.propose_edit(current_user, tool, data, base_version)
            flash(_("Your edit was sent to the team lead for approval."), "success")
            return redirect(url_for("kb.tool", tool_id=tool.id), code=303)
        new_version = services.update_tool(current_user, tool, data, base_version)[1]
    except services.ToolError as error:
        _attach_errors(form, error)
        return render_template("kb/edit.html", form=form, tool=tool, mode=mode), 422
    except services.StaleVersion:
        return _conflict(tool, form, base_version)
    except services.PermissionDenied:
        abort(403)
    if new_version:
        flash(_("Saved as version %(n)d.", n=tool.version), "success")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("kb.tool", tool_id=tool.id), code=303)


def _conflict(tool, form: ToolForm, base_version: int):
    """Someone saved first: keep the user's text and show what changed meanwhile."""
    from ..extensions import db

    db.session.refresh(tool)
    mine_title, mine_body = form.title.data, form.body.data
    form.base_version.data = str(tool.version)
    return (
        render_template(
            "kb/conflict.html",
            tool=tool,
            form=form,
            mode="edit",
            base_version=base_version,
            mine_title=mine_title,
            mine_body=mine_body,
            newer_versions=[v for v in tool.versions if v.number > base_version],
        ),
        409,
    )


@bp.route("/kb/preview", methods=["POST"])
@require("tool.create")
def preview():
    html = render_markdown(request.form.get("body", ""))
    if is_htmx():
        return render_template("kb/_preview.html", body_html=html)
    return render_template("kb/preview_page.html", body_html=html)


@bp.route("/kb/<int:tool_id>/versions/<int:number>")
@login_required
def version(tool_id: int, number: int):
    tool = _visible_tool(tool_id)
    version = services.get_version(tool, number) or abort(404)
    return render_template(
        "kb/version.html", tool=tool, version=version, body_html=render_markdown(version.body)
    )


@bp.route("/kb/<int:tool_id>/diff")
@login_required
def diff(tool_id: int):
    tool = _visible_tool(tool_id)
    newest = tool.version
    b = _int_arg("b", newest, 1, newest)
    a = _int_arg("a", max(1, b - 1), 1, newest)
    old, new = services.get_version(tool, a), services.get_version(tool, b)
    if old is None or new is None:
        abort(404)
    return render_page_or_fragment(
        "kb/diff.html",
        "kb/_diff_table.html",
        "diff-table",
        tool=tool,
        old=old,
        new=new,
        rows=services.diff_versions(old, new),
    )


@bp.route("/kb/<int:tool_id>/status", methods=["POST"])
@login_required
def change_status(tool_id: int):
    tool = _visible_tool(tool_id)
    status = request.form.get("status", "")
    try:
        services.set_tool_status(current_user, tool, status)
    except services.PermissionDenied:
        abort(403)
    except services.ToolError:
        abort(400)
    messages = {
        "approved": _("Approved: the team now sees it as a proven tool."),
        "archived": _("Archived. It no longer shows up in the library or search."),
        "draft": _("Returned to draft."),
    }
    flash(messages[status], "success")
    return redirect(url_for("kb.tool", tool_id=tool.id), code=303)


@bp.route(
    "/kb/<int:tool_id>/proposals/<int:proposal_id>/<any(accept, reject):decision>", methods=["POST"]
)
@login_required
def decide_proposal(tool_id: int, proposal_id: int, decision: str):
    tool = _visible_tool(tool_id)
    proposal = services.get_proposal(tool, proposal_id) or abort(404)
    try:
        services.decide_proposal(current_user, proposal, accept=decision == "accept")
    except services.PermissionDenied:
        abort(403)
    except services.StaleVersion:
        flash(
            _("The tool changed after this edit was proposed. Open it, compare and edit by hand."),
            "error",
        )
        return redirect(url_for("kb.tool", tool_id=tool.id), code=303)
    flash(
        _("Edit accepted as a new version.") if decision == "accept" else _("Edit rejected."),
        "success",
    )
    return redirect(url_for("kb.tool", tool_id=tool.id), code=303)


# --- attachments -----------------------------------------------------------------


@bp.route("/kb/<int:tool_id>/attachments", methods=["POST"])
@login_required
def upload_attachment(tool_id: int):
    tool = _visible_tool(tool_id)
    if not can(current_user, "tool.attach", tool):
        abort(403)
    form = UploadForm()
    error = None
    status = 422
    if form.validate_on_submit():
        try:
            attachment = files.add_attachment(current_user, tool, form.file.data)
        except files.AttachmentError as exc:
            error = exc.message
            if exc.code == "storage_failed":  # 507: the server's fault, not the file's
                status = exc.http_status
        else:
            flash(_("File “%(name)s” attached.", name=attachment.original_name), "success")
            if is_htmx():
                return render_template("kb/_attachments.html", tool=tool, upload_form=UploadForm())
            return redirect(url_for("kb.tool", tool_id=tool.id) + "#attachments", code=303)
    else:
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    if is_htmx():
        return render_template(
            "kb/_attachments.html", tool=tool, upload_form=form, upload_error=error
        ), status
    flash(error, "error")
    return redirect(url_for("kb.tool", tool_id=tool.id) + "#attachments", code=303)


@bp.route("/kb/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id: int):
    attachment = services.get_attachment_for(current_user, attachment_id) or abort(404)
    path = files.attachment_path(attachment)
    if not path.is_file():
        abort(404)
    response = make_response(
        send_file(
            path,
            mimetype=attachment.content_type,
            as_attachment=True,
            download_name=files.safe_download_name(attachment.original_name),
            max_age=0,
        )
    )
    # As stored (a text file's type carries its charset, which send_file would add again).
    response.headers["Content-Type"] = attachment.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/kb/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def delete_attachment(attachment_id: int):
    attachment = services.get_attachment_for(current_user, attachment_id) or abort(404)
    tool = attachment.tool
    if not can(current_user, "tool.attach", tool):
        abort(403)
    files.remove_attachment(attachment)
    flash(_("Attachment removed."), "success")
    return redirect(url_for("kb.tool", tool_id=tool.id) + "#attachments", code=303)


# --- search ----------------------------------------------------------------------


def _search_query(limit: int) -> SearchQuery:
    args = request.args
    statuses = tuple(s for s in args.getlist("status") if s in services.STATUSES)
    return SearchQuery(
        text=args.get("q", "").strip()[:200],
        kinds=tuple(k for k in args.getlist("kind") if k in services.KINDS),
        tags=tuple(t.strip()[:60] for t in args.getlist("tag") if t.strip()),
        segments=tuple(s.strip()[:80] for s in args.getlist("segment") if s.strip()),
        statuses=statuses,
        viewer_id=current_user.id,
        viewer_sees_all_drafts=can(current_user, "tool.approve"),
        limit=limit,
        offset=(_int_arg("page", 1, 1, 1000) - 1) * limit,
    )


@bp.route("/search")
@login_required
def search_page():
    dropdown = wants_fragment("search-dropdown")
    query = _search_query(limit=8 if dropdown else 20)
    result = search.search_tools(query, user_id=current_user.id) if query.text else None
    context = {
        "query": query,
        "result": result,
        "tags": services.all_tags(),
        "segments": services.all_segments(),
        "page": _int_arg("page", 1, 1, 1000),
    }
    if dropdown:
        return render_template("kb/_search_dropdown.html", **context)
    return render_page_or_fragment(
        "kb/search.html", "kb/_search_results.html", "search-results", **context
    )


@bp.route("/kb/search-analytics")
@require("search.analytics")
def search_analytics():
    days = _int_arg("days", 30, 1, 365)
    since = utcnow() - timedelta(days=days)
    return render_template(
        "kb/search_analytics.html",
        days=days,
        top=search.top_queries(since, 30),
        empty=search.zero_result_queries(since, 30),
        stale=services.stale_tools(current_user),
    )


@bp.route("/admin/synonyms", methods=["GET", "POST"])
@require("synonyms.manage")
def synonyms():
    form = SynonymsForm()
    if request.method == "GET":
        form.groups.data = "\n".join(", ".join(g) for g in search.synonym_groups())
    if form.validate_on_submit():
        groups = search.save_synonym_groups(form.groups.data or "")
        flash(_("Saved %(n)d synonym groups.", n=len(groups)), "success")
        return redirect(url_for("kb.synonyms"), code=303)
    return render_template("kb/synonyms.html", form=form), (
        422 if request.method == "POST" else 200
    )


def _labeller(labels: dict):
    """``label(value)``: the translated label, looked up once per page (a report lists
    hundreds of tools, and each translation lookup goes through the locale machinery)."""
    seen: dict[str, str] = {}

    def label(value: str) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = str(labels.get(value, value))
        return text

    return label


@bp.app_context_processor
def kb_labels():
    return {
        "kind_label": _labeller(services.KIND_LABELS),
        "status_label": _labeller(services.STATUS_LABELS),
        "max_upload_mb": current_app.config.get("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
        // (1024 * 1024),
    }
