"""The database side of search: documents from sales tools, the outbox, rebuilds, analytics.

How the index follows the database
----------------------------------
Every change to a tool adds a ``SearchOutbox`` row in the same transaction as the change
(``record_tool_change``). After that transaction commits, a session hook applies the pending
rows to the index in the same process:

* ``after_flush`` notes in ``session.info`` that outbox rows were added (record_tool_change
  also sets the note itself);
* ``after_commit`` pops the note and calls ``apply_pending_outbox()``. The committed session
  cannot run SQL of its own in that hook, so the function opens a fresh
  ``Session(bind=db.engine)``: a new connection, its own transaction.

``apply_pending_outbox`` takes the index's writer lock first and only then reads the rows
and the tools, so whichever process writes last has read the latest data; the rows it
applied are deleted afterwards. When the write fails (lock timeout, full disk, a corrupt or
missing index) the rows get ``attempts + 1`` and ``last_error`` and stay for the next save
or for ``flask --app wsgi reindex``. Nothing of this ever raises into the request that
saved the data.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import click
from flask import Flask, current_app, has_app_context
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from ..activity import activity_log
from ..database import read_transaction, write_intent, write_transaction
from ..extensions import db
from ..models import SalesTool, SearchOutbox, SearchQueryLog, SearchSynonym
from .analysis import DEFAULT_SYNONYMS, normalize_query
from .engine import (
    IndexCorruptError,
    IndexMissingError,
    RebuildInProgressError,
    WhooshSearchEngine,
)
from .types import SearchDocument, SearchQuery, SearchResult

__all__ = [
    "QueryStat",
    "apply_pending_outbox",
    "build_document",
    "check_index_consistency",
    "ensure_index",
    "get_engine",
    "index_status",
    "init_search",
    "invalidate_synonyms",
    "load_synonyms",
    "pending_outbox_count",
    "proven_uses_for",
    "rebuild_index",
    "record_tool_change",
    "register_search_cli",
    "save_synonym_groups",
    "search_tools",
    "synonym_groups",
    "top_queries",
    "wait_for_rebuild",
    "zero_result_queries",
]

logger = logging.getLogger(__name__)

ENGINE_KEY = "search_engine"
STATE_KEY = "planerka_search"
OUTBOX_NOTE = "planerka_search_outbox"
SYNONYMS_NOTE = "planerka_search_synonyms"
REBUILD_CHUNK = 500
# Other processes pick up synonym edits within this many seconds.
SYNONYMS_TTL_SECONDS = 60.0

_engine_lock = threading.Lock()
_hooks_lock = threading.Lock()
_hooks_installed = False
_synonyms_generation = 0
_applying = threading.local()


@dataclass
class _SearchState:
    """Per application: the background rebuild and the synonyms the engine has."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    rebuild_thread: threading.Thread | None = None
    last_rebuild_error: str | None = None
    startup_checked: bool = False
    synonyms: list[list[str]] | None = None
    synonyms_generation: int = -1
    synonyms_loaded_at: float = 0.0


@dataclass(frozen=True)
class QueryStat:
    """A normalized query and how often it was searched in a period."""

    query: str
    count: int
    last_searched: datetime | None = None


# --- setup --------------------------------------------------------------------------


def init_search(app: Flask) -> None:
    """Install the commit hooks and the first-request index check (idempotent)."""
    if STATE_KEY in app.extensions:
        return
    app.config.setdefault("SEARCH_WRITER_TIMEOUT", 5.0)
    # A missing or corrupt index is rebuilt by itself; in tests synchronously, so results
    # are there when the request that triggered it returns.
    app.config.setdefault("SEARCH_AUTO_REBUILD", True)
    app.config.setdefault("SEARCH_REBUILD_IN_BACKGROUND", not app.testing)
    app.config.setdefault("SEARCH_APPLY_ON_COMMIT", True)
    app.extensions[STATE_KEY] = _SearchState()
    _install_session_hooks()

    @app.before_request
    def check_search_index_once():
        state = _state(app)
        if state.startup_checked:
            return
        state.startup_checked = True
        try:
            ensure_index(app)
        except Exception:
            logger.exception("Could not check the search index")


def get_engine(app: Flask | None = None) -> WhooshSearchEngine:
    """The process's engine for the app's SEARCH_INDEX_DIR."""
    app = app or current_app._get_current_object()
    engine = app.extensions.get(ENGINE_KEY)
    if engine is None or engine.pid != os.getpid():
        with _engine_lock:
            engine = app.extensions.get(ENGINE_KEY)
            # A forked worker never reuses its parent's open files and held locks.
            if engine is None or engine.pid != os.getpid():
                engine = WhooshSearchEngine(
                    app.config["SEARCH_INDEX_DIR"],
                    writer_timeout=float(app.config.get("SEARCH_WRITER_TIMEOUT", 5.0)),
                    synonyms=DEFAULT_SYNONYMS,
                )
                app.extensions[ENGINE_KEY] = engine
    return engine


def _state(app: Flask) -> _SearchState:
    state = app.extensions.get(STATE_KEY)
    if state is None:
        state = app.extensions.setdefault(STATE_KEY, _SearchState())
    return state


def _install_session_hooks() -> None:
    """Hooks on Flask-SQLAlchemy's session class, once per process (``db`` is global)."""
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        event.listen(db.session, "after_flush", _note_changes)
        event.listen(db.session, "after_commit", _after_commit)
        _hooks_installed = True


def _note_changes(session, flush_context) -> None:
    # In after_flush the session still lists what the flush wrote as new/dirty/deleted.
    for obj in session.new:
        if isinstance(obj, SearchOutbox):
            session.info[OUTBOX_NOTE] = True
        elif isinstance(obj, SearchSynonym):
            session.info[SYNONYMS_NOTE] = True
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, SearchSynonym):
            session.info[SYNONYMS_NOTE] = True


def _after_commit(session) -> None:
    if session.info.pop(SYNONYMS_NOTE, False):
        invalidate_synonyms()
    if not session.info.pop(OUTBOX_NOTE, False):
        return
    if not has_app_context() or getattr(_applying, "active", False):
        return
    app = current_app._get_current_object()
    if STATE_KEY not in app.extensions or not app.config.get("SEARCH_APPLY_ON_COMMIT", True):
        return
    _applying.active = True
    try:
        apply_pending_outbox()
    except Exception:  # never into the request that saved the data
        logger.exception("Applying the search outbox after commit failed")
    finally:
        _applying.active = False


# --- documents ----------------------------------------------------------------------


def proven_uses_for(tool_ids: Iterable[int], session: Session | None = None) -> dict[int, int]:
    """How many won deals each tool was tagged in at meetings: {tool_id: deals}.

    The ranking boost for proven tools; tools missing from the result count as 0.
    """
    from ..meetings.services import won_deal_counts

    return won_deal_counts(list(tool_ids), session)


def build_document(tool: SalesTool, proven_uses: int | None = None) -> SearchDocument:
    """What the index knows of ``tool``."""
    if proven_uses is None:
        proven_uses = proven_uses_for([tool.id]).get(tool.id, 0)
    attachment_text = "\n\n".join(a.extracted_text for a in tool.attachments if a.extracted_text)
    return SearchDocument(
        id=tool.id,
        kind=tool.kind,
        title=tool.title or "",
        summary=tool.summary or "",
        body=tool.body or "",
        tags=tuple(tag.name for tag in tool.tags),
        segments=tuple(segment.name for segment in tool.segments),
        status=tool.status,
        owner_id=tool.owner_id,
        attachment_text=attachment_text,
        proven_uses=int(proven_uses or 0),
        updated_at=tool.updated_at or tool.created_at,
    )


def _tools_query():
    return select(SalesTool).options(
        selectinload(SalesTool.tags),
        selectinload(SalesTool.segments),
        selectinload(SalesTool.attachments),
    )


def _documents_for(session: Session, tool_ids: list[int]) -> list[SearchDocument]:
    tools = session.scalars(_tools_query().where(SalesTool.id.in_(tool_ids))).all()
    proven = proven_uses_for([t.id for t in tools], session)
    return [build_document(t, proven.get(t.id, 0)) for t in tools]


def _all_documents(session: Session) -> Iterator[SearchDocument]:
    """Every tool, a chunk at a time (keyset pagination keeps memory flat)."""
    last_id = 0
    while True:
        tools = session.scalars(
            _tools_query().where(SalesTool.id > last_id).order_by(SalesTool.id).limit(REBUILD_CHUNK)
        ).all()
        if not tools:
            return
        proven = proven_uses_for([t.id for t in tools], session)
        for tool in tools:
            yield build_document(tool, proven.get(tool.id, 0))
        last_id = tools[-1].id
        session.expunge_all()


# --- the outbox ---------------------------------------------------------------------


def record_tool_change(tool_id: int | SalesTool) -> None:
    """Queue ``tool_id`` for the index in the caller's transaction; the caller commits.

    A new tool needs an id first: pass the SalesTool and it is flushed, or flush yourself.
    Deleted tools are recorded the same way (they leave the index).
    """
    if isinstance(tool_id, SalesTool):
        if tool_id.id is None:
            db.session.flush()
        tool_id = tool_id.id
    db.session.add(SearchOutbox(tool_id=int(tool_id)))
    db.session.info[OUTBOX_NOTE] = True


def record_tool_change_later(tool_id: int) -> None:
    """Queue ``tool_id`` for the index without updating it at this commit.

    For changes that only move a tool's ranking (a tag at a meeting changes its proven
    count): the request answers at once, and the row is applied with the next commit that
    writes the index (any tool edit, closing the meeting, ``flask reindex``).
    """
    db.session.execute(insert(SearchOutbox).values(tool_id=int(tool_id)))


def apply_outbox_after_commit() -> None:
    """Ask for the pending outbox — deferred rows included — to be applied at commit."""
    db.session.info[OUTBOX_NOTE] = True


def apply_pending_outbox(limit: int = 500) -> int:
    """Write up to ``limit`` pending outbox rows to the index; returns how many were applied.

    Never raises: on failure the rows get ``attempts + 1`` and ``last_error`` and stay.
    While a rebuild runs, rows wait untouched (the rebuild applies them after its swap).
    """
    app = current_app._get_current_object()
    engine = get_engine(app)
    if engine.rebuild_in_progress():
        return 0
    if not engine.exists():
        _rebuild_missing_index(app)
        return 0
    timeout = float(app.config.get("SEARCH_WRITER_TIMEOUT", 5.0))
    row_ids: list[int] = []
    session = Session(bind=db.engine)
    try:
        # Lock first, read after: the last writer has read the latest committed data.
        with engine.writer(timeout=timeout) as batch:
            # A read transaction, ended before the index is written: the database's write
            # lock is never held while Whoosh commits.
            with read_transaction():
                rows = session.execute(
                    select(SearchOutbox.id, SearchOutbox.tool_id)
                    .order_by(SearchOutbox.id)
                    .limit(limit)
                ).all()
                row_ids = [row.id for row in rows]
                tool_ids = sorted({row.tool_id for row in rows})
                documents = _documents_for(session, tool_ids) if tool_ids else []
                session.rollback()
            if tool_ids:
                batch.upsert(documents)
                batch.delete(set(tool_ids) - {doc.id for doc in documents})

                def forget_applied_rows():
                    # Still under the lock: SQLite hands a deleted last id out again, and
                    # deleting by id later could take a newer row that reused it.
                    with write_transaction(session):
                        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)))

                batch.on_commit(forget_applied_rows)
        return len(row_ids)
    except RebuildInProgressError:
        session.rollback()
        return 0
    except Exception as error:
        session.rollback()
        logger.warning("Search index update failed; outbox rows kept: %r", error, exc_info=True)
        _record_failure(row_ids, error, limit)
        if isinstance(error, IndexMissingError | IndexCorruptError):
            # The searcher this process has open may still read the old files and call the
            # index healthy: drop it, so the check below sees what the writer saw.
            engine.close()
            _rebuild_missing_index(app)
        return 0
    finally:
        session.close()


def _record_failure(row_ids: list[int], error: BaseException, limit: int) -> None:
    message = f"{type(error).__name__}: {error}"[:500]
    session = Session(bind=db.engine)
    try:
        _begin_writing(session)
        if not row_ids:  # failed before reading them: the rows it would have read
            row_ids = list(
                session.scalars(select(SearchOutbox.id).order_by(SearchOutbox.id).limit(limit))
            )
        if row_ids:
            session.execute(
                update(SearchOutbox)
                .where(SearchOutbox.id.in_(row_ids))
                .values(attempts=SearchOutbox.attempts + 1, last_error=message)
            )
            session.commit()
    except Exception:
        session.rollback()
        logger.exception("Could not record the failed search index update")
    finally:
        session.close()


def _begin_writing(session: Session) -> None:
    """Begin ``session``'s transaction with the write lock (it reads, then writes)."""
    with write_intent():
        session.connection()


def pending_outbox_count() -> int:
    with read_transaction(), Session(bind=db.engine) as session:
        return session.scalar(select(func.count(SearchOutbox.id))) or 0


# --- rebuilding ---------------------------------------------------------------------


def rebuild_index(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database; returns the number of tools indexed.

    Searches keep using the old index until the new one is swapped in. ``progress`` gets
    the number of tools added since its previous call. Raises RebuildInProgressError when
    another rebuild runs.
    """
    app = current_app._get_current_object()
    engine = get_engine(app)
    session = Session(bind=db.engine)
    try:
        # A long read: never with the write lock, even from `flask reindex`.
        with read_transaction():
            total = session.scalar(select(func.count(SalesTool.id))) or 0
            count = engine.rebuild(_all_documents(session), total, progress)
    finally:
        session.close()
    # Saves made while the rebuild ran left their rows for now.
    while apply_pending_outbox() > 0:
        pass
    return count


def ensure_index(app: Flask, background: bool | None = None) -> str:
    """Start a rebuild when the index is missing or corrupt; returns ``index_status()``.

    Called on the first request of every process. ``background`` defaults to the
    SEARCH_REBUILD_IN_BACKGROUND setting (off in tests), and to off inside a CLI command.
    """
    state = _state(app)
    engine = get_engine(app)
    with state.lock:
        if state.rebuild_thread is not None and state.rebuild_thread.is_alive():
            return "rebuilding"
        health = engine.health()
        if health == "ok":
            return "ok"
        if health == "rebuilding":
            return "rebuilding"  # another process rebuilds it
        logger.warning("Search index at %s is %s; rebuilding it", engine.path, health)
        if background is None:
            # A command (``flask seed-demo``) may exit before a background thread ends.
            background = app.config.get("SEARCH_REBUILD_IN_BACKGROUND", True) and (
                click.get_current_context(silent=True) is None
            )
        if background:
            thread = threading.Thread(
                target=_rebuild_in_background, args=(app,), name="search-rebuild", daemon=True
            )
            state.rebuild_thread = thread
            thread.start()
            return "rebuilding"
    _run_rebuild(app)
    return index_status(app)


def _rebuild_missing_index(app: Flask) -> None:
    if app.config.get("SEARCH_AUTO_REBUILD", True) and not getattr(_applying, "rebuilding", False):
        ensure_index(app)


def _rebuild_in_background(app: Flask) -> None:
    with app.app_context():
        _run_rebuild(app)


def _run_rebuild(app: Flask) -> None:
    state = _state(app)
    _applying.rebuilding = True
    try:
        started = time.perf_counter()
        count = rebuild_index()
        state.last_rebuild_error = None
        logger.info(
            "Search index rebuilt: %d tools in %.1f s", count, time.perf_counter() - started
        )
    except RebuildInProgressError:
        pass
    except Exception as error:  # a background thread has nobody to raise to
        state.last_rebuild_error = repr(error)
        logger.exception("Search index rebuild failed")
    finally:
        _applying.rebuilding = False


def wait_for_rebuild(app: Flask | None = None, timeout: float | None = None) -> bool:
    """Wait for this process's background rebuild; True when none is running any more."""
    app = app or current_app._get_current_object()
    thread = _state(app).rebuild_thread
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def index_status(app: Flask | None = None) -> str:
    """``ok`` when the index answers searches, ``rebuilding`` while it is (being) rebuilt."""
    app = app or current_app._get_current_object()
    thread = _state(app).rebuild_thread
    if thread is not None and thread.is_alive():
        return "rebuilding"
    return "ok" if get_engine(app).health() == "ok" else "rebuilding"


# --- searching ----------------------------------------------------------------------


def search_tools(query: SearchQuery, user_id: int | None = None, log: bool = True) -> SearchResult:
    """Run ``query`` with the synonyms of the database; log it for search analytics."""
    app = current_app._get_current_object()
    engine = get_engine(app)
    _sync_synonyms(app, engine)
    result = engine.search(query)
    if result.extra.get("index") in ("missing", "corrupt"):
        _rebuild_missing_index(app)
        if not engine.rebuild_in_progress() and engine.health() == "ok":
            result = engine.search(query)  # rebuilt synchronously (tests)
    if log and normalize_query(query.text):
        _log_query(query.text, query.viewer_id if user_id is None else user_id, result.total)
    return result


def _log_query(text: str, user_id: int | None, results: int) -> None:
    """Log the query for the search analytics: in the request, or behind it in production
    (portal/activity.py). A failed write is kept for the next one, never the search's error."""
    activity_log().record_query(text, normalize_query(text), user_id, results)


def top_queries(since: datetime, limit: int = 20) -> list[QueryStat]:
    """The most searched normalized queries since ``since``."""
    return _query_stats(since, limit, zero_only=False)


def zero_result_queries(since: datetime, limit: int = 20) -> list[QueryStat]:
    """Queries that found nothing since ``since``, most frequent first: the content gaps."""
    return _query_stats(since, limit, zero_only=True)


def _query_stats(since: datetime, limit: int, zero_only: bool) -> list[QueryStat]:
    searches = func.count(SearchQueryLog.id).label("searches")
    stmt = (
        select(SearchQueryLog.normalized, searches, func.max(SearchQueryLog.created_at))
        .where(SearchQueryLog.created_at >= since)
        .group_by(SearchQueryLog.normalized)
        .order_by(searches.desc(), SearchQueryLog.normalized)
        .limit(limit)
    )
    if zero_only:
        stmt = stmt.where(SearchQueryLog.results == 0)
    return [
        QueryStat(query=normalized, count=count, last_searched=last)
        for normalized, count, last in db.session.execute(stmt)
    ]


# --- synonyms -----------------------------------------------------------------------


def _parse_group(terms: str) -> list[str]:
    group: list[str] = []
    for term in terms.split(","):
        term = " ".join(term.split())
        if term and term.lower() not in {t.lower() for t in group}:
            group.append(term)
    return group


def load_synonyms() -> list[list[str]]:
    """The synonym groups in effect: the database's, or DEFAULT_SYNONYMS when it has none."""
    with read_transaction(), Session(bind=db.engine) as session:
        rows = session.scalars(select(SearchSynonym.terms).order_by(SearchSynonym.id)).all()
    groups = [g for g in (_parse_group(row) for row in rows) if len(g) > 1]
    return groups or [list(g) for g in DEFAULT_SYNONYMS]


def synonym_groups() -> list[list[str]]:
    """The groups to show in the synonyms editor (the defaults until someone saves)."""
    return load_synonyms()


def save_synonym_groups(text: str) -> list[list[str]]:
    """Replace all synonym groups with ``text``: one group a line, terms comma-separated.

    Lines with fewer than two terms are ignored. Saving nothing restores the defaults.
    """
    groups = [g for g in (_parse_group(line) for line in text.splitlines()) if len(g) > 1]
    db.session.execute(delete(SearchSynonym))
    db.session.add_all(SearchSynonym(terms=", ".join(g)[:500]) for g in groups)
    db.session.info[SYNONYMS_NOTE] = True
    db.session.commit()
    return groups


def invalidate_synonyms() -> None:
    """Make every app of this process reload synonyms on its next search."""
    global _synonyms_generation
    _synonyms_generation += 1


def _sync_synonyms(app: Flask, engine: WhooshSearchEngine) -> None:
    state = _state(app)
    now = time.monotonic()
    if (
        state.synonyms is not None
        and state.synonyms_generation == _synonyms_generation
        and now - state.synonyms_loaded_at < SYNONYMS_TTL_SECONDS
    ):
        return
    generation = _synonyms_generation
    try:
        groups = load_synonyms()
    except Exception:
        logger.exception("Could not load search synonyms")
        return
    if groups != state.synonyms:
        engine.set_synonyms(groups)
    state.synonyms = groups
    state.synonyms_generation = generation
    state.synonyms_loaded_at = now


# --- health ---------------------------------------------------------------------------


def check_index_consistency() -> dict:
    """Tools in the database against documents in the index, for ``flask check``.

    ``missing``: tools the index lacks; ``extra``: documents of deleted tools; ``stale``:
    tools changed after their document was written. Pending outbox rows explain some.
    """
    engine = get_engine()
    with read_transaction(), Session(bind=db.engine) as session:
        updated = {
            tool_id: (changed or created)
            for tool_id, changed, created in session.execute(
                select(SalesTool.id, SalesTool.updated_at, SalesTool.created_at)
            )
        }
        pending = session.scalar(select(func.count(SearchOutbox.id))) or 0
    report = {
        "status": engine.health(),
        "database": len(updated),
        "index": 0,
        "missing": sorted(updated),
        "extra": [],
        "stale": [],
        "pending_outbox": pending,
        "ok": False,
    }
    try:
        indexed = engine.document_updates()
    except (IndexMissingError, IndexCorruptError) as error:
        report["error"] = str(error)
        return report
    report["index"] = len(indexed)
    report["missing"] = sorted(set(updated) - set(indexed))
    report["extra"] = sorted(set(indexed) - set(updated))
    report["stale"] = sorted(
        tool_id
        for tool_id, stamp in indexed.items()
        if tool_id in updated
        and updated[tool_id] is not None
        and int(updated[tool_id].timestamp()) > stamp
    )
    report["ok"] = not (report["missing"] or report["extra"] or report["stale"])
    return report


# --- command line ---------------------------------------------------------------------


def register_search_cli(app: Flask) -> None:
    @app.cli.command("reindex")
    @click.option("--full", is_flag=True, help="Rebuild the whole index from the database.")
    def reindex_command(full):
        """Bring the search index up to date: apply pending changes, or rebuild it."""
        engine = get_engine(app)
        health = engine.health()
        if full or health in ("missing", "corrupt"):
            if not full:
                click.echo(f"The search index is {health}; rebuilding it from the database.")
            with read_transaction(), Session(bind=db.engine) as session:
                total = session.scalar(select(func.count(SalesTool.id))) or 0
            started = time.perf_counter()
            try:
                with click.progressbar(length=total, label="Indexing tools") as bar:
                    count = rebuild_index(progress=bar.update)
            except RebuildInProgressError:
                raise click.ClickException(
                    "Another rebuild of the search index is running; try again when it ends."
                ) from None
            elapsed = max(time.perf_counter() - started, 1e-6)
            click.echo(
                f"Indexed {count} tools in {elapsed:.1f} s ({count / elapsed:.0f} documents/s)."
            )
        applied = 0
        while (batch := apply_pending_outbox()) > 0:
            applied += batch
        click.echo(f"Applied {applied} pending index changes.")
        with read_transaction(), Session(bind=db.engine) as session:
            left = session.scalars(select(SearchOutbox).order_by(SearchOutbox.id)).all()
            if left:
                raise click.ClickException(
                    f"{len(left)} index changes could not be applied; last error: "
                    f"{left[-1].last_error or 'unknown'}"
                )
