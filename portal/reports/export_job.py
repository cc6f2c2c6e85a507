"""Report exports as background jobs: the same view as ``?format=csv|xlsx``, run off-request."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from .. import storage
from ..jobs.runner import JobContext, JobFailed, handler, jobs_dir

KIND = "report_export"
EXPORTABLE = frozenset({
    "reports.dashboard", "reports.usage", "reports.adoption", "reports.proposals",
    "reports.before_after", "reports.association", "reports.deals",
})  # fmt: skip
FORMATS = ("csv", "xlsx")
CHUNK = 256 * 1024


@handler(KIND)
def run_report_export(ctx: JobContext) -> dict:
    """Render the report's file as its ``?format=`` link would, and keep it for a day."""
    p = ctx.params
    endpoint, fmt, args = p["endpoint"], p["format"], dict(p.get("args") or {})
    if endpoint not in EXPORTABLE or fmt not in FORMATS:
        raise JobFailed(_l("This report cannot be exported."), status=400)
    app = current_app._get_current_object()
    path = app.url_map.bind("localhost").build(endpoint)
    ctx.progress(0, None)
    with app.test_request_context(path, query_string={**args, "format": fmt}):
        g._login_user = ctx.user  # the view checks access exactly as for the direct link
        try:
            response = app.make_response(app.view_functions[endpoint]())
        except HTTPException as refused:  # abort(403/404/422) in the view: the link's answer
            raise JobFailed(_l("This report cannot be exported with these filters."),
                            status=refused.code or 400) from None  # fmt: skip
        data = response.get_data()
        disposition = response.headers.get("Content-Disposition", "")
    if response.status_code != 200 or "attachment" not in disposition:
        raise JobFailed(_l("This report cannot be exported with these filters."),
                        status=response.status_code if response.status_code >= 400 else 400)  # fmt: skip
    match = re.search(r'filename="?([^";]+)"?', disposition)
    name = match.group(1) if match else f"report.{fmt}"
    total = max(1, -(-len(data) // CHUNK))
    ctx.progress(0, total)
    target = ctx.output_file(f".{fmt}")
    handle, temp_name = tempfile.mkstemp(prefix=".export-", suffix=".part", dir=jobs_dir())
    kept = False
    try:
        with os.fdopen(handle, "wb") as out:
            for i in range(total):
                storage.write_chunk(out, data[i * CHUNK : (i + 1) * CHUNK])
                ctx.progress(i + 1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, target)
        kept = True
    finally:
        if not kept:
            Path(temp_name).unlink(missing_ok=True)
    return {"_output": {"path": target.name, "name": name}, "filename": name, "size": len(data)}
