"""A small durable job queue: rows in ``jobs``, run by a thread inside the web process.

Why a thread and not a broker: Planerka runs as gunicorn workers over one SQLite file, and
the long work (a CRM import, a large export) must outlive the request timeout, not the
process. The row is the truth; a worker killed mid-job leaves a stale heartbeat, and the
job is queued again (an import is one transaction, so nothing half-written remains).

Live progress and the heartbeat go to a small file per job rather than to the row: an
import holds SQLite's write lock for its whole transaction, so a second connection could
not update the row until it ends. Status changes (claim, done, failed) are short
transactions on the row.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..database import read_transaction, write_transaction
from ..extensions import db
from ..models import Job, JobStatus, Role, User
from ..models.base import utcnow
from ..storage import DISK_FULL_MESSAGE, DISK_FULL_STATUS, is_disk_full

log = logging.getLogger(__name__)

Handler = Callable[["JobContext"], dict]
HANDLERS: dict[str, Handler] = {}

INTERNAL_ERROR = _l(
    "The job stopped because of an error on the server. Nothing was saved; "
    "try again or tell the administrator."
)
REQUEUED = _l("The server restarted while this job was running; it has been started again.")
GAVE_UP = _l(
    "The server stopped several times while running this job, so it was given up. "
    "Nothing was saved; start it again."
)


class JobFailed(Exception):
    """Raised by a handler: the job fails with ``message`` shown to its owner."""

    def __init__(self, message, *, status: int = 422, code: str = "job_failed", **extra):
        super().__init__(str(message))
        self.message, self.status, self.code, self.extra = message, status, code, extra


def handler(kind: str):
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


# --- files ----------------------------------------------------------------------------


def jobs_dir() -> Path:
    configured = current_app.config.get("JOBS_DIR")
    path = (
        Path(configured) if configured else Path(current_app.config["IMPORTS_DIR"]).parent / "jobs"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _progress_file(job_id: int) -> Path:
    return jobs_dir() / f"{int(job_id)}.progress"


def read_progress(job: Job) -> tuple[int, int | None, float | None]:
    """(done, total, heartbeat as a timestamp) of a running job, from its progress file."""
    try:
        path = _progress_file(job.id)
        data = json.loads(path.read_text())
        return int(data.get("done", 0)), data.get("total"), path.stat().st_mtime
    except (OSError, ValueError):
        return job.done, job.total, None


# --- submitting and reading -----------------------------------------------------------


def submit_job(kind: str, user: User, params: dict, total: int | None = None) -> Job:
    """Queue a job for ``user`` and make sure a worker in this process will run it."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    recover_stale_jobs()
    sweep_job_files()
    with write_transaction():
        job = Job(kind=kind, user_id=user.id, status=JobStatus.QUEUED.value, params=params,
                  total=total, done=0, message="", attempts=0)  # fmt: skip
        db.session.add(job)
    ensure_worker(current_app._get_current_object())
    return job


def get_job_for(user: User, job_id: int) -> Job | None:
    """The job if ``user`` started it or is an admin; otherwise None (shown as 404)."""
    job = db.session.get(Job, job_id)
    if job is None or (job.user_id != user.id and user.role != Role.ADMIN):
        return None
    if not job.finished:
        db.session.refresh(job)
    return job


def job_state(job: Job) -> dict:
    """Status and progress as a person or a client polls them."""
    done, total = job.done, job.total
    if job.status == JobStatus.RUNNING.value:
        done, total, _beat = read_progress(job)
    return {"id": job.id, "kind": job.kind, "status": job.status, "done": done,
            "total": total, "message": job.message}  # fmt: skip


def wait_for_job(job_id: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the job to finish; True when it has.

    Reads through its own short connections, so the caller's session keeps no snapshot
    open (SQLite would otherwise not show the worker's commit).
    """
    deadline = time.monotonic() + max(0.0, timeout)
    event = _finished_events.get(job_id)
    # A POST's transaction holds the database's write lock: never while the job needs it.
    db.session.commit()
    while True:
        with read_transaction(), db.engine.connect() as connection:
            status = connection.execute(select(Job.status).where(Job.id == job_id)).scalar()
        if status in (JobStatus.DONE.value, JobStatus.FAILED.value):
            db.session.expire_all()
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if event is not None:
            event.wait(min(0.25, remaining))
        else:
            time.sleep(min(0.25, remaining))


# --- recovery and cleanup ---------------------------------------------------------------


def recover_stale_jobs() -> int:
    """Running jobs whose worker died: queue them again, or fail them after too many tries."""
    cfg = current_app.config
    stale_before = utcnow() - timedelta(seconds=cfg["JOB_STALE_SECONDS"])
    with read_transaction():
        running = db.session.scalars(select(Job).where(Job.status == JobStatus.RUNNING.value))
        stale = [j.id for j in running if j.id not in _running_here and not _alive(j, stale_before)]
    if not stale:
        return 0
    with write_transaction():
        for job_id in stale:
            job = db.session.get(Job, job_id)
            db.session.refresh(job)
            if job.status != JobStatus.RUNNING.value or _alive(job, stale_before):
                continue
            if job.attempts < cfg["JOB_MAX_ATTEMPTS"]:
                job.status, job.message = JobStatus.QUEUED.value, str(REQUEUED)
            else:
                job.status, job.message = JobStatus.FAILED.value, str(GAVE_UP)
                job.finished_at = utcnow()
                job.result = {"http_status": 500, "code": "worker_lost"}
            log.warning("Job %s (%s) had a stale heartbeat: now %s", job.id, job.kind, job.status)
    return len(stale)


def _alive(job: Job, stale_before: datetime) -> bool:
    _done, _total, file_beat = read_progress(job)
    beats = [job.heartbeat_at, file_beat and datetime.fromtimestamp(file_beat, UTC)]
    return any(beat and beat > stale_before for beat in beats)


def sweep_job_files() -> None:
    """Export files are kept for a day; progress files of finished jobs are not needed."""
    keep = current_app.config["JOB_OUTPUT_KEEP_SECONDS"]
    cutoff = time.time() - keep
    directory = jobs_dir()
    for path in directory.glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
    with read_transaction():
        expired = db.session.scalars(
            select(Job.id).where(
                Job.output_path.is_not(None), Job.finished_at < utcnow() - timedelta(seconds=keep)
            )
        ).all()
    if not expired:
        return
    with write_transaction():
        for job in db.session.scalars(select(Job).where(Job.id.in_(expired))):
            if job.output_path:
                (directory / Path(job.output_path).name).unlink(missing_ok=True)
            job.output_path = None


# --- the worker -----------------------------------------------------------------------

_lock = threading.Lock()
_workers: dict[int, threading.Thread] = {}
_running_here: set[int] = set()
_finished_events: dict[int, threading.Event] = {}


def ensure_worker(app: Flask) -> None:
    """Start this process's worker thread for ``app`` unless one is already looking."""
    with _lock:
        worker = _workers.get(id(app))
        if worker is None or not worker.is_alive():
            worker = threading.Thread(target=_work, args=(app,), name="planerka-jobs", daemon=True)
            _workers[id(app)] = worker
            worker.start()
        worker.wake = True  # type: ignore[attr-defined]


def _work(app: Flask) -> None:
    """Run queued jobs one after another; stop when the queue is empty."""
    me = threading.current_thread()
    while True:
        me.wake = False  # type: ignore[attr-defined]
        try:
            with app.app_context():
                job_id = _claim_next()
                if job_id is not None:
                    _run(job_id)
                    continue
        except Exception:  # the database went away (tests tear down); nothing to run
            log.exception("Job worker stopped")
            job_id = None
        with _lock:
            if not getattr(me, "wake", False):
                if _workers.get(id(app)) is me:
                    del _workers[id(app)]
                return


def _claim_next() -> int | None:
    while True:
        job_id = db.session.scalar(
            select(Job.id).where(Job.status == JobStatus.QUEUED.value).order_by(Job.id).limit(1)
        )
        if job_id is None:
            db.session.rollback()
            return None
        now = utcnow()
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
            .values(
                status=JobStatus.RUNNING.value,
                started_at=now,
                heartbeat_at=now,
                attempts=Job.attempts + 1,
            )  # fmt: skip
        ).rowcount
        db.session.commit()
        if claimed == 1:  # another process may have taken it first
            return job_id


class JobContext:
    """What a handler gets: the job's parameters, its owner, and a progress callback."""

    def __init__(self, job: Job, user: User):
        self.job_id = job.id
        self.params = dict(job.params or {})
        self.user = user
        self.total: int | None = job.total
        self.done = 0
        self._written = 0.0
        self._progress_path = _progress_file(job.id)  # the heartbeat thread has no app context

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress; cheap enough to call for every chunk (written at most 5×/s)."""
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self._written >= 0.2 or (self.total is not None and done >= self.total):
            self._written = now
            self.beat()

    def beat(self) -> None:
        path = self._progress_path
        temp = path.with_suffix(".progress-tmp")
        try:
            temp.write_text(json.dumps({"done": self.done, "total": self.total}))
            os.replace(temp, path)
        except OSError:  # a full disk must not kill the job over its progress bar
            temp.unlink(missing_ok=True)

    def output_file(self, suffix: str) -> Path:
        return jobs_dir() / f"{self.job_id}-output{suffix}"


def _run(job_id: int) -> None:
    with read_transaction():
        job = db.session.get(Job, job_id)
        user = db.session.get(User, job.user_id)
        ctx = JobContext(job, user)
        user_active = user is not None and user.is_active
        kind = job.kind
    # No transaction stays open into the handler: outside a request every transaction
    # takes SQLite's write lock, and a long export must not hold it. The handler begins
    # its own (an import writes; an export reads inside a GET request context).
    db.session.commit()
    handler_fn = HANDLERS.get(kind)
    stop = threading.Event()
    _running_here.add(job_id)
    _finished_events.setdefault(job_id, threading.Event())
    interval = current_app.config["JOB_HEARTBEAT_SECONDS"]
    ctx.beat()

    def keep_beating():
        while not stop.wait(interval):
            ctx.beat()

    ticker = threading.Thread(target=keep_beating, name=f"planerka-job-{job_id}-beat", daemon=True)
    ticker.start()
    outcome: dict = {}
    try:
        if handler_fn is None or not user_active:
            raise JobFailed(INTERNAL_ERROR, status=500)
        with force_locale(ctx.params.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]):
            result = handler_fn(ctx)
        outcome = {"status": JobStatus.DONE.value, "result": result, "message": ""}
    except JobFailed as exc:
        db.session.rollback()
        with force_locale(ctx.params.get("locale") or "ru"):
            message = str(exc.message)
        outcome = {"status": JobStatus.FAILED.value, "message": message,
                   "result": {"http_status": exc.status, "code": exc.code, **exc.extra}}  # fmt: skip
    except Exception as exc:
        db.session.rollback()
        if is_disk_full(exc):
            log.warning("Job %s: disk full: %s", job_id, exc)
            message, result = (
                DISK_FULL_MESSAGE,
                {"http_status": DISK_FULL_STATUS, "code": "disk_full"},
            )
        else:
            log.exception("Job %s (%s) failed", job_id, kind)
            message, result = INTERNAL_ERROR, {"http_status": 500, "code": "internal_error"}
        with force_locale(ctx.params.get("locale") or "ru"):
            outcome = {"status": JobStatus.FAILED.value, "message": str(message), "result": result}
    finally:
        stop.set()
        ticker.join(timeout=interval + 1)
    try:
        db.session.rollback()
        output = (
            (outcome.get("result") or {}).pop("_output", None)
            if outcome["status"] == "done"
            else None
        )
        done = ctx.total if outcome["status"] == JobStatus.DONE.value and ctx.total else ctx.done
        db.session.execute(
            update(Job).where(Job.id == job_id).values(
                status=outcome["status"], message=outcome["message"][:500], result=outcome["result"],
                done=done, total=ctx.total, finished_at=utcnow(), heartbeat_at=utcnow(),
                output_path=output["path"] if output else None,
                output_name=output["name"] if output else None,
            )
        )  # fmt: skip
        db.session.commit()
    finally:
        _running_here.discard(job_id)
        _finished_events.pop(job_id).set()
        _progress_file(job_id).unlink(missing_ok=True)
