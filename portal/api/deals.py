"""Deals and proposals endpoints of API.md."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import read_transaction
from ..deals import services as deals
from ..extensions import db
from ..models import Deal, User
from ..policy import can
from ..storage import DISK_FULL_MESSAGE, DISK_FULL_STATUS
from . import bp
from .auth import api_user
from .common import ApiError, is_id, isoformat, json_body, paginated, pagination


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def parse_when(value, name: str, fields: dict, *, required: bool = False) -> datetime | None:
    """ISO 8601 date or date-time; a time without offset is the portal's local time."""
    if value in (None, ""):
        if required:
            fields[name] = _l("Required.")
        return None
    if not isinstance(value, str):
        fields[name] = _l("Must be an ISO 8601 date or date-time.")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fields[name] = _l("Must be an ISO 8601 date or date-time.")
        return None
    if not 1900 <= parsed.year <= 2999:
        fields[name] = _l("The year must be between 1900 and 2999.")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_tz())
    return parsed.astimezone(UTC)


def deal_json(deal: Deal) -> dict:
    return {
        "id": deal.id,
        "external_id": deal.external_id,
        "title": deal.title,
        "client": deal.client,
        "segment": deal.segment,
        "manager_email": deal.manager.email,
        "manager": deal.manager.name,
        "team": deal.team.name if deal.team else None,
        "amount": float(deal.amount) if deal.amount is not None else None,
        "currency": deal.currency,
        "stage": deal.stage,
        "status": deal.status,
        "created_at": isoformat(deal.created_at),
        "closed_at": isoformat(deal.closed_at),
        "updated_at": isoformat(deal.updated_at),
        "proposal_sends": [send_json(s) for s in deal.proposal_sends],
    }


def send_json(send) -> dict:
    return {
        "id": send.id,
        "deal_id": send.deal_id,
        "tool_id": send.tool_id,
        "version": send.version,
        "sent_at": isoformat(send.sent_at),
        "reaction": send.reaction,
        "reacted_at": isoformat(send.reacted_at),
        "hours_to_reaction": send.hours_to_reaction,
    }


def _text(data: dict, name: str, fields: dict, required=False, max_len=300) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            fields[name] = _l("Required.")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "external_id":
        value = str(value)
    if not isinstance(value, str):
        fields[name] = _l("Must be a string.")
        return None
    value = value.strip()
    if not value:
        if required:
            fields[name] = _l("Required.")
        return None
    if len(value) > max_len:
        fields[name] = _l("Too long.")
    return value


@bp.route("/deals", methods=["POST"])
def create_deal():
    """Create a deal; a repeated ``external_id`` updates that deal with the fields given."""
    user = api_user()
    data = json_body()
    fields: dict = {}
    external_id = _text(data, "external_id", fields, max_len=64)
    existing = None
    if external_id and not fields:
        existing = db.session.scalar(select(Deal).where(Deal.external_id == external_id))
        if existing is not None and not can(user, "deal.view", existing):
            # Another team's deal: not found, so its existence is not revealed.
            raise ApiError(404, _l("No such deal."))
    required = existing is None
    title = _text(data, "title", fields, required=required)
    client = _text(data, "client", fields, required=required, max_len=300)
    email = _text(data, "manager_email", fields, required=required, max_len=254)
    status = _text(data, "status", fields, required=required, max_len=10)
    manager = existing.manager if existing is not None else None
    if email:
        manager = db.session.scalar(select(User).where(User.email == email.lower()))
        if manager is None:
            fields["manager_email"] = _l("No user with this e-mail.")
    amount = existing.amount if existing is not None else None
    if "amount" in data:
        amount = _amount(data.get("amount"), fields)
    currency = _text(data, "currency", fields, max_len=3)
    if currency and not (currency.isascii() and currency.isalpha() and len(currency) == 3):
        fields["currency"] = _l("Currency is a three-letter code such as RUB.")
    created_at = parse_when(data.get("created_at"), "created_at", fields)
    closed_at = parse_when(data.get("closed_at"), "closed_at", fields)
    if status and status not in deals.STATUSES:
        fields["status"] = _l("Status must be open, won or lost.")
    segment = _text(data, "segment", fields, max_len=80)
    stage = _text(data, "stage", fields, max_len=120)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)

    def keep(value, attribute):
        return value if value is not None or existing is None else getattr(existing, attribute)

    deal_input = deals.DealInput(
        title=keep(title, "title"), client=keep(client, "client"), manager=manager,
        status=keep(status, "status"), external_id=external_id, segment=keep(segment, "segment"),
        amount=amount, currency=keep(currency, "currency") or "RUB", stage=keep(stage, "stage"),
        created_at=keep(created_at, "created_at"), closed_at=keep(closed_at, "closed_at"),
    )  # fmt: skip
    try:
        deal, created = deals.save_deal(user, deal_input, deal=existing)
    except deals.DealError as error:
        raise ApiError(422, _l("Some values are invalid."), fields=error.fields) from None
    except deals.PermissionDenied:
        raise ApiError(403, _l("You may not write deals of this manager.")) from None
    response = jsonify(deal_json(deal))
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = url_for("api.get_deal", deal_id=deal.id)
    return response


def _amount(value, fields: dict):
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidOperation
        amount = Decimal(str(value).replace(" ", "").replace(",", "."))
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        fields["amount"] = _l("Must be a number.")
        return None
    return amount


def _visible_deal(deal_id: int) -> Deal:
    deal = deals.get_deal_for(api_user(), deal_id)
    if deal is None:
        raise ApiError(404, _l("No such deal."))
    return deal


@bp.route("/deals/<int:deal_id>")
def get_deal(deal_id: int):
    return jsonify(deal_json(_visible_deal(deal_id)))


def _date_param(name: str, fields: dict):
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        value = (
            datetime.fromisoformat(raw).date()
            if "T" in raw
            else datetime.strptime(raw, "%Y-%m-%d").date()
        )
    except ValueError:
        fields[name] = _l("Must be a date like 2026-11-27.")
        return None
    if not 1900 <= value.year <= 2999:
        fields[name] = _l("The year must be between 1900 and 2999.")
        return None
    return value


@bp.route("/deals")
def list_deals():
    user = api_user()
    page, per_page = pagination()
    fields: dict = {}
    status = request.args.get("status", "")
    if status and status not in deals.STATUSES:
        fields["status"] = _l("Status must be open, won or lost.")
    start, end = _date_param("from", fields), _date_param("to", fields)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    tz = _tz()
    flt = deals.DealFilter(
        status=status,
        manager_email=request.args.get("manager_email", "").strip(),
        closed_from=datetime.combine(start, time.min, tz) if start else None,
        closed_to=datetime.combine(end + timedelta(days=1), time.min, tz) if end else None,
        page=page,
        per_page=per_page,
    )
    items, total = deals.list_deals(user, flt)
    return jsonify(paginated([deal_json(d) for d in items], total, page, per_page))


def _bool_form(name: str, default: bool = False) -> bool:
    value = request.form.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off", ""):
        return False
    raise ApiError(422, _l("Some values are invalid."), fields={name: _l("Must be true or false.")})


@bp.route("/deals/import", methods=["POST"])
def import_deals():
    user = api_user()
    if not can(user, "deals.import"):
        raise ApiError(403, _l("Only leads, heads and admins import deals."))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, _l("Send the file as multipart/form-data field “file”."))
    fmt = request.form.get("format", "auto")
    if fmt not in ("auto", "amocrm", "bitrix24", "generic"):
        raise ApiError(422, _l("Some values are invalid."),
                       fields={"format": _l("auto, amocrm, bitrix24 or generic.")})  # fmt: skip
    dry_run = _bool_form("dry_run")
    skip_errors = _bool_form("skip_errors")
    from ..deals import import_job, uploads
    from ..jobs import runner as jobs

    try:
        _token, path, _sha = uploads.save_upload(
            upload.stream, upload.filename, current_app.config["IMPORT_MAX_BYTES"]
        )
    except uploads.UploadTooLarge:
        raise ApiError(413, _l("The file is too large.")) from None
    except uploads.UploadDiskFull:
        raise ApiError(DISK_FULL_STATUS, DISK_FULL_MESSAGE, code="disk_full") from None
    params = import_job.import_params(path, upload.filename, fmt, dry_run=dry_run,
                                      skip_errors=skip_errors, remove_file=True,
                                      locale=str(get_locale() or "ru"))  # fmt: skip
    job = jobs.submit_job(import_job.KIND, user, params)
    finished = jobs.wait_for_job(job.id, current_app.config["JOB_API_WAIT_SECONDS"])
    # The import may still hold the write lock: this POST only reads from here on.
    with read_transaction():
        if not finished:
            # Still running: the client polls GET /jobs/{id} for the same result.
            response = jsonify({"job": job_json(job)})
            response.status_code = 202
            response.headers["Location"] = url_for("api.get_job", job_id=job.id)
            return response
        db.session.refresh(job)
        return jsonify(import_job_result(job))


def import_job_result(job) -> dict:
    """The contract body of a finished deal import, or the ApiError it failed with."""
    if job.status == "failed":
        result = job.result or {}
        code = result.get("code")
        if code == "unreadable_file":
            raise ApiError(422, job.message, code=code, fields={"file": job.message})
        raise ApiError(result.get("http_status", 500), job.message, code=code)
    body = {k: v for k, v in job.result.items() if k != "import_id"}
    if job.result.get("import_id") and job.result.get("errors"):
        body["error_report_url"] = url_for("api.import_error_report",
                                           import_id=job.result["import_id"])  # fmt: skip
    return body


@bp.route("/deals/imports/<int:import_id>/errors.csv")
def import_error_report(import_id: int):
    """The error report of an import (CSV, `;`, UTF-8 with BOM), for the token that made it."""
    user = api_user()
    if not can(user, "deals.import"):
        raise ApiError(403)
    record = deals.get_import_for(user, import_id)
    if record is None or not record.error_report:
        raise ApiError(404, _l("No such import error report."))
    return Response(
        record.error_report.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=import-{record.id}-errors.csv"},
    )


def job_json(job) -> dict:
    from ..jobs.runner import job_state

    state = job_state(job)
    return {"id": job.id, "kind": job.kind, "status": state["status"], "done": state["done"],
            "total": state["total"], "url": url_for("api.get_job", job_id=job.id)}  # fmt: skip


@bp.route("/deals/<int:deal_id>/proposal-sends", methods=["POST"])
def create_proposal_send(deal_id: int):
    user = api_user()
    deal = _visible_deal(deal_id)
    data = json_body()
    fields: dict = {}
    tool_id = data.get("tool_id")
    if not is_id(tool_id):
        fields["tool_id"] = _l("Must be a tool id.")
    version = data.get("version")
    if version is not None and not (is_id(version) and version < 1_000_000):
        fields["version"] = _l("Must be a version number.")
    sent_at = parse_when(data.get("sent_at"), "sent_at", fields, required=True)
    reaction = data.get("reaction", "none")
    if not isinstance(reaction, str) or reaction not in deals.REACTIONS:
        fields["reaction"] = _l("Unknown reaction.")
    reacted_at = parse_when(data.get("reacted_at"), "reacted_at", fields)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    try:
        send = deals.record_proposal_send(
            user, deal, tool_id, version, sent_at, reaction, reacted_at
        )
    except deals.DealError as error:
        raise ApiError(422, _l("Some values are invalid."), fields=error.fields) from None
    except deals.PermissionDenied:
        raise ApiError(403) from None
    response = jsonify(send_json(send))
    response.status_code = 201
    return response


@bp.route("/proposal-sends/<int:send_id>", methods=["PATCH"])
def update_proposal_send(send_id: int):
    user = api_user()
    send = deals.get_send_for(user, send_id)
    if send is None:
        raise ApiError(404, _l("No such proposal send."))
    data = json_body()
    fields: dict = {}
    reaction = data.get("reaction")
    if not isinstance(reaction, str) or reaction not in deals.REACTIONS:
        fields["reaction"] = _l("Unknown reaction.")
    reacted_at = parse_when(data.get("reacted_at"), "reacted_at", fields)
    if fields:
        raise ApiError(422, _l("Some values are invalid."), fields=fields)
    try:
        deals.record_reaction(user, send, reaction, reacted_at)
    except deals.DealError as error:
        raise ApiError(422, _l("Some values are invalid."), fields=error.fields) from None
    except deals.PermissionDenied:
        raise ApiError(403) from None
    return jsonify(send_json(send))
