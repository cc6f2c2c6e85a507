"""The deal import as a background job: parse the kept upload, import it in one transaction."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..database import read_transaction
from ..extensions import db
from ..jobs.runner import JobContext, JobFailed, handler
from . import services, uploads
from .importing import ImportFileError, parse_deal_file

KIND = "deal_import"


def import_params(path: Path, filename: str, fmt: str, *, dry_run: bool, skip_errors: bool,
                  segment_column: str | None = None, overrides: dict | None = None,
                  token: str | None = None, remove_file: bool, locale: str) -> dict:  # fmt: skip
    """Everything the job needs, as JSON: the upload stays on disk until the job ends."""
    return {
        "path": str(path), "filename": filename[:200], "format": fmt, "dry_run": dry_run,
        "skip_errors": skip_errors, "segment_column": segment_column or "",
        "overrides": overrides or {}, "token": token, "remove_file": remove_file,
        "locale": locale,
    }  # fmt: skip


@handler(KIND)
def run_deal_import(ctx: JobContext) -> dict:
    """The contract body of ``POST /deals/import`` plus ``import_id``."""
    p = ctx.params
    path = Path(p["path"])
    if path.parent.resolve() != uploads.imports_dir().resolve():
        raise JobFailed(_l("The uploaded file is gone. Upload it again."), status=410)
    try:
        if not path.is_file():
            raise JobFailed(_l("The uploaded file is gone. Upload it again."), status=410,
                            code="upload_gone")  # fmt: skip
        try:
            # Parsing a large file takes a while: under a read transaction, ended before
            # the import takes the write lock for its one transaction.
            with read_transaction():
                parsed = parse_deal_file(path, p["filename"], p["format"] or "auto",
                                         stage_map=services.stage_map(),
                                         segment_column=p["segment_column"] or None,
                                         column_overrides=p["overrides"])  # fmt: skip
                db.session.commit()
        except ImportFileError as error:
            raise JobFailed(error.message, status=422, code="unreadable_file") from None
        ctx.progress(0, len(parsed.deals))
        try:
            outcome = services.import_deals(
                ctx.user, parsed, filename=p["filename"], sha256=uploads.file_sha256(path),
                dry_run=p["dry_run"], skip_errors=p["skip_errors"],
                timezone=current_app.config["BABEL_DEFAULT_TIMEZONE"], progress=ctx.progress,
            )  # fmt: skip
        except services.PermissionDenied:
            raise JobFailed(_l("Only leads, heads and admins import deals."), status=403,
                            code="forbidden") from None  # fmt: skip
        if outcome.written:
            path.unlink(missing_ok=True)
        return {**outcome.as_api(), "import_id": outcome.import_id}
    finally:
        if p.get("remove_file"):
            path.unlink(missing_ok=True)
