"""Reading activity — tool views and search queries — written to the database.

Every tool page view counts a view and every search logs its query: about half the
requests of a busy morning would each take SQLite's write lock for one tiny write, and a
request waiting for the lock holds its worker's slot meanwhile (bench/README.md, "Load").

With ``ACTIVITY_FLUSH_SECONDS`` > 0 (the production profile) they are written behind: each
worker process keeps them in memory and a background thread writes them once a second in
one transaction (one UPDATE per viewed tool, one INSERT of all queries). A worker writes
what it holds when it exits; a worker killed with ``kill -9`` loses at most that second's
views and query log — counts for the "nobody opened this for months" list and the search
analytics, never anything a user saved. With 0 (development, tests) each is written in the
request, before it answers.

When a write fails (the disk is full, the lock stays busy) the activity is kept and written
with the next flush (rows the database refuses, which no retry would mend, are dropped and
logged); past ``MAX_PENDING_QUERIES`` the oldest queries are dropped, with a
warning in the log, so memory stays bounded.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .database import write_transaction
from .extensions import db
from .models import SalesTool, SearchQueryLog
from .models.base import utcnow

logger = logging.getLogger(__name__)

EXTENSION_KEY = "planerka_activity"
MAX_PENDING_QUERIES = 50_000
MAX_PENDING_TOOLS = 50_000


@dataclass
class _ToolViews:
    count: int
    last_viewed_at: datetime


class ActivityLog:
    """One process's pending tool views and search queries, and the thread writing them."""

    def __init__(self, app: Flask, flush_seconds: float) -> None:
        self.app = app
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()  # guards the pending activity
        self._flush_lock = threading.Lock()  # one flush at a time
        self._views: dict[int, _ToolViews] = {}
        self._queries: list[dict] = []
        self._dropped = 0
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def writes_behind(self) -> bool:
        return self.flush_seconds > 0

    # --- recording -------------------------------------------------------------------

    def record_view(self, tool_id: int) -> None:
        now = utcnow()
        with self._lock:
            self._after_fork()
            pending = self._views.get(tool_id)
            if pending is not None:
                pending.count += 1
                pending.last_viewed_at = now
            elif len(self._views) < MAX_PENDING_TOOLS:
                self._views[tool_id] = _ToolViews(1, now)
            else:
                self._dropped += 1
        self._written_or_scheduled()

    def record_query(self, text: str, normalized: str, user_id: int | None, results: int) -> None:
        row = {
            "query": text.strip()[:200],
            "normalized": normalized[:200],
            "user_id": user_id,
            "results": results,
            "created_at": utcnow(),
        }
        with self._lock:
            self._after_fork()
            self._queries.append(row)
            overflow = len(self._queries) - MAX_PENDING_QUERIES
            if overflow > 0:
                del self._queries[:overflow]
                self._dropped += overflow
        self._written_or_scheduled()

    def pending_views(self, tool_id: int) -> int:
        """Views of ``tool_id`` this process counted but has not written yet."""
        with self._lock:
            pending = self._views.get(tool_id)
            return pending.count if pending is not None else 0

    # --- writing ---------------------------------------------------------------------

    def flush(self) -> int:
        """Write the pending activity in one transaction; returns how many items it wrote.

        Never raises: on failure the activity is put back for the next flush.
        """
        with self._flush_lock:
            with self._lock:
                views, self._views = self._views, {}
                queries, self._queries = self._queries, []
                dropped, self._dropped = self._dropped, 0
            if dropped:
                logger.warning("Activity log full: %d views or search queries dropped", dropped)
            if not views and not queries:
                return 0
            try:
                with self.app.app_context():
                    _write(views, queries)
            except OperationalError:  # locked, disk full, I/O: worth another try
                logger.warning(
                    "Could not write %d tool views and %d search queries; kept for the next try",
                    sum(v.count for v in views.values()),
                    len(queries),
                    exc_info=True,
                )
                self._put_back(views, queries)
                return 0
            except Exception:  # the rows themselves are refused: another try would be too
                logger.exception(
                    "Dropped %d tool views and %d search queries the database refused",
                    sum(v.count for v in views.values()),
                    len(queries),
                )
                return 0
            return sum(v.count for v in views.values()) + len(queries)

    def close(self) -> None:
        """Stop the thread and write what is pending (at exit)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(self.flush_seconds, 1) * 2)
        if self._pid == os.getpid():
            self.flush()

    def _put_back(self, views: dict[int, _ToolViews], queries: list[dict]) -> None:
        with self._lock:
            for tool_id, taken in views.items():
                pending = self._views.get(tool_id)
                if pending is None:
                    self._views[tool_id] = taken
                else:
                    pending.count += taken.count
                    pending.last_viewed_at = max(pending.last_viewed_at, taken.last_viewed_at)
            self._queries[:0] = queries[-MAX_PENDING_QUERIES:]
            overflow = len(self._queries) - MAX_PENDING_QUERIES
            if overflow > 0:
                del self._queries[:overflow]
                self._dropped += overflow

    def _written_or_scheduled(self) -> None:
        if not self.writes_behind:
            self.flush()
            return
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stop.clear()
                    self._thread = threading.Thread(
                        target=self._run, name="planerka-activity", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def _after_fork(self) -> None:
        """In a forked child (gunicorn with preload): the parent's pending activity and
        thread are not this process's. Called with ``_lock`` held."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._views, self._queries, self._dropped = {}, [], 0
            self._thread = None
            self._stop = threading.Event()


def _write(views: dict[int, _ToolViews], queries: list[dict]) -> None:
    session = Session(bind=db.engine)
    try:
        with write_transaction(session):
            if views:
                tools = SalesTool.__table__
                session.execute(
                    update(tools)
                    .where(tools.c.id == bindparam("tool_id"))
                    .values(
                        view_count=tools.c.view_count + bindparam("views"),
                        last_viewed_at=bindparam("at"),
                    ),
                    [
                        {"tool_id": tool_id, "views": v.count, "at": v.last_viewed_at}
                        for tool_id, v in views.items()
                    ],
                )
            if queries:
                session.execute(insert(SearchQueryLog.__table__), queries)
    finally:
        session.close()


# --- the app's activity log ------------------------------------------------------------

_logs: weakref.WeakSet[ActivityLog] = weakref.WeakSet()


def init_activity(app: Flask) -> None:
    log = ActivityLog(app, float(app.config.get("ACTIVITY_FLUSH_SECONDS", 0) or 0))
    app.extensions[EXTENSION_KEY] = log
    _logs.add(log)


def activity_log() -> ActivityLog:
    return current_app.extensions[EXTENSION_KEY]


def flush_all() -> None:
    """Write every app's pending activity and stop its thread (process exit)."""
    for log in list(_logs):
        log.close()


atexit.register(flush_all)
