"""Is this installation consistent? Database, migrations, search index, attachment files.

Each check returns a ``CheckResult``: ``problems`` make it fail (and ``flask check`` exit
1); ``warnings`` are reported but do not, because a healthy, busy portal has them too —
an upload in progress has its file before its row, and a tag at a meeting leaves an
outbox row until the next save. Nothing here writes: a missing index is reported, not
rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from ..extensions import db
from ..models import Attachment, SearchOutbox

__all__ = ["CheckResult", "human_size", "is_known_revision", "migration_script", "run_checks"]

SHOWN = 20  # problems listed one per line before "… and N more"
# An upload's temporary file older than this was abandoned (a crash mid-upload).
STALE_UPLOAD_SECONDS = 3600


@dataclass
class CheckResult:
    name: str
    title: str
    ok: bool = True
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)

    def as_dict(self) -> dict:
        return asdict(self)


def run_checks(
    attachments_dir: Path, migrations_dir: str, *, checksums: bool = False
) -> list[CheckResult]:
    """Every check, in the order a person fixes them; needs an app context."""
    checks: list[tuple[str, str, Callable[[CheckResult], None]]] = [
        ("database_integrity", "Database integrity", check_database_integrity),
        ("foreign_keys", "Foreign keys", check_foreign_keys),
        ("migrations", "Migrations", lambda r: check_migrations(r, migrations_dir)),
        ("search_index", "Search index", check_search_index),
        ("attachments", "Attachment files", lambda r: check_attachments(r, attachments_dir, checksums)),
    ]  # fmt: skip
    missing = _missing_database_file()
    if missing:  # connecting would make an empty database; nothing else can be checked
        result = CheckResult("database_integrity", "Database integrity", summary="no database")
        result.fail(f"there is no database file at {missing}: restore a backup or run "
                    "`flask --app wsgi db upgrade`")  # fmt: skip
        return [result]
    results = []
    for name, title, check in checks:
        result = CheckResult(name, title)
        try:
            check(result)
        except Exception as error:  # noqa: BLE001 — one broken part must not hide the rest
            result.fail(f"could not run this check: {type(error).__name__}: {error}")
            db.session.rollback()
        results.append(result)
    return results


def _missing_database_file() -> Path | None:
    from .backup import BackupError, sqlite_database_path

    if not _is_sqlite():
        return None
    try:
        path = sqlite_database_path(str(db.engine.url))
    except BackupError:  # in memory
        return None
    return None if path.is_file() else path


def _is_sqlite() -> bool:
    return db.engine.url.get_backend_name() == "sqlite"


@contextmanager
def _sqlite_connection():
    """A plain connection of our own: PRAGMA checks read in a deferred transaction and
    never hold the write lock, whatever the engine's BEGIN hooks do for other work."""
    from .backup import sqlite_database_path

    path = sqlite_database_path(str(db.engine.url))
    if not path.is_file():
        raise FileNotFoundError(f"there is no database file at {path}")
    connection = sqlite3.connect(path, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def check_database_integrity(result: CheckResult) -> None:
    if not _is_sqlite():
        result.summary = f"skipped: {db.engine.url.get_backend_name()} checks itself"
        return
    try:
        with _sqlite_connection() as connection:
            rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:  # a page too damaged to walk: the answer too
        rows = [str(error)]
    problems = [row for row in rows if row != "ok"]
    for problem in problems[:SHOWN]:
        result.fail(f"integrity_check: {problem}")
    _more(result, problems)
    result.summary = "PRAGMA integrity_check: ok" if not problems else f"{len(problems)} problems"


def check_foreign_keys(result: CheckResult) -> None:
    if not _is_sqlite():
        result.summary = "skipped: enforced by the database"
        return
    with _sqlite_connection() as connection:
        rows = connection.execute("PRAGMA foreign_key_check").fetchall()
    for table, rowid, parent, _fkid in rows[:SHOWN]:
        result.fail(f"{table} row {rowid} refers to a missing row of {parent}")
    _more(result, rows)
    result.summary = "no violations" if not rows else f"{len(rows)} rows with broken references"


def migration_script(migrations_dir: str):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return ScriptDirectory.from_config(config)


def check_migrations(result: CheckResult, migrations_dir: str) -> None:
    from alembic.runtime.migration import MigrationContext

    heads = set(migration_script(migrations_dir).get_heads())
    with _quiet("alembic"), db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    head = ", ".join(sorted(heads))
    result.details = {"current": sorted(current), "head": sorted(heads)}
    if current == heads:
        result.summary = f"at head {head}"
        return
    script = migration_script(migrations_dir)
    if not current:
        result.fail(
            "the database has no migration revision: run `flask --app wsgi db upgrade` "
            "(or `db stamp head` if the schema was made another way)"
        )
    else:
        unknown = [rev for rev in current if not is_known_revision(script, rev)]
        if unknown:
            result.fail(
                f"the database is at {', '.join(unknown)}, which these migrations do not know "
                "(a newer Planerka?)"
            )
        else:
            result.fail(
                f"the database is at {', '.join(sorted(current))}, head is {head}: "
                "run `flask --app wsgi db upgrade`"
            )
    result.summary = "not at head"


def is_known_revision(script, revision: str) -> bool:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def check_search_index(result: CheckResult) -> None:
    from ..search.service import check_index_consistency

    report = check_index_consistency()
    # Ids beyond the first hundred help nobody reading a report (a lost index lists all).
    result.details = {k: v[:100] if isinstance(v, list) else v for k, v in report.items()}
    failed = db.session.execute(
        select(func.count(SearchOutbox.id), func.max(SearchOutbox.last_error)).where(
            SearchOutbox.attempts > 0
        )
    ).one()
    db.session.rollback()  # end the transaction: never hold a lock while we report
    pending = report["pending_outbox"]
    rebuild = "`flask --app wsgi reindex --full` rebuilds it"
    if report["status"] != "ok":
        reason = report.get("error") or report["status"]
        result.fail(f"the index is {report['status']} ({reason}): {rebuild}")
    else:
        for key, what in (
            ("missing", "tools missing from the index"),
            ("extra", "documents of tools no longer in the database"),
            ("stale", "tools changed after their document was written"),
        ):
            if report[key]:
                result.fail(f"{len(report[key])} {what}: ids {_ids(report[key])}")
        if result.problems:
            result.problems[-1] += (
                f" — {pending} pending changes; `flask --app wsgi reindex` applies them"
                if pending
                else f" — {rebuild}"
            )
    if failed[0]:
        result.fail(
            f"{failed[0]} index changes failed to apply (last error: {failed[1] or 'unknown'}): "
            "run `flask --app wsgi reindex`"
        )
    elif pending:
        result.warnings.append(
            f"{pending} index changes waiting for the next save or `flask --app wsgi reindex`"
        )
    result.summary = (
        f"{report['database']} tools, {report['index']} documents, {pending} pending changes"
    )


def check_attachments(result: CheckResult, attachments_dir: Path, checksums: bool) -> None:
    attachments_dir = Path(attachments_dir)
    rows = db.session.execute(
        select(
            Attachment.id,
            Attachment.tool_id,
            Attachment.original_name,
            Attachment.stored_name,
            Attachment.size,
            Attachment.sha256,
        ).order_by(Attachment.id)
    ).all()
    db.session.rollback()  # end the transaction before reading (maybe hashing) every file
    referenced = set()
    problems = []
    total = 0
    for row in rows:
        name = Path(row.stored_name).name
        referenced.add(name)
        path = attachments_dir / name
        what = f"attachment {row.id} «{row.original_name}» of tool {row.tool_id}"
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            problems.append(f"{what}: file {path} is missing")
            continue
        total += size
        if size != row.size:
            problems.append(f"{what}: {path} is {size} bytes, the database says {row.size}")
        elif checksums and _sha256(path) != row.sha256:
            problems.append(f"{what}: {path} does not match its SHA-256")
    for problem in problems[:SHOWN]:
        result.fail(problem)
    _more(result, problems)

    orphans = []
    if attachments_dir.is_dir():
        now = time.time()
        for entry in sorted(attachments_dir.iterdir()):
            if entry.name in referenced or not entry.is_file():
                continue
            stat = entry.stat()
            if entry.name.startswith(".upload-") and now - stat.st_mtime < STALE_UPLOAD_SECONDS:
                continue  # an upload in progress
            orphans.append({"name": entry.name, "size": stat.st_size})
    for orphan in orphans[:SHOWN]:
        result.warnings.append(
            f"orphan file {orphan['name']} ({orphan['size']} bytes): no attachment refers to it"
        )
    if len(orphans) > SHOWN:
        result.warnings.append(f"… and {len(orphans) - SHOWN} more orphan files")
    result.details = {"directory": str(attachments_dir), "rows": len(rows), "orphans": orphans}
    result.summary = (
        f"{len(rows)} files, {human_size(total)} in {attachments_dir}"
        + (", checksums compared" if checksums else "")
        + (f"; {len(problems)} problems" if problems else "")
    )


def _more(result: CheckResult, everything: list) -> None:
    if len(everything) > SHOWN:
        result.problems.append(f"… and {len(everything) - SHOWN} more")


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:SHOWN])
    return shown + (f" … (+{len(ids) - SHOWN})" if len(ids) > SHOWN else "")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


@contextmanager
def _quiet(logger_name: str):
    """Alembic logs "Context impl SQLiteImpl" at INFO, which is noise in a report."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
