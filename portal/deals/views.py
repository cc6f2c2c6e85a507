from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..auth import services as accounts
from ..database import read_transaction
from ..extensions import db
from ..jobs import runner as jobs
from ..jobs.views import render_job_progress
from ..models import User
from ..policy import can, team_scope
from ..storage import DISK_FULL_MESSAGE, DISK_FULL_STATUS
from ..web.access import require
from ..web.htmx import is_htmx, render_page_or_fragment, wants_fragment
from . import bp, import_job, services, uploads
from .forms import (
    DealForm,
    ImportConfirmForm,
    ImportUploadForm,
    ProposalSendForm,
    ReactionForm,
    SegmentRulesForm,
    StageMapForm,
)
from .importing import FIELDS, ImportFileError, parse_deal_file


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _to_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=_tz()).astimezone(UTC) if value else None


def _to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(_tz()).replace(tzinfo=None) if value else None


def _date_arg(name: str):
    """A filter date, or None when missing, unreadable or outside 2000–2100 (the edges of
    the calendar overflow once a day is added or the time zone applied)."""
    try:
        value = datetime.strptime(request.args.get(name, ""), "%Y-%m-%d").date()
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def _int_arg(name: str, default=None, high: int = 2**31 - 1):
    """A positive id or page number; out of range (SQLite's integers end) is as if missing."""
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return default
    return min(max(1, value), high) if value <= high else default


def _id(raw) -> int | None:
    """A database id sent in a form field; None for anything else (abc, ², 10**20)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31 else None


@bp.route("/deals")
@login_required
def deal_list():
    start, end = _date_arg("from"), _date_arg("to")
    flt = services.DealFilter(
        status=request.args.get("status", "")
        if request.args.get("status") in services.STATUSES
        else "",
        manager_id=_int_arg("manager"),
        team_id=_int_arg("team"),
        segment=request.args.get("segment", "").strip()[:80],
        closed_from=datetime.combine(start, time.min, _tz()) if start else None,
        closed_to=datetime.combine(end + timedelta(days=1), time.min, _tz()) if end else None,
        q=request.args.get("q", "").strip()[:100],
        sort=request.args.get("sort", "closed")
        if request.args.get("sort") in services.DEAL_SORTS
        else "closed",
        page=_int_arg("page", 1),
    )
    deals, total = services.list_deals(current_user, flt)
    return render_page_or_fragment(
        "deals/list.html",
        "deals/_deal_rows.html",
        "deal-rows",
        deals=deals,
        total=total,
        flt=flt,
        pages=max(1, -(-total // flt.per_page)),
        managers=services.deal_managers(current_user),
        segments=services.deal_segments(current_user),
        teams=list(db.session.scalars(team_scope(current_user))),
    )


def _manager_choices() -> list[SelectChoice]:
    return [SelectChoice(u.id, u.name) for u in services.deal_owners(current_user)]


def _deal_input(form: DealForm, deal=None) -> services.DealInput:
    manager = db.session.get(User, form.manager_id.data or 0) or current_user
    return services.DealInput(
        # Not on the form: an edited deal keeps its currency and CRM pipeline.
        currency=deal.currency if deal is not None and deal.currency else "RUB",
        pipeline=deal.pipeline if deal is not None else None,
        title=form.title.data or "",
        client=form.client.data or "",
        manager=manager,
        status=form.status.data,
        external_id=(form.external_id.data or "").strip() or None,
        segment=form.segment.data,
        amount=form.amount.data,
        stage=form.stage.data,
        closed_at=_to_utc(form.closed_at.data),
    )


def _attach(form, error: services.DealError):
    for name, message in error.fields.items():
        target = getattr(form, name, None) or form.title
        target.errors = [*target.errors, message]


@bp.route("/deals/new", methods=["GET", "POST"])
@require("deal.create")
def new_deal():
    form = DealForm()
    form.manager_id.choices = _manager_choices()
    if request.method == "GET":
        form.manager_id.data = current_user.id
        form.status.data = "open"
    return _save_deal_form(form, None)


def _save_deal_form(form: DealForm, deal):
    """Validate and save the deal form (new or existing); re-render it with errors."""
    if form.validate_on_submit():
        try:
            deal, _created = services.save_deal(current_user, _deal_input(form, deal), deal=deal)
        except services.DealError as error:
            _attach(form, error)
        except services.PermissionDenied:
            abort(403)
        else:
            flash(_("Deal saved."), "success")
            return redirect(url_for("deals.deal", deal_id=deal.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("deals/edit.html", form=form, deal=deal), status


def _visible_deal(deal_id: int):
    return services.get_deal_for(current_user, deal_id) or abort(404)


@bp.route("/deals/<int:deal_id>/edit", methods=["GET", "POST"])
@login_required
def edit_deal(deal_id: int):
    deal = _visible_deal(deal_id)
    if not can(current_user, "deal.edit", deal):
        abort(403)
    form = DealForm(obj=deal)
    form.manager_id.choices = _manager_choices()
    if request.method == "GET":
        form.closed_at.data = _to_local(deal.closed_at)
    return _save_deal_form(form, deal)


def _send_form() -> ProposalSendForm:
    """The send form; its proposal list is the latest 200 or what ``proposal_q`` finds, and
    always holds the one submitted (any КП/ТКП the user may see can be chosen)."""
    form = ProposalSendForm()
    tools = services.proposal_tools(
        current_user,
        (request.values.get("proposal_q") or "").strip(),
        limit=200,
        include=_id(form.tool_id.raw_data[0] if form.tool_id.raw_data else None),
    )
    form.tool_id.choices = [SelectChoice(t.id, f"{t.title} (v{t.version})") for t in tools]
    if request.method == "GET":
        form.sent_at.data = _to_local(datetime.now(UTC)).replace(second=0, microsecond=0)
    return form


def _deal_page(deal, status=200, send_form=None):
    from ..meetings.services import deal_reviews

    return render_template(
        "deals/deal.html",
        deal=deal,
        reviews=deal_reviews(current_user, deal),
        send_form=send_form or _send_form(),
        reaction_form=ReactionForm(),
        to_local=_to_local,
    ), status


@bp.route("/deals/<int:deal_id>")
@login_required
def deal(deal_id: int):
    return _deal_page(_visible_deal(deal_id))


@bp.route("/deals/<int:deal_id>/proposal-options")
@login_required
def proposal_options(deal_id: int):
    """The send form's proposal choice for what was typed: the field for htmx, else the page."""
    deal = _visible_deal(deal_id)
    form = _send_form()
    if wants_fragment("send-tool-field"):
        return render_template("deals/_send_tool_field.html", send_form=form)
    return _deal_page(deal, send_form=form)


@bp.route("/deals/<int:deal_id>/sends", methods=["POST"])
@login_required
def add_send(deal_id: int):
    deal = _visible_deal(deal_id)
    if not can(current_user, "deal.edit", deal):
        abort(403)
    form = _send_form()
    if form.validate_on_submit():
        try:
            services.record_proposal_send(
                current_user, deal, form.tool_id.data, form.version.data,
                _to_utc(form.sent_at.data), form.reaction.data,
            )  # fmt: skip
        except services.DealError as error:
            _attach(form, error)
        else:
            flash(_("Proposal send recorded."), "success")
            if is_htmx():
                return render_template("deals/_sends.html", deal=deal, send_form=_send_form(),
                                       reaction_form=ReactionForm(), to_local=_to_local)  # fmt: skip
            return redirect(url_for("deals.deal", deal_id=deal.id) + "#sends", code=303)
    if is_htmx():
        return render_template("deals/_sends.html", deal=deal, send_form=form,
                               reaction_form=ReactionForm(), to_local=_to_local), 422  # fmt: skip
    return _deal_page(deal, 422, send_form=form)


@bp.route("/proposal-sends/<int:send_id>/reaction", methods=["POST"])
@login_required
def set_reaction(send_id: int):
    send = services.get_send_for(current_user, send_id) or abort(404)
    form = ReactionForm()
    error = None
    if form.validate_on_submit():
        try:
            services.record_reaction(
                current_user, send, form.reaction.data, _to_utc(form.reacted_at.data)
            )
        except services.DealError as exc:
            error = "; ".join(str(v) for v in exc.fields.values())
        except services.PermissionDenied:
            abort(403)
    else:
        error = _("Choose a reaction.")
    if is_htmx():
        return render_template("deals/_send_row.html", send=send, reaction_form=ReactionForm(),
                               row_error=error, to_local=_to_local), (422 if error else 200)  # fmt: skip
    if error:
        flash(error, "error")
    return redirect(url_for("deals.deal", deal_id=send.deal_id) + "#sends", code=303)


# --- import ---------------------------------------------------------------------------


def _overrides(source) -> dict[str, str]:
    """Column choices a person made in the preview: ``map_<field>=<header>``."""
    return {
        name: source.get(f"map_{name}", "").strip()[:200]
        for name in FIELDS
        if source.get(f"map_{name}", "").strip() and name != "segment"
    }


def _preview(token: str, path, fmt: str, segment_column: str | None, filename: str, status=200,
             confirm_form=None, overrides=None):  # fmt: skip
    overrides = overrides if overrides is not None else _overrides(request.args)
    try:
        parsed = parse_deal_file(path, filename, fmt, stage_map=services.stage_map(),
                                 segment_column=segment_column or None,
                                 column_overrides=overrides)  # fmt: skip
    except ImportFileError as error:
        form = ImportUploadForm()
        return render_template("deals/import.html", form=form, file_error=error.message), 422
    outcome = services.import_deals(
        current_user, parsed, filename=filename, sha256=uploads.file_sha256(path), dry_run=True,
        skip_errors=True, timezone=current_app.config["BABEL_DEFAULT_TIMEZONE"],
    )  # fmt: skip
    confirm_form = confirm_form or ImportConfirmForm(token=token, format=parsed.format,
                                                     segment_column=segment_column or "")  # fmt: skip
    return render_page_or_fragment(
        "deals/import_preview.html", "deals/_import_preview_body.html", "import-preview",
        outcome=outcome, parsed=parsed, form=confirm_form, token=token, filename=filename,
        users=services.deal_owners(current_user), fields=[f for f in FIELDS if f != "segment"], overrides=overrides,
    ), status  # fmt: skip


@bp.route("/deals/import", methods=["GET", "POST"])
@require("deals.import")
def import_upload():
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            token, path, _sha = uploads.save_upload(
                upload.stream,
                upload.filename or "deals",
                current_app.config["IMPORT_MAX_BYTES"],
                owner_id=current_user.id,
            )
        except uploads.UploadTooLarge:
            mb = current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024)
            return render_template("deals/import.html", form=form,
                                   file_error=_("The file is larger than %(mb)d MB.", mb=mb)), 413  # fmt: skip
        except uploads.UploadDiskFull:
            return render_template("deals/import.html", form=form,
                                   file_error=DISK_FULL_MESSAGE), DISK_FULL_STATUS  # fmt: skip
        return redirect(url_for("deals.import_preview", token=token, format=form.format.data,
                                name=(upload.filename or "deals")[:200]), code=303)  # fmt: skip
    status = 422 if request.method == "POST" else 200
    return render_template("deals/import.html", form=form), status


@bp.route("/deals/import/<token>")
@require("deals.import")
def import_preview(token: str):
    path = uploads.find_upload(token, current_user) or abort(404)
    fmt = request.args.get("format", "auto")
    fmt = fmt if fmt in ("auto", "amocrm", "bitrix24", "generic") else "auto"
    return _preview(token, path, fmt, request.args.get("segment_column", "").strip()[:120],
                    request.args.get("name", path.name)[:200])  # fmt: skip


@bp.route("/deals/import/<token>/managers", methods=["POST"])
@require("deals.import")
def import_resolve_manager(token: str):
    """One click for an unknown manager: create them, or map the name to a user."""
    path = uploads.find_upload(token, current_user) or abort(404)
    name = request.form.get("name", "").strip()[:200]
    action = request.form.get("action")
    form = ImportConfirmForm()
    if not form.validate_on_submit() or not name:
        abort(400)
    if action == "map":
        user_id = _id(request.form.get("user_id"))
        user = db.session.get(User, user_id) if user_id else None
        if user is None or user not in services.deal_owners(current_user):
            abort(404)
        services.map_manager_alias(name, user)
        flash(_("“%(name)s” is now %(user)s.", name=name, user=user.name), "success")
    elif action == "create":
        import secrets

        email = request.form.get("email", "").strip()
        try:
            user = accounts.create_user(
                email, name, "manager", secrets.token_urlsafe(24),
                team=None if can(current_user, "deals.all_teams") else current_user.team,
            )  # fmt: skip
        except accounts.AccountError as error:
            flash(error.message, "error")
        else:
            flash(
                _("User %(name)s created; an admin sets their password.", name=user.name), "success"
            )
    return redirect(url_for("deals.import_preview", token=token, format=form.format.data or "auto",
                            name=request.form.get("filename", path.name),
                            segment_column=form.segment_column.data or "",
                            **{f"map_{k}": v for k, v in _overrides(request.form).items()}),
                    code=303)  # fmt: skip


@bp.route("/deals/import/<token>/run", methods=["POST"])
@require("deals.import")
def import_run(token: str):
    """Start the import as a background job; small files finish while we wait a moment."""
    path = uploads.find_upload(token, current_user) or abort(404)
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    params = import_job.import_params(
        path, request.form.get("filename", path.name)[:200], form.format.data or "auto",
        dry_run=False, skip_errors=bool(form.skip_errors.data),
        segment_column=form.segment_column.data, overrides=_overrides(request.form), token=token,
        remove_file=False, locale=str(get_locale() or "ru"),
    )  # fmt: skip
    job = jobs.submit_job(import_job.KIND, current_user, params)
    jobs.wait_for_job(job.id, current_app.config["JOB_WEB_WAIT_SECONDS"])
    # The import may still hold the write lock: this POST only reads from here on.
    with read_transaction():
        return import_job_page(job)


def import_job_page(job):
    """The import's progress page while it runs; its result (or the preview again) after."""
    db.session.refresh(job)
    p = job.params
    if not job.finished:
        return render_job_progress(job, _("Importing deals"))
    if job.status == "failed":
        form = ImportUploadForm()
        status = (job.result or {}).get("http_status", 422)
        return render_template("deals/import.html", form=form, file_error=job.message), status
    if not job.result.get("written"):
        # Nothing written (row errors without "skip errors"): the preview shows why.
        path = uploads.find_upload(p.get("token") or "")
        if path is None:
            abort(404)
        return _preview(p["token"], path, p["format"], p["segment_column"], p["filename"],
                        status=422, overrides=p["overrides"])  # fmt: skip
    return render_template("deals/import_result.html", outcome=job.result)


@bp.route("/deals/imports/<int:import_id>/errors.csv")
@require("deals.import")
def import_errors(import_id: int):
    record = services.get_import_for(current_user, import_id) or abort(404)
    return Response(
        record.error_report.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=import-{record.id}-errors.csv"},
    )


@bp.route("/admin/stages", methods=["GET", "POST"])
@require("stages.manage")
def stage_mapping():
    """Which CRM stages mean won or lost, and which tags or values mean which segment."""
    form = StageMapForm(prefix="stages")
    rules_form = SegmentRulesForm(prefix="segments")
    if request.method == "GET":
        form.mapping.data = "\n".join(f"{k} = {v}" for k, v in sorted(services.stage_map().items()))
        rules_form.rules.data = "\n".join(
            f"{k} = {v}" for k, v in sorted(services.segment_rules().items())
        )
    elif "stages-mapping" in request.form:
        if form.validate_on_submit():
            mapping = services.save_stage_map(form.mapping.data or "")
            flash(_("Saved %(n)d stage rules.", n=len(mapping)), "success")
            return redirect(url_for("deals.stage_mapping"), code=303)
    elif rules_form.validate_on_submit():
        rules = services.save_segment_rules(rules_form.rules.data or "")
        flash(_("Saved %(n)d segment rules.", n=len(rules)), "success")
        return redirect(url_for("deals.stage_mapping"), code=303)
    return render_template("deals/stages.html", form=form, rules_form=rules_form)


@bp.app_context_processor
def deal_labels():
    return {
        "reaction_label": lambda r: str(services.REACTION_LABELS.get(r, r)),
        "deal_status_label": lambda s: str(services.DEAL_STATUS_LABELS.get(s, s)),
    }
