"""Engine tuning: SQLite made fit for several gunicorn workers."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session

from .extensions import db

logger = logging.getLogger(__name__)

LIKE_ESCAPE = "\\"

# Requests with these methods write: their transactions take the write lock at BEGIN.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How the transaction on a connection began ("IMMEDIATE" or "DEFERRED"), in its info.
BEGIN_MODE = "planerka_begin_mode"
_intent: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "planerka_write_intent", default=None
)


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``%`` and ``_`` taken literally.

    Use with ``column.like(pattern, escape=LIKE_ESCAPE)``.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def wants_write() -> bool:
    """Whether a transaction beginning now should take the write lock at once.

    ``write_transaction()``/``read_transaction()`` decide inside them. Otherwise requests
    with a writing method write and other requests read; outside a request (CLI commands,
    background jobs, tests) every transaction writes: long reads there, such as a rebuild
    of the search index, say so with ``read_transaction()``.
    """
    intent = _intent.get()
    if intent is not None:
        return intent == "write"
    if has_request_context():
        return request.method in WRITE_METHODS
    return True


@contextmanager
def _intending(intent: str) -> Iterator[None]:
    token = _intent.set(intent)
    try:
        yield
    finally:
        _intent.reset(token)


@contextmanager
def read_transaction() -> Iterator[None]:
    """Transactions begun inside are plain (deferred) ones, even in a POST or a command:
    for long reads, such as an index rebuild, that must not hold the write lock."""
    with _intending("read"):
        yield


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside take the write lock at BEGIN; the caller commits.
    For sessions of their own (``Session(bind=db.engine)``) that read, then write."""
    with _intending("write"):
        yield


@contextmanager
def write_transaction(session=None) -> Iterator[None]:
    """Write from a reading request (a GET that counts a view, touches a session):
    ends the session's read transaction, runs the block in one that holds the write lock
    from its BEGIN, and commits it (rolls back on an exception).

    On SQLite a read transaction that later writes fails at once with "database is
    locked" when another connection committed meanwhile; the busy timeout cannot help.
    """
    session = session if session is not None else db.session
    if isinstance(session, scoped_session):
        session = session()
    with _intending("write"):
        if session.in_transaction():
            connection = session.connection()
            if connection.info.get(BEGIN_MODE) == "DEFERRED":
                session.commit()  # a read transaction: nothing of it is lost
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def set_sqlite_pragmas(dbapi_connection, _record):
        # The driver begins no transactions of its own: "begin" below does, so a writing
        # transaction can be BEGIN IMMEDIATE (pysqlite only ever says a deferred BEGIN,
        # and only before its first INSERT/UPDATE/DELETE).
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only: lower('Москва') stays 'Москва', so
        # case-insensitive team names and user search would miss Cyrillic text.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        # WAL lets readers work while one writer commits; the busy timeout makes a
        # second writer wait for the lock instead of failing with "database is locked".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_transaction(connection):
        # A deferred transaction that reads and then writes in WAL mode gets SQLITE_BUSY
        # at once when another writer committed after its read: no busy timeout applies.
        # BEGIN IMMEDIATE waits for the write lock (busy_timeout) before reading anything.
        mode = "IMMEDIATE" if wants_write() else "DEFERRED"
        connection.info[BEGIN_MODE] = mode
        connection.exec_driver_sql(f"BEGIN {mode}")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def forget_begin_mode(connection):
        connection.info.pop(BEGIN_MODE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def warn_write_in_read_transaction(connection, _cursor, statement, *_args):
        if (
            connection.info.get(BEGIN_MODE) == "DEFERRED"
            and statement.lstrip()[:7].upper() in ("INSERT ", "UPDATE ", "DELETE ")
            and has_request_context()
        ):
            logger.warning(
                "Write in a read transaction (use write_transaction()): %s", statement[:80]
            )


def init_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        from pathlib import Path

        path = uri.split("///", 1)[1] if "///" in uri else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            _configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def dispose_engine_after_fork(app: Flask) -> None:
    """Called from gunicorn's post_fork: never share a parent's connections."""
    with app.app_context():
        db.engine.dispose(close=False)
