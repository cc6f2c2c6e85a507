from pathlib import Path

from flask import abort, current_app, make_response, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..web.access import require
from . import bp, runner


def render_job_progress(job, title: str, unit: str = "rows"):
    """The progress page of a running job; htmx polls its ``#job-progress`` every second.

    Without JavaScript the ``Refresh`` header reloads the job's page, and a plain link does
    the same by hand.
    """
    url = url_for("jobs.job_page", job_id=job.id)
    context = {"job": job, "state": runner.job_state(job), "url": url, "title": title,
               "unit": unit}  # fmt: skip
    if request.headers.get("HX-Target") == "job-progress":
        return render_template("jobs/_progress.html", **context)
    response = make_response(render_template("jobs/progress.html", **context))
    response.headers["Refresh"] = f"2; url={url}"
    return response


@bp.route("/jobs/<int:job_id>")
@login_required
def job_page(job_id: int):
    job = runner.get_job_for(current_user, job_id) or abort(404)
    if not job.finished:
        runner.recover_stale_jobs()
        runner.ensure_worker(current_app._get_current_object())
    elif request.headers.get("HX-Target") == "job-progress":
        # Finished while being polled: load the whole page, which shows the result.
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url_for("jobs.job_page", job_id=job.id)
        return response
    if job.kind == "deal_import":
        from ..deals.views import import_job_page

        return import_job_page(job)
    if not job.finished:
        return render_job_progress(job, _("Preparing the export"), unit="parts")
    status = 200 if job.status == "done" else (job.result or {}).get("http_status", 500)
    return render_template("jobs/export_done.html", job=job), status


@bp.route("/jobs/<int:job_id>/download")
@login_required
def download(job_id: int):
    job = runner.get_job_for(current_user, job_id) or abort(404)
    if job.status != "done" or not job.output_path:
        abort(404)
    # output_path is a name we generated; take only its last part, inside JOBS_DIR.
    path = runner.jobs_dir() / Path(job.output_path).name
    if not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=job.output_name or path.name,
                     max_age=0)  # fmt: skip


@bp.route("/jobs/exports", methods=["POST"])
@require("reports.view")
def start_export():
    from ..reports.export_job import EXPORTABLE, FORMATS, KIND

    endpoint = request.form.get("endpoint", "")
    fmt = request.form.get("format", "")
    if endpoint not in EXPORTABLE or fmt not in FORMATS:
        abort(400)
    args = {
        k[4:]: v[:200]
        for k, v in request.form.items()
        if k.startswith("arg_") and k != "arg_format"
    }
    job = runner.submit_job(KIND, current_user, {"endpoint": endpoint, "format": fmt, "args": args,
                                                 "locale": str(get_locale() or "ru")})  # fmt: skip
    response = make_response("", 303)
    response.headers["Location"] = url_for("jobs.job_page", job_id=job.id)
    return response
