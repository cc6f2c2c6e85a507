"""Background jobs started through the API: ``GET /jobs/{id}`` for status and result."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_babel import lazy_gettext as _l

from ..jobs.runner import ensure_worker, get_job_for, recover_stale_jobs
from . import bp
from .auth import api_user
from .common import ApiError
from .deals import import_job_result, job_json


@bp.route("/jobs/<int:job_id>")
def get_job(job_id: int):
    """Status and progress; once done, the result the starting request would have returned."""
    job = get_job_for(api_user(), job_id)
    if job is None:
        raise ApiError(404, _l("No such job."))
    if not job.finished:  # a job whose worker was killed is picked up by whoever polls
        recover_stale_jobs()
        ensure_worker(current_app._get_current_object())
    body: dict = {"job": {**job_json(job), "message": job.message}}
    if job.status == "done" and job.kind == "deal_import":
        body["result"] = import_job_result(job)
    elif job.status == "failed":
        result = job.result or {}
        body["error"] = {"code": result.get("code") or "job_failed", "message": job.message,
                         "status": result.get("http_status", 500)}  # fmt: skip
    return jsonify(body)
